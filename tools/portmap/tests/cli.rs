//! portmap as a command: records and listings from files and stdin, `--services`, `--lookup`,
//! help, input errors, streaming and a closed pipe, invalid UTF-8. What it reads in listings:
//! `listings.rs` and `localized.rs`; its hints: `hints.rs`. The Linux commands themselves are
//! run for real in `tests/tests/portmap_real_listings.rs`.

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tcpwhy_tests::cli;

#[test]
fn empty_stdin_lists_listeners_and_records_on_stdin_are_enriched() {
    let recs = run_ok(&["-l", &fixture("netstat-ano.txt")], "");
    assert_eq!(recs.len(), 20);
    assert!(recs.iter().all(|r| r["type"] == "listener"));
    // Listing on stdin, records from a file.
    let p = cli::TempFile::new("f.jsonl", lines(&[seed_finding()]));
    let listing = std::fs::read_to_string(fixture("netstat-anob.txt")).unwrap();
    let out = run_ok(&["-l", "-", p.arg()], &listing);
    assert_eq!(out[0]["portmap"]["hint"], SEED_HINT);
    // Listing on stdin and no record files: list.
    let out = run_ok(&["-l", "-"], &listing);
    assert_eq!(out.len(), 20);
}

#[test]
fn services_file_overrides_names() {
    let p = cli::TempFile::new(
        "services",
        "# local\nssas-prod 2383/tcp\ncustomsvc 40000/tcp\n",
    );
    let out = run_ok(
        &["--services", p.arg()],
        &lines(&[
            seed_finding(),
            finding("10.0.0.1", "10.0.0.5", 40000, "refused"),
        ]),
    );
    assert_eq!(out[0]["portmap"]["service"], "ssas-prod");
    assert_eq!(out[0]["portmap"]["label"], "SSAS 2005+");
    assert_eq!(out[1]["portmap"]["service"], "customsvc");
    std::fs::write(p.path(), "ssas-prod 2383\n").unwrap();
    let (_, e) = run_err(&["--services", p.arg()], "");
    assert!(e.contains("services: line 1: expected port/proto"), "{e}");
}

#[test]
fn lookup_prints_what_is_known() {
    let out = ran(&["--lookup", "2383"], "");
    assert_eq!(out.code, Some(0));
    let t = out.text();
    assert!(t.starts_with("2383/tcp  ms-olap4  (SSAS 2005+)\n"), "{t}");
    assert!(t.contains("related: 2725/tcp  SSAS 2000 default"), "{t}");
    assert!(t.contains("processes: msmdsrv.exe"), "{t}");
    let out = ran(
        &[
            "--port",
            "1434",
            "-l",
            &fixture("netstat-ano.txt"),
            "-l",
            &fixture("tasklist.txt"),
        ],
        "",
    );
    let t = out.text();
    assert!(
        t.contains("1434/udp  ms-sql-m  (SQL Server Browser)"),
        "{t}"
    );
    assert!(
        t.contains("on 172.16.0.1: sqlservr.exe PID 1580 listens on 127.0.0.1 (LISTEN"),
        "{t}"
    );
    let out = ran(&["--lookup", "postgresql"], "");
    let t = out.text();
    assert!(t.starts_with("5432/tcp  postgresql  (PostgreSQL)"), "{t}");
    let out = ran(&["--lookup", "49700"], "");
    let t = out.text();
    assert!(
        t.contains("in range 49152-65535: Windows dynamic port range"),
        "{t}"
    );
    let (_, e) = run_err(&["--lookup", "nosuchservicename"], "");
    assert!(e.contains("--lookup nosuchservicename"), "{e}");
}

#[test]
fn bad_records_are_input_errors_after_the_good_ones() {
    let input = format!("{}\n{{\"type\":\"flow\",\n", seed_finding());
    let (out, e) = run_err(&["-l", &fixture("netstat-ano.txt")], &input);
    assert_eq!(out.lines().count(), 1);
    assert!(e.starts_with("portmap: <stdin>: line 2: "), "{e}");
    let (_, e) = run_err(&["-l", "-", "-"], "");
    assert!(e.contains("standard input"), "{e}");
    let (_, e) = run_err(
        &["--host", "not-an-ip", "-l", &fixture("netstat-ano.txt")],
        "",
    );
    assert!(e.contains("--host"), "{e}");
}

#[test]
fn help_and_version() {
    let out = ran(&["--help"], "");
    assert_eq!(out.code, Some(0));
    let t = out.text();
    assert!(t.contains("portmap --listeners netstat-ano.txt --listeners tasklist.txt"));
    assert!(t.contains("Exit status"));
    assert_eq!(ran(&["--version"], "").code, Some(0));
    let (_, e) = run_err(&["--format", "nope"], "");
    assert!(e.contains("possible values"), "{e}");
}

#[test]
fn streams_records_as_they_come_and_a_closed_pipe_is_quiet() {
    let bin = tcpwhy_tests::bin("portmap");
    let mut live = cli::Live::start(
        "portmap",
        &["--no-etc-services", "-l", &fixture("netstat-ano.txt")],
    );
    // One record in, its enriched line out, while the input is still open.
    live.send(lines(&[seed_finding()]).as_bytes()).unwrap();
    let line = live.line(Duration::from_secs(60)).unwrap_or_default();
    assert!(line.contains(r#""portmap":{"port":2383"#), "{line}");
    assert!(live.wait().0.success());
    // `| head -1` on a long stream: portmap exits 0 and prints nothing.
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "yes '{{\"type\":\"x\"}}' | head -n 300000 | '{}' --no-etc-services -l '{}' | head -1 >/dev/null; echo \"${{PIPESTATUS[2]}}\"",
            bin.display(),
            fixture("netstat-ano.txt")
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue 16, reproducer 1: invalid UTF-8 in a string portmap does not deserialize itself (a
/// finding's `next_step`, a flow's `history`, an unknown field) is an input error naming the
/// line (docs/contract.md, promise 4), never copied into the enriched record.
#[test]
fn invalid_utf8_in_fields_it_does_not_read_is_an_input_error() {
    let flow = r#"{"type":"flow","uid":"C1","client_ip":"10.0.0.1","client_port":20531,"server_ip":"172.16.0.1","server_port":2383,"history":"@","established":false}"#;
    let mut next_step = seed_finding();
    next_step["next_step"] = json!("@");
    let mut unknown = seed_finding();
    unknown["x-note"] = json!({"deep": ["@"]});
    let cases = [
        ("flow history", flow.to_string()),
        ("finding next_step", next_step.to_string()),
        ("unknown field", unknown.to_string()),
    ];
    for (what, rec) in cases {
        for args in [&[][..], &["-l", &fixture("netstat-ano.txt")][..]] {
            let mut input = format!("{}\n", seed_finding()).into_bytes();
            input.extend(tcpwhy_tests::bad_utf8_line(&rec));
            let out = ran_bytes(args, &input);
            let err = &out.stderr;
            assert_eq!(out.code, Some(2), "{what} {args:?}: {err}");
            assert!(
                err.contains("<stdin>: line 2: invalid UTF-8 at column"),
                "{what} {args:?}: {err}"
            );
            assert_eq!(out.stdout.split(|b| *b == b'\n').count(), 2, "{what}");
            assert!(!out.stdout.contains(&0xe9), "{what} {args:?}");
        }
    }
}

//! ttlhops as a command: arguments, standard input and files, pass-through, bad input.

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use tcpwhy_tests::cli;

fn ttlhops() -> Command {
    Command::cargo_bin("ttlhops").unwrap()
}

/// A refused connection as tcpflows writes it (RST TTL 126 from 172.16.0.1), and a healthy one
/// to the same server (SYN-ACK TTL 126).
const REFUSED: &str = r#"{"type":"flow","uid":"C1","ip_version":4,"client_ip":"10.0.0.1","client_port":20531,"server_ip":"172.16.0.1","server_port":2383,"first_frame":1,"last_frame":2,"first_ts":1.0,"last_ts":1.0,"duration":0.0,"state":"REJ","history":"Sr","end":"rst","midstream":false,"established":false,"attempts":{"syn_count":1,"frames":[1],"ts":[1.0],"intervals":[]},"synack_frame":null,"rtt":{"syn_synack":null,"synack_ack":null},"client":{"packets":1,"bytes":0,"initial_window":16384,"wscale":null,"mss":1460,"sack_perm":false,"ttl":{"first":128,"min":128,"max":128},"first_ip_id":1,"retransmissions":0,"zero_window":null,"fin_frame":null},"server":{"packets":1,"bytes":0,"initial_window":null,"wscale":null,"mss":null,"sack_perm":false,"ttl":{"first":126,"min":126,"max":126},"first_ip_id":14341,"retransmissions":0,"zero_window":null,"fin_frame":null},"rst":{"from":"server","frame":2,"ts":1.0,"ttl":126,"ip_id":14341,"flags":"RA","seq_ok":true,"count":1},"icmp":[],"icmp_count":0}"#;

#[test]
fn help_has_an_example_pipeline_and_exit_codes() {
    ttlhops()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("tcpflows | ttlhops"))
        .stdout(predicate::str::contains("--expect-hops"))
        .stdout(predicate::str::contains("Exit status"));
    ttlhops()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("ttlhops "));
}

#[test]
fn usage_errors_exit_2() {
    for (args, error) in [
        (&["--bogus"][..], ""),
        (&["--hops", "nothost=2"], "not an IP address"),
        (&["--expect-hops", "300"], ""),
        (&["--no-wait", "--wait", "5"], ""),
    ] {
        cli::exits("ttlhops", args, None, 2, error);
    }
}

#[test]
fn enriches_flows_from_stdin_and_passes_the_rest_byte_for_byte() {
    let other = "{\"type\":\"finding\",\"kind\":\"x\",  \"spacing\" : [1,2.50]}";
    let input = format!("{other}\n{REFUSED}\n");
    let out = cli::ok(
        "ttlhops",
        &["--expect-hops", "2", "-"],
        Some(input.as_bytes()),
    );
    let lines: Vec<&str> = out.text().lines().collect();
    assert_eq!(lines[0], other);
    assert!(lines[1].starts_with(&REFUSED[..REFUSED.len() - 1]));
    let v: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(v["ttlhops"]["rst"]["origin"], "endpoint");
    assert_eq!(v["ttlhops"]["rst"]["hops"], 2);
    // host records at the end: the client (TTL 128, 0 routers) and the server.
    let hosts: Vec<serde_json::Value> = lines[2..]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(hosts.len(), 2);
    assert_eq!(hosts[0]["ip"], "10.0.0.1");
    assert_eq!(hosts[1]["ip"], "172.16.0.1");
    assert!(hosts.iter().all(|h| h["type"] == "host"));
}

#[test]
fn reads_several_files_in_order_with_one_state() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    std::fs::write(&a, format!("{REFUSED}\n")).unwrap();
    // The second file shows the server's distance: a SYN-ACK with TTL 126.
    let ok = REFUSED
        .replace("\"C1\"", "\"C2\"")
        .replace("\"REJ\"", "\"SF\"")
        .replace("\"synack_frame\":null", "\"synack_frame\":2")
        .replace("\"rst\":{\"from\":\"server\",\"frame\":2,\"ts\":1.0,\"ttl\":126,\"ip_id\":14341,\"flags\":\"RA\",\"seq_ok\":true,\"count\":1}", "\"rst\":null");
    std::fs::write(&b, format!("{ok}\n")).unwrap();
    let out = ttlhops()
        .arg(&a)
        .arg(&b)
        .arg("--no-hosts")
        .assert()
        .success();
    let v = tcpwhy_tests::records(&out.get_output().stdout);
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["uid"], "C1");
    assert_eq!(v[0]["ttlhops"]["rst"]["origin"], "endpoint");
    assert_eq!(v[0]["ttlhops"]["rst"]["basis"], "other_flows");
}

#[test]
fn bad_input_names_file_and_line_exits_2_after_the_good_records() {
    let bad = cli::TempFile::new(
        "bad.jsonl",
        "{\"type\":\"x\"}\n{\"type\":\"flow\",\"uid\":\n{\"type\":\"y\"}\n",
    );
    let out = cli::exits("ttlhops", &[&bad], None, 2, "bad.jsonl: line 2");
    assert_eq!(out.stdout, b"{\"type\":\"x\"}\n");
    for (stdin, args, error) in [
        // Valid JSON that is not a flow record as tcpflows writes it.
        (
            Some("{\"type\":\"flow\",\"uid\":7}\n"),
            &[][..],
            "<stdin>: line 1: flow record",
        ),
        (Some("[1,2]\n"), &[], "line 1"),
        (None, &["/nonexistent/x.jsonl"], "/nonexistent/x.jsonl"),
    ] {
        cli::exits("ttlhops", args, stdin.map(str::as_bytes), 2, error);
    }
}

#[test]
fn truncated_last_line_is_an_error_after_everything_before_it() {
    // A last line cut short (no newline, not JSON): an error naming it, everything before out.
    let input = format!("{REFUSED}\n{{\"type\":\"flow\",\"ui");
    ttlhops()
        .args(["--no-hosts"])
        .write_stdin(input)
        .assert()
        .code(2)
        .stdout(predicate::str::contains("\"uid\":\"C1\""))
        .stderr(predicate::str::contains("line 2"));
}

#[test]
fn empty_input_is_fine() {
    ttlhops().write_stdin("").assert().success().stdout("");
    ttlhops().write_stdin("\n\n").assert().success().stdout("");
}

/// Live pipes: a record is written as soon as it is decided, before the input ends; a held flow
/// is not (unless --no-wait).
#[test]
fn streams_records_before_the_input_ends() {
    let first_line = |args: &[&str], input: &str| -> Option<String> {
        let mut t = cli::Live::start("ttlhops", args);
        t.send(input.as_bytes()).unwrap();
        t.line(Duration::from_secs(5))
    };
    let note = "{\"type\":\"note\"}\n";
    assert_eq!(first_line(&[], note).as_deref(), Some(note));
    // The refused flow waits for evidence about its server...
    let held = format!("{REFUSED}\n");
    let no_args: [&str; 0] = [];
    let mut t = cli::Live::start("ttlhops", &no_args);
    t.send(held.as_bytes()).unwrap();
    assert!(t.line(Duration::from_millis(500)).is_none(), "held");
    t.close(); // ...until the input ends.
    let l = t.line(Duration::from_secs(5)).unwrap();
    assert!(l.contains("\"origin\":\"unknown\""), "{l}");
    t.wait();
    // --no-wait writes it at once.
    let l = first_line(&["--no-wait"], &held).unwrap();
    assert!(l.starts_with("{\"type\":\"flow\""), "{l}");
}

/// Issue 16, reproducer 1: invalid UTF-8 in a field ttlhops does not read (an unknown field of a
/// `packet` record it learns from and passes on, of a `flow` record it enriches) is an input
/// error naming the line (docs/contract.md, promise 4), never copied to stdout.
#[test]
fn invalid_utf8_in_fields_it_does_not_read_is_an_input_error() {
    const PACKET: &str = r#"{"type":"packet","frame":3,"ts":1.0,"len":74,"ip_version":4,"src_ip":"10.0.0.1","dst_ip":"172.16.0.1","ttl":64,"ip_proto":6,"proto":"tcp","src_port":20531,"dst_port":2383,"tcp_flags":"S","x-note":"@"}"#;
    let flow = REFUSED.replacen(
        "\"history\":\"Sr\"",
        "\"history\":\"Sr\",\"x-note\":\"@\"",
        1,
    );
    cli::rejects_invalid_utf8(
        "ttlhops",
        &[("packet", PACKET), ("flow", flow.as_str())],
        &[&[], &["--no-wait"]],
        "<stdin>: line 2: invalid UTF-8 at column",
        Some(b"{\"type\":\"x\"}\n"),
    );
}

//! The cross-tool contract (docs/contract.md, docs/schema.md "The pipeline contract", RULES.md):
//! the promises every tcpwhy tool makes, checked for each of them on realistic input — the
//! output of the stages before it on the lab's real capture `tests/captures/refused-2383.pcap`
//! (`pcap2jsonl | tcpflows | ttlhops | tcpflag --all`, portmap with the `ss -ltnp` the lab took
//! on the server).
//!
//! One test per promise × tool (`<promise>::<tool>`), so a tool that breaks a promise fails
//! exactly one named test. `tcpflag` appears twice: `tcpflag` (its default, findings only) and
//! `tcpflag_all` (`--all`, which passes every input record through); docs/tcpflag.md documents
//! that default output is findings only, so the pass-through promises are checked on
//! `tcpflag_all` and the default mode is checked to drop them instead.
//!
//! Promises (numbered as in docs/contract.md):
//! 1. `--help` (stdout, exit 0, an example pipeline and the exit codes), `--version`, an unknown
//!    flag (exit 2, a message on stderr, nothing on stdout).
//! 2. A file argument, `-` and no argument give the same output.
//! 3. Records of unknown types, and known types the tool does not consume, pass through byte for
//!    byte and in order; the rest of the output does not change.
//! 4. A line that is not JSON, or cut short, or has no `type`: exit 2, the input's name and the
//!    line number on stderr, every record before it already written.
//! 5. A closed stdout (`| head -1`) is a quiet success.
//! 6. A missing input file: exit 2, the file named.
//! 7. Empty input: exit 0 and nothing written (pcap2jsonl: exit 2, "not a capture").
//! 8. Streaming: a pass-through record comes out while the input is still open.
//! 9. Every output line is one JSON object starting `{"type":` — every record the tool writes
//!    itself; a record passed through keeps its bytes whatever its spelling (promise 3 wins).

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use tcpwhy_tests::{bin, own_captures, pipeline, records, shared_captures};

/// The unknown record of the brief: nested values, a null, a non-ASCII character and an escaped
/// control character, all of which a re-serializing tool would be tempted to rewrite.
const UNKNOWN: &str = r#"{"type":"x-custom","a":[1,2,{"b":null}],"z":"é\u0001"}"#;
/// A second one, distinguishable, whose number (`1.50`), escapes and nested `type` do not survive
/// a parse-and-serialize round trip unchanged.
const UNKNOWN_2: &str = r#"{"type":"x-custom","n":2,"f":1.50,"s":"\"q\" \\ \t \u00e9","inner":{"type":"flow","uid":"nope"},"big":18446744073709551615}"#;
/// A third, with a huge integer and an empty object/array.
const UNKNOWN_3: &str = r#"{"type":"x-custom-3","n":3,"neg":-0.0,"o":{},"l":[],"t":true}"#;

/// The lab capture every JSON tool's input is derived from.
fn capture() -> PathBuf {
    own_captures().join("refused-2383.pcap")
}

/// The listing portmap is given (`ss -ltnp` taken on the lab's server during the capture).
fn listing() -> String {
    own_captures()
        .join("refused-2383.ss.txt")
        .display()
        .to_string()
}

/// A large real capture (5,898 frames) for the closed-pipe test (from the corpus: callers ask
/// `tcpwhy_tests::corpus()` first).
fn big_capture() -> PathBuf {
    shared_captures().join("real/pcapparser-wireshark_samples-test.pcapng")
}

/// The outputs of the stages on the lab capture, computed once per test process.
struct Stages {
    /// `pcap2jsonl refused-2383.pcap`
    packets: Vec<u8>,
    /// `| tcpflows`
    flows: Vec<u8>,
    /// `| ttlhops`
    hops: Vec<u8>,
    /// `| tcpflag --all`
    all: Vec<u8>,
    /// `portmap --list --listeners refused-2383.ss.txt`
    listeners: Vec<u8>,
    /// A DNS packet record (UDP) from the lab's healthy capture.
    dns_packet: String,
}

fn stages() -> &'static Stages {
    static STAGES: OnceLock<Stages> = OnceLock::new();
    STAGES.get_or_init(|| {
        let cap = capture().display().to_string();
        let outs = pipeline(
            &[
                ("pcap2jsonl", &[cap.as_str()]),
                ("tcpflows", &[]),
                ("ttlhops", &[]),
                ("tcpflag", &["--all"]),
            ],
            None,
        );
        for o in &outs {
            assert!(
                o.status.success(),
                "pipeline on {cap} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let l = listing();
        let list = tcpwhy_tests::run("portmap", &["--list", "--listeners", &l], Some(b""));
        assert!(list.status.success(), "portmap --list failed");
        let healthy = own_captures().join("healthy.pcap").display().to_string();
        let h = tcpwhy_tests::run("pcap2jsonl", &[&healthy], None);
        let dns_packet = text_lines(&h.stdout)
            .into_iter()
            .find(|l| l.contains("\"proto\":\"udp\"") && l.contains("\"dns\":"))
            .expect("a DNS packet in healthy.pcap");
        let [packets, flows, hops, all] = <[Output; 4]>::try_from(outs).unwrap().map(|o| o.stdout);
        for (name, s) in [
            ("packets", &packets),
            ("flows", &flows),
            ("hops", &hops),
            ("all", &all),
        ] {
            assert!(!s.is_empty(), "stage {name} wrote nothing on {cap}");
        }
        Stages {
            packets,
            flows,
            hops,
            all,
            listeners: list.stdout,
            dns_packet,
        }
    })
}

/// One tool as the contract tests run it.
struct Tool {
    /// The test's name for it (`tcpflag_all`).
    name: &'static str,
    /// The binary.
    bin: &'static str,
    /// Options it always gets (`--all`, `--listeners …`).
    args: Vec<String>,
    /// Realistic input: a capture for pcap2jsonl, the previous stages' JSON lines otherwise.
    input: Vec<u8>,
    /// Whether records it does not consume are written (false only for tcpflag's default).
    passes: bool,
    /// Records of known types that it does not consume (must pass through byte for byte).
    known_foreign: Vec<String>,
}

fn tool(name: &'static str) -> Tool {
    let s = stages();
    let line_of = |buf: &[u8], ty: &str| -> String {
        text_lines(buf)
            .into_iter()
            .find(|l| l.starts_with(&format!("{{\"type\":\"{ty}\"")))
            .unwrap_or_else(|| panic!("no {ty} record in the stage output"))
    };
    // Marked so they can never equal a record the tool itself writes from the same capture.
    let finding = line_of(&s.all, "finding").replacen(
        "\"summary\":\"",
        "\"summary\":\"[from an earlier run] ",
        1,
    );
    let host = line_of(&s.hops, "host").replacen("\"note\":\"", "\"note\":\"[other run] ", 1);
    let listener = line_of(&s.listeners, "listener");
    let tcp_packet = line_of(&s.packets, "packet");
    let dns_packet = s.dns_packet.clone();
    let (bin, args, input, passes, known_foreign): (_, Vec<String>, _, _, _) = match name {
        "pcap2jsonl" => (
            "pcap2jsonl",
            vec![],
            std::fs::read(capture()).unwrap(),
            false,
            vec![],
        ),
        "tcpflows" => (
            "tcpflows",
            vec![],
            s.packets.clone(),
            true,
            vec![finding, host, listener, dns_packet],
        ),
        "ttlhops" => (
            "ttlhops",
            vec![],
            s.flows.clone(),
            true,
            vec![finding, host, listener, tcp_packet, dns_packet],
        ),
        "tcpflag" => ("tcpflag", vec![], s.hops.clone(), false, vec![]),
        "tcpflag_all" => (
            "tcpflag",
            vec!["--all".into()],
            s.hops.clone(),
            true,
            vec![finding, host, listener, tcp_packet, dns_packet],
        ),
        "portmap" => (
            "portmap",
            vec!["--listeners".into(), listing()],
            s.all.clone(),
            true,
            vec![host, listener, tcp_packet, dns_packet],
        ),
        other => panic!("unknown tool {other}"),
    };
    Tool {
        name,
        bin,
        args,
        input,
        passes,
        known_foreign,
    }
}

impl Tool {
    fn is_json(&self) -> bool {
        self.bin != "pcap2jsonl"
    }

    /// Runs the tool with its own options, then `extra`, feeding `stdin` (None: /dev/null).
    fn run(&self, extra: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        args.extend_from_slice(extra);
        tcpwhy_tests::run(self.bin, &args, stdin)
    }

    /// Runs on `data` given as a file argument.
    fn run_file(&self, data: &[u8], file_name: &str) -> (Output, PathBuf, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(file_name);
        std::fs::write(&p, data).unwrap();
        let out = self.run(&[p.to_str().unwrap()], None);
        (out, p, dir)
    }

    fn what(&self) -> String {
        let mut s = self.bin.to_string();
        for a in &self.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }
}

/// Runs a binary; `stdin` is written on a thread (so a tool that exits early cannot deadlock
/// the test) or is /dev/null.
fn text_lines(buf: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(buf)
        .lines()
        .map(str::to_string)
        .collect()
}

fn join_lines(lines: &[String]) -> Vec<u8> {
    let mut v = vec![];
    for l in lines {
        v.extend_from_slice(l.as_bytes());
        v.push(b'\n');
    }
    v
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn show(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout);
    let head: String = out.chars().take(600).collect();
    format!(
        "status {}; stderr: {:?}; stdout ({} bytes) starts: {head:?}",
        o.status,
        stderr(o),
        o.stdout.len()
    )
}

/// A record's identity across enrichment: flows by uid, hosts by address, findings by kind and
/// uids, packets by frame, listeners by file and line.
fn key(line: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let ty = v["type"].as_str()?;
    let id = match ty {
        "flow" => v["uid"].to_string(),
        "host" => v["ip"].to_string(),
        "finding" => format!("{}{}", v["kind"], v["uids"]),
        "packet" => v["frame"].to_string(),
        "listener" => format!("{}{}", v["file"], v["line"]),
        _ => return None,
    };
    Some(format!("{ty}:{id}"))
}

// ---------------------------------------------------------------------------------------------
// 1. --help, --version, unknown flag

fn help(t: &Tool) {
    let o = tcpwhy_tests::run(t.bin, &["--help"], None);
    assert!(o.status.success(), "{} --help: {}", t.bin, show(&o));
    assert!(
        o.stderr.is_empty(),
        "{} --help wrote on stderr: {}",
        t.bin,
        stderr(&o)
    );
    let text = String::from_utf8_lossy(&o.stdout);
    let example = text
        .lines()
        .any(|l| l.contains(t.bin) && l.contains(" | ") && l.contains("pcap2jsonl"));
    assert!(
        example,
        "{} --help shows no example pipeline (a line with `pcap2jsonl … | … {}`):\n{text}",
        t.bin, t.bin
    );
    // The paragraphs that document the exit status (a paragraph may wrap over several lines).
    let exit_text: Vec<&str> = text
        .split("\n\n")
        .filter(|p| p.to_lowercase().contains("exit status"))
        .collect();
    assert!(
        !exit_text.is_empty(),
        "{} --help does not document the exit status:\n{text}",
        t.bin
    );
    let exit_text = exit_text.join("\n");
    assert!(
        exit_text.contains("0 ok") && exit_text.contains("2 usage"),
        "{} --help's exit status must name 0 (ok) and 2 (usage or input error): {exit_text:?}",
        t.bin
    );
}

fn version(t: &Tool) {
    let o = tcpwhy_tests::run(t.bin, &["--version"], None);
    assert!(o.status.success(), "{} --version: {}", t.bin, show(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        text.trim(),
        format!("{} {}", t.bin, env!("CARGO_PKG_VERSION")),
        "{} --version",
        t.bin
    );
    assert!(o.stderr.is_empty(), "{} --version: {}", t.bin, show(&o));
}

fn unknown_flag(t: &Tool) {
    let o = t.run(&["--no-such-flag-xyz"], Some(&t.input));
    assert_eq!(
        o.status.code(),
        Some(2),
        "{} --no-such-flag-xyz must be a usage error: {}",
        t.what(),
        show(&o)
    );
    assert!(
        o.stdout.is_empty(),
        "{} --no-such-flag-xyz wrote on stdout: {}",
        t.what(),
        show(&o)
    );
    assert!(
        stderr(&o).contains("--no-such-flag-xyz"),
        "{} --no-such-flag-xyz: stderr does not name the flag: {}",
        t.what(),
        show(&o)
    );
}

// ---------------------------------------------------------------------------------------------
// 2. FILE, `-` and no argument read the same

fn file_and_stdin(t: &Tool) {
    let (from_file, p, _dir) = t.run_file(&t.input, "input");
    assert!(
        from_file.status.success(),
        "{} {}: {}",
        t.what(),
        p.display(),
        show(&from_file)
    );
    assert!(
        !from_file.stdout.is_empty(),
        "{} wrote nothing on its realistic input",
        t.what()
    );
    let dash = t.run(&["-"], Some(&t.input));
    assert!(dash.status.success(), "{} - : {}", t.what(), show(&dash));
    let none = t.run(&[], Some(&t.input));
    assert!(
        none.status.success(),
        "{} < input: {}",
        t.what(),
        show(&none)
    );
    assert!(
        from_file.stdout == dash.stdout,
        "{}: FILE and `-` (stdin) give different output:\nfile: {}\n-: {}",
        t.what(),
        show(&from_file),
        show(&dash)
    );
    assert!(
        from_file.stdout == none.stdout,
        "{}: FILE and no argument (stdin) give different output:\nfile: {}\nnone: {}",
        t.what(),
        show(&from_file),
        show(&none)
    );
}

/// Several FILEs are read in order, as one stream (pcap2jsonl: each its own capture, frames
/// numbered from 1 again); a damaged line names its own file and its line in that file.
fn several_files(t: &Tool) {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let whole = t.run(&[], Some(&t.input));
    assert!(whole.status.success(), "{}: {}", t.what(), show(&whole));
    if !t.is_json() {
        std::fs::write(&a, &t.input).unwrap();
        let o = t.run(&[a.to_str().unwrap(), "-"], Some(&t.input));
        assert!(o.status.success(), "{}: {}", t.what(), show(&o));
        assert!(
            o.stdout == [whole.stdout.clone(), whole.stdout].concat(),
            "{} FILE -: must be each capture's records in turn",
            t.what()
        );
        return;
    }
    let lines = text_lines(&t.input);
    let mid = lines.len() / 2;
    std::fs::write(&a, join_lines(&lines[..mid])).unwrap();
    let mut second = lines[mid..].to_vec();
    std::fs::write(&b, join_lines(&second)).unwrap();
    let (an, bn) = (a.to_str().unwrap(), b.to_str().unwrap());
    let o = t.run(&[an, bn], None);
    assert!(o.status.success(), "{} a b: {}", t.what(), show(&o));
    assert!(
        o.stdout == whole.stdout,
        "{}: `a b` must read as `cat a b |`:\n{}\n{}",
        t.what(),
        show(&o),
        show(&whole)
    );
    second.push("not json".into());
    std::fs::write(&b, join_lines(&second)).unwrap();
    let o = t.run(&[an, bn], None);
    let want = format!("{bn}: line {}", second.len());
    assert!(
        o.status.code() == Some(2) && stderr(&o).contains(&want),
        "{}: a bad last line of the second file must be `{want}`: {}",
        t.what(),
        show(&o)
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Pass-through

fn pass_through_unknown(t: &Tool) {
    let lines = text_lines(&t.input);
    let mid = lines.len() / 2;
    let mut input = vec![UNKNOWN.to_string()];
    input.extend_from_slice(&lines[..mid]);
    input.push(UNKNOWN_2.to_string());
    input.extend_from_slice(&lines[mid..]);
    input.push(UNKNOWN_3.to_string());

    let base = t.run(&[], Some(&t.input));
    assert!(base.status.success(), "{}: {}", t.what(), show(&base));
    let o = t.run(&[], Some(&join_lines(&input)));
    assert!(
        o.status.success(),
        "{} with unknown records: {}",
        t.what(),
        show(&o)
    );
    let out = text_lines(&o.stdout);
    let unknowns = [UNKNOWN, UNKNOWN_2, UNKNOWN_3];
    let is_unknown = |l: &String| unknowns.contains(&l.as_str());
    let rest: Vec<String> = out.iter().filter(|l| !is_unknown(l)).cloned().collect();
    assert!(
        join_lines(&rest) == base.stdout,
        "{}: unknown records changed the rest of the output\nwith: {}\nwithout: {}",
        t.what(),
        show(&o),
        show(&base)
    );
    let seen: Vec<&str> = out
        .iter()
        .filter(|l| is_unknown(l))
        .map(String::as_str)
        .collect();
    if !t.passes {
        // tcpflag's default output is findings only (docs/tcpflag.md).
        assert!(
            seen.is_empty(),
            "{}: documented to write findings only, but wrote {seen:?}",
            t.what()
        );
        return;
    }
    assert_eq!(
        seen,
        unknowns,
        "{}: unknown records at the start, middle and end must come out byte for byte, in order \
         (other lines containing x-custom: {:?})",
        t.what(),
        out.iter()
            .filter(|l| l.contains("x-custom") && !is_unknown(l))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        out[0],
        UNKNOWN,
        "{}: the unknown first record must be the first output",
        t.what()
    );
    // Relative order: input records the tool writes on (passed or enriched) keep their side of
    // the middle unknown record.
    let before: Vec<String> = lines[..mid].iter().filter_map(|l| key(l)).collect();
    let after: Vec<String> = lines[mid..].iter().filter_map(|l| key(l)).collect();
    let pos = |u: &str| out.iter().position(|l| l == u).unwrap();
    let (p1, p2, p3) = (pos(UNKNOWN), pos(UNKNOWN_2), pos(UNKNOWN_3));
    for (i, l) in out.iter().enumerate() {
        let Some(k) = key(l) else { continue };
        if before.contains(&k) {
            assert!(
                p1 < i && i < p2,
                "{}: input record {k} (before the middle unknown record) came out at line {} \
                 (unknown records at {}, {}, {})",
                t.what(),
                i + 1,
                p1 + 1,
                p2 + 1,
                p3 + 1
            );
        } else if after.contains(&k) {
            assert!(
                p2 < i && i < p3,
                "{}: input record {k} (after the middle unknown record) came out at line {} \
                 (unknown records at {}, {}, {})",
                t.what(),
                i + 1,
                p1 + 1,
                p2 + 1,
                p3 + 1
            );
        }
    }
}

/// A last line without its newline (a file cut by `head -c`, a writer that never ends its last
/// line) is still a whole record: it passes through with the newline added.
fn last_line_without_newline(t: &Tool) {
    let mut input = t.input.clone();
    input.extend_from_slice(UNKNOWN.as_bytes());
    let o = t.run(&[], Some(&input));
    assert!(o.status.success(), "{}: {}", t.what(), show(&o));
    let out = text_lines(&o.stdout);
    assert_eq!(
        out.iter().filter(|l| l.as_str() == UNKNOWN).count(),
        1,
        "{}: the last record, without a newline, must pass through: {}",
        t.what(),
        show(&o)
    );
    assert!(
        o.stdout.ends_with(b"\n"),
        "{}: output must end with a newline",
        t.what()
    );
}

/// A 3 MB record and one nested 100,000 deep pass through byte for byte: no line-length or
/// recursion limit below the documented 64 MiB, no crash.
fn long_and_deep_records(t: &Tool) {
    let long = format!(r#"{{"type":"x-long","s":"{}"}}"#, "a".repeat(3_000_000));
    let deep = format!(
        r#"{{"type":"x-deep","d":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let input = join_lines(&[long.clone(), UNKNOWN.into(), deep.clone()]);
    let o = t.run(&[], Some(&input));
    assert!(o.status.success(), "{}: {}", t.what(), show(&o));
    let want: &[u8] = if t.passes { &input } else { b"" };
    assert!(
        o.stdout == want,
        "{}: a 3 MB record and a 100,000-deep one must pass byte for byte (got {} bytes of {})",
        t.what(),
        o.stdout.len(),
        want.len()
    );
}

fn pass_through_known(t: &Tool) {
    let lines = text_lines(&t.input);
    let mid = lines.len() / 2;
    let k = &t.known_foreign;
    assert!(!k.is_empty());
    let mut input = k.clone();
    input.extend_from_slice(&lines[..mid]);
    input.extend_from_slice(k);
    input.extend_from_slice(&lines[mid..]);
    let o = t.run(&[], Some(&join_lines(&input)));
    assert!(o.status.success(), "{}: {}", t.what(), show(&o));
    let out = text_lines(&o.stdout);
    let seen: Vec<&String> = out.iter().filter(|l| k.contains(l)).collect();
    let want: Vec<&String> = k.iter().chain(k.iter()).collect();
    if seen != want {
        let missing: Vec<String> = k
            .iter()
            .filter(|l| !out.contains(l))
            .map(|l| {
                let ty = key(l).unwrap_or_default();
                let similar = out
                    .iter()
                    .find(|o| key(o).as_deref() == Some(ty.as_str()))
                    .map(|o| o.chars().take(300).collect::<String>());
                format!("{ty} (came out as {similar:?})")
            })
            .collect();
        panic!(
            "{}: records of known types it does not consume must pass through byte for byte and \
             in order; missing or changed: {missing:?}; got {} of {} in order {:?}",
            t.what(),
            seen.len(),
            want.len(),
            seen.iter().map(|l| key(l)).collect::<Vec<_>>()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3b. Enrichment: one field named after the tool, the rest of the record byte for byte, unknown
// fields kept (docs/schema.md, contract rules 2 and 5).

/// Adds an unknown field (and an unusual number spelling) to every record of the types the tool
/// enriches, and checks each output record is the input record with exactly one field, named
/// after the tool, spliced in before the closing brace.
fn enrichment(t: &Tool) {
    let enriched: &[&str] = match t.bin {
        "ttlhops" => &["flow"],
        "portmap" => &["flow", "finding"],
        // tcpflag --all writes its input records unchanged.
        _ => &[],
    };
    let extra = r#","x_site":{"note":"kept é","v":1.50,"l":[null]}}"#;
    let input: Vec<String> = text_lines(&t.input)
        .into_iter()
        .map(|l| {
            let ty = l.split('"').nth(3).unwrap_or("").to_string();
            if ["flow", "finding", "host"].contains(&ty.as_str()) {
                format!("{}{extra}", &l[..l.len() - 1])
            } else {
                l
            }
        })
        .collect();
    let o = t.run(&[], Some(&join_lines(&input)));
    assert!(o.status.success(), "{}: {}", t.what(), show(&o));
    let out = text_lines(&o.stdout);
    let mut checked = 0;
    for rec in input.iter().filter(|l| l.contains("\"x_site\"")) {
        let k = key(rec).unwrap();
        let got: Vec<&String> = out
            .iter()
            .filter(|l| key(l).as_deref() == Some(&k))
            .collect();
        assert_eq!(got.len(), 1, "{}: {k} must come out once", t.what());
        let got = got[0];
        let ty = k.split(':').next().unwrap();
        if !enriched.contains(&ty) {
            assert_eq!(
                got,
                rec,
                "{}: {k} is not enriched by this tool and must pass byte for byte",
                t.what()
            );
            continue;
        }
        let body = &rec[..rec.len() - 1];
        let field = format!(",\"{}\":", t.bin);
        assert!(
            got.starts_with(body) && got[body.len()..].starts_with(&field) && got.ends_with('}'),
            "{}: {k} must be the input record byte for byte (unknown fields included) with \
             `{field}…` added before the closing brace:\nin:  {rec}\nout: {}",
            t.what(),
            got.chars().take(body.len() + 200).collect::<String>()
        );
        // Exactly one field added: the object has one key more than the input's.
        let a: serde_json::Value = serde_json::from_str(rec).unwrap();
        let b: serde_json::Value = serde_json::from_str(got).unwrap();
        let keys =
            |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        let mut want = keys(&a);
        want.push(t.bin.to_string());
        assert_eq!(
            keys(&b),
            want,
            "{}: {k}: only `{}` may be added",
            t.what(),
            t.bin
        );
        checked += 1;
    }
    if !enriched.is_empty() {
        assert!(checked > 0, "{}: no enriched record was checked", t.what());
    }
}

/// Running an enriching stage again (a pipeline re-run on its own output, or the stage placed
/// twice) replaces its field instead of adding a second one: the enriched records come out the
/// same as after one run.
fn enrichment_again(t: &Tool) {
    let once = t.run(&[], Some(&t.input));
    assert!(once.status.success(), "{}: {}", t.what(), show(&once));
    let twice = t.run(&[], Some(&once.stdout));
    assert!(
        twice.status.success(),
        "{} twice: {}",
        t.what(),
        show(&twice)
    );
    let field = format!("\"{}\":", t.bin);
    let enriched = |buf: &[u8]| -> Vec<String> {
        text_lines(buf)
            .into_iter()
            .filter(|l| l.contains(&field))
            .collect()
    };
    let (a, b) = (enriched(&once.stdout), enriched(&twice.stdout));
    assert!(!a.is_empty(), "{}: nothing enriched", t.what());
    for l in &b {
        assert_eq!(
            l.matches(&field).count(),
            1,
            "{}: a second run must replace `{field}`, not add another: {}",
            t.what(),
            l.chars().take(300).collect::<String>()
        );
    }
    assert!(
        a == b,
        "{}: enriched records differ after a second run",
        t.what()
    );
}

/// `--line-buffered` (STYLE.md "I/O": flush per record with --line-buffered) is accepted by
/// every tool and changes only when output is written, never what.
fn line_buffered(t: &Tool) {
    let plain = t.run(&[], Some(&t.input));
    let lb = t.run(&["--line-buffered"], Some(&t.input));
    assert!(
        lb.status.success(),
        "{} --line-buffered must be accepted, as by pcap2jsonl, ttlhops and portmap: {}",
        t.what(),
        show(&lb)
    );
    assert!(
        lb.stdout == plain.stdout,
        "{}: --line-buffered changed the output",
        t.what()
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Damaged lines

/// Five lines, the third `bad`: checks exit 2, the name and `line 3` on stderr, and that the two
/// records before it were written (when the tool passes them).
fn damaged_line_3(t: &Tool, bad: &str, what: &str) {
    let input = join_lines(&[
        UNKNOWN.into(),
        UNKNOWN_2.into(),
        bad.into(),
        UNKNOWN.into(),
        UNKNOWN_3.into(),
    ]);
    let expected_out: Vec<u8> = if t.passes {
        join_lines(&[UNKNOWN.into(), UNKNOWN_2.into()])
    } else {
        vec![]
    };
    let (f, p, _dir) = t.run_file(&input, "damaged.jsonl");
    let s = t.run(&[], Some(&input));
    for (o, name) in [(&f, p.display().to_string()), (&s, "<stdin>".to_string())] {
        assert_eq!(
            o.status.code(),
            Some(2),
            "{} on {what} on line 3 ({name}) must exit 2: {}",
            t.what(),
            show(o)
        );
        let err = stderr(o);
        assert!(
            err.contains(&name) && err.contains("line 3"),
            "{} on {what}: stderr must name {name} and line 3: {}",
            t.what(),
            show(o)
        );
        assert!(
            o.stdout == expected_out,
            "{} on {what}: the records before line 3 must be written (and nothing after): {}",
            t.what(),
            show(o)
        );
    }
}

fn malformed_line(t: &Tool) {
    damaged_line_3(t, "this is not json", "a line that is not JSON");
    // Blank lines are skipped but counted: the damage is still on line 3.
    let o = t.run(
        &[],
        Some(format!("{UNKNOWN}\n\nnot json\n{UNKNOWN}\n").as_bytes()),
    );
    assert!(
        o.status.code() == Some(2) && stderr(&o).contains("<stdin>: line 3"),
        "{}: after a blank line 2, the bad line is line 3: {}",
        t.what(),
        show(&o)
    );
}

fn truncated_record(t: &Tool) {
    damaged_line_3(
        t,
        r#"{"type":"x-custom","a":[1,"#,
        "a record cut short (valid start, no end)",
    );
}

fn truncated_known_record(t: &Tool) {
    // A realistic record of a type this tool does not consume, cut in the middle (a copy cut
    // short, a crashed writer): a packet for tcpflag, a host record for the others.
    let full = if t.name == "tcpflag" {
        text_lines(&stages().packets).remove(0)
    } else {
        text_lines(&stages().hops)
            .into_iter()
            .find(|l| l.starts_with(r#"{"type":"host""#))
            .unwrap()
    };
    let cut = &full[..full.len() / 2];
    damaged_line_3(t, cut, "a known-type record cut in half");
}

/// JSON lines are UTF-8 (docs/schema.md, RFC 8259 §8.1): a record with an invalid byte in a
/// string is not JSON, an input error naming the line (as tcpflows reports it), never bytes
/// passed on to break the next stage's decoder.
fn invalid_utf8(t: &Tool) {
    let mut input = join_lines(&[UNKNOWN.into(), UNKNOWN_2.into()]);
    input.extend_from_slice(b"{\"type\":\"x-custom\",\"s\":\"caf\xe9 latin-1\"}\n");
    input.extend_from_slice(format!("{UNKNOWN}\n").as_bytes());
    let o = t.run(&[], Some(&input));
    assert!(
        o.status.code() == Some(2) && stderr(&o).contains("<stdin>: line 3"),
        "{}: a record with invalid UTF-8 on line 3 must be an input error naming it (exit 2): {}",
        t.what(),
        show(&o)
    );
    let want = if t.passes {
        join_lines(&[UNKNOWN.into(), UNKNOWN_2.into()])
    } else {
        vec![]
    };
    assert!(
        o.stdout == want,
        "{}: records before line 3: {}",
        t.what(),
        show(&o)
    );
}

fn line_without_type(t: &Tool) {
    let input = join_lines(&[
        UNKNOWN.into(),
        UNKNOWN_2.into(),
        r#"{"a":1,"b":"x"}"#.into(),
        UNKNOWN.into(),
    ]);
    let o = t.run(&[], Some(&input));
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}: a line without \"type\" must be an input error: {}",
        t.what(),
        show(&o)
    );
    let err = stderr(&o);
    assert!(
        err.contains("<stdin>") && err.contains("line 3") && err.contains("type"),
        "{}: the error must name the input, line 3 and the missing \"type\": {}",
        t.what(),
        show(&o)
    );
    if t.passes {
        assert!(
            o.stdout == join_lines(&[UNKNOWN.into(), UNKNOWN_2.into()]),
            "{}: records before the damage must be written: {}",
            t.what(),
            show(&o)
        );
    }
}

/// pcap2jsonl's version of promise 4: a capture damaged in the middle.
fn damaged_capture(t: &Tool) {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    let p = shared_captures().join("malformed/garbage-mid.pcap");
    let name = p.display().to_string();
    let o = t.run(&[&name], None);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{} {name}: {}",
        t.what(),
        show(&o)
    );
    let err = stderr(&o);
    assert!(
        err.contains(&name) && err.contains("byte 54451"),
        "{}: the error must name {name} and the byte offset 54451: {}",
        t.what(),
        show(&o)
    );
    let recs = records(&o.stdout);
    assert_eq!(
        recs.len(),
        99,
        "{}: the 99 packets before the damage must be written",
        t.what()
    );
    let s = t.run(&[], Some(&std::fs::read(&p).unwrap()));
    assert_eq!(
        s.status.code(),
        Some(2),
        "{} < {name}: {}",
        t.what(),
        show(&s)
    );
    assert!(
        s.stdout == o.stdout && stderr(&s).contains("<stdin>"),
        "{} < {name}: {}",
        t.what(),
        show(&s)
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Closed stdout

fn closed_stdout(t: &Tool) {
    let input: Vec<u8> = if t.is_json() {
        // The realistic input, then enough pass-through records to fill every buffer between the
        // tool and the closed pipe many times (about 5.5 MB; pipes may be 1 MiB).
        let mut v = t.input.clone();
        for _ in 0..100_000 {
            v.extend_from_slice(UNKNOWN.as_bytes());
            v.push(b'\n');
        }
        v
    } else {
        if tcpwhy_tests::corpus().is_none() {
            return;
        }
        std::fs::read(big_capture()).unwrap()
    };
    let mut args: Vec<&str> = t.args.iter().map(String::as_str).collect();
    args.push("-");
    let mut child = Command::new(bin(t.bin))
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut sin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = sin.write_all(&input);
    });
    let mut sout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    sout.read_line(&mut first).unwrap();
    drop(sout); // `| head -1`
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        !first.is_empty(),
        "{}: no first line before the pipe was closed",
        t.what()
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}: a closed stdout must end it with status 0: {}",
        t.what(),
        show(&o)
    );
    assert!(
        o.stderr.is_empty(),
        "{}: a closed stdout must end it quietly: {}",
        t.what(),
        show(&o)
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Missing input file

fn missing_file(t: &Tool) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("no-such-input.jsonl");
    let name = p.display().to_string();
    let o = t.run(&[&name], None);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{} {name} (missing): {}",
        t.what(),
        show(&o)
    );
    assert!(
        stderr(&o).contains(&name),
        "{}: the error must name {name}: {}",
        t.what(),
        show(&o)
    );
    assert!(o.stdout.is_empty(), "{}: {}", t.what(), show(&o));
    if t.bin == "portmap" {
        // The listing is an input too.
        let o = tcpwhy_tests::run("portmap", &["--listeners", &name], Some(&t.input));
        assert_eq!(
            o.status.code(),
            Some(2),
            "portmap --listeners {name}: {}",
            show(&o)
        );
        assert!(
            stderr(&o).contains(&name),
            "portmap --listeners {name}: {}",
            show(&o)
        );
        assert!(
            o.stdout.is_empty(),
            "portmap --listeners {name}: {}",
            show(&o)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Empty input

fn empty_input(t: &Tool) {
    let (f, p, _dir) = t.run_file(b"", "empty");
    let s = t.run(&[], Some(b""));
    if !t.is_json() {
        // docs/pcap2jsonl.md: "empty input: not a capture file", exit 2.
        for (o, name) in [(&f, p.display().to_string()), (&s, "<stdin>".to_string())] {
            assert_eq!(
                o.status.code(),
                Some(2),
                "{} on empty {name}: {}",
                t.what(),
                show(o)
            );
            let err = stderr(o);
            assert!(
                err.contains(&name) && err.contains("empty") && err.contains("not a capture"),
                "{} on empty {name}: {}",
                t.what(),
                show(o)
            );
            assert!(o.stdout.is_empty(), "{}: {}", t.what(), show(o));
        }
        return;
    }
    // portmap with --listeners and no records lists the listeners (docs/portmap.md
    // "Standalone"), exactly as --list does.
    let expected: &[u8] = if t.bin == "portmap" {
        &stages().listeners
    } else {
        b""
    };
    for (o, name) in [(&f, p.display().to_string()), (&s, "<stdin>".to_string())] {
        assert!(
            o.status.success() && o.stdout == expected && o.stderr.is_empty(),
            "{} on an empty {name}: exit 0, no diagnostics and {} expected: {}",
            t.what(),
            if expected.is_empty() {
                "no output".to_string()
            } else {
                "the --list output".to_string()
            },
            show(o)
        );
    }
    if t.bin == "portmap" {
        let o = tcpwhy_tests::run::<&str>("portmap", &[], Some(b""));
        assert!(
            o.status.success() && o.stdout.is_empty() && o.stderr.is_empty(),
            "portmap on empty input without listings: {}",
            show(&o)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 8. Streaming

/// Starts the tool on a pipe, writes `line` and keeps the pipe open: the first output line if it
/// comes within 3 s. Then closes the input and waits for the tool (killing our own child by its
/// handle if it does not end within 5 s).
fn first_line_while_open(t: &Tool, extra: &[&str], line: &str) -> (Option<String>, ExitStatus) {
    let mut args: Vec<&str> = t.args.iter().map(String::as_str).collect();
    args.extend_from_slice(extra);
    args.push("-");
    let mut child = Command::new(bin(t.bin))
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut sin = child.stdin.take().unwrap();
    sin.write_all(format!("{line}\n").as_bytes()).unwrap();
    sin.flush().unwrap();
    let sout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut r = BufReader::new(sout);
        let mut first = String::new();
        let _ = r.read_line(&mut first);
        let _ = tx.send(first);
        // Keep draining so the tool never blocks on a full pipe.
        let mut rest = vec![];
        let _ = std::io::Read::read_to_end(&mut r, &mut rest);
    });
    let got = rx.recv_timeout(Duration::from_secs(3)).ok();
    drop(sin); // end of input
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    reader.join().unwrap();
    (got.map(|l| l.trim_end_matches('\n').to_string()), status)
}

fn streaming(t: &Tool) {
    let (first, status) = first_line_while_open(t, &[], UNKNOWN);
    let first = first.unwrap_or_else(|| {
        panic!(
            "{}: a pass-through record did not come out within 3 s while the input stayed open \
             (it must stream; exit after stdin closed: {status})",
            t.what()
        )
    });
    assert_eq!(first, UNKNOWN, "{}: the first output line", t.what());
    assert!(status.success(), "{}: {status}", t.what());
}

/// Streaming of the records each tool documents as written at once: a DNS packet through
/// tcpflows ("passes through at once"), a flow without RST through ttlhops ("never held"), and
/// any flow with `--no-wait`; a flow through tcpflag --all and portmap.
fn streaming_records(t: &Tool) {
    let s = stages();
    let flows = text_lines(&s.flows);
    let first_flow = flows[0].clone();
    let unreset_flow = flows
        .iter()
        .find(|l| l.contains(r#""state":"SF""#) && l.contains(r#""rst":null"#))
        .cloned()
        .unwrap_or_else(|| panic!("no SF flow without RST in {}", capture().display()));
    let cases: Vec<(Vec<&str>, String)> = match t.name {
        "tcpflows" => vec![(vec![], s.dns_packet.clone())],
        "ttlhops" => vec![(vec![], unreset_flow), (vec!["--no-wait"], first_flow)],
        _ => vec![(vec![], text_lines(&t.input).remove(0))],
    };
    for (extra, line) in cases {
        let what = format!("{} {}", t.what(), extra.join(" "));
        let (first, status) = first_line_while_open(t, &extra, &line);
        let first = first.unwrap_or_else(|| {
            panic!(
                "{what}: {} did not come out within 3 s while the input stayed open (exit after \
                 stdin closed: {status})",
                key(&line).unwrap()
            )
        });
        let body = &line[..line.len() - 1];
        assert!(
            first == line || first.starts_with(&format!("{body},\"{}\":", t.bin)),
            "{what}: the first output line must be the record (or it enriched): {}",
            first.chars().take(300).collect::<String>()
        );
        assert!(status.success(), "{what}: {status}");
    }
}

// ---------------------------------------------------------------------------------------------
// 9. Every line a JSON object with "type" first

fn type_first(t: &Tool) {
    let mut outs = vec![(t.what(), t.run(&[], Some(&t.input)))];
    if t.bin == "pcap2jsonl" && tcpwhy_tests::corpus().is_some() {
        let big = big_capture().display().to_string();
        outs.push((
            format!("pcap2jsonl {big}"),
            tcpwhy_tests::run("pcap2jsonl", &[&big], None),
        ));
    }
    if t.bin == "portmap" {
        outs.push(("portmap --list".into(), t.run(&["--list"], Some(b""))));
    }
    for (what, o) in outs {
        assert!(o.status.success(), "{what}: {}", show(&o));
        assert!(!o.stdout.is_empty(), "{what} wrote nothing");
        assert!(
            o.stdout.ends_with(b"\n"),
            "{what}: the last line has no newline"
        );
        for (i, l) in text_lines(&o.stdout).iter().enumerate() {
            assert!(
                l.starts_with(r#"{"type":""#),
                "{what}: line {} does not start with {{\"type\":\": {:?}",
                i + 1,
                l.chars().take(200).collect::<String>()
            );
            let v: serde_json::Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{what}: line {} is not JSON: {e}", i + 1));
            assert!(v.is_object(), "{what}: line {} is not an object", i + 1);
            assert!(
                !l.contains('\n') && !l.contains('\r'),
                "{what}: line {} has a raw line break",
                i + 1
            );
        }
    }
}

/// Promise 4's message: a wrong-typed 10 MiB string is quoted to at most 200 bytes with its
/// length (issue 16, item 3: the whole value reached stderr).
fn long_value_quoted_briefly(t: &Tool) {
    let big = "A".repeat(10 << 20);
    let (ty, field) = if t.bin == "tcpflows" {
        ("packet", "\"src_port\":")
    } else {
        ("flow", "\"established\":")
    };
    let line = text_lines(&t.input)
        .into_iter()
        .find(|l| l.starts_with(&format!("{{\"type\":\"{ty}\"")) && l.contains(field))
        .unwrap_or_else(|| panic!("{}: no {ty} record with {field}", t.what()));
    let at = line.find(field).unwrap() + field.len();
    let end = at + line[at..].find([',', '}']).unwrap();
    let bad = format!("{}\"{big}\"{}", &line[..at], &line[end..]);
    let o = t.run(&[], Some(&join_lines(&[UNKNOWN.into(), bad])));
    assert_eq!(o.status.code(), Some(2), "{}: {}", t.what(), show(&o));
    let err = stderr(&o);
    assert!(
        err.len() < 1000,
        "{}: {} bytes on stderr for one error",
        t.what(),
        err.len()
    );
    assert!(
        err.contains("<stdin>: line 2: ")
            && err.contains(&format!("AAAA…\" ({} bytes)", big.len())),
        "{}: {err}",
        t.what()
    );
}

/// Promises 3 and 9 meet (issue 16, item 7): a record passed through keeps its bytes even when
/// it does not start `{"type":"` (spaces around the colon, leading whitespace, `type` not first,
/// a known type respelled); promise 9 is about the records a tool writes itself, which all
/// still start `{"type":"`. A CRLF line end is a line end, not part of the record: `\n` out.
fn pass_through_any_spelling(t: &Tool) {
    let foreign = t
        .known_foreign
        .first()
        .cloned()
        .unwrap_or_else(|| UNKNOWN.to_string());
    let respelled = format!(" {}", foreign.replacen("{\"type\":", "{ \"type\" :", 1));
    assert_ne!(respelled, format!(" {foreign}"), "{foreign}");
    let odd: Vec<String> = vec![
        r#"{"type" : "zzz"}"#.into(),
        r#"  {"type":"zzz","a":1}"#.into(),
        r#"{"a":[1],"type":"zzz"}"#.into(),
        "\t{ \"type\":\"zzz\" }  ".into(),
        respelled,
    ];
    let mut input = join_lines(&odd);
    input.extend_from_slice(b"{\"type\":\"zzz\",\"crlf\":1}\r\n");
    input.extend_from_slice(&t.input);
    let base = t.run(&[], Some(&t.input));
    assert!(base.status.success(), "{}: {}", t.what(), show(&base));
    let o = t.run(&[], Some(&input));
    assert!(o.status.success(), "{}: {}", t.what(), show(&o));
    if !t.passes {
        assert!(
            o.stdout == base.stdout,
            "{}: findings only, whatever the spelling: {}",
            t.what(),
            show(&o)
        );
        return;
    }
    let mut want = join_lines(&odd);
    want.extend_from_slice(b"{\"type\":\"zzz\",\"crlf\":1}\n");
    want.extend_from_slice(&base.stdout);
    assert!(
        o.stdout == want,
        "{}: records passed through must keep their bytes, whatever their spelling, and change \
         nothing else: {}",
        t.what(),
        show(&o)
    );
    // What the tool writes itself still starts `{"type":"` (promise 9).
    for l in text_lines(&base.stdout) {
        assert!(l.starts_with(r#"{"type":""#), "{}: {l:.200}", t.what());
    }
}

// ---------------------------------------------------------------------------------------------
// The table: promise × tool. A case a tool fails is kept and marked
// `#[ignore = "… tool owner to fix"]` (see docs/contract.md), never deleted.

macro_rules! cases {
    ($check:ident: $( $(#[$attr:meta])* $tool:ident ),+ $(,)?) => {
        mod $check {
            $(
                #[test]
                $(#[$attr])*
                fn $tool() {
                    super::$check(&super::tool(stringify!($tool)));
                }
            )+
        }
    };
}

cases!(help: pcap2jsonl, tcpflows, ttlhops, tcpflag, portmap);
cases!(version: pcap2jsonl, tcpflows, ttlhops, tcpflag, portmap);
cases!(unknown_flag: pcap2jsonl, tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(file_and_stdin: pcap2jsonl, tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(pass_through_unknown: tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(pass_through_known: tcpflows, ttlhops, tcpflag_all, portmap);
cases!(last_line_without_newline: tcpflows, ttlhops, tcpflag_all, portmap);
cases!(long_and_deep_records: tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(enrichment: ttlhops, tcpflag_all, portmap);
cases!(enrichment_again: ttlhops, portmap);
cases!(
    line_buffered: pcap2jsonl,
    tcpflows,
    ttlhops,
    tcpflag,
    portmap,
);
cases!(malformed_line: tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(truncated_record: tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(truncated_known_record: tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(
    invalid_utf8: tcpflows,
    ttlhops,
    tcpflag,
    tcpflag_all,
    portmap,
);
cases!(line_without_type: tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(damaged_capture: pcap2jsonl);
cases!(closed_stdout: pcap2jsonl, tcpflows, ttlhops, tcpflag_all, portmap);
cases!(missing_file: pcap2jsonl, tcpflows, ttlhops, tcpflag, portmap);
cases!(empty_input: pcap2jsonl, tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(streaming: tcpflows, ttlhops, tcpflag_all, portmap);
cases!(streaming_records: tcpflows, ttlhops, tcpflag_all, portmap);
cases!(several_files: pcap2jsonl, tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(type_first: pcap2jsonl, tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(pass_through_any_spelling: tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(long_value_quoted_briefly: tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);

/// The table above covers every tool of the workspace: a new tool must be added to it.
#[test]
fn every_tool_is_in_the_table() {
    let tools = std::fs::read_dir(tcpwhy_tests::root().join("tools")).unwrap();
    let mut names: Vec<String> = tools
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["pcap2jsonl", "portmap", "tcpflag", "tcpflows", "ttlhops"],
        "a tool was added or renamed: add it to every promise in tests/tests/contract.rs"
    );
}

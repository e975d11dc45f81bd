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
//! This file holds what every promise uses (the stages' outputs, the tools as the tests run
//! them) and the table of promise × tool; the checks live in one module per group of promises:
//! [`options`] (1, 2), [`pass_through`] (3, 3b), [`input_errors`] (4, 6, 7) and [`output`] (5,
//! 8, 9 and `--line-buffered`).
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

mod input_errors;
mod options;
mod output;
mod pass_through;

use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};
use std::sync::OnceLock;

use tcpwhy_tests::{bin, own_captures, pipeline, shared_captures};

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

    /// [`Tool::run`], which must succeed (else the test fails with what the tool wrote).
    fn run_ok(&self, extra: &[&str], stdin: Option<&[u8]>) -> Output {
        let o = self.run(extra, stdin);
        assert!(
            o.status.success(),
            "{} {}: {}",
            self.what(),
            extra.join(" "),
            show(&o)
        );
        o
    }

    /// Runs on `data` given as a file argument.
    fn run_file(&self, data: &[u8], file_name: &str) -> (Output, PathBuf, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(file_name);
        std::fs::write(&p, data).unwrap();
        let out = self.run(&[p.to_str().unwrap()], None);
        (out, p, dir)
    }

    /// Starts the tool with its own options, `extra` and `-` on a pipe (its stderr to `stderr`):
    /// the child and the pipes to its stdin and from its stdout.
    fn spawn(&self, extra: &[&str], stderr: Stdio) -> (Child, ChildStdin, ChildStdout) {
        let mut child = Command::new(bin(self.bin))
            .args(&self.args)
            .args(extra)
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn");
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        (child, stdin, stdout)
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

/// The lines of a tool's output (invalid UTF-8 replaced).
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

/// Checks that `o` is an input or usage error: exit 2, and stderr naming each of `names`.
/// `what` says what was run and why it must fail, for the failure message.
fn assert_error(o: &Output, names: &[&str], what: &str) {
    assert_eq!(o.status.code(), Some(2), "{what}: must exit 2: {}", show(o));
    let err = stderr(o);
    for name in names {
        assert!(
            err.contains(name),
            "{what}: stderr must name {name:?}: {}",
            show(o)
        );
    }
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
// The table: promise × tool. A case a tool fails is kept and marked
// `#[ignore = "… tool owner to fix"]` (see docs/contract.md), never deleted.

macro_rules! cases {
    ($group:ident::$check:ident: $( $(#[$attr:meta])* $tool:ident ),+ $(,)?) => {
        mod $check {
            $(
                #[test]
                $(#[$attr])*
                fn $tool() {
                    super::$group::$check(&super::tool(stringify!($tool)));
                }
            )+
        }
    };
}

cases!(options::help: pcap2jsonl, tcpflows, ttlhops, tcpflag, portmap);
cases!(options::version: pcap2jsonl, tcpflows, ttlhops, tcpflag, portmap);
cases!(options::unknown_flag: pcap2jsonl, tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(options::file_and_stdin: pcap2jsonl, tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(pass_through::pass_through_unknown: tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(pass_through::pass_through_known: tcpflows, ttlhops, tcpflag_all, portmap);
cases!(pass_through::last_line_without_newline: tcpflows, ttlhops, tcpflag_all, portmap);
cases!(pass_through::long_and_deep_records: tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(pass_through::enrichment: ttlhops, tcpflag_all, portmap);
cases!(pass_through::enrichment_again: ttlhops, portmap);
cases!(
    output::line_buffered: pcap2jsonl,
    tcpflows,
    ttlhops,
    tcpflag,
    portmap,
);
cases!(input_errors::malformed_line: tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(input_errors::truncated_record: tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(input_errors::truncated_known_record: tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(
    input_errors::invalid_utf8: tcpflows,
    ttlhops,
    tcpflag,
    tcpflag_all,
    portmap,
);
cases!(input_errors::line_without_type: tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(input_errors::damaged_capture: pcap2jsonl);
cases!(output::closed_stdout: pcap2jsonl, tcpflows, ttlhops, tcpflag_all, portmap);
cases!(input_errors::missing_file: pcap2jsonl, tcpflows, ttlhops, tcpflag, portmap);
cases!(input_errors::empty_input: pcap2jsonl, tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(output::streaming: tcpflows, ttlhops, tcpflag_all, portmap);
cases!(output::streaming_records: tcpflows, ttlhops, tcpflag_all, portmap);
cases!(options::several_files: pcap2jsonl, tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(output::type_first: pcap2jsonl, tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(pass_through::pass_through_any_spelling: tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);
cases!(input_errors::long_value_quoted_briefly: tcpflows, ttlhops, tcpflag, tcpflag_all, portmap);

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
        "a tool was added or renamed: add it to every promise in tests/tests/contract/main.rs"
    );
}

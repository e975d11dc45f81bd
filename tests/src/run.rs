//! Running the tools: one, or chained as a pipeline (over a capture), with the checks that they
//! succeeded.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::records;

/// Path of a tool binary in the same profile directory as the running test.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} not built: run `cargo build --workspace` (make test does)",
        p.display()
    );
    p
}

/// Runs `stages` as a shell-free pipeline: each `(tool, args)` reads the previous one's stdout.
/// The first stage gets `stdin` (or nothing). Returns every stage's output; stdout of the last.
pub fn pipeline(stages: &[(&str, &[&str])], stdin: Option<&[u8]>) -> Vec<Output> {
    let mut input: Vec<u8> = stdin.map(|s| s.to_vec()).unwrap_or_default();
    let mut outs = vec![];
    for (tool, args) in stages {
        let mut child = Command::new(bin(tool))
            .args(*args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        {
            use std::io::Write;
            let mut sin = child.stdin.take().unwrap();
            let data = std::mem::take(&mut input);
            let writer = std::thread::spawn(move || {
                let _ = sin.write_all(&data);
            });
            let out = child.wait_with_output().expect("wait");
            writer.join().unwrap();
            input = out.stdout.clone();
            outs.push(out);
        }
    }
    outs
}

/// Runs one tool with `args`, `stdin` on its standard input (none: /dev/null); the whole output.
pub fn run<S: AsRef<std::ffi::OsStr>>(tool: &str, args: &[S], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(bin(tool));
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd.spawn().expect("spawn");
    // Written from a thread: a tool that writes as it reads would fill its stdout pipe first.
    let writer = stdin.map(|data| {
        use std::io::Write;
        let mut sin = child.stdin.take().expect("stdin is piped");
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = sin.write_all(&data);
        })
    });
    let out = child.wait_with_output().expect("wait");
    if let Some(w) = writer {
        w.join().expect("stdin writer");
    }
    out
}

/// Fails the test unless `out` is a success: `<what> failed (<status>): <its stderr>`.
pub fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `cmd` to its end; it must succeed (else the test fails with its stderr). Its output.
pub fn output_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} cannot run: {e}"));
    assert_success(&out, &format!("{cmd:?}"));
    out
}

/// Runs one tool that must succeed (exit 0, or the test fails with its stderr); its records.
pub fn run_ok<S: AsRef<std::ffi::OsStr>>(tool: &str, args: &[S], stdin: &[u8]) -> Vec<Value> {
    let out = run(tool, args, Some(stdin));
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
    assert_success(&out, &format!("{tool} {shown:?}"));
    records(&out.stdout)
}

/// Runs `pcap2jsonl CAPTURE | stages…` and checks that every stage exited 0 (the test fails
/// with the stage's stderr otherwise); every stage's output, pcap2jsonl's first.
pub fn pipeline_ok(capture: &Path, stages: &[(&str, &[&str])]) -> Vec<Output> {
    let cap = capture.to_string_lossy().into_owned();
    let cap_arg = [cap.as_str()];
    let mut all: Vec<(&str, &[&str])> = vec![("pcap2jsonl", &cap_arg)];
    all.extend_from_slice(stages);
    let outs = pipeline(&all, None);
    for (o, (tool, _)) in outs.iter().zip(&all) {
        assert_success(o, &format!("{cap}: {tool}"));
    }
    outs
}

/// Runs `pcap2jsonl CAPTURE | tcpflows | ttlhops | tcpflag ARGS…`; every stage's output,
/// unchecked (for the tests of tcpflag's exit status).
pub fn to_tcpflag(capture: &Path, args: &[&str]) -> Vec<Output> {
    let cap = capture.to_string_lossy();
    pipeline(
        &[
            ("pcap2jsonl", &[&cap]),
            ("tcpflows", &[]),
            ("ttlhops", &[]),
            ("tcpflag", args),
        ],
        None,
    )
}

/// The findings of `pcap2jsonl CAPTURE | tcpflows | ttlhops | tcpflag`, every stage checked as
/// [`pipeline_ok`] checks it (tcpflag's default output is findings only; that is checked too).
pub fn findings(capture: &Path) -> Vec<Value> {
    let outs = pipeline_ok(
        capture,
        &[("tcpflows", &[]), ("ttlhops", &[]), ("tcpflag", &[])],
    );
    let recs = records(&outs[3].stdout);
    assert!(
        recs.iter().all(|r| r["type"] == "finding"),
        "{}: only findings by default",
        capture.display()
    );
    recs
}

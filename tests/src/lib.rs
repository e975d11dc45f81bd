//! Helpers for the workspace-level pipeline tests in `tests/tests/`.
//!
//! The tests run the real binaries (built by `cargo test --workspace` / `make test`), chained as
//! a user would chain them, on the project's own captures (`tests/captures/`) and, when it is
//! there, on the external corpus ([`corpus`]: `$TCPWHY_CORPUS`, default `../shared` beside the
//! clone).
//!
//! # Skips that never pass silently
//!
//! A test that needs something outside the repository (the corpus, tshark, root and network
//! namespaces, python3 with scapy) asks for it with [`corpus`], [`need_tool`], [`need_netns`] or
//! [`need_scapy`]. When it is missing the test prints one line
//! `SKIPPED: <test>: <what is missing>; <how to get it>` on stderr and returns, unless
//! `TCPWHY_REQUIRE_CORPUS=1` (set by `.ci/run`), where the same line is a test failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
pub mod cli;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Where the external corpus is: `$TCPWHY_CORPUS` when set, else `../shared` beside the
/// workspace. It holds `captures/real/*` (public captures, with tshark's values in
/// `captures/real/expected/`), `captures/malformed/*` and `bench/gen_pcap.py`. Present or not:
/// tests ask through [`corpus`].
pub fn corpus_path() -> PathBuf {
    match std::env::var_os("TCPWHY_CORPUS") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() { d } else { root().join(d) }
        }
        _ => root().join("../shared"),
    }
}

/// `captures/` of the corpus (see [`corpus_path`]); ask [`corpus`] first whether it is there.
pub fn shared_captures() -> PathBuf {
    corpus_path().join("captures")
}

/// True under `TCPWHY_REQUIRE_CORPUS=1` (CI): whatever a test needs must be there.
pub fn required() -> bool {
    std::env::var_os("TCPWHY_REQUIRE_CORPUS").is_some_and(|v| v == "1")
}

/// The running test's name (libtest names each test's thread after it).
pub fn test_name() -> String {
    std::thread::current().name().unwrap_or("test").to_string()
}

/// Reports that the running test cannot run (all of it, or the part the caller skips): prints
/// `SKIPPED: <test>: <missing>; <how>` on stderr, or panics with that line under
/// `TCPWHY_REQUIRE_CORPUS=1`.
///
/// The line is written to the process' stderr directly, not through `eprintln!`, so that libtest's
/// output capture does not hide it in a passing test; it is also appended to
/// `<target>/<profile>/tcpwhy-skipped.txt`, which `make test` counts at the end.
pub fn skip(missing: &str, how: &str) {
    let line = format!("SKIPPED: {}: {missing}; {how}", test_name());
    if required() {
        panic!("{line} (TCPWHY_REQUIRE_CORPUS=1: nothing may be skipped)");
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
    if let Some(log) = skip_log() {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// `<target>/<profile>/tcpwhy-skipped.txt` for a test binary at `<target>/<profile>/deps/<test>`.
fn skip_log() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile = exe.parent()?.parent()?;
    Some(profile.join("tcpwhy-skipped.txt"))
}

/// The external corpus' directory when it is there (with `captures/real/`); else reports the
/// skip (see [`skip`]) and returns `None`: `let Some(corpus) = corpus() else { return };`.
pub fn corpus() -> Option<PathBuf> {
    let dir = corpus_path();
    if dir.join("captures/real").is_dir() {
        Some(dir)
    } else {
        skip(
            &format!("the external corpus is not at {}", dir.display()),
            "put the shared corpus (captures/real, captures/malformed, bench/gen_pcap.py) \
             beside the clone as ../shared or point TCPWHY_CORPUS at it",
        );
        None
    }
}

/// True when `tool` is on PATH (it can be started: `tool --version`, whatever its exit status),
/// without reporting anything.
pub fn have_tool(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// True when `tool` runs; else reports the skip (see [`skip`]). `package` is the Debian package
/// that has it.
pub fn need_tool(tool: &str, package: &str) -> bool {
    if have_tool(tool) {
        return true;
    }
    skip(
        &format!("{tool} is not installed"),
        &format!("install it (Debian/Ubuntu: apt-get install {package})"),
    );
    false
}

/// True when this process may create network namespaces (root, `ip` from iproute2, a kernel
/// that allows it: one is made and deleted to find out, once per test process); else reports
/// the skip.
pub fn need_netns() -> bool {
    static PROBE: std::sync::OnceLock<Result<(), &'static str>> = std::sync::OnceLock::new();
    let probe = PROBE.get_or_init(|| {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        if !root {
            return Err("not root (network namespaces are needed)");
        }
        if !have_tool("ip") {
            return Err("iproute2's `ip` is not installed");
        }
        let ns = format!("tcpwhy-probe-{}", std::process::id());
        let made = Command::new("ip")
            .args(["netns", "add", &ns])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !made {
            return Err("cannot create a network namespace");
        }
        let _ = Command::new("ip").args(["netns", "del", &ns]).status();
        Ok(())
    });
    match probe {
        Ok(()) => true,
        Err(why) => {
            skip(
                why,
                "run the tests as root on Linux with iproute2 (CI does: sudo make test)",
            );
            false
        }
    }
}

/// True when `python3` with scapy is there; else reports the skip.
pub fn need_scapy() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import scapy.all"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip(
            "python3 with scapy is not installed",
            "install it (Debian/Ubuntu: apt-get install python3-scapy)",
        );
    }
    ok
}

/// The project's own captures (made with real stacks by the lab).
pub fn own_captures() -> PathBuf {
    root().join("tests/captures")
}

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

/// Runs one tool that must succeed (exit 0, or the test fails with its stderr); its records.
pub fn run_ok<S: AsRef<std::ffi::OsStr>>(tool: &str, args: &[S], stdin: &[u8]) -> Vec<Value> {
    let out = run(tool, args, Some(stdin));
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
    assert!(
        out.status.success(),
        "{tool} {shown:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
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
        assert!(
            o.status.success(),
            "{cap}: {tool} failed ({}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
    }
    outs
}

/// Parses JSON lines (blank lines skipped); the output must be UTF-8 and every line JSON.
pub fn records(stdout: &[u8]) -> Vec<Value> {
    std::str::from_utf8(stdout)
        .unwrap_or_else(|e| panic!("output is not UTF-8: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The records of one `type`.
pub fn of_type<'a>(recs: &'a [Value], ty: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["type"] == ty).collect()
}

/// The records of one `type` in JSON lines, owned.
pub fn records_of(stdout: &[u8], ty: &str) -> Vec<Value> {
    records(stdout)
        .into_iter()
        .filter(|r| r["type"] == ty)
        .collect()
}

/// `rec` with the invalid UTF-8 bytes `caf\xe9` put where it has its `@` (in a string a stage
/// reads, or one it skips), as one line: for the one UTF-8 check every stage makes
/// (docs/contract.md, promise 4).
pub fn bad_utf8_line(rec: &str) -> Vec<u8> {
    let (a, b) = rec.split_once('@').expect("an @ where the bad bytes go");
    let mut line = a.as_bytes().to_vec();
    line.extend_from_slice(b"caf\xe9");
    line.extend_from_slice(b.as_bytes());
    line.push(b'\n');
    line
}

/// `{"type":"x"}`, then [`bad_utf8_line`] of `rec`.
pub fn with_bad_utf8(rec: &str) -> Vec<u8> {
    let mut input = b"{\"type\":\"x\"}\n".to_vec();
    input.extend(bad_utf8_line(rec));
    input
}

/// xorshift64*: a small seeded generator without a dependency, so a failure reproduces.
pub struct Rng(pub u64);

impl Rng {
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Where the lab's captures are read from: `$TCPWHY_CAPTURES` when set (the lab's CI check runs
/// the end-to-end tests on freshly made captures), else the committed `tests/captures/`.
pub fn lab_captures() -> PathBuf {
    match std::env::var_os("TCPWHY_CAPTURES") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => own_captures(),
    }
}

/// A JSON number as f64, or a panic naming what was there.
pub fn f64v(v: &serde_json::Value) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("expected a number, got {v}"))
}

/// A JSON integer as u64, or a panic naming what was there.
pub fn u64v(v: &serde_json::Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected an integer, got {v}"))
}

/// A finding's evidence `frames`.
pub fn frames(f: &serde_json::Value) -> Vec<u64> {
    f["frames"]
        .as_array()
        .unwrap_or_else(|| panic!("no frames in {f}"))
        .iter()
        .map(u64v)
        .collect()
}

/// The packet record of `frame` in a diagnosed capture.
pub fn packet(d: &Diagnosis, frame: u64) -> &serde_json::Value {
    d.packets
        .iter()
        .find(|p| p["frame"] == frame)
        .unwrap_or_else(|| panic!("{}: no frame {frame}", d.name))
}

/// What the full pipeline says about one lab scenario.
#[derive(Debug)]
pub struct Diagnosis {
    pub name: String,
    /// pcap2jsonl's `packet` records.
    pub packets: Vec<serde_json::Value>,
    /// `flow` records as ttlhops wrote them (with `ttlhops`).
    pub flows: Vec<serde_json::Value>,
    /// ttlhops' `host` records.
    pub hosts: Vec<serde_json::Value>,
    /// The `finding` records at the end of the pipeline (with `portmap`).
    pub findings: Vec<serde_json::Value>,
    /// What the client application saw (`<name>.app.jsonl`, written by the lab).
    pub app: Vec<serde_json::Value>,
}

/// Runs `pcap2jsonl <name>.pcap | tcpflows | ttlhops | tcpflag | portmap [--listeners
/// <name>.ss.txt]` on a lab capture, checking that every stage succeeded quietly.
pub fn diagnose(name: &str) -> Diagnosis {
    let mut dir = lab_captures();
    // The lab's check does not regenerate the scenarios whose outcome depends on the machine's
    // load (`backlog-abort`, `pmtu-blackhole-tls*`: tests/scenarios/run.sh says why); their
    // committed captures stand in, and the test says so.
    let base = name.split('.').next().unwrap_or(name);
    if !dir.join(format!("{name}.pcap")).exists()
        && ["backlog-abort", "pmtu-blackhole-tls"].contains(&base)
        && own_captures().join(format!("{name}.pcap")).exists()
    {
        eprintln!("note: {name}.pcap is not made by the lab's check; the committed one is read");
        dir = own_captures();
    }
    let pcap = dir.join(format!("{name}.pcap"));
    assert!(pcap.exists(), "{} missing", pcap.display());
    let ss = dir.join(format!("{name}.ss.txt"));
    let ss = ss.exists().then(|| ss.to_string_lossy().into_owned());
    let mut pm: Vec<&str> = vec![];
    if let Some(ss) = &ss {
        pm.extend(["--listeners", ss.as_str()]);
    }
    let outs = pipeline_ok(
        &pcap,
        &[
            ("tcpflows", &[]),
            ("ttlhops", &[]),
            ("tcpflag", &[]),
            ("portmap", &pm),
        ],
    );
    let mid = records(&outs[2].stdout);
    let app = std::fs::read_to_string(dir.join(format!("{name}.app.jsonl")))
        .map(|s| records(s.as_bytes()))
        .unwrap_or_default();
    Diagnosis {
        name: name.to_string(),
        packets: records_of(&outs[0].stdout, "packet"),
        flows: of_type(&mid, "flow").into_iter().cloned().collect(),
        hosts: of_type(&mid, "host").into_iter().cloned().collect(),
        findings: records_of(&outs[4].stdout, "finding"),
        app,
    }
}

impl Diagnosis {
    /// Findings of one kind.
    pub fn kind(&self, kind: &str) -> Vec<&serde_json::Value> {
        self.findings.iter().filter(|f| f["kind"] == kind).collect()
    }

    /// Flows to one server address and port.
    pub fn flows_to(&self, ip: &str, port: u16) -> Vec<&serde_json::Value> {
        self.flows
            .iter()
            .filter(|f| f["server_ip"] == ip && f["server_port"] == port)
            .collect()
    }

    /// The `host` record of an address.
    pub fn host(&self, ip: &str) -> &serde_json::Value {
        self.hosts
            .iter()
            .find(|h| h["ip"] == ip)
            .unwrap_or_else(|| panic!("{}: no host record for {ip}", self.name))
    }

    /// Frames of the packets matching `pred`.
    pub fn frames_where(&self, pred: impl Fn(&serde_json::Value) -> bool) -> Vec<u64> {
        self.packets
            .iter()
            .filter(|p| pred(p))
            .filter_map(|p| p["frame"].as_u64())
            .collect()
    }

    /// The findings, one line each, for assertion messages.
    pub fn show(&self) -> String {
        self.findings
            .iter()
            .map(|f| {
                format!(
                    "  {} {}:{} {}",
                    f["kind"], f["server_ip"], f["server_port"], f["summary"]
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

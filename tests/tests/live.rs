//! Live captures (issue 21): `tick` records move every stage's clock while no packet comes, and
//! a first Ctrl-C makes the pipeline finish with what it found.
//!
//! The capture is fed through a pipe that stays open (as `tcpdump -U -w -` keeps it open on a
//! quiet network): the lab's refused-2383.pcap, its header and its packets up to the third
//! refusal, then silence.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tcpwhy_tests::{bin, f64v, of_type, own_captures, pipeline, records};

/// The refused capture's header and its first `n` packets (classic pcap, either byte order).
fn pcap_prefix(name: &str, n: usize) -> Vec<u8> {
    let data = std::fs::read(own_captures().join(name)).expect("capture");
    let be = data[..4] == [0xa1, 0xb2, 0xc3, 0xd4];
    let mut off = 24;
    for _ in 0..n {
        let b: [u8; 4] = data[off + 8..off + 12].try_into().unwrap();
        let incl = if be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        };
        off += 16 + incl as usize;
    }
    data[..off].to_vec()
}

/// Frames 1-16 of refused-2383.pcap: one healthy HTTP connection, then three SYNs to port 2383
/// each answered by RST/ACK (the last at 1795612211.093317).
const REFUSED: &str = "refused-2383.pcap";
const LAST_TS: f64 = 1795612211.093317;

fn packets_of_prefix() -> Vec<u8> {
    pipeline(&[("pcap2jsonl", &["-"])], Some(&pcap_prefix(REFUSED, 16)))[0]
        .stdout
        .clone()
}

fn tick(ts: f64) -> String {
    format!("{{\"type\":\"tick\",\"ts\":{ts:.6}}}\n")
}

const MARKER: &str = "{\"type\":\"marker\"}\n";

/// What `tool ARGS` writes (it must exit 0) for `input`, then a tick at `ts` and [`MARKER`]
/// (where the tick's effects must have ended): its records and the marker's index among them.
fn after_tick(tool: &str, args: &[&str], input: &[u8], ts: f64) -> (Vec<Value>, usize) {
    let mut v = input.to_vec();
    v.extend_from_slice(tick(ts).as_bytes());
    v.extend_from_slice(MARKER.as_bytes());
    let out = &pipeline(&[(tool, args)], Some(&v))[0];
    assert!(out.status.success(), "{tool} {args:?}: {}", out.status);
    let recs = records(&out.stdout);
    let marker = index(&recs, |r| r["type"] == "marker");
    (recs, marker)
}

/// Index of the first record matching `pred` (there must be one).
fn index(recs: &[Value], pred: impl Fn(&Value) -> bool) -> usize {
    recs.iter()
        .position(pred)
        .unwrap_or_else(|| panic!("no such record in {recs:?}"))
}

/// Index of the first line of `ty` (and `pred`) in the output.
fn position(out: &[u8], pred: impl Fn(&serde_json::Value) -> bool) -> Option<usize> {
    records(out).iter().position(pred)
}

#[test]
fn files_write_no_ticks_and_a_piped_file_reads_the_same() {
    let dir = own_captures();
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "pcap") {
            continue;
        }
        n += 1;
        let file = Command::new(bin("pcap2jsonl")).arg(&p).output().unwrap();
        assert!(file.status.success(), "{}", p.display());
        assert!(
            !String::from_utf8_lossy(&file.stdout).contains("\"type\":\"tick\""),
            "{}: a file has no ticks",
            p.display()
        );
        // stdin redirected from the file (a regular file: no ticks either).
        let redirected = Command::new(bin("pcap2jsonl"))
            .arg("-")
            .stdin(std::fs::File::open(&p).unwrap())
            .output()
            .unwrap();
        assert_eq!(redirected.stdout, file.stdout, "{}", p.display());
        // Through a pipe written at once: the same records (no second of silence).
        let piped = pipeline(&[("pcap2jsonl", &["-"])], Some(&std::fs::read(&p).unwrap()));
        assert_eq!(piped[0].stdout, file.stdout, "{}", p.display());
    }
    assert!(n >= 5, "only {n} captures in {}", dir.display());
}

#[test]
fn pcap2jsonl_ticks_while_a_stream_is_silent() {
    let mut child = Command::new(bin("pcap2jsonl"))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut sin = child.stdin.take().unwrap();
    sin.write_all(&pcap_prefix(REFUSED, 16)).unwrap();
    sin.flush().unwrap();
    let lines = read_lines(child.stdout.take().unwrap());
    let start = Instant::now();
    let mut packets = 0;
    let mut ticks: Vec<f64> = vec![];
    while ticks.len() < 2 && start.elapsed() < Duration::from_secs(10) {
        let Ok((_, l)) = lines.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        match v["type"].as_str() {
            Some("packet") => {
                assert!(ticks.is_empty(), "no packet came after the silence");
                packets += 1;
            }
            Some("tick") => ticks.push(f64v(&v["ts"])),
            t => panic!("unexpected record {t:?}"),
        }
    }
    assert_eq!(packets, 16);
    assert_eq!(ticks.len(), 2, "two ticks within 10 s of silence");
    // Last packet's time plus the wall time since it came: about 1 s, then about 2 s.
    assert!(
        ticks[0] > LAST_TS + 0.8 && ticks[0] < LAST_TS + 3.0,
        "{ticks:?}"
    );
    assert!(ticks[1] > ticks[0] + 0.5, "{ticks:?}");
    drop(sin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn tcpflows_writes_lingering_flows_on_a_tick() {
    let (recs, marker) = after_tick("tcpflows", &[], &packets_of_prefix(), LAST_TS + 5.0);
    let tick_at = index(&recs, |r| r["type"] == "tick");
    assert_eq!(tick_at + 1, marker, "the tick passes on, in place");
    let refused: Vec<usize> = (0..recs.len())
        .filter(|&i| recs[i]["type"] == "flow" && recs[i]["server_port"] == 2383)
        .collect();
    assert_eq!(refused.len(), 3);
    assert!(
        refused.iter().all(|&i| i < tick_at),
        "every refused attempt is written before the tick: {refused:?} tick {tick_at}"
    );
    assert_eq!(f64v(&recs[tick_at]["ts"]), LAST_TS + 5.0);
}

#[test]
fn tcpflows_tick_is_no_later_than_a_lingering_flow() {
    // 0.1 s after the last RST: that connection still lingers, so the tick passed on is held
    // back to its time (no stage downstream sees a record older than a tick it had).
    let mut input = packets_of_prefix();
    input.extend_from_slice(tick(LAST_TS + 0.1).as_bytes());
    let out = &pipeline(&[("tcpflows", &[])], Some(&input))[0];
    let recs = records(&out.stdout);
    let t = of_type(&recs, "tick");
    assert_eq!(t.len(), 1);
    assert!(f64v(&t[0]["ts"]) <= LAST_TS, "{}", t[0]);
}

fn flows_of_prefix() -> Vec<u8> {
    pipeline(&[("tcpflows", &[])], Some(&packets_of_prefix()))[0]
        .stdout
        .clone()
}

#[test]
fn ttlhops_passes_ticks_after_the_flows_before_them() {
    let (recs, marker) = after_tick("ttlhops", &[], &flows_of_prefix(), LAST_TS + 5.0);
    let tick_at = index(&recs, |r| r["type"] == "tick");
    assert_eq!(tick_at + 1, marker);
    let flows: Vec<usize> = (0..recs.len())
        .filter(|&i| recs[i]["type"] == "flow")
        .collect();
    assert_eq!(flows.len(), 4);
    assert!(flows.iter().all(|&i| i < tick_at), "{flows:?} {tick_at}");
    // (The hold itself: ttlhops' unit test a_tick_decides_a_held_flow_after_the_live_wait.)
}

#[test]
fn tcpflag_releases_findings_on_a_tick_and_drops_ticks_by_default() {
    let flows = pipeline(&[("ttlhops", &[])], Some(&flows_of_prefix()))[0]
        .stdout
        .clone();
    // --all: the tick passes, the refused finding comes before it (probe window 10 s, retry
    // window 3 s after the first SYN).
    let (recs, marker) = after_tick("tcpflag", &["--all"], &flows, LAST_TS + 12.0);
    let tick_at = index(&recs, |r| r["type"] == "tick");
    let refused = index(&recs, |r| r["kind"] == "refused");
    assert!(
        refused < tick_at && tick_at < marker,
        "{refused} {tick_at} {marker}"
    );
    assert_eq!(
        recs[refused]["attempts"], 3,
        "the three retries are one finding"
    );
    // A tick too early releases nothing yet.
    let (recs, marker) = after_tick("tcpflag", &["--all"], &flows, LAST_TS + 1.0);
    let refused = index(&recs, |r| r["kind"] == "refused");
    assert!(refused > marker);
    // Default output: findings only, no tick.
    let mut input = flows;
    input.extend_from_slice(tick(LAST_TS + 12.0).as_bytes());
    let out = &pipeline(&[("tcpflag", &[])], Some(&input))[0];
    let recs = records(&out.stdout);
    assert!(of_type(&recs, "tick").is_empty());
    assert_eq!(of_type(&recs, "finding").len(), 1);
}

#[test]
fn refused_finding_comes_through_the_pipeline_after_a_tick() {
    let mut input = packets_of_prefix();
    input.extend_from_slice(tick(LAST_TS + 1.0).as_bytes());
    input.extend_from_slice(tick(LAST_TS + 12.0).as_bytes());
    input.extend_from_slice(MARKER.as_bytes());
    let outs = pipeline(
        &[("tcpflows", &[]), ("ttlhops", &[]), ("tcpflag", &["--all"])],
        Some(&input),
    );
    let out = &outs[2].stdout;
    let marker = position(out, |r| r["type"] == "marker").unwrap();
    let refused = position(out, |r| r["kind"] == "refused").unwrap();
    assert!(
        refused < marker,
        "finding before the input ends: {refused} {marker}"
    );
}

/// Lines of `r` with the time each arrived, on a thread.
fn read_lines(r: impl std::io::Read + Send + 'static) -> mpsc::Receiver<(Instant, String)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(r).lines() {
            let Ok(l) = l else { return };
            if tx.send((Instant::now(), l)).is_err() {
                return;
            }
        }
    });
    rx
}

/// `pcap2jsonl - | tcpflows | ttlhops | tcpflag ARGS` in a process group of its own, fed by
/// the test through a pipe it keeps open. Returns the stages and the first one's stdin.
fn live_pipeline(tcpflag_args: &[&str]) -> (Vec<Child>, std::process::ChildStdin) {
    use std::os::unix::process::CommandExt;
    let mut children: Vec<Child> = vec![];
    let stages: [(&str, &[&str]); 4] = [
        ("pcap2jsonl", &["-"]),
        ("tcpflows", &[]),
        ("ttlhops", &[]),
        ("tcpflag", tcpflag_args),
    ];
    let mut stdin = None;
    for (i, (tool, args)) in stages.iter().enumerate() {
        let mut c = Command::new(bin(tool));
        c.args(*args).stdout(Stdio::piped()).stderr(Stdio::piped());
        if i == 0 {
            c.stdin(Stdio::piped()).process_group(0);
        } else {
            let prev = children.last_mut().unwrap().stdout.take().unwrap();
            c.stdin(Stdio::from(prev))
                .process_group(children[0].id() as i32);
        }
        let mut child = c.spawn().unwrap();
        if i == 0 {
            stdin = child.stdin.take();
        }
        children.push(child);
    }
    (children, stdin.unwrap())
}

/// Reads `lines` (each kept in `seen`) until a `refused:` line: how long after `since` it came.
/// Kills the group `pgid` and fails the test when none comes within 25 s.
fn refused_within_25s(
    lines: &mpsc::Receiver<(Instant, String)>,
    since: Instant,
    seen: &mut Vec<String>,
    pgid: u32,
) -> Duration {
    let mut at = None;
    while at.is_none() && since.elapsed() < Duration::from_secs(25) {
        if let Ok((t, l)) = lines.recv_timeout(Duration::from_millis(100)) {
            if l.contains("refused:") {
                at = Some(t.duration_since(since));
            }
            seen.push(l);
        }
    }
    let Some(at) = at else {
        kill_group(pgid, "-KILL");
        panic!("no refused finding within 25 s: {seen:?}");
    };
    at
}

/// Ctrl-C to the group `pgid`, then the rest of `lines` (into `seen`) until the last stage ends
/// or 10 s pass; every line seen, joined.
fn interrupt(
    lines: &mpsc::Receiver<(Instant, String)>,
    seen: &mut Vec<String>,
    pgid: u32,
) -> String {
    kill_group(pgid, "-INT");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match lines.recv_timeout(Duration::from_millis(100)) {
            Ok((_, l)) => seen.push(l),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
    seen.join("\n")
}

/// Every stage ends with status 0.
fn all_exit_0(children: &mut [Child]) {
    for (i, c) in children.iter_mut().enumerate() {
        let st = c.wait().unwrap();
        assert_eq!(st.code(), Some(0), "stage {i}: {st:?}");
    }
}

fn kill_group(pgid: u32, sig: &str) {
    let st = Command::new("kill")
        .args([sig, "--", &format!("-{pgid}")])
        .status()
        .expect("kill(1)");
    assert!(st.success());
}

#[test]
fn live_refusal_is_reported_while_the_capture_runs_and_ctrl_c_keeps_the_summary() {
    let (mut children, mut sin) = live_pipeline(&["--format", "text"]);
    let pgid = children[0].id();
    sin.write_all(&pcap_prefix(REFUSED, 16)).unwrap();
    sin.flush().unwrap();
    let fed = Instant::now();
    let lines = read_lines(children[3].stdout.take().unwrap());
    // The refusal: within the probe window (10 s of capture time) + the tick period + slack.
    let mut seen = vec![];
    let at = refused_within_25s(&lines, fed, &mut seen, pgid);
    eprintln!("refused finding after {at:?} of silence");
    assert!(at < Duration::from_secs(15), "{at:?}");
    assert!(
        at > Duration::from_secs(5),
        "{at:?}: before the probe window?"
    );
    // The writer is still there, the pipe open: Ctrl-C to the whole group.
    let text = interrupt(&lines, &mut seen, pgid);
    assert!(
        text.contains("1 finding (1 error) in 4 connections"),
        "summary after Ctrl-C:\n{text}"
    );
    all_exit_0(&mut children);
    drop(sin);
}

#[test]
fn second_ctrl_c_exits_at_once() {
    // The downstream stages wait for their input to end after a first Ctrl-C; a second one
    // ends them at once, with 130.
    let mut child = Command::new(bin("tcpflows"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let sin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "first Ctrl-C: still reading"
    );
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    let start = Instant::now();
    let st = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "second Ctrl-C did not end it"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(st.code(), Some(130));
    drop(sin);
}

/// Deletes the namespace when the test ends, however it ends.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// The proof: a real `tcpdump -U -w -` in a network namespace feeds the pipeline; a
/// connect to a closed port; the refusal is on stdout while tcpdump still runs and nothing else
/// is sent; Ctrl-C to the whole process group prints the summary and every stage exits 0.
#[test]
fn tcpdump_in_a_netns_refused_connect_then_ctrl_c() {
    use std::os::unix::process::CommandExt;
    if !tcpwhy_tests::need_netns()
        || !tcpwhy_tests::need_tool("tcpdump", "tcpdump")
        || !tcpwhy_tests::need_tool("python3", "python3")
    {
        return;
    }
    let ns = Netns(format!("tcpwhy-live-{}", std::process::id()));
    assert!(
        Command::new("ip")
            .args(["netns", "add", &ns.0])
            .status()
            .unwrap()
            .success()
    );
    assert!(
        Command::new("ip")
            .args(["-n", &ns.0, "link", "set", "lo", "up"])
            .status()
            .unwrap()
            .success()
    );
    let mut tcpdump = Command::new("ip")
        .args([
            "netns", "exec", &ns.0, "tcpdump", "-U", "-w", "-", "-i", "lo", "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let pgid = tcpdump.id();
    let stderr = read_lines(tcpdump.stderr.take().unwrap());
    let mut children: Vec<Child> = vec![];
    let mut prev = tcpdump.stdout.take().unwrap();
    let stages: [(&str, &[&str]); 4] = [
        ("pcap2jsonl", &["-"]),
        ("tcpflows", &[]),
        ("ttlhops", &[]),
        ("tcpflag", &["--format", "text"]),
    ];
    for (tool, args) in stages {
        let mut c = Command::new(bin(tool))
            .args(args)
            .stdin(Stdio::from(prev))
            .stdout(Stdio::piped())
            .process_group(pgid as i32)
            .spawn()
            .unwrap();
        prev = c.stdout.take().unwrap();
        children.push(c);
    }
    let lines = read_lines(prev);
    // tcpdump is ready when it says so on stderr.
    let start = Instant::now();
    loop {
        match stderr.recv_timeout(Duration::from_millis(100)) {
            Ok((_, l)) if l.contains("listening on") => break,
            _ if start.elapsed() > Duration::from_secs(10) => {
                kill_group(pgid, "-KILL");
                panic!("tcpdump did not start");
            }
            _ => {}
        }
    }
    let connect = Command::new("ip")
        .args(["netns", "exec", &ns.0, "python3", "-c"])
        .arg(
            "import socket\ns=socket.socket()\ntry:\n    s.connect(('127.0.0.1', 2383))\n    \
             print('connected')\nexcept ConnectionRefusedError:\n    print('refused')",
        )
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&connect.stdout).trim(), "refused");
    let sent = Instant::now();
    let mut seen = vec![];
    let at = refused_within_25s(&lines, sent, &mut seen, pgid);
    eprintln!("refused finding {at:?} after the connect, tcpdump still running");
    assert!(tcpdump.try_wait().unwrap().is_none(), "tcpdump still runs");
    assert!(at < Duration::from_secs(15), "{at:?}");
    let text = interrupt(&lines, &mut seen, pgid);
    assert!(
        text.contains("1 finding (1 error) in 1 connection"),
        "summary after Ctrl-C:\n{text}"
    );
    let _ = tcpdump.wait();
    all_exit_0(&mut children);
}

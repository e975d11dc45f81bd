//! Live input: records must come out as packets arrive, while the input is still open
//! (`tcpdump -U -w - | pcap2jsonl -`).

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use tcpwhy_tests::cli::{Live, line_reader};

fn pcap_header() -> Vec<u8> {
    let mut h = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&65535u32.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    h
}

fn pcap_record(sec: u32, frame: &[u8]) -> Vec<u8> {
    let mut r = vec![];
    r.extend_from_slice(&sec.to_le_bytes());
    r.extend_from_slice(&0u32.to_le_bytes());
    r.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    r.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    r.extend_from_slice(frame);
    r
}

/// An Ethernet + IPv4 + TCP SYN (54 bytes).
fn syn() -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(&[
        0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]);
    f.extend_from_slice(&[
        0x9c, 0x40, 0x09, 0x4f, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
    ]);
    f
}

/// The next line pcap2jsonl writes within 5 s (`what` it is, else the test fails), which
/// starts with `start`.
fn next_record(p2j: &Live, start: &str, what: &str) -> String {
    let rec = p2j.line(Duration::from_secs(5)).expect(what);
    assert!(rec.starts_with(start), "{what}: {rec}");
    rec
}

#[test]
fn a_packet_is_output_while_stdin_stays_open() {
    let mut p2j = Live::start("pcap2jsonl", &["-"]);
    p2j.send(&pcap_header()).unwrap();
    p2j.send(&pcap_record(1_700_000_000, &syn())).unwrap();
    next_record(
        &p2j,
        "{\"type\":\"packet\",\"frame\":1,\"ts\":1700000000.000000,",
        "no record within 5 s while the input is open",
    );

    // A second packet, in two pieces (the header first): still one record, at once. The pause
    // only lets the reader see the first piece alone; what is checked is the order of what
    // comes out: the whole second packet as frame 2, then a third packet (the sentinel) as
    // frame 3 — a record made from half a packet would have come in between.
    let rec = pcap_record(1_700_000_001, &syn());
    p2j.send(&rec[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    p2j.send(&rec[10..]).unwrap();
    let second = next_record(
        &p2j,
        "{\"type\":\"packet\",\"frame\":2,\"ts\":1700000001.000000,",
        "second record",
    );
    assert!(second.contains("\"len\":54,"), "{second}");
    p2j.send(&pcap_record(1_700_000_002, &syn())).unwrap();
    // Not frame 3: a record from half a packet came before the sentinel.
    next_record(
        &p2j,
        "{\"type\":\"packet\",\"frame\":3,\"ts\":1700000002.000000,",
        "sentinel record",
    );

    let (status, _) = p2j.wait();
    assert_eq!(status.code(), Some(0));
    assert!(p2j.line(Duration::from_secs(5)).is_none(), "nothing more");
}

#[test]
fn a_pcapng_stream_too() {
    let no_args: [&str; 0] = [];
    let mut p2j = Live::start("pcap2jsonl", &no_args);
    let block = |t: u32, body: &[u8]| {
        let n = (body.len() + 12) as u32;
        let mut b = t.to_le_bytes().to_vec();
        b.extend_from_slice(&n.to_le_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(&n.to_le_bytes());
        b
    };
    let mut shb = vec![0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0];
    shb.extend_from_slice(&[0xff; 8]);
    p2j.send(&block(0x0a0d_0d0a, &shb)).unwrap();
    p2j.send(&block(1, &[1, 0, 0, 0, 0, 0, 0, 0])).unwrap();
    let frame = syn();
    let mut epb = vec![0u8; 20];
    epb[12..16].copy_from_slice(&(frame.len() as u32).to_le_bytes());
    epb[16..20].copy_from_slice(&(frame.len() as u32).to_le_bytes());
    epb.extend_from_slice(&frame);
    epb.resize(epb.len().next_multiple_of(4), 0);
    p2j.send(&block(6, &epb)).unwrap();
    next_record(
        &p2j,
        "{\"type\":\"packet\",\"frame\":1,",
        "no record within 5 s",
    );
    assert_eq!(p2j.wait().0.code(), Some(0));
}

/// Removes the network namespace and stops what ran in it, even when the test fails.
struct Netns {
    name: String,
    children: Vec<Child>,
}

impl Drop for Netns {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `package` is the Debian package that has `cmd`.
fn need(cmd: &str, package: &str) -> bool {
    if have(cmd) {
        return true;
    }
    tcpwhy_tests::skip(
        &format!("{cmd} is not installed"),
        &format!("install it (Debian/Ubuntu: apt-get install {package})"),
    );
    false
}

/// Runs `capture` (argv, with `-w -` writing to stdout) inside a fresh network namespace with its
/// loopback up, pipes it into pcap2jsonl, sends one UDP datagram to 127.0.0.1:2725 there once
/// the capture tool says it listens, and returns the first record. `None` when the machine cannot
/// (not root, a tool missing), reported as a skip (a failure under TCPWHY_REQUIRE_CORPUS=1).
fn live_capture_record(tag: &str, capture: &[&str], package: &str, ready: &str) -> Option<String> {
    if !tcpwhy_tests::need_netns() || !need(capture[0], package) || !need("python3", "python3") {
        return None;
    }
    let name = format!("p2j-{tag}-{}", std::process::id());
    assert!(
        Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success()),
        "ip netns add {name}"
    );
    let mut ns = Netns {
        name: name.clone(),
        children: vec![],
    };
    assert!(
        Command::new("ip")
            .args(["-n", &name, "link", "set", "lo", "up"])
            .status()
            .unwrap()
            .success()
    );
    let mut cap = Command::new("ip")
        .args(["netns", "exec", &name])
        .args(capture)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let cap_out: ChildStdout = cap.stdout.take().unwrap();
    let cap_err = line_reader(cap.stderr.take().unwrap());
    ns.children.push(cap);
    let mut p2j = Command::new(env!("CARGO_BIN_EXE_pcap2jsonl"))
        .arg("-")
        .stdin(Stdio::from(cap_out))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = line_reader(p2j.stdout.take().unwrap());
    ns.children.push(p2j);
    let listening = (0..50).any(|_| {
        cap_err
            .recv_timeout(Duration::from_millis(200))
            .is_ok_and(|l| l.contains(ready))
    });
    assert!(listening, "{} did not start", capture[0]);
    let send = "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'tcpwhy', ('127.0.0.1', 2725))";
    assert!(
        Command::new("ip")
            .args(["netns", "exec", &name, "python3", "-c", send])
            .status()
            .unwrap()
            .success()
    );
    let rec = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("no record while the capture runs");
    // Cleanup (kill the capture tool and pcap2jsonl, delete the namespace) happens in Drop.
    Some(rec)
}

/// The capture filter that lets the datagram [`live_capture_record`] sends through.
const DATAGRAM_FILTER: &str = "udp port 2725";

/// `rec` is the record of the datagram [`live_capture_record`] sends, as frame 1, with `field`.
fn is_the_datagram(rec: &str, field: &str) {
    assert!(
        rec.starts_with("{\"type\":\"packet\",\"frame\":1,"),
        "{rec}"
    );
    assert!(rec.contains(field), "{rec}");
    assert!(rec.contains("\"dst_port\":2725,"), "{rec}");
}

/// A real `tcpdump -U -w -` (classic pcap) on the loopback of a private network namespace: the
/// datagram becomes a record while tcpdump keeps running.
#[test]
fn live_tcpdump_pipe_in_a_netns() {
    let cmd = [
        "tcpdump",
        "-i",
        "lo",
        "-U",
        "-w",
        "-",
        "-n",
        DATAGRAM_FILTER,
    ];
    if let Some(rec) = live_capture_record("tcpdump", &cmd, "tcpdump", "listening on") {
        is_the_datagram(&rec, "\"len\":48,");
    }
}

/// The same with dumpcap, which writes pcapng (section header, interface description, then
/// enhanced packet blocks as packets arrive).
#[test]
fn live_dumpcap_pcapng_pipe_in_a_netns() {
    let cmd = [
        "dumpcap",
        "-q",
        "-i",
        "lo",
        "-f",
        DATAGRAM_FILTER,
        "-w",
        "-",
    ];
    if let Some(rec) = live_capture_record("dumpcap", &cmd, "wireshark-common", "Capturing on") {
        is_the_datagram(&rec, "\"iface\":0,");
    }
}

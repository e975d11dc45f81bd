//! `pcap2jsonl | tcpflows` against tshark on every real capture (../shared/captures/real and the
//! lab's tests/captures): one flow per `tcp.stream`, per-direction frames and frame bytes equal to
//! `tshark -z conv,tcp`, and the `tcp.analysis.*` counts (retransmission, out_of_order,
//! duplicate_ack, keep_alive, zero_window) equal to ours except where tcpflows is deliberately
//! better (docs/tcpflows.md, "Differences from tshark"):
//! - a zero window in the SYN / SYN-ACK is counted (tshark flags only segments without SYN);
//! - Linux zero-window probes (0 bytes at next − 1) are probes, not keep-alives.
//!
//! tshark runs at test time (CI installs it; without it the comparisons are reported `SKIPPED:`);
//! the flow counts of the corpus' captures are also pinned below.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tcpwhy_tests::{own_captures, pipeline_ok, records_of, shared_captures, strv, u64v};

/// Shared captures with TCP and the number of flows tcpflows writes with default options
/// (pinned). The lab's own captures (tests/captures/*.pcap) are compared with tshark whatever
/// they hold, since the lab remakes them.
const PINNED: &[(&str, usize)] = &[
    ("real/crafted-bigendian-nsec.pcap", 1),
    ("real/crafted-bigendian-usec.pcap", 1),
    ("real/crafted-null-linktype.pcap", 1),
    ("real/dns_tcp.pcap", 1),
    ("real/ipv4_tcp_http_xml.pcap", 1),
    ("real/ipv4_tcp_http_xml_tso.pcap", 1),
    ("real/mptcp-v1.pcap", 1),
    ("real/netns-any-sll2.pcap", 3),
    ("real/netns-two-interfaces.pcapng", 3),
    // 6 with the default 300 s idle timeout (an SMB exchange every 300-360 s), 2 for tshark
    ("real/pcapparser-wireshark_samples-test.pcapng", 6),
    ("real/tcp-handshake-nano.pcap", 1),
    ("real/tcp_rst_data.pcap", 1),
    ("real/tcpreplay-test.pcap", 7),
    ("real/tcpreplay-test.pcap.gz", 7),
    ("real/tfo-5c1fa7f9ae91.pcap", 3),
];

fn path(name: &str) -> PathBuf {
    if let Some(n) = name.strip_prefix("real/") {
        shared_captures().join("real").join(n)
    } else {
        own_captures().join(name.strip_prefix("own/").unwrap())
    }
}

fn flows(cap: &Path, extra: &[&str]) -> Vec<Value> {
    let outs = pipeline_ok(cap, &[("tcpflows", extra)]);
    records_of(&outs[1].stdout, "flow")
}

/// tshark is there, or the test reports the skip.
fn tshark_available() -> bool {
    tcpwhy_tests::need_tool("tshark", "tshark")
}

#[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
struct Dir {
    frames: u64,
    bytes: u64,
    retrans: u64,
    ooo: u64,
    dup: u64,
    keep_alive: u64,
    zero_window: u64,
}

struct Stream {
    first_frame: u64,
    dirs: HashMap<(String, u64), Dir>,
}

/// Per stream and direction, from `tshark -T fields` (the same numbers `-z conv,tcp` sums).
fn tshark_streams(cap: &Path) -> BTreeMap<u64, Stream> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(cap)
        .args(["-Y", "tcp", "-T", "fields", "-E", "separator=\t"])
        .args([
            "-e",
            "frame.number",
            "-e",
            "tcp.stream",
            "-e",
            "ip.src",
            "-e",
            "ipv6.src",
            "-e",
            "tcp.srcport",
            "-e",
            "frame.len",
            "-e",
            "tcp.analysis.retransmission",
            "-e",
            "tcp.analysis.out_of_order",
            "-e",
            "tcp.analysis.duplicate_ack",
            "-e",
            "tcp.analysis.keep_alive",
            "-e",
            "tcp.analysis.zero_window",
        ])
        .output()
        .expect("tshark");
    let mut m: BTreeMap<u64, Stream> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let a: Vec<&str> = line.split('\t').collect();
        if a.len() < 11 || a[1].is_empty() {
            continue;
        }
        let frame: u64 = a[0].parse().unwrap();
        let stream: u64 = a[1].parse().unwrap();
        let ip = if a[2].is_empty() { a[3] } else { a[2] };
        let ip = ip.split(',').next().unwrap().to_string();
        let port: u64 = a[4].split(',').next().unwrap().parse().unwrap();
        let s = m.entry(stream).or_insert(Stream {
            first_frame: frame,
            dirs: HashMap::new(),
        });
        let d = s.dirs.entry((ip, port)).or_default();
        d.frames += 1;
        d.bytes += a[5].parse::<u64>().unwrap();
        d.retrans += !a[6].is_empty() as u64;
        d.ooo += !a[7].is_empty() as u64;
        d.dup += !a[8].is_empty() as u64;
        d.keep_alive += !a[9].is_empty() as u64;
        d.zero_window += !a[10].is_empty() as u64;
    }
    m
}

/// What tshark would count for one side of our flow.
fn expected_tshark(f: &Value, role: &str) -> Dir {
    let s = &f[role];
    let peer = &f[if role == "client" { "server" } else { "client" }];
    let u = |v: &Value| v.as_u64().unwrap_or(0);
    let zw = &s["zero_window"];
    let zw_count = if zw.is_null() {
        0
    } else {
        // tshark does not flag a zero window on a SYN-ACK
        u(&zw["count"]) - zw["in_handshake"].as_bool().unwrap() as u64
    };
    let peer_zw = &peer["zero_window"];
    // tshark calls Linux zero-window probes (0 bytes at next − 1) keep-alives
    let linux_probes = if peer_zw.is_null() {
        0
    } else {
        match peer_zw["probe_kind"].as_str() {
            Some("zero_byte") => u(&peer_zw["probes"]),
            Some("mixed") => panic!("mixed probes in a test capture"),
            _ => 0,
        }
    };
    Dir {
        frames: u(&s["packets"]),
        bytes: u(&s["wire_bytes"]),
        retrans: u(&s["retransmissions"]),
        ooo: u(&s["out_of_order"]),
        dup: u(&s["dup_acks"]),
        keep_alive: u(&s["keep_alives"]) + linux_probes,
        zero_window: zw_count,
    }
}

#[test]
fn flow_counts_are_pinned() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    for (name, n) in PINNED {
        let got = flows(&path(name), &[]);
        assert_eq!(got.len(), *n, "{name}: flows");
    }
}

#[test]
fn every_stream_matches_tshark() {
    if !tshark_available() {
        return;
    }
    // The corpus' captures when it is there (else a partial skip is reported), the lab's always.
    let mut caps: Vec<PathBuf> = if tcpwhy_tests::corpus().is_some() {
        PINNED.iter().map(|(n, _)| path(n)).collect()
    } else {
        vec![]
    };
    let mut own: Vec<PathBuf> = [
        own_captures(),
        tcpwhy_tests::root().join("tools/tcpflows/tests/captures"),
    ]
    .iter()
    .flat_map(|dir| {
        std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    })
    .collect();
    own.sort();
    caps.extend(own);
    for cap in &caps {
        let name = cap.display();
        // tshark has no idle timeout: compare with one longer than any capture
        let ours = flows(cap, &["--idle-timeout", "100000"]);
        let theirs = tshark_streams(cap);
        assert_eq!(
            ours.len(),
            theirs.len(),
            "{name}: flows vs tcp.stream count"
        );
        let by_first: HashMap<u64, &Value> =
            ours.iter().map(|f| (u64v(&f["first_frame"]), f)).collect();
        for (sid, s) in &theirs {
            let f = by_first
                .get(&s.first_frame)
                .unwrap_or_else(|| panic!("{name}: stream {sid} has no flow"));
            for role in ["client", "server"] {
                let ip = strv(&f[format!("{role}_ip")]).to_string();
                let port = u64v(&f[format!("{role}_port")]);
                let t = s.dirs.get(&(ip, port)).copied().unwrap_or_default();
                assert_eq!(
                    expected_tshark(f, role),
                    t,
                    "{name}: stream {sid}, {role} side (ours vs tshark)"
                );
            }
        }
    }
}

/// The conversation table itself: frames per direction, and bytes where tshark prints them
/// exactly (it switches to kB above 10 kB).
#[test]
fn conv_tcp_table_matches() {
    if !tshark_available() {
        return;
    }
    for name in ["own/refused-2383.pcap", "own/zero-window-recover.pcap"] {
        let cap = path(name);
        let ours = flows(&cap, &[]);
        let out = Command::new("tshark")
            .arg("-r")
            .arg(&cap)
            .args(["-q", "-z", "conv,tcp"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut rows = 0;
        for line in text.lines().filter(|l| l.contains("<->")) {
            let w: Vec<&str> = line.split_whitespace().collect();
            // A <-> B  frames(B→A) bytes unit  frames(A→B) bytes unit …
            let (a, b) = (w[0], w[2]);
            let split = |s: &str| {
                let i = s.rfind(':').unwrap();
                (s[..i].to_string(), s[i + 1..].parse::<u64>().unwrap())
            };
            let (aip, aport) = split(a);
            let (bip, bport) = split(b);
            let b_to_a: u64 = w[3].parse().unwrap();
            let a_to_b: u64 = w[6].parse().unwrap();
            let matching: Vec<&Value> = ours
                .iter()
                .filter(|f| {
                    (f["client_ip"] == aip.as_str()
                        && f["client_port"] == aport
                        && f["server_ip"] == bip.as_str()
                        && f["server_port"] == bport)
                        || (f["client_ip"] == bip.as_str()
                            && f["client_port"] == bport
                            && f["server_ip"] == aip.as_str()
                            && f["server_port"] == aport)
                })
                .collect();
            assert!(!matching.is_empty(), "{name}: no flow for {line}");
            let found = matching.iter().any(|f| {
                let (from_a, from_b) =
                    if f["client_ip"] == aip.as_str() && f["client_port"] == aport {
                        ("client", "server")
                    } else {
                        ("server", "client")
                    };
                // bytes are exact only when printed as "<n> bytes"
                let bytes_ok = |side: &str, n: &str, unit: &str| {
                    unit != "bytes" || f[side]["wire_bytes"] == n.parse::<u64>().unwrap()
                };
                f[from_a]["packets"] == a_to_b
                    && f[from_b]["packets"] == b_to_a
                    && bytes_ok(from_b, w[4], w[5])
                    && bytes_ok(from_a, w[7], w[8])
            });
            assert!(found, "{name}: conv row {line} not matched by any flow");
            rows += 1;
        }
        assert_eq!(rows, ours.len(), "{name}: conversations vs flows");
    }
}

#[test]
fn idle_timeout_splits_what_tshark_keeps_as_one_stream() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    // an SMB connection with one exchange every 300.35-360 s: Zeek (tcp_inactivity_timeout
    // 5 min) and tcpflows split it, tshark keeps one stream
    let cap = path("real/pcapparser-wireshark_samples-test.pcapng");
    let f = flows(&cap, &[]);
    let smb: Vec<&Value> = f.iter().filter(|f| f["server_port"] == 139).collect();
    assert_eq!(smb.len(), 5);
    assert!(smb[..4].iter().all(|f| f["end"] == "timeout"));
    assert_eq!(smb[4]["end"], "capture_end");
    assert!(
        smb.iter()
            .all(|f| f["state"] == "OTH" && f["midstream"] == true)
    );
    let f = flows(&cap, &["--idle-timeout", "400"]);
    assert_eq!(f.iter().filter(|f| f["server_port"] == 139).count(), 1);
}

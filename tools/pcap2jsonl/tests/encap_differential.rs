//! Differential test of tunnels and link types against tshark: every capture in
//! `../shared/captures/encap/` (tshark's values in `expected/<file>.tsv`, the format of
//! `real/expected/`, `-E occurrence=a`: a field met several times lists its values outer first)
//! and the project's own tunnel captures in `tests/fixtures/tunnels/` (made by `make.sh` with
//! Linux tunnel devices; tshark runs now with the same fields).
//!
//! A record's top-level IP and transport fields are the innermost packet's (tshark's last
//! occurrence); `tunnel` holds the outer layers (tshark's earlier occurrences). From a record we
//! build, per column, the list tshark prints: outer values from `tunnel`, then the top-level
//! ones, and compare. For the outer headers' IP id / flags / protocol, which `tunnel` does not
//! hold, only the last (innermost) value is compared.

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

mod common;

use std::path::{Path, PathBuf};

use common::{s, tshark_fields};
use serde_json::Value;

fn encap_dir() -> PathBuf {
    tcpwhy_tests::shared_captures().join("encap")
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tunnels")
}

/// A known difference: in `file` (`*`: any), column `col` on frames where `when` holds.
struct Allow {
    file: &'static str,
    cols: &'static [&'static str],
    when: fn(&Value) -> bool,
    why: &'static str,
}

const ALLOW: &[Allow] = &[
    Allow {
        file: "ah-ipip-ping.pcap",
        cols: &["icmp.type", "icmp.code"],
        when: |r| r["frag_offset"].as_u64().is_some_and(|o| o > 0),
        why: "tshark reassembles the IPv4 fragments and decodes ICMP on the last one; we never \
              reassemble (later fragments carry no transport fields)",
    },
    Allow {
        file: "*",
        cols: &["eth.src", "eth.dst"],
        when: |r| r["dst_port"] == 4789 && r.get("tunnel").is_none(),
        why: "VXLAN carrying ARP: a tunnel is followed only to an IP packet, so the record is the \
              outer UDP datagram and the inner Ethernet header is not listed",
    },
];

/// The columns compared as whole lists.
const LIST_COLS: &[&str] = &[
    "eth.src",
    "eth.dst",
    "vlan.id",
    "ip.src",
    "ip.dst",
    "ip.ttl",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.hlim",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.len",
    "udp.srcport",
    "udp.dstport",
    "icmp.type",
    "icmp.code",
];

/// Columns of which only the last value (the innermost header's) is compared, when the innermost
/// packet is of that IP version.
const LAST_COLS: &[&str] = &["ip.id", "ip.proto", "ipv6.nxt"];

/// Our list for `col`, built from the record as tshark would list it.
fn ours(r: &Value, col: &str) -> Vec<String> {
    let mut v = vec![];
    let tunnel: Vec<&Value> = r["tunnel"].as_array().into_iter().flatten().collect();
    let top_v4 = r["ip_version"] == 4;
    let top_v6 = r["ip_version"] == 6;
    let outer_ip = |v: &mut Vec<String>, v6: bool, f: &str| {
        for l in &tunnel {
            if let Some(a) = l["src_ip"].as_str() {
                if a.contains(':') == v6 {
                    v.extend(s(&l[f]));
                }
            }
        }
    };
    match col {
        "eth.src" | "eth.dst" => {
            let f = if col == "eth.src" {
                "src_mac"
            } else {
                "dst_mac"
            };
            if r["link"] == "ether" {
                v.extend(s(&r[f]));
            }
            for l in &tunnel {
                v.extend(s(&l[&format!("inner_{f}")]));
            }
        }
        "vlan.id" => {
            for t in r["vlan"].as_array().into_iter().flatten() {
                v.extend(s(t));
            }
            for l in &tunnel {
                for t in l["inner_vlan"].as_array().into_iter().flatten() {
                    v.extend(s(t));
                }
            }
        }
        "ip.src" | "ip.dst" | "ip.ttl" | "ipv6.src" | "ipv6.dst" | "ipv6.hlim" => {
            let v6 = col.starts_with("ipv6");
            let f = match col.rsplit('.').next().unwrap() {
                "src" => "src_ip",
                "dst" => "dst_ip",
                _ => "ttl",
            };
            outer_ip(&mut v, v6, f);
            if (v6 && top_v6) || (!v6 && top_v4) {
                v.extend(s(&r[f]));
            }
        }
        "udp.srcport" | "udp.dstport" => {
            let f = if col == "udp.srcport" {
                "src_port"
            } else {
                "dst_port"
            };
            for l in &tunnel {
                v.extend(s(&l[f]));
            }
            if r["proto"] == "udp" {
                v.extend(s(&r[f]));
            }
        }
        _ if col.starts_with("tcp.") => {
            if r["proto"] == "tcp" {
                let f = match col {
                    "tcp.srcport" => "src_port",
                    "tcp.dstport" => "dst_port",
                    "tcp.seq_raw" => "seq",
                    "tcp.ack_raw" => "ack",
                    _ => "payload_len",
                };
                v.extend(s(&r[f]));
            }
        }
        "icmp.type" | "icmp.code" => {
            if r["proto"] == "icmp" {
                v.extend(s(&r[if col == "icmp.type" {
                    "icmp_type"
                } else {
                    "icmp_code"
                }]));
            }
        }
        "ip.id" => {
            if top_v4 {
                v.extend(r["ip_id"].as_u64().map(|i| format!("0x{i:04x}")));
            }
        }
        // The first header after the IP header: its first extension header, else the transport.
        "ip.proto" if top_v4 => v.extend(s(first_or(&r["ipv4_ext"], &r["ip_proto"]))),
        "ipv6.nxt" if top_v6 => v.extend(s(first_or(&r["ipv6_ext"], &r["ip_proto"]))),
        "ip.proto" | "ipv6.nxt" => {}
        _ => unreachable!("{col}"),
    }
    v
}

/// The first element of the list `list`, else `or`.
fn first_or<'a>(list: &'a Value, or: &'a Value) -> &'a Value {
    list.as_array().and_then(|a| a.first()).unwrap_or(or)
}

fn tshark_tsv(path: &Path, cols: &[&str]) -> Option<String> {
    let mut fields = vec!["frame.number"];
    fields.extend_from_slice(cols);
    let out = tshark_fields(path, &["-n"], true, "/t", &fields)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn records(path: &Path) -> Vec<Value> {
    tcpwhy_tests::run_ok("pcap2jsonl", &[path], b"")
}

/// Compares one capture; returns (frames, values compared, frames with a tunnel).
fn compare(
    path: &Path,
    tsv: &str,
    used: &mut [usize],
    failures: &mut Vec<String>,
) -> (usize, usize, usize) {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let recs = records(path);
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    if recs.len() != rows.len() {
        failures.push(format!(
            "{name}: {} records, tshark {} frames",
            recs.len(),
            rows.len()
        ));
        return (0, 0, 0);
    }
    let (mut n, mut tunnels) = (0, 0);
    for (r, row) in recs.iter().zip(&rows) {
        if r.get("tunnel").is_some() {
            tunnels += 1;
        }
        for (i, col) in header.iter().enumerate() {
            let col = *col;
            let last = LAST_COLS.contains(&col);
            if !last && !LIST_COLS.contains(&col) {
                continue;
            }
            let cell = row.get(i).copied().unwrap_or("");
            let theirs: Vec<String> = if cell.is_empty() {
                vec![]
            } else {
                cell.split(',').map(str::to_string).collect()
            };
            let mine = ours(r, col);
            n += 1;
            let ok = if last {
                // nothing of ours when the innermost packet is of the other IP version
                mine.is_empty() || mine.last() == theirs.last()
            } else {
                mine == theirs
            };
            if ok {
                continue;
            }
            if let Some(a) = ALLOW.iter().position(|a| {
                (a.file == name || a.file == "*") && a.cols.contains(&col) && (a.when)(r)
            }) {
                used[a] += 1;
                continue;
            }
            failures.push(format!(
                "{name} frame {}: {col}: tshark {cell:?}, pcap2jsonl {mine:?}",
                r["frame"]
            ));
        }
    }
    (recs.len(), n, tunnels)
}

#[test]
fn tunnels_and_link_types_equal_tshark() {
    let dir = encap_dir();
    let Ok(rd) = std::fs::read_dir(&dir) else {
        tcpwhy_tests::skip(
            &format!("{} absent (the shared capture corpus)", dir.display()),
            "set TCPWHY_CORPUS to the shared corpus (README: the optional corpus)",
        );
        return;
    };
    let mut files: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut jobs = vec![];
    for p in &files {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if let Ok(tsv) = std::fs::read_to_string(dir.join("expected").join(format!("{name}.tsv"))) {
            jobs.push((p.clone(), tsv));
        }
    }
    assert!(jobs.len() >= 13, "encap captures with expected values");
    // the project's own captures through Linux tunnel devices: tshark now
    let mut own: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    own.retain(|p| p.extension().is_some_and(|e| e == "pcap"));
    own.sort();
    let cols: Vec<&str> = LIST_COLS.iter().chain(LAST_COLS).copied().collect();
    for p in &own {
        match tshark_tsv(p, &cols) {
            Some(tsv) => jobs.push((p.clone(), tsv)),
            None => tcpwhy_tests::skip(
                &format!("tshark unavailable for {}", p.display()),
                "install it (Debian/Ubuntu: apt-get install tshark)",
            ),
        }
    }
    let mut used = vec![0; ALLOW.len()];
    let mut failures = vec![];
    let (mut frames, mut values, mut tunnels) = (0, 0, 0);
    for (p, tsv) in &jobs {
        let (f, v, t) = compare(p, tsv, &mut used, &mut failures);
        frames += f;
        values += v;
        tunnels += t;
    }
    for (i, a) in ALLOW.iter().enumerate() {
        if used[i] == 0 {
            failures.push(format!("stale allow-list entry {}: {}", a.file, a.why));
        }
    }
    println!(
        "encap differential: {} captures, {frames} frames ({tunnels} tunnelled), {values} values compared, {} failures",
        jobs.len(),
        failures.len()
    );
    assert!(tunnels >= 30, "too few tunnelled frames: {tunnels}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

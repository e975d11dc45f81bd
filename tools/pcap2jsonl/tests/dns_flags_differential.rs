//! `dns.opcode`, `dns.aa`, `dns.tc`, `dns.rd`, `dns.ra` against tshark's `dns.flags.*`, live, on
//! every public capture and lab capture that carries DNS. tshark leaves `authoritative` and
//! `recavail` empty in queries (we always give them): those cells are not compared. Frames we do
//! not decode as DNS (a TCP message split over segments) are left out, as in differential.rs.
//! Prints `SKIPPED: …` when tshark or the captures are absent.

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn captures() -> Vec<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut v = Vec::new();
    for dir in [
        tcpwhy_tests::shared_captures().join("real"),
        here.join("../../tests/captures"),
    ] {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|e| e == "pcap" || e == "pcapng") {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

#[test]
fn dns_header_flags_match_tshark() {
    if !tcpwhy_tests::need_tool("tshark", "tshark") {
        return;
    }
    let caps = captures();
    if caps.is_empty() {
        tcpwhy_tests::skip(
            "no captures (../shared/captures/real, tests/captures)",
            "run from a checkout with tests/captures",
        );
        return;
    }
    let mut compared = 0;
    let mut diffs = Vec::new();
    for cap in caps {
        let name = cap.file_name().unwrap().to_string_lossy().to_string();
        let ours = Command::new(env!("CARGO_BIN_EXE_pcap2jsonl"))
            .arg(&cap)
            .output()
            .expect("pcap2jsonl");
        let by_frame: BTreeMap<u64, Value> = String::from_utf8(ours.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|r| r.get("dns").is_some())
            .map(|r| (r["frame"].as_u64().unwrap(), r))
            .collect();
        if by_frame.is_empty() {
            continue; // no DNS we decode: nothing to compare (saves a tshark run)
        }
        let out = Command::new("tshark")
            .arg("-r")
            .arg(&cap)
            .args([
                "-Y",
                "dns",
                "-T",
                "fields",
                "-E",
                "separator=|",
                "-E",
                "occurrence=f",
            ])
            .args(["-e", "frame.number", "-e", "dns.flags.opcode"])
            .args(["-e", "dns.flags.authoritative", "-e", "dns.flags.truncated"])
            .args(["-e", "dns.flags.recdesired", "-e", "dns.flags.recavail"])
            .output()
            .expect("tshark");
        let text = String::from_utf8_lossy(&out.stdout);
        if text.trim().is_empty() {
            continue;
        }
        for line in text.lines() {
            let c: Vec<&str> = line.split('|').collect();
            let frame: u64 = c[0].parse().unwrap();
            let Some(r) = by_frame.get(&frame) else {
                continue;
            };
            let d = &r["dns"];
            let b = |k: &str| if d[k] == true { "1" } else { "0" }.to_string();
            let mine = [d["opcode"].to_string(), b("aa"), b("tc"), b("rd"), b("ra")];
            for (i, (col, m)) in ["opcode", "aa", "tc", "rd", "ra"]
                .iter()
                .zip(&mine)
                .enumerate()
            {
                let t = c[i + 1];
                if t.is_empty() {
                    continue;
                }
                compared += 1;
                if t != m {
                    diffs.push(format!("{name} frame {frame} {col}: tshark {t}, ours {m}"));
                }
            }
        }
    }
    eprintln!("dns flags: {compared} values compared");
    // tests/captures always has the lab's DNS scenarios.
    assert!(compared > 0, "no DNS header compared");
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

//! tcpflows reads `packet` lines with a fast scanner and falls back to serde only for JSON the
//! scanner does not handle (tools/tcpflows/src/scan.rs). What pcap2jsonl writes must always take
//! the fast path: every `packet` line of pcap2jsonl's output on every lab capture (and on the
//! external corpus' real captures when it is there) is read by `scan_packet` itself, never
//! handed to serde, and agrees with serde (the fuzz differential, tcpflows::fuzz).

use std::path::PathBuf;

use tcpflows::scan::scan_packet;
use tcpwhy_tests::{lab_captures, pipeline, root, shared_captures};

fn captures_in(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| {
        let n = p.to_string_lossy();
        p.is_file() && (n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".gz"))
    });
    v.sort();
    v
}

/// Every packet line of pcap2jsonl's output on `caps` takes the fast path; the number read.
fn check(caps: &[PathBuf]) -> usize {
    let mut n = 0;
    let mut slow = vec![];
    for cap in caps {
        let path = cap.to_string_lossy().into_owned();
        let outs = pipeline(&[("pcap2jsonl", &[path.as_str()])], None);
        let text = String::from_utf8(outs[0].stdout.clone()).expect("UTF-8 output");
        for line in text
            .lines()
            .filter(|l| l.starts_with("{\"type\":\"packet\""))
        {
            n += 1;
            if let Err(e) = scan_packet(line) {
                slow.push(format!("{path}: {e}: {}", &line[..line.len().min(300)]));
            }
            tcpflows::fuzz::scan_differential(line.as_bytes());
        }
    }
    assert!(
        slow.is_empty(),
        "{} packet lines would take tcpflows' serde fallback:\n{}",
        slow.len(),
        slow.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
    n
}

#[test]
fn pcap2jsonl_output_on_the_lab_captures_takes_the_fast_path() {
    let mut caps = captures_in(&lab_captures());
    caps.extend(captures_in(&root().join("tools/tcpflows/tests/captures")));
    caps.extend(captures_in(&root().join("tools/ttlhops/tests/captures")));
    assert!(caps.len() >= 15, "lab captures missing: {caps:?}");
    let n = check(&caps);
    assert!(n > 700, "only {n} packet lines");
}

#[test]
fn pcap2jsonl_output_on_the_corpus_takes_the_fast_path() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    let n = check(&captures_in(&shared_captures().join("real")));
    assert!(n > 5000, "only {n} packet lines");
}

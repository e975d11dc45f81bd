//! tcpflag at scale against ground truth: ../shared/bench/gen_pcap.py writes a capture and the
//! true kind of every TCP connection; tools/tcpflag/tests/score/score.py runs the real pipeline
//! (pcap2jsonl | tcpflows | ttlhops | tcpflag) and scores recall per failure kind and false
//! alarms on healthy connections. Here ~1,500 connections (fast in debug); the pinned figures at
//! 1M packets are in tools/tcpflag/tests/score/RESULTS.md.

use std::process::Command;

use tcpwhy_tests::{bin, f64v, root, u64v};

#[test]
fn recall_and_false_alarms_on_generated_traffic() {
    let Some(corpus) = tcpwhy_tests::corpus() else {
        return;
    };
    if !tcpwhy_tests::need_tool("python3", "python3") {
        return;
    }
    let generator = corpus.join("bench/gen_pcap.py");
    assert!(generator.exists(), "{} missing", generator.display());
    let bindir = bin("tcpflag").parent().unwrap().to_path_buf();
    for name in ["pcap2jsonl", "tcpflows", "ttlhops"] {
        bin(name);
    }
    let out = Command::new("python3")
        .arg(root().join("tools/tcpflag/tests/score/score.py"))
        .args(["-n", "60000", "--seed", "7", "--json", "--bin"])
        .arg(&bindir)
        .arg("--gen")
        .arg(&generator)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "score.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("score JSON");
    assert!(u64v(&r["connections"]) > 1000, "{r:#}");
    assert!(u64v(&r["failures"]) > 50, "{r:#}");
    // Zero false alarms on normal, rst_close and recovered-retransmission connections.
    assert_eq!(r["false_alarms"], 0, "{r:#}");
    assert_eq!(r["findings_on_unknown_connections"], 0, "{r:#}");
    // Every failure found; the kind exact except where the capture cannot tell (a firewall's
    // RST whose TTL equals the server's, judged by ttlhops).
    assert!(f64v(&r["recall"]) >= 0.99, "{r:#}");
    assert!(f64v(&r["recall_exact_kind"]) >= 0.95, "{r:#}");
    // The generator's background lookups fail only by NXDOMAIN or an empty answer; its lookups
    // answered at the second query (the first lost) are no failure, so never "no answer".
    let dns = r["dns_failure"].as_object().expect("dns_failure counts");
    assert!(
        dns.keys().all(|k| k == "NXDOMAIN" || k == "NOERROR") && !dns.is_empty(),
        "{r:#}"
    );
    for kind in ["refused", "syn_timeout", "zero_window", "zero_window_reset"] {
        let k = &r["per_kind"][kind];
        assert_eq!(k["found"], k["connections"], "{kind}: {r:#}");
    }
}

//! The committed lab captures are what their README says: every file is described, every
//! scenario has the client application's own account beside it, and the captures are small.

use tcpwhy_tests::own_captures;

fn files(ext: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(own_captures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(ext))
        .collect();
    v.sort();
    v
}

#[test]
fn every_capture_is_described_in_the_readme() {
    let readme = std::fs::read_to_string(own_captures().join("README.md")).unwrap();
    let pcaps = files(".pcap");
    assert!(pcaps.len() >= 10, "{pcaps:?}");
    for p in &pcaps {
        assert!(
            readme.contains(&format!("`{p}`")),
            "README.md does not describe {p}"
        );
    }
    for fixed in [
        "refused-2383.pcap",
        "middlebox-reset.pcap",
        "syn-timeout.pcap",
        "icmp-unreachable.pcap",
        "retrans-timeout.pcap",
        "slow-connect.pcap",
        "handshake-incomplete.pcap",
        "refused-host-firewall.pcap",
        "refused-windows-retry.pcap",
        "zero-window-synack.pcap",
        "intermittent-rr.pcap",
        "reset-mid.pcap",
        "zero-window-recover.pcap",
        "refused-ipv6.pcap",
        "healthy.pcap",
    ] {
        assert!(pcaps.iter().any(|p| p == fixed), "{fixed} missing");
    }
}

#[test]
fn every_client_capture_has_the_applications_account_and_stays_small() {
    for p in files(".pcap") {
        let path = own_captures().join(&p);
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(
            size < 64 * 1024,
            "{p} is {size} bytes: keep the committed captures small"
        );
        if p.ends_with(".server.pcap") {
            continue;
        }
        let app = own_captures().join(p.replace(".pcap", ".app.jsonl"));
        let text =
            std::fs::read_to_string(&app).unwrap_or_else(|_| panic!("{} missing", app.display()));
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(v["action"].is_string() && v["result"].is_string(), "{line}");
        }
    }
}

#[test]
fn the_refused_servers_listener_table_is_real_ss_output() {
    let ss = std::fs::read_to_string(own_captures().join("refused-2383.ss.txt")).unwrap();
    assert!(ss.starts_with("State"), "{ss}");
    assert!(ss.contains("0.0.0.0:2725") && ss.contains("users:((\"msmdsrv\",pid="));
    assert!(!ss.contains(":2383"), "nothing listens on 2383");
}

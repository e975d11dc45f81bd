//! What happens in the middle of the path, end to end on the lab's real-stack captures
//! (tests/captures/README.md): one-way captures, RSTs injected by a device on the path, port
//! scans and SYN floods. `pcap2jsonl | tcpflows | ttlhops | tcpflag | portmap` must name each
//! once, and the healthy connections around them must stay silent.

use tcpwhy_tests::diagnose;

#[test]
fn injected_resets_are_named_and_the_real_end_is_found() {
    let d = diagnose("injected-reset");
    // Nothing else: the working requests are silent, and no reset_mid_connection blames the server.
    let kinds: Vec<&str> = d
        .findings
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["injected_reset", "injected_reset"], "{}", d.show());
    // The real RSTs carry router1's TTL 64; the server's own packets arrive with 62.
    let forged = d.frames_where(|p| {
        p["tcp_flags"].as_str().is_some_and(|f| f.contains('R'))
            && p["src_ip"] == "203.0.113.30"
            && p["ttl"] == 64
    });
    assert_eq!(forged.len(), 2, "{forged:?}");

    // 8085: the forged sequence number misses the window; the client ignored it, the
    // connection carried on to its FINs (the application got its answer).
    let f = &d.kind("injected_reset")[0];
    assert_eq!(f["server_port"], 8085, "{}", d.show());
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["origin"], "middlebox");
    assert_eq!(f["evidence"]["ignored"], true);
    assert_eq!(f["evidence"]["rst_frame"].as_u64(), Some(forged[0]));
    assert_eq!(f["evidence"]["at_hop"], 1);
    let signs: Vec<&str> = f["evidence"]["signs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for s in [
        "sender_carried_on",
        "ip_id_copied",
        "ttl_differs",
        "seq_out_of_window",
    ] {
        assert!(signs.contains(&s), "{s} missing: {signs:?}");
    }
    assert!(f["socket_error"].is_null(), "the application saw no error");
    let s = f["summary"].as_str().unwrap();
    assert!(s.contains("injected"), "{s}");
    assert!(s.contains("carried on"), "{s}");
    assert!(s.contains("copies the client's last packet"), "{s}");
    let n = f["next_step"].as_str().unwrap();
    assert!(
        n.contains("hop 1") && n.contains("traceroute -T -p 8085"),
        "{n}"
    );
    assert_eq!(d.app[1]["result"], "ok");

    // 8086: exact sequence number: the client's connection died (ECONNRESET, as the application
    // saw), while the real server kept sending.
    let f = &d.kind("injected_reset")[1];
    assert_eq!(f["server_port"], 8086);
    assert_eq!(f["severity"], "error");
    assert_eq!(f["socket_error"]["posix"], "ECONNRESET");
    assert_eq!(f["socket_error"]["windows_code"], 10054);
    assert_eq!(f["evidence"]["ignored"], false);
    assert_eq!(f["evidence"]["rst_frame"].as_u64(), Some(forged[1]));
    assert!(f["evidence"]["sender_after"].as_u64().unwrap() >= 1);
    let s = f["summary"].as_str().unwrap();
    assert!(
        s.contains("kept sending") && s.contains("never reset"),
        "{s}"
    );
    assert_eq!(d.app[2]["result"], "ECONNRESET");

    // ttlhops: middlebox, with the reasons.
    for port in [8085, 8086] {
        let fl = d.flows_to("203.0.113.30", port);
        let o = &fl[0]["ttlhops"]["rst"];
        assert_eq!(o["origin"], "middlebox", "{o}");
        assert_eq!(o["at_hop"], 1, "{o}");
        let reason = o["reason"].as_str().unwrap();
        assert!(reason.contains("injected"), "{reason}");
        assert!(reason.contains("kept sending after it"), "{reason}");
    }
}

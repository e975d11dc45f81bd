//! What happens in the middle of the path, end to end on the lab's real-stack captures
//! (tests/captures/README.md): one-way captures, RSTs injected by a device on the path, port
//! scans and SYN floods. `pcap2jsonl | tcpflows | ttlhops | tcpflag | portmap` must name each
//! once, and the healthy connections around them must stay silent.

use serde_json::json;
use tcpwhy_tests::{assert_has, assert_says, diagnose, f64v, strv, u64v};

#[test]
fn injected_resets_are_named_and_the_real_end_is_found() {
    let d = diagnose("injected-reset");
    // Nothing else: the working requests are silent, and no reset_mid_connection blames the server.
    assert_eq!(d.kinds(), ["injected_reset"; 3], "{}", d.show());
    // The real RSTs carry router1's TTL 64; the server's own packets arrive with 62.
    let forged = d.frames_where(|p| {
        p["tcp_flags"].as_str().is_some_and(|f| f.contains('R'))
            && p["src_ip"] == "203.0.113.30"
            && p["ttl"] == 64
    });
    assert_eq!(forged.len(), 3, "{forged:?}");

    // Each forged RST in turn: its finding's fields, words of its summary, and what the
    // application saw.
    // - 8085: the forged sequence number misses the window; the client ignored it, the
    //   connection carried on to its FINs (the application got its answer, no error).
    // - 8086: exact sequence number: the client's connection died (ECONNRESET, as the
    //   application saw), while the real server kept sending.
    // - 8087: the injector refused the SYN before the real SYN-ACK came (router2 held the SYN
    //   back): ECONNREFUSED, as the application saw, though the server answered.
    let found = d.kind("injected_reset");
    let cases = [
        (
            json!({
                "server_port": 8085, "severity": "warning", "origin": "middlebox",
                "evidence": {"ignored": true, "at_hop": 1}, "socket_error": null,
            }),
            &["injected", "carried on", "copies the client's last packet"][..],
            "ok",
        ),
        (
            json!({
                "server_port": 8086, "severity": "error", "evidence": {"ignored": false},
                "socket_error": {"posix": "ECONNRESET", "windows_code": 10054},
            }),
            &["kept sending", "never reset"][..],
            "ECONNRESET",
        ),
        (
            json!({
                "server_port": 8087, "severity": "error",
                "socket_error": {"posix": "ECONNREFUSED", "windows_code": 10061},
            }),
            &["connect() failed", "SYN-ACK"][..],
            "ECONNREFUSED",
        ),
    ];
    for (i, (fields, words, app)) in cases.iter().enumerate() {
        let f = found[i];
        assert_has(f, fields);
        assert_eq!(f["evidence"]["rst_frame"].as_u64(), Some(forged[i]), "{f}");
        assert_says(&f["summary"], words);
        assert_eq!(d.app[i + 1]["result"], *app);
    }
    // 8085: every sign of the injection, and where to look.
    let signs: Vec<&str> = found[0]["evidence"]["signs"]
        .as_array()
        .unwrap()
        .iter()
        .map(strv)
        .collect();
    for s in [
        "sender_carried_on",
        "ip_id_copied",
        "ttl_differs",
        "seq_out_of_window",
    ] {
        assert!(signs.contains(&s), "{s} missing: {signs:?}");
    }
    assert_says(&found[0]["next_step"], &["hop 1", "traceroute -T -p 8085"]);
    // 8086: the real server kept sending after the forged RST.
    assert!(u64v(&found[1]["evidence"]["sender_after"]) >= 1);
    // ttlhops takes the server's distance from its SYN-ACK, not from the RST that came first.
    let fl = d.flows_to("203.0.113.30", 8087);
    assert_eq!(fl[0]["ttlhops"]["server"]["observed_ttl"], 62, "{}", fl[0]);

    // ttlhops: middlebox, with the reasons.
    for port in [8085, 8086, 8087] {
        let fl = d.flows_to("203.0.113.30", port);
        let o = &fl[0]["ttlhops"]["rst"];
        assert_eq!(o["origin"], "middlebox", "{o}");
        assert_eq!(o["at_hop"], 1, "{o}");
        assert_says(
            &o["reason"],
            &[
                "injected",
                "kept sending after it",
                "copies the client's last packet",
            ],
        );
    }
}

#[test]
fn a_one_way_capture_is_said_once_and_judges_nothing() {
    // tcpdump -Q out on the client: three working requests and a refused connect, the servers'
    // packets all missing. Nothing may be called a failure (the refused connect looks unanswered
    // here: its RST is not in the capture either).
    let d = diagnose("one-sided-out");
    let f = d.sole("one_sided_capture");
    assert_has(
        f,
        &json!({
            "severity": "info",
            "evidence": {
                "direction_seen": "client→server", "connections": 3, "unanswered_not_judged": 1,
            },
        }),
    );
    let s = strv(&f["summary"]);
    assert!(
        s.starts_with("only client→server packets for 3 connections"),
        "{s}"
    );
    assert!(s.contains("cannot be judged"), "{s}");
    assert!(strv(&f["next_step"]).contains("both directions"));
    // The flow records carry the signal: each client acknowledged 89 bytes never seen
    // (SYN-ACK, 87 bytes of answer, FIN).
    let ok: Vec<_> = d
        .flows
        .iter()
        .filter(|fl| fl["server"]["packets"] == 0 && fl["client"]["acked_unseen"] == 89)
        .collect();
    assert_eq!(ok.len(), 3);
    // What the application saw: the three requests worked, the connect was refused.
    let results: Vec<&str> = d.app.iter().map(|a| strv(&a["result"])).collect();
    assert_eq!(results, ["ok", "ok", "ECONNREFUSED", "ok"]);

    // The other way (tcpdump -Q in): only the servers' packets.
    let d = diagnose("one-sided-in");
    let f = d.sole("one_sided_capture");
    assert_has(
        f,
        &json!({
            "evidence": {"direction_seen": "server→client", "connections": 3},
        }),
    );
    assert!(
        d.flows
            .iter()
            .all(|fl| fl["client"]["packets"] == 0 && fl["server"]["acked_unseen"] == 40)
    );
}

#[test]
fn scans_are_one_finding_each_and_no_refusal_is_blamed_on_a_client() {
    let d = diagnose("port-scan");
    // No per-port refused / syn_timeout / no_response: only the scans.
    assert_eq!(d.kinds(), ["port_scan"; 3], "{}", d.show());
    // nmap -sS -p 1-200 against app: 200 ports, port 80 open, the scanner's kernel resets the
    // SYN-ACK.
    let f = &d.findings[0];
    assert_has(
        f,
        &json!({
            "severity": "info", "client_ip": "198.51.100.10", "server_ip": "203.0.113.30",
            "evidence": {
                "pattern": "ports", "ports": 200, "port_ranges": "1-200", "open_ports": [80],
            },
        }),
    );
    assert!(u64v(&f["evidence"]["outcomes"]["refused"]) >= 199);
    assert!(u64v(&f["evidence"]["scanner_resets"]) >= 1);
    let s = strv(&f["summary"]);
    assert!(
        s.starts_with("port scan from 198.51.100.10: 200 ports of 203.0.113.30 in"),
        "{s}"
    );
    assert!(s.contains("SYN scan"), "{s}");
    assert!(f["socket_error"].is_null());
    assert!(!f["frames"].as_array().unwrap().is_empty());
    // The connect scan of sql's 2300-2399: all closed.
    let f = &d.findings[1];
    assert_eq!(f["server_ip"], "203.0.113.20");
    // (port 22 of the sweep that came next joins it: the scan of that host was still going on)
    assert!(u64v(&f["evidence"]["ports"]) >= 100);
    assert!(strv(&f["evidence"]["port_ranges"]).contains("2300-2399"));
    // The sweep of port 22 (those of app and sql went to their port scans).
    let f = &d.findings[2];
    assert_eq!(f["evidence"]["pattern"], "host_sweep");
    assert_eq!(f["server_port"], 22);
    assert!(u64v(&f["evidence"]["hosts"]) >= 20, "{f}");
    assert!(strv(&f["summary"]).starts_with("host sweep from 198.51.100.10: port 22 of"));
    // nmap agrees: port 80 open.
    assert_eq!(d.app[1]["open"], serde_json::json!(["80/tcp"]));
}

#[test]
fn a_syn_flood_is_one_finding_with_rates() {
    let d = diagnose("syn-flood");
    let f = d.sole("syn_flood");
    assert_has(
        f,
        &json!({
            "severity": "warning", "server_ip": "203.0.113.30", "server_port": 8084,
            "evidence": {"syns": 600, "unanswered": 600},
        }),
    );
    assert!(u64v(&f["evidence"]["sources"]) >= 100);
    let rate = f64v(&f["evidence"]["rate"]);
    assert!(rate > 50.0, "{rate}");
    // The busiest one-second bucket: at most every SYN, and the buckets the flood spans hold
    // them all (a flood shorter than a second can average more than any one bucket holds).
    let peak = u64v(&f["evidence"]["peak_per_second"]);
    let duration = f64v(&f["evidence"]["duration"]);
    assert!(peak <= 600, "{peak}");
    assert!(
        peak as f64 * (duration.ceil() + 1.0) >= 600.0,
        "{peak} {duration}"
    );
    let s = strv(&f["summary"]);
    assert!(
        s.starts_with("SYN flood against 203.0.113.30:8084: 600 SYNs from"),
        "{s}"
    );
    assert!(s.contains("SYN/s"), "{s}");
    assert_eq!(
        f["frames"].as_array().unwrap().len(),
        32,
        "the first 32 SYNs"
    );
    // The requests around it worked and stay silent.
    assert!(d.app.iter().all(|a| a["result"] == "ok"));
}

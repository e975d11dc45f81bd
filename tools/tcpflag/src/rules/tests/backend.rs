//! intermittent_backend: failing addresses behind one name (or one subnet without DNS).

use super::*;

#[test]
fn intermittent_backend_by_dns_name() {
    let mut e = engine();
    let dns = r#"{"type":"packet","frame":1,"ts":999.0,"len":100,"caplen":100,"dns":{"id":1,"response":true,"rcode":0,"qname":"web2.example.com","qtype":"A","answers":[{"name":"web2.example.com","type":"A","ttl":60,"data":"192.168.0.1"},{"name":"web2.example.com","type":"A","ttl":60,"data":"192.168.0.2"},{"name":"web2.example.com","type":"A","ttl":60,"data":"192.168.0.3"}]}}"#;
    let p: tcpwhy_common::records::Packet = serde_json::from_str(dns).unwrap();
    e.dns(&p);
    let mut out = vec![];
    for i in 0..6u64 {
        let ip = ["192.168.0.2", "192.168.0.3"][i as usize % 2];
        out.extend(e.flow(flow(
            json!({"uid": format!("OK{i}"), "server_ip": ip, "client_port": 5000 + i}),
        )));
    }
    for i in 0..2u64 {
        let mut p = seed_zero_window();
        p["uid"] = json!(format!("ZW{i}"));
        p["client_port"] = json!(6000 + i);
        out.extend(e.flow(flow(p)));
    }
    assert_eq!(out.len(), 2);
    let fin = e.finish();
    assert_eq!(fin.len(), 1, "{fin:#?}");
    let fd = &fin[0];
    assert_eq!(fd.kind, "intermittent_backend");
    assert_eq!(fd.severity, Severity::Error);
    assert_eq!(fd.server_ip.as_deref(), Some("192.168.0.1"));
    assert_eq!(fd.server_port, Some(80));
    assert_eq!(fd.evidence["name"], "web2.example.com");
    assert_eq!(fd.evidence["failed"], 2);
    assert_eq!(fd.evidence["connections"], 2);
    assert_eq!(fd.uids, ["ZW0", "ZW1"]);
    assert!(fd.summary.starts_with("web2.example.com:80 fails intermittently: 2 of 2 connections to 192.168.0.1 failed (zero_window_at_handshake) while 2 other addresses of the name answered 6 of 6; round-robin DNS"), "{}", fd.summary);
}

#[test]
fn intermittent_backend_needs_a_working_address() {
    // Every address fails: a service outage, not one bad backend.
    let mut e = engine();
    for (i, ip) in ["10.9.0.1", "10.9.0.2", "10.9.0.3"].iter().enumerate() {
        let mut p = seed_zero_window();
        p["uid"] = json!(format!("Z{i}"));
        p["server_ip"] = json!(ip);
        e.flow(flow(p));
    }
    assert!(e.finish().is_empty());
    // Healthy only: nothing.
    let mut e = engine();
    for i in 0..5u16 {
        e.flow(flow(json!({"server_ip": format!("10.9.0.{i}")})));
    }
    assert!(e.finish().is_empty());
}

#[test]
fn intermittent_backend_by_subnet_without_dns() {
    let mut e = engine();
    for i in 0..9u64 {
        let ip = format!("10.9.0.{}", 1 + i % 3);
        e.flow(flow(
            json!({"uid": format!("OK{i}"), "server_ip": ip, "client_port": 7000 + i}),
        ));
    }
    for i in 0..3u64 {
        let mut p = seed_zero_window();
        p["uid"] = json!(format!("Z{i}"));
        p["server_ip"] = json!("10.9.0.9");
        p["client_port"] = json!(8000 + i);
        e.flow(flow(p));
    }
    let fin = e.finish();
    assert_eq!(fin.len(), 1, "{fin:#?}");
    assert_eq!(fin[0].severity, Severity::Warning);
    assert_eq!(fin[0].evidence["grouped_by"], "subnet");
    assert_eq!(fin[0].evidence["subnet"], "10.9.0.0/24");
}

/// `n` healthy flows to `ip`, then `fails` zero-window failures to it.
fn traffic(e: &mut Engine, ip: &str, ok: u64, fails: u64, port0: u64) {
    for i in 0..ok {
        e.flow(flow(
            json!({"uid": format!("{ip}-ok{i}"), "server_ip": ip, "client_port": port0 + i}),
        ));
    }
    for i in 0..fails {
        let mut p = seed_zero_window();
        p["uid"] = json!(format!("{ip}-zw{i}"));
        p["server_ip"] = json!(ip);
        p["client_port"] = json!(port0 + 1000 + i);
        e.flow(flow(p));
    }
}

fn web2_dns(e: &mut Engine, addrs: &[&str]) {
    let answers: Vec<serde_json::Value> = addrs
        .iter()
        .map(|a| json!({"name": "web2.example.com", "type": "A", "ttl": 60, "data": a}))
        .collect();
    let line = json!({"type": "packet", "frame": 1, "ts": 1.0, "len": 100, "caplen": 100,
        "dns": {"id": 1, "response": true, "rcode": 0, "qname": "web2.example.com", "qtype": "A",
                "answers": answers}})
    .to_string();
    let p: tcpwhy_common::records::Packet = serde_json::from_str(&line).unwrap();
    e.dns(&p);
}

#[test]
fn intermittent_backend_concentrated_failures_on_a_mostly_working_address() {
    // Ten addresses; .1 answers most connections but is the only one that ever fails with a
    // zero window (the generator's web2): a bad backend that fails some of the time.
    let addrs: Vec<String> = (1..=10).map(|i| format!("198.18.0.{i}")).collect();
    let refs: Vec<&str> = addrs.iter().map(String::as_str).collect();
    let mut e = engine();
    web2_dns(&mut e, &refs);
    for (i, a) in addrs.iter().enumerate() {
        let fails = if i == 0 { 3 } else { 0 };
        traffic(&mut e, a, 20, fails, 10_000 + 2_000 * i as u64);
    }
    let fin = e.finish();
    assert_eq!(fin.len(), 1, "{fin:#?}");
    assert_eq!(fin[0].server_ip.as_deref(), Some("198.18.0.1"));
    assert_eq!(fin[0].severity, Severity::Warning);
    assert_eq!(fin[0].evidence["pattern"], "concentrated");
    assert!(
        fin[0]
            .summary
            .contains("3 of 23 connections to 198.18.0.1 failed"),
        "{}",
        fin[0].summary
    );
}

#[test]
fn intermittent_backend_ignores_random_failures_on_a_busy_address() {
    // Two addresses, one takes 90 % of the traffic and collects the few random failures: not
    // significant (0.9^3 is far above 1 %), and 1 failure of 2 is not "mostly fails" either.
    let mut e = engine();
    web2_dns(&mut e, &["10.8.0.1", "10.8.0.2"]);
    traffic(&mut e, "10.8.0.1", 90, 3, 10_000);
    traffic(&mut e, "10.8.0.2", 10, 0, 20_000);
    assert!(e.finish().is_empty());
    let mut e = engine();
    web2_dns(&mut e, &["10.8.0.1", "10.8.0.2"]);
    traffic(&mut e, "10.8.0.1", 1, 1, 10_000);
    traffic(&mut e, "10.8.0.2", 5, 0, 20_000);
    assert!(e.finish().is_empty());
}

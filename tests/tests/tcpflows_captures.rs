//! `pcap2jsonl | tcpflows` on the lab's captures (tests/captures, real Linux stacks in network
//! namespaces, see its README): each scenario's connection gets the Zeek state and history, the
//! attempts, RST, zero-window and ICMP facts it must have, and the healthy connections around it
//! stay `SF` with nothing flagged. Assertions name servers and ports, never frame numbers, so
//! they hold on freshly made captures too (`TCPWHY_CAPTURES=<dir>`).

use std::path::PathBuf;

use serde_json::{Value, json};
use tcpwhy_tests::{
    assert_has, f64s, f64v, own_captures, pipeline_ok, records_of, root, strv, u64v,
};

fn dir() -> PathBuf {
    std::env::var_os("TCPWHY_CAPTURES")
        .map(PathBuf::from)
        .unwrap_or_else(own_captures)
}

fn flows(name: &str) -> Vec<Value> {
    flows_in(&dir(), name)
}

fn flows_in(dir: &std::path::Path, name: &str) -> Vec<Value> {
    let outs = pipeline_ok(&dir.join(name), &[("tcpflows", &[])]);
    records_of(&outs[1].stdout, "flow")
}

fn to<'a>(f: &'a [Value], ip: &str, port: u64) -> Vec<&'a Value> {
    f.iter()
        .filter(|f| f["server_ip"] == ip && f["server_port"] == port)
        .collect()
}

/// The one flow to `ip`:`port`.
fn one<'a>(f: &'a [Value], ip: &str, port: u64) -> &'a Value {
    let r = to(f, ip, port);
    assert_eq!(r.len(), 1, "flows to {ip}:{port}: {r:?}");
    r[0]
}

/// Every other flow is a healthy, cleanly closed connection with nothing flagged.
fn rest_healthy(f: &[Value], except: &[(&str, u64)]) {
    for x in f {
        if except
            .iter()
            .any(|(ip, p)| x["server_ip"] == *ip && x["server_port"] == *p)
        {
            continue;
        }
        assert_has(
            x,
            &json!({
                "state": "SF", "established": true, "rst": null, "icmp_count": 0,
                "client": {"zero_window": null}, "server": {"zero_window": null},
                "attempts": {"syn_count": 1}, "synack_count": 1,
            }),
        );
        let h = strv(&x["history"]);
        assert!(
            h.starts_with("ShAD") && !h.contains('T') && !h.contains('t'),
            "{x}"
        );
    }
}

#[test]
fn healthy_is_all_sf() {
    let f = flows("healthy.pcap");
    assert!(f.len() >= 4);
    assert!(f.iter().any(|x| x["ip_version"] == 6));
    rest_healthy(&f, &[]);
}

#[test]
fn refused_is_rej_from_the_server_itself() {
    let f = flows("refused-2383.pcap");
    let r = to(&f, "203.0.113.20", 2383);
    // three connect()s (Linux: a new ISN each): three REJ flows from the same source port
    assert_eq!(r.len(), 3);
    for x in &r {
        assert_has(
            x,
            &json!({
                "state": "REJ", "history": "Sr", "end": "rst", "attempts": {"syn_count": 1},
                "rst": {"from": "server", "flags": "RA", "ttl": 126, "seq_check": "exact"},
                "server": {"initial_window": null}, "client_port": r[0]["client_port"],
            }),
        );
    }
    assert_eq!(one(&f, "203.0.113.20", 2725)["state"], "SF");
    rest_healthy(&f, &[("203.0.113.20", 2383)]);
}

#[test]
fn refused_over_ipv6() {
    let f = flows("refused-ipv6.pcap");
    let r = to(&f, "2001:db8:20::20", 2383);
    assert_eq!(r.len(), 3);
    assert!(r.iter().all(|x| x["state"] == "REJ"
        && x["ip_version"] == 6
        && x["rst"]["ttl"] == 126
        && x["rst"]["ip_id"].is_null()));
    rest_healthy(&f, &[("2001:db8:20::20", 2383)]);
}

#[test]
fn windows_style_retries_with_the_same_isn_are_one_flow() {
    let f = flows("refused-windows-retry.pcap");
    let x = one(&f, "203.0.113.20", 2383);
    assert_has(
        x,
        &json!({"state": "REJ", "history": "Sr", "attempts": {"syn_count": 3}, "rst": {"count": 3}}),
    );
    for i in f64s(&x["attempts"]["intervals"]) {
        assert!((0.4..0.7).contains(&i), "{i}");
    }
    rest_healthy(&f, &[("203.0.113.20", 2383)]);
}

#[test]
fn middlebox_reset_carries_the_routers_ttl() {
    let f = flows("middlebox-reset.pcap");
    let r = to(&f, "203.0.113.30", 8443);
    assert!(!r.is_empty());
    for x in &r {
        assert_eq!(x["state"], "REJ");
        assert_eq!(x["rst"]["ttl"], 64);
    }
    // the real server's packets arrive with TTL 62
    let ok = to(&f, "203.0.113.30", 80);
    assert!(ok.iter().all(|x| x["server"]["ttl"]["first"] == 62));
    rest_healthy(&f, &[("203.0.113.30", 8443)]);
}

#[test]
fn syn_timeout_is_s0_with_linux_backoff() {
    let f = flows("syn-timeout.pcap");
    let x = one(&f, "203.0.113.30", 8080);
    assert_has(
        x,
        &json!({"state": "S0", "history": "S", "attempts": {"syn_count": 3}}),
    );
    let iv = f64s(&x["attempts"]["intervals"]);
    // tcp_syn_retries=2: 1 s then 2 s (Linux doubles the RTO)
    assert!(
        (0.9..1.2).contains(&iv[0]) && (1.8..2.3).contains(&iv[1]),
        "{iv:?}"
    );
    assert_eq!(x["server"]["packets"], 0);
    rest_healthy(&f, &[("203.0.113.30", 8080)]);
}

#[test]
fn slow_connect_answered_at_the_retry() {
    let f = flows("slow-connect.pcap");
    let x = one(&f, "203.0.113.30", 8082);
    assert_has(
        x,
        &json!({"state": "SF", "attempts": {"syn_count": 2}, "established": true}),
    );
    // the RTT is measured from the SYN that was answered
    assert!(f64v(&x["rtt"]["syn_synack"]) < 0.5);
}

#[test]
fn icmp_errors_are_attached_to_the_attempts() {
    let f = flows("icmp-unreachable.pcap");
    let host = one(&f, "203.0.113.14", 80);
    assert_eq!(host["state"], "S0");
    assert_has(
        &host["icmp"][0],
        &json!({
            "description": "host unreachable", "icmp_type": 3, "icmp_code": 1,
            "from_ip": "192.0.2.2", "ttl": 63, "quoted": "client",
        }),
    );
    let port = to(&f, "203.0.113.30", 5432);
    assert_eq!(port[0]["icmp"][0]["description"], "port unreachable");
    let v6 = to(&f, "2001:db8:20::30", 5432);
    if let Some(x) = v6.first() {
        assert_eq!(x["icmp"][0]["proto"], "icmpv6");
        assert_eq!(x["icmp"][0]["description"], "port unreachable");
    }
    rest_healthy(
        &f,
        &[
            ("203.0.113.14", 80),
            ("203.0.113.30", 5432),
            ("203.0.113.30", 5433),
            ("2001:db8:20::30", 5432),
        ],
    );
}

#[test]
fn zero_window_synack_probes_and_reset() {
    let f = flows("zero-window-synack.pcap");
    let x = one(&f, "203.0.113.13", 80);
    assert_has(
        x,
        &json!({
            "state": "RSTR", "history": "ShwAr", "established": true,
            "server": {
                "initial_window": 0,
                "zero_window": {"in_handshake": true, "reopened": false, "probe_kind": "zero_byte"},
            },
            "rst": {"from": "server", "ttl": 126}, "client": {"bytes": 0},
        }),
    );
    let z = &x["server"]["zero_window"];
    assert!(u64v(&z["probes"]) >= 2);
    assert!(f64v(&z["longest_stall"]) > 2.0);
    rest_healthy(&f, &[("203.0.113.13", 80)]);
}

#[test]
fn intermittent_backend_fails_each_time() {
    let f = flows("intermittent-rr.pcap");
    let bad = to(&f, "203.0.113.13", 80);
    assert!(bad.len() >= 3);
    assert!(
        bad.iter()
            .all(|x| x["state"] == "RSTR" && x["server"]["zero_window"]["in_handshake"] == true)
    );
    rest_healthy(&f, &[("203.0.113.13", 80)]);
}

#[test]
fn reset_mid_connection_by_the_server() {
    let f = flows("reset-mid.pcap");
    let x = one(&f, "203.0.113.30", 9000);
    assert_has(
        x,
        &json!({"state": "RSTR", "history": "ShADadr", "rst": {"from": "server", "ttl": 62}}),
    );
    assert!(u64v(&x["server"]["bytes"]) > 1000);
    rest_healthy(&f, &[("203.0.113.30", 9000)]);
}

#[test]
fn zero_window_stall_that_recovers() {
    let f = flows("zero-window-recover.pcap");
    let x = one(&f, "203.0.113.30", 9001);
    assert_eq!(x["state"], "SF");
    assert!(strv(&x["history"]).contains('w'));
    let z = &x["server"]["zero_window"];
    assert_has(z, &json!({"in_handshake": false, "reopened": true}));
    assert!(u64v(&z["probes"]) >= 1);
    assert!(f64v(&z["longest_stall"]) > 0.5);
    assert!(x["client"]["zero_window"].is_null());
    rest_healthy(&f, &[("203.0.113.30", 9001)]);
}

#[test]
fn retransmissions_then_client_abort() {
    let f = flows("retrans-timeout.pcap");
    let x = one(&f, "203.0.113.30", 8081);
    assert_eq!(x["state"], "RSTO");
    assert!(strv(&x["history"]).contains('T'));
    assert!(u64v(&x["client"]["retransmissions"]) >= 3);
    assert_eq!(x["rst"]["from"], "client");
}

#[test]
fn handshake_incomplete_seen_from_both_sides() {
    let f = flows("handshake-incomplete.pcap");
    let x = one(&f, "203.0.113.30", 8083);
    // the client's ACK and data never arrive: the server repeats its SYN-ACK
    assert!(u64v(&x["server"]["retransmissions"]) >= 1);
    assert!(u64v(&x["synack_count"]) >= 2);
    let f = flows("handshake-incomplete.server.pcap");
    let x = one(&f, "203.0.113.30", 8083);
    assert_has(
        x,
        &json!({"history": "Sh", "state": "S1", "established": false}),
    );
    assert!(u64v(&x["synack_count"]) >= 2);
}

/// tcpflows' own captures (tools/tcpflows/tests/make-captures.sh): what the lab's do not have.
fn own(name: &str) -> Vec<Value> {
    flows_in(&root().join("tools/tcpflows/tests/captures"), name)
}

#[test]
fn linux_linear_syn_retries_are_one_s0_flow() {
    let f = own("extra.pcap");
    let x = one(&f, "10.77.0.2", 9999);
    assert_has(x, &json!({"state": "S0", "history": "S"}));
    let iv = f64s(&x["attempts"]["intervals"]);
    assert_eq!(u64v(&x["attempts"]["syn_count"]) as usize, iv.len() + 1);
    // tcp_syn_linear_timeouts=4: the first retries 1 s apart, then doubling
    assert!(iv.len() >= 6, "{iv:?}");
    assert!(iv[..4].iter().all(|i| (0.9..1.2).contains(i)), "{iv:?}");
    assert!(iv[iv.len() - 1] > 1.8, "{iv:?}");
    // tshark: every repeated SYN is a retransmission
    assert_eq!(u64v(&x["client"]["retransmissions"]) as usize, iv.len());
}

#[test]
fn half_close_by_the_client_is_s2() {
    let f = own("extra.pcap");
    let x = one(&f, "10.77.0.2", 7001);
    assert_has(
        x,
        &json!({
            "state": "S2", "history": "ShADaFd", "end": "capture_end",
            "server": {"fin_frame": null},
        }),
    );
    assert!(x["client"]["fin_frame"].is_u64());
}

#[test]
fn client_abort_is_rsto() {
    let f = own("extra.pcap");
    assert_has(
        one(&f, "10.77.0.2", 7003),
        &json!({
            "state": "RSTO", "history": "ShADadR",
            "rst": {"from": "client", "flags": "RA", "seq_check": "exact"},
        }),
    );
}

#[test]
fn midstream_pickup() {
    let f = own("midstream.pcap");
    assert_eq!(f.len(), 1);
    assert_has(
        &f[0],
        &json!({
            "midstream": true, "established": false, "server_port": 7002,
            "client_ip": "10.77.0.1", "history": "DdAFf", "state": "SF",
            "attempts": {"syn_count": 0},
        }),
    );
}

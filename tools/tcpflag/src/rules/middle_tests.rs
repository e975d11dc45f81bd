//! Engine tests for the cross-flow stages in front of the per-flow rules: one-way captures,
//! scans, floods (crate::probes, rules::one_sided_capture), and injected_reset.

use serde_json::{Value, json};
use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::testutil::{assert_has, flow, seed_refused_attempt};
use crate::engine::Engine;
use crate::probes::{MAX_HELD, ProbeConfig, Probes};
use crate::rules::Config;
use crate::rules::intermittent_backend::BackendConfig;

fn engine() -> Engine {
    Engine::new(Config::default(), BackendConfig::default())
}

/// Everything a fresh engine finds on `flows`, up to the end of the input.
fn judge_all(flows: impl IntoIterator<Item = Flow>) -> Vec<Finding> {
    let mut e = engine();
    let mut out = vec![];
    for f in flows {
        out.extend(e.flow(f));
    }
    out.extend(e.finish());
    out
}

/// [`judge_all`] on one flow.
fn judged(patch: serde_json::Value) -> Vec<Finding> {
    judge_all([flow(patch)])
}

fn kinds(v: &[Finding]) -> Vec<&str> {
    v.iter().map(|f| f.kind.as_str()).collect()
}

/// An address and a port.
type Endpoint<'a> = (&'a str, u16);

/// A refused probe from `src:sport` to `dst:port` at `ts`.
fn refused_probe(uid: &str, (src, sport): Endpoint, (dst, port): Endpoint, ts: f64) -> Value {
    let mut v = seed_refused_attempt(uid, 1, 2, ts, false);
    v["client_ip"] = json!(src);
    v["client_port"] = json!(sport);
    v["server_ip"] = json!(dst);
    v["server_port"] = json!(port);
    v
}

/// One unanswered single SYN from `src:sport` to `dst:port` at `ts`.
fn lone_syn(uid: &str, (src, sport): Endpoint, (dst, port): Endpoint, ts: f64) -> Value {
    json!({
        "uid": uid, "client_ip": src, "client_port": sport, "server_ip": dst, "server_port": port,
        "first_frame": 1, "last_frame": 1, "first_ts": ts, "last_ts": ts, "duration": 0.0,
        "state": "S0", "history": "S", "end": "timeout", "established": false,
        "attempts": {"syn_count": 1, "frames": [1], "ts": [ts], "intervals": []},
        "synack_frame": null, "rtt": {"syn_synack": null, "synack_ack": null},
        "client": {"packets": 1, "bytes": 0, "fin_frame": null},
        "server": {"packets": 0, "bytes": 0, "initial_window": null, "fin_frame": null, "ttl": null,
                   "first_ip_id": null}
    })
}

#[test]
fn a_port_scan_is_one_info_finding() {
    let out = judge_all((1..=50u16).map(|p| {
        let ts = 100.0 + f64::from(p) * 0.01;
        flow(refused_probe(
            &format!("P{p}"),
            ("10.9.9.9", 40000),
            ("172.16.0.1", p),
            ts,
        ))
    }));
    assert_eq!(kinds(&out), ["port_scan"], "{out:#?}");
    let f = &out[0];
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(f.evidence["ports"], 50);
    assert_eq!(f.evidence["port_ranges"], "1-50");
    assert_eq!(f.evidence["outcomes"]["refused"], 50);
    assert_eq!(f.attempts, Some(50));
    assert_eq!(f.uids.len(), 32, "uids bounded");
}

#[test]
fn few_ports_or_many_clients_of_one_port_stay_per_connection() {
    // 19 ports: below the threshold, each refusal is its own finding.
    let out = judge_all((1..=19u16).map(|p| {
        flow(refused_probe(
            &format!("P{p}"),
            ("10.9.9.9", 40000 + p),
            ("172.16.0.1", p),
            100.0,
        ))
    }));
    assert_eq!(out.len(), 19);
    assert!(out.iter().all(|f| f.kind == "refused"));
    // 60 clients (and 60 source ports of one client) refused by one closed port: refusals.
    let out = judge_all((0..60u16).flat_map(|i| {
        let src = format!("10.0.{}.{}", i / 200, i % 200 + 1);
        let ts = 100.0 + f64::from(i) * 0.05;
        [
            flow(refused_probe(
                &format!("C{i}"),
                (&src, 5000),
                ("172.16.0.1", 2383),
                ts,
            )),
            flow(refused_probe(
                &format!("D{i}"),
                ("10.1.1.1", 6000 + i),
                ("172.16.0.1", 2383),
                ts,
            )),
        ]
    }));
    assert_eq!(out.len(), 120, "{:?}", kinds(&out));
    assert!(out.iter().all(|f| f.kind == "refused"));
}

#[test]
fn a_flood_is_one_warning_and_real_clients_keep_their_findings() {
    let flood = (0..500u32).map(|i| {
        let src = format!("192.0.2.{}", i % 250 + 1);
        let ts = 100.0 + f64::from(i) * 0.005;
        let (uid, sport) = (format!("F{i}"), 1024 + i as u16);
        let syn = lone_syn(&uid, (&src, sport), ("172.16.0.1", 8084), ts);
        flow(syn)
    });
    // A real client: three SYNs, retried (syn_timeout), not part of the flood.
    let mut real = lone_syn("REAL", ("10.0.0.1", 50000), ("172.16.0.1", 8084), 101.0);
    real["attempts"] = json!({"syn_count": 3, "frames": [1, 2, 3], "ts": [101.0, 102.0, 104.0], "intervals": [1.0, 2.0]});
    real["client"]["packets"] = json!(3);
    real["last_ts"] = json!(104.0);
    let out = judge_all(flood.chain([flow(real)]));
    assert_eq!(kinds(&out), ["syn_flood", "syn_timeout"], "{out:#?}");
    let f = &out[0];
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.evidence["syns"], 500);
    assert_eq!(f.evidence["sources"], 250);
    assert_has(&f.summary, "SYN/s");
}

#[test]
fn a_slow_trickle_from_one_source_is_no_flood() {
    // 150 single SYNs from one client to one port, one per second: an application with a short
    // connect timeout, not a flood (no_response each, as before).
    let out = judge_all((0..150u16).map(|i| {
        let ts = 100.0 + f64::from(i);
        flow(lone_syn(
            &format!("S{i}"),
            ("10.0.0.1", 30000 + i),
            ("172.16.0.1", 8084),
            ts,
        ))
    }));
    assert!(
        out.iter().all(|f| f.kind == "no_response"),
        "{:?}",
        kinds(&out)
    );
    assert_eq!(out.len(), 150);
}

#[test]
fn held_probes_are_bounded() {
    // Many refusals that never form a scan (each source one port; refusals are no flood): at most
    // MAX_HELD wait, the oldest are released first.
    let mut p = Probes::new(ProbeConfig::default());
    let n = MAX_HELD + 500;
    let (mut out, mut released) = (vec![], vec![]);
    for i in 0..n {
        let src = format!("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255);
        let f = flow(refused_probe(
            &format!("H{i}"),
            (&src, 5000),
            ("172.16.0.1", 80 + (i % 7) as u16),
            100.0,
        ));
        assert!(p.offer(f, None, 100.0, &mut out, &mut released).is_none());
    }
    assert!(out.is_empty());
    assert_eq!(released.len(), 500);
    assert_eq!(released[0].0.uid, "H0", "oldest first");
    p.finish(&mut out, &mut released);
    assert_eq!(released.len(), n);
}

#[test]
fn one_way_flows_are_not_judged_and_said_once() {
    let mut e = engine();
    let mut out = vec![];
    // Client → server only: the client acknowledges a SYN-ACK, 87 bytes and a FIN never seen.
    for (i, port) in [80u16, 2725, 80].into_iter().enumerate() {
        let f = flow(json!({
            "uid": format!("O{i}"), "client_port": 40000 + i as u16, "server_port": port,
            "state": "SH", "history": "SADF", "end": "timeout", "established": false,
            "synack_frame": null,
            "client": {"packets": 5, "bytes": 38, "acked_unseen": 89},
            "server": {"packets": 0, "bytes": 0, "ttl": null, "first_ip_id": null, "fin_frame": null}
        }));
        out.extend(e.flow(f));
    }
    // The same client's unanswered attempt: its answer may be missing too.
    out.extend(e.flow(flow(lone_syn(
        "U",
        ("10.0.0.1", 41000),
        ("192.168.0.2", 2383),
        1000.2,
    ))));
    out.extend(e.finish());
    assert_eq!(kinds(&out), ["one_sided_capture"], "{out:#?}");
    assert_eq!(out[0].evidence["connections"], 3);
    assert_eq!(out[0].evidence["unanswered_not_judged"], 1);
    // A single missing SYN-ACK (acked_unseen 1) is no one-way capture.
    let out = judged(json!({"client": {"acked_unseen": 1}, "server": {"packets": 0, "bytes": 0}}));
    assert!(!kinds(&out).contains(&"one_sided_capture"), "{out:#?}");
}

/// An established flow ended by a RST from the server's address with TTL `ttl` and IP ID
/// `ip_id` (the server's own packets: TTL 126, IP ID 9; the client's last: IP ID 4242), after
/// which the server sent `sender_after` packets.
fn server_rst(ttl: u8, ip_id: u16, sender_after: u32) -> serde_json::Value {
    json!({
        "state": "RSTR", "history": "ShADadr", "end": "rst",
        "server": {"fin_frame": null},
        "client": {"fin_frame": null},
        "rst": {"from": "server", "frame": 9, "ts": 1000.3, "ttl": ttl, "ip_id": ip_id,
                "flags": "RA", "seq_ok": true, "seq_check": "exact", "seq": 1, "count": 1,
                "sender_ttl": 126, "sender_ip_id": 9, "receiver_ip_id": 4242,
                "sender_after": sender_after, "receiver_after": 0}
    })
}

#[test]
fn injected_reset_without_ttlhops() {
    // The server's RST with the client's IP ID copied, after which the server kept sending.
    let out = judged(server_rst(64, 4242, 2));
    assert_eq!(kinds(&out), ["injected_reset"], "{out:#?}");
    assert_eq!(out[0].severity, Severity::Error);
    assert_eq!(out[0].origin.as_deref(), Some("middlebox"));
    // A RST of the server's own (its IP ID counter, nothing after it): reset_mid_connection.
    let out = judged(server_rst(126, 10, 0));
    assert_eq!(kinds(&out), ["reset_mid_connection"], "{out:#?}");
}

#[test]
fn a_forged_refusal_before_the_real_syn_ack() {
    // SYN (2), forged RST/ACK with the server's address (3, TTL 64), the real SYN-ACK (4, TTL
    // 126), the client's stack resets it (5).
    let out = judged(json!({
        "state": "REJ", "history": "ShR", "end": "rst", "established": false,
        "synack_frame": 4, "last_frame": 5,
        "client": {"packets": 2, "bytes": 0, "fin_frame": null},
        "server": {"packets": 2, "bytes": 0, "fin_frame": null,
                   "ttl": {"first": 64, "min": 64, "max": 126}},
        "rst": {"from": "server", "frame": 3, "ts": 1000.01, "ttl": 64, "ip_id": 77, "flags": "RA",
                "seq_ok": true, "seq_check": "exact", "seq": 0, "count": 2, "sender_ttl": 126,
                "sender_ip_id": null, "receiver_ip_id": 77, "sender_after": 1, "receiver_after": 0}
    }));
    assert_eq!(kinds(&out), ["injected_reset"], "{out:#?}");
    assert_eq!(out[0].severity, Severity::Error);
    let err = out[0].socket_error.as_ref().unwrap();
    assert_eq!(err.windows_code, Some(10061), "{err:?}");
    assert_has(&out[0].summary, "connect() failed");
}

#[test]
fn a_half_open_flood_counts_the_syn_acks_nobody_acknowledged() {
    // 200 SYNs in 1 s.
    // Seen on the server's side: each spoofed SYN answered by a SYN-ACK, retransmitted, never
    // acknowledged (SYN-RECV) — handshake_incomplete each, folded into one syn_flood.
    let half_open = |mut v: serde_json::Value| {
        v["synack_frame"] = json!(2);
        v["synack_count"] = json!(3);
        v["server"] = json!({"packets": 3, "bytes": 0, "retransmissions": 2, "fin_frame": null,
                             "ttl": {"first": 64, "min": 64, "max": 64}});
        v["history"] = json!("Sh");
        v["state"] = json!("S1");
        flow(v)
    };
    let out = judge_all((0..200u32).map(|i| {
        let src = format!("198.51.100.{}", i % 100 + 128);
        let ts = 100.0 + f64::from(i) * 0.005;
        let (uid, sport) = (format!("H{i}"), 2000 + i as u16);
        let syn = lone_syn(&uid, (&src, sport), ("172.16.0.1", 443), ts);
        half_open(syn)
    }));
    assert_eq!(kinds(&out), ["syn_flood"], "{out:#?}");
    assert_eq!(out[0].evidence["half_open"], 200);
    assert_has(&out[0].summary, "SYN-ACKs that nobody acknowledged");
}

#[test]
fn a_flood_whose_records_arrive_a_timeout_late_is_still_one_finding() {
    // tcpflows writes unanswered attempts 60 s after their SYN, while healthy connections keep
    // the clock at the present: the flood must not be cut into pieces.
    let out = judge_all((0..1000u32).flat_map(|i| {
        let t = 100.0 + f64::from(i) * 0.005;
        let mut ok = flow(json!({"uid": format!("OK{i}"), "client_port": 3000 + i as u16}));
        ok.first_ts = t + 60.0;
        ok.last_ts = t + 60.1;
        let src = format!("192.0.2.{}", i % 250 + 1);
        let syn = lone_syn(
            &format!("F{i}"),
            (&src, 1024 + i as u16),
            ("172.16.0.1", 8084),
            t,
        );
        [ok, flow(syn)]
    }));
    assert_eq!(kinds(&out), ["syn_flood"], "{:?}", kinds(&out));
    assert_eq!(out[0].evidence["syns"], 1000);
}

#[test]
fn a_scans_filtered_ports_arriving_a_timeout_late_join_it() {
    // 30 closed ports (refused, written at once) and 10 filtered ones (unanswered, written 60 s
    // after their SYN), healthy traffic moving the clock in between: one scan.
    let at = |p: u16| 100.0 + f64::from(p) * 0.01;
    let closed = (1..=30u16).map(|p| {
        flow(refused_probe(
            &format!("P{p}"),
            ("10.9.9.9", 40000),
            ("172.16.0.1", p),
            at(p),
        ))
    });
    let healthy = (0..60u32).map(|i| {
        let mut ok = flow(json!({"uid": format!("OK{i}"), "client_port": 3000 + i as u16}));
        ok.first_ts = 101.0 + f64::from(i);
        ok.last_ts = ok.first_ts + 0.1;
        ok
    });
    let filtered = (31..=40u16).map(|p| {
        flow(lone_syn(
            &format!("P{p}"),
            ("10.9.9.9", 40000),
            ("172.16.0.1", p),
            at(p),
        ))
    });
    let out = judge_all(closed.chain(healthy).chain(filtered));
    assert_eq!(kinds(&out), ["port_scan"], "{:?}", kinds(&out));
    assert_eq!(out[0].evidence["ports"], 40);
    assert_eq!(out[0].evidence["outcomes"]["unanswered"], 10);
}

#[test]
fn a_scan_mostly_cut_off_by_the_capture_end_keeps_its_refusals() {
    // nmap -sS against a filtered host (Practical Packet Analysis' synscan.pcapng): 4 closed
    // ports refused at once, 996 SYNs unanswered, then 20 s of the open ports' half-open
    // handshakes. At the end of the capture tcpflows writes the open flows in the order they
    // began: an open port's flow (last packet 20 s later) comes before most unanswered ones and
    // must not release the refusals on its own; they are the scan's too.
    let at = |p: u16| 100.0 + f64::from(p) * 0.005;
    let closed = [113u16, 25, 31337, 70].map(|p| {
        flow(refused_probe(
            &format!("R{p}"),
            ("172.16.0.8", 36050),
            ("64.13.134.52", p),
            at(p % 1000),
        ))
    });
    let mut open = lone_syn("O22", ("172.16.0.8", 36050), ("64.13.134.52", 22), at(22));
    open["end"] = json!("capture_end");
    open["last_ts"] = json!(123.0);
    let unanswered = (1000..1030u16).map(|p| {
        let mut v = lone_syn(
            &format!("U{p}"),
            ("172.16.0.8", 36050),
            ("64.13.134.52", p),
            at(p - 900),
        );
        v["end"] = json!("capture_end");
        flow(v)
    });
    let out = judge_all(closed.into_iter().chain([flow(open)]).chain(unanswered));
    assert_eq!(kinds(&out), ["port_scan"], "{:?}", kinds(&out));
    assert_eq!(out[0].evidence["outcomes"]["refused"], 4);
}

#[test]
fn syns_with_fin_from_no_stack_are_no_attempt() {
    // nmap -O's probe T3 (SYN+FIN+PSH+URG) to an open Windows port, sent 4 times, unanswered.
    let mut v = lone_syn(
        "Q1",
        ("172.16.16.128", 53951),
        ("172.16.16.150", 135),
        100.0,
    );
    v["history"] = json!("Q");
    v["state"] = json!("SH");
    v["attempts"] = json!({"syn_count": 4, "frames": [21, 28, 35, 43],
                           "ts": [100.0, 100.175, 100.35, 100.525], "intervals": [0.175, 0.175, 0.175]});
    v["end"] = json!("capture_end");
    assert!(judged(v.clone()).is_empty());
    // the same SYNs without the FIN: a connection that timed out
    v["history"] = json!("S");
    v["state"] = json!("S0");
    assert_eq!(kinds(&judged(v)), ["syn_timeout"]);
}

#[test]
fn single_syns_of_many_clients_cut_off_by_the_capture_end_are_no_flood() {
    // 258 clients' first SYNs to one port over 12 s, the capture over before their retries (the
    // generator's --warmup run): 21 SYN/s, not a flood, and no finding (the capture ended).
    let out = judge_all((0..258u32).map(|i| {
        let src = format!("10.1.{}.{}", i / 200, i % 200 + 1);
        let ts = 100.0 + f64::from(i) * 0.048;
        let (uid, sport) = (format!("C{i}"), 40000 + i as u16);
        let mut v = lone_syn(&uid, (&src, sport), ("172.16.0.22", 443), ts);
        v["end"] = json!("capture_end");
        flow(v)
    }));
    assert!(out.is_empty(), "{:?}", kinds(&out));
}

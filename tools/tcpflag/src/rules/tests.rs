//! Every rule on a hand-written flow where it must fire and one where it must not.

use serde_json::json;
use tcpwhy_common::records::{Finding, Severity};

use super::testutil::*;
use super::*;
use crate::engine::Engine;
use crate::rules::intermittent_backend::BackendConfig;

fn findings(f: &Flow) -> Vec<Finding> {
    match evaluate(f, &Config::default()) {
        Verdict::Findings(v) => v,
        Verdict::Refused => vec![refused(&[(f, None)])],
    }
}

fn one(patch: serde_json::Value) -> Finding {
    let f = flow(patch);
    let v = findings(&f);
    assert_eq!(v.len(), 1, "expected one finding, got {v:#?}");
    v.into_iter().next().unwrap()
}

fn none(patch: serde_json::Value) {
    let f = flow(patch);
    let v = findings(&f);
    assert!(v.is_empty(), "expected no finding, got {v:#?}");
}

/// Checks a finding's kind, evidence frames and Windows error code.
#[track_caller]
fn check(fd: &Finding, kind: &str, frames: &[u64], windows: u32) {
    assert_eq!(fd.kind, kind);
    assert_eq!(fd.frames, frames);
    assert_eq!(windows_code(fd), Some(windows));
}

fn engine() -> Engine {
    Engine::new(Config::default(), BackendConfig::default())
}

#[test]
fn healthy_flow_is_silent() {
    none(json!({}));
}

#[test]
fn seed_refused_three_flows_become_one_finding() {
    let mut e = engine();
    let mut out = vec![];
    for (i, (syn, rst, ts)) in [
        (7447, 7448, 100.0),
        (7467, 7468, 100.5),
        (7554, 7556, 101.0),
    ]
    .into_iter()
    .enumerate()
    {
        let f = flow(seed_refused_attempt(&format!("R{i}"), syn, rst, ts, true));
        out.extend(e.flow(f));
    }
    assert!(out.is_empty(), "held for retries: {out:?}");
    out.extend(e.finish());
    assert_eq!(out.len(), 1, "{out:#?}");
    let fd = &out[0];
    assert_eq!(fd.kind, "refused");
    assert_eq!(fd.severity, Severity::Error);
    assert_eq!(fd.attempts, Some(3));
    assert_eq!(fd.uids, ["R0", "R1", "R2"]);
    assert_eq!(fd.server_ip.as_deref(), Some("172.16.0.1"));
    assert_eq!(fd.server_port, Some(2383));
    assert_eq!(fd.frames, [7447, 7448, 7467, 7468, 7554, 7556]);
    assert_eq!(fd.origin.as_deref(), Some("server"));
    let se = fd.socket_error.as_ref().unwrap();
    assert_eq!(se.windows_code, Some(10061));
    assert_eq!(se.posix.as_deref(), Some("ECONNREFUSED"));
    assert_eq!(
        fd.summary,
        "10.0.0.1:20531 → 172.16.0.1:2383 refused: 3 SYNs (frames 7447, 7467, 7554) each answered \
         by RST/ACK from the server itself (TTL 126 = 128 − 2: 2 routers between the capture point and the sender); the client's stack retried the \
         same SYN twice about 0.5 s apart, as Windows does after a RST"
    );
    assert_eq!(fd.evidence["same_isn"], true);
    assert_has(&fd.next_step, "portmap --listeners");
    assert_eq!(fd.evidence["client_retry_hint"], "windows");
}

#[test]
fn refused_connects_with_new_isns_are_the_application_retrying() {
    let mut e = engine();
    for (i, (syn, rst, ts)) in [(11, 12, 100.0), (13, 14, 100.7), (15, 16, 101.4)]
        .into_iter()
        .enumerate()
    {
        let mut p = seed_refused_attempt(&format!("R{i}"), syn, rst, ts, true);
        p["client"]["isn"] = json!(1000 + i);
        e.flow(flow(p));
    }
    let out = e.finish();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].attempts, Some(3));
    assert_eq!(out[0].evidence["same_isn"], false);
    assert!(out[0].evidence["client_retry_hint"].is_null());
    assert!(
        out[0]
            .summary
            .ends_with("; the application retried: 3 separate connects from the same source port"),
        "{}",
        out[0].summary
    );
}

#[test]
fn refused_as_one_flow_with_three_attempts() {
    let mut p = seed_refused_attempt("R", 7447, 7556, 100.0, false);
    p["attempts"] = json!({"syn_count": 3, "frames": [7447, 7467, 7554],
                           "ts": [100.0, 100.5, 101.0], "intervals": [0.5, 0.5]});
    p["rst"]["count"] = json!(3);
    p["rst"]["frame"] = json!(7448);
    let fd = one(p);
    assert_eq!(fd.kind, "refused");
    assert_eq!(fd.attempts, Some(3));
    assert_eq!(fd.frames, [7447, 7448, 7467, 7554, 7556]);
    assert_has(&fd.summary, "RST/ACK from the server's address (TTL 126)");
    assert_eq!(fd.origin, None);
}

#[test]
fn refused_after_an_unanswered_syn() {
    let mut p = seed_refused_attempt("R", 1, 3, 100.0, false);
    p["attempts"] =
        json!({"syn_count": 2, "frames": [1, 2], "ts": [100.0, 101.0], "intervals": [1.0]});
    let fd = one(p);
    assert_eq!(fd.attempts, Some(2));
    assert_eq!(fd.evidence["rst_count"], 1);
    assert_has(
        &fd.summary,
        "2 SYNs (frames 1, 2), the last one answered by RST/ACK",
    );
}

#[test]
fn refused_rst_frames_listed_or_inferred() {
    // One flow, the same SYN three times (Windows), each RST right after its SYN.
    let mut p = seed_refused_attempt("R", 13, 14, 100.0, false);
    p["attempts"] = json!({"syn_count": 3, "frames": [13, 15, 17],
                           "ts": [100.0, 100.5, 101.0], "intervals": [0.5, 0.5]});
    p["rst"]["count"] = json!(3);
    p["last_frame"] = json!(18);
    let f = flow(p.clone());
    let fd = refused(&[(&f, None)]);
    assert_eq!(fd.frames, [13, 14, 15, 16, 17, 18]);
    assert_eq!(fd.evidence["rst_frames_inferred"], true);
    // The record lists them: used as they are.
    let fd = refused(&[(&f, Some(&[14, 16, 18][..]))]);
    assert_eq!(fd.frames, [13, 14, 15, 16, 17, 18]);
    assert_eq!(fd.evidence["rst_frames_inferred"], false);
    // Another packet between the last SYN and its RST: no guessing.
    p["last_frame"] = json!(19);
    let f = flow(p.clone());
    let fd = refused(&[(&f, None)]);
    assert_eq!(fd.frames, [13, 14, 15, 17, 19]);
    assert_eq!(fd.evidence["rst_frames_inferred"], false);
    // tcpflows lists every RST (`rst.frames`): all three are evidence, the middle one too.
    let mut p2 = p.clone();
    p2["rst"]["frames"] = json!([14, 16, 19]);
    let f = flow(p2);
    let fd = refused(&[(&f, None)]);
    assert_eq!(fd.frames, [13, 14, 15, 16, 17, 19]);
    assert_eq!(fd.evidence["rst_frames"], json!([14, 16, 19]));
    assert_eq!(fd.evidence["rst_frames_inferred"], false);
}

#[test]
fn refused_retries_far_apart_are_separate_findings() {
    let mut e = engine();
    let mut out = vec![];
    out.extend(e.flow(flow(seed_refused_attempt("A", 1, 2, 100.0, false))));
    out.extend(e.flow(flow(seed_refused_attempt("B", 3, 4, 160.0, false))));
    assert_eq!(out.len(), 1, "first one flushed once the window passed");
    out.extend(e.finish());
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|f| f.attempts == Some(1)));
}

#[test]
fn refused_by_middlebox() {
    let mut p = seed_refused_attempt("M", 1, 2, 100.0, true);
    p["ttlhops"]["rst"] = json!({"origin": "middlebox", "frame": 2, "observed_ttl": 63,
        "initial_ttl": 64, "hops": 1, "at_hop": 2, "expected_hops": 3,
        "reason": "RST hop distance 1 differs from the server's 2"});
    let fd = one(p);
    assert_eq!(fd.kind, "refused_by_middlebox");
    assert_eq!(fd.origin.as_deref(), Some("middlebox"));
    assert_has(&fd.summary, "refused by a middlebox, not by the server");
    assert_has(
        &fd.summary,
        "(TTL 63 = 64 − 1: 1 router between the capture point and the sender), while the \
             server's own packets show 3 routers between the capture point and the server",
    );
    assert_eq!(fd.socket_error.unwrap().windows_code, Some(10061));
    assert!(fd.next_step.contains("firewall"));
}

#[test]
fn refused_undecided_says_which_way_the_ttl_points() {
    let undecided = |lean: serde_json::Value, observed: u8, initial: u8| {
        let mut p = seed_refused_attempt("U", 1, 2, 100.0, true);
        p["ttlhops"]["rst"] = json!({"origin": "unknown", "frame": 2, "observed_ttl": observed,
            "initial_ttl": initial, "hops": initial - observed, "at_hop": initial - observed + 1,
            "expected_hops": null, "basis": "none", "confidence": null,
            "reason": "nothing else shows how far the server is",
            "settle": "run with --expect-hops N", "lean": lean});
        one(p)
    };
    // The seed's numbers with nothing else in the capture: 128 − 2 points to the server.
    let fd = undecided(json!("endpoint"), 126, 128);
    assert_eq!(fd.kind, "refused");
    assert_eq!(fd.origin, None, "a lean is not a verdict");
    assert_has(
        &fd.summary,
        "the capture cannot prove who sent it, but its initial TTL 128 (the Windows default, \
             which routers and firewalls rarely use) points to the server itself",
    );
    assert!(
        fd.next_step.starts_with("nothing listens on "),
        "{}",
        fd.next_step
    );
    assert!(
        fd.next_step.ends_with(
            "; to confirm that the server itself sent the RST: run with --expect-hops N"
        ),
        "{}",
        fd.next_step
    );
    assert_eq!(fd.evidence["rst_origin"]["lean"], "endpoint");

    // 255: routers' and firewalls' default; the firewall is the first thing to check.
    let fd = undecided(json!("middlebox"), 253, 255);
    assert_eq!(fd.kind, "refused", "still not a middlebox verdict");
    assert_has(
        &fd.summary,
        "its initial TTL 255 (typical of routers and firewalls) points to a device on the path",
    );
    assert!(
        fd.next_step
            .starts_with("find out whether a firewall or load balancer"),
        "{}",
        fd.next_step
    );
    assert_has(
        &fd.next_step,
        "if it was the server itself, nothing listens on ",
    );

    // 64: hosts and routers alike; no lean either way.
    let fd = undecided(serde_json::Value::Null, 62, 64);
    assert!(
        fd.summary
            .ends_with("; whether the server or a middlebox sent it is unknown"),
        "{}",
        fd.summary
    );
    assert!(
        fd.next_step
            .starts_with("if the server itself sent the RST, nothing listens on "),
        "{}",
        fd.next_step
    );
    assert!(
        fd.next_step
            .ends_with("; to tell whether it did: run with --expect-hops N")
    );
}

#[test]
fn syn_timeout_linux_and_windows() {
    let base = json!({
        "state": "S0", "history": "S", "end": "timeout", "established": false, "synack_frame": null,
        "server": {"packets": 0, "bytes": 0, "fin_frame": null}, "client": {"fin_frame": null, "bytes": 0, "packets": 1},
    });
    let mut p = base.clone();
    p["attempts"] = json!({"syn_count": 6, "frames": [1, 2, 3, 4, 5, 6],
        "ts": [0.0, 1.0, 3.0, 7.0, 15.0, 31.0], "intervals": [1.0, 2.0, 4.0, 8.0, 16.0]});
    let fd = one(p);
    assert_eq!(fd.kind, "syn_timeout");
    assert_eq!(fd.attempts, Some(6));
    assert_eq!(windows_code(&fd), Some(10060));
    assert_eq!(fd.evidence["client_os_hint"], "linux");
    assert_has(&fd.summary, "6 SYNs over 31 s");
    assert_has(&fd.summary, "look like Linux (1, 2, 4");
    let mut p = base.clone();
    p["attempts"] = json!({"syn_count": 3, "frames": [1, 5, 9], "ts": [0.0, 3.0, 9.0], "intervals": [3.0, 6.0]});
    let fd = one(p);
    assert_eq!(fd.evidence["client_os_hint"], "windows");
    assert_has(&fd.summary, "Windows");
    let mut p = base.clone();
    p["attempts"] = json!({"syn_count": 7, "frames": [1, 2, 3, 4, 5, 6, 7],
        "ts": [0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 10.0], "intervals": [1.0, 1.0, 1.0, 1.0, 2.0, 4.0]});
    assert_eq!(one(p).evidence["client_os_hint"], "linux_linear");
    // The client went on after its SYNs (ACK, FIN): it got a SYN-ACK the capture missed (the
    // TCP Fast Open sample capture does this).
    let mut p = base.clone();
    p["attempts"] = json!({"syn_count": 2, "frames": [1, 2], "ts": [0.0, 1.0], "intervals": [1.0]});
    p["client"]["packets"] = json!(3);
    p["end"] = json!("fin");
    none(p);
    // One SYN still pending at capture end: not enough evidence.
    let mut p = base.clone();
    p["end"] = json!("capture_end");
    p["attempts"] = json!({"syn_count": 1, "frames": [1], "ts": [0.0], "intervals": []});
    none(p.clone());
    // One SYN, flow timed out: no_response (warning).
    p["end"] = json!("timeout");
    let fd = one(p);
    assert_eq!(fd.kind, "no_response");
    assert_eq!(fd.severity, Severity::Warning);
}

#[test]
fn icmp_unreachable_from_a_router() {
    let p = json!({
        "state": "S0", "history": "S", "end": "timeout", "established": false, "synack_frame": null,
        "server": {"packets": 0, "bytes": 0, "fin_frame": null}, "client": {"fin_frame": null, "bytes": 0, "packets": 1},
        "attempts": {"syn_count": 1, "frames": [4], "ts": [1000.0], "intervals": []},
        "icmp": [{"from_ip": "10.0.2.1", "proto": "icmp", "icmp_type": 3, "icmp_code": 1,
                  "description": "host unreachable", "frame": 5, "ts": 1003.0, "ttl": 254}],
        "icmp_count": 1,
        "ttlhops": {"client": null, "server": null, "rst": null,
                    "icmp": [{"origin": "middlebox", "frame": 5, "observed_ttl": 254, "initial_ttl": 255,
                              "hops": 0, "at_hop": 1, "expected_hops": null, "reason": "router 1 hop away"}]}
    });
    let fd = one(p);
    assert_eq!(fd.kind, "icmp_unreachable");
    assert_eq!(fd.origin.as_deref(), Some("network"));
    let se = fd.socket_error.as_ref().unwrap();
    assert_eq!(
        (se.windows_code, se.posix.as_deref()),
        (Some(10065), Some("EHOSTUNREACH"))
    );
    assert_eq!(fd.frames, [4, 5]);
    assert_has(
        &fd.summary,
        "from router 10.0.2.1, with no router between the capture point and it",
    );
    // Port unreachable from the server itself: ECONNREFUSED.
    let p = json!({
        "state": "S0", "end": "timeout", "established": false, "synack_frame": null,
        "server": {"packets": 0, "bytes": 0}, "attempts": {"syn_count": 1, "frames": [1], "ts": [0.0], "intervals": []},
        "icmp": [{"from_ip": "192.168.0.2", "proto": "icmp", "icmp_type": 3, "icmp_code": 3,
                  "description": "port unreachable", "frame": 2, "ts": 0.1, "ttl": 62}], "icmp_count": 1
    });
    let fd = one(p);
    assert_eq!(fd.origin.as_deref(), Some("server"));
    assert_eq!(fd.socket_error.unwrap().windows_code, Some(10061));
    // A fragmentation-needed message on an established flow is no failure.
    none(
        json!({"icmp": [{"from_ip": "10.0.2.1", "proto": "icmp", "icmp_type": 3, "icmp_code": 4,
        "description": "fragmentation needed", "frame": 5, "ts": 1000.1, "ttl": 254}], "icmp_count": 1}),
    );
}

#[test]
fn seed_zero_window_at_handshake() {
    let fd = one(seed_zero_window());
    assert_eq!(fd.kind, "zero_window_at_handshake");
    assert_eq!(fd.severity, Severity::Error);
    assert_eq!(fd.frames, [3, 5, 6, 7, 8]);
    assert_eq!(windows_code(&fd), Some(10054));
    assert_eq!(
        fd.summary,
        "10.0.0.1:4973 → 192.168.0.1:80: the SYN-ACK (frame 3) advertised a zero receive window; the \
         client sent 3 zero-window probes (frames 5, 6, 7); the window never opened and the server \
         reset the connection (frame 8) after 1.2 s"
    );
    // The window opened quickly: info.
    let mut p = seed_zero_window();
    p["server"]["zero_window"]["reopened"] = json!(true);
    p["server"]["zero_window"]["reopen_frame"] = json!(5);
    p["server"]["zero_window"]["longest_stall"] = json!(0.3);
    p["rst"] = json!(null);
    p["state"] = json!("SF");
    p["end"] = json!("fin");
    p["client"]["fin_frame"] = json!(10);
    p["server"]["fin_frame"] = json!(11);
    let fd = one(p);
    assert_eq!(fd.severity, Severity::Info);
    assert!(fd.socket_error.is_none());
}

#[test]
fn zero_window_stall_mid_transfer() {
    let zw = json!({"count": 12, "first_frame": 40, "first_ts": 1000.2, "in_handshake": false,
        "probes": 5, "probe_frames": [41, 43, 45, 47, 49], "longest_stall": 4.2,
        "reopened": true, "reopen_frame": 51});
    let fd = one(json!({"client": {"zero_window": zw.clone()}}));
    assert_eq!(fd.kind, "zero_window_stall");
    assert_eq!(fd.severity, Severity::Warning);
    assert_eq!(fd.origin.as_deref(), Some("client"));
    assert_has(&fd.summary, "stayed closed for 4.2 s");
    assert_has(&fd.summary, "before it reopened (frame 51)");
    // Short stall: not reported.
    let mut z = zw.clone();
    z["longest_stall"] = json!(0.05);
    none(json!({"client": {"zero_window": z}}));
    // Never reopened, then the receiver reset: error.
    let mut z = zw.clone();
    z["reopened"] = json!(false);
    z["reopen_frame"] = json!(null);
    let fd = one(
        json!({"client": {"zero_window": z, "fin_frame": null}, "server": {"fin_frame": null},
        "state": "RSTO", "end": "rst", "last_ts": 1010.0,
        "rst": {"from": "client", "frame": 60, "ts": 1010.0, "ttl": 128, "ip_id": 1, "flags": "RA",
                "seq_ok": true, "count": 1}}),
    );
    assert_eq!(fd.kind, "zero_window_stall");
    assert_eq!(fd.severity, Severity::Error);
}

#[test]
fn reset_mid_connection_by_server() {
    let rst = json!({"from": "server", "frame": 9, "ts": 1003.2, "ttl": 126, "ip_id": 9,
                     "flags": "RA", "seq_ok": true, "count": 1});
    let fd = one(json!({"state": "RSTR", "end": "rst", "rst": rst.clone(),
        "client": {"fin_frame": null}, "server": {"fin_frame": null}}));
    assert_eq!(fd.kind, "reset_mid_connection");
    assert_eq!(fd.severity, Severity::Error);
    assert_eq!(windows_code(&fd), Some(10054));
    assert_has(
        &fd.summary,
        "reset by the server (RST/ACK, TTL 126, frame 9) 3.2 s in, after the client sent 420 bytes and the server 5,120 bytes",
    );
    // Before any reply.
    let fd = one(json!({"state": "RSTR", "end": "rst", "rst": rst.clone(),
        "client": {"fin_frame": null}, "server": {"fin_frame": null, "bytes": 0}}));
    assert_has(&fd.summary, "before any reply");
    // Right after the handshake.
    let fd = one(json!({"state": "RSTR", "end": "rst", "rst": rst.clone(),
        "client": {"fin_frame": null, "bytes": 0}, "server": {"fin_frame": null, "bytes": 0}}));
    assert_has(&fd.summary, "right after the handshake");
    // RST after a FIN: an abortive close, routine.
    none(json!({"state": "RSTR", "end": "rst", "rst": rst.clone(),
        "client": {"fin_frame": 7}, "server": {"fin_frame": null}}));
    // Client reset after data (Zeek RSTO, browsers aborting): routine.
    let mut crst = rst.clone();
    crst["from"] = json!("client");
    none(json!({"state": "RSTO", "end": "rst", "rst": crst,
        "client": {"fin_frame": null}, "server": {"fin_frame": null}}));
    // Mid-stream: only the RST seen says nothing; with traffic before it, a warning.
    let mid = json!({"state": "OTH", "end": "rst", "midstream": true, "established": false,
        "synack_frame": null, "rst": rst.clone(),
        "client": {"fin_frame": null, "packets": 0, "bytes": 0},
        "server": {"fin_frame": null, "packets": 1, "bytes": 58}});
    none(mid.clone());
    let mut more = mid.clone();
    more["client"]["packets"] = json!(4);
    more["server"]["packets"] = json!(5);
    let fd = one(more);
    assert_eq!(fd.severity, Severity::Warning);
    assert_has(&fd.summary, "where the capture picked the connection up");
    // Out-of-window RST: warning.
    let mut bad = rst.clone();
    bad["seq_ok"] = json!(false);
    let fd = one(json!({"state": "RSTR", "end": "rst", "rst": bad,
        "client": {"fin_frame": null}, "server": {"fin_frame": null}}));
    assert_eq!(fd.severity, Severity::Warning);
}

#[test]
fn retransmission_storm_then_reset_or_timeout() {
    let fd = one(json!({"state": "S1", "end": "timeout", "history": "ShADT",
        "client": {"fin_frame": null, "retransmissions": 6}, "server": {"fin_frame": null}}));
    assert_eq!(fd.kind, "retransmission_storm");
    assert_eq!(windows_code(&fd), Some(10053));
    assert_has(&fd.summary, "the client retransmitted 6 segments");
    let fd = one(json!({"state": "RSTO", "end": "rst",
        "client": {"fin_frame": null, "retransmissions": 5}, "server": {"fin_frame": null},
        "rst": {"from": "client", "frame": 12, "ts": 1000.5, "ttl": 128, "ip_id": 1, "flags": "RA",
                "seq_ok": true, "count": 1}}));
    assert_has(&fd.summary, "the client gave up and reset");
    // The request never answered, the server's late FIN answered by the client's RST (the
    // lab's retrans-timeout): still a storm, not a close.
    let fd = one(json!({"state": "RSTO", "end": "rst",
        "client": {"fin_frame": null, "retransmissions": 5, "packets": 9, "bytes": 228},
        "server": {"fin_frame": 21, "bytes": 0},
        "rst": {"from": "client", "frame": 22, "ts": 1010.3, "ttl": 64, "ip_id": 0, "flags": "R",
                "seq_ok": true, "count": 1}}));
    assert_eq!(fd.kind, "retransmission_storm");
    assert_has(
        &fd.summary,
        "answered the server's late FIN (frame 21) with a RST (frame 22)",
    );
    // The same ending after an answered request is an ordinary close.
    none(json!({"state": "RSTO", "end": "rst",
        "client": {"fin_frame": null, "retransmissions": 5, "packets": 9, "bytes": 228},
        "server": {"fin_frame": 21, "bytes": 900},
        "rst": {"from": "client", "frame": 22, "ts": 1010.3, "ttl": 64, "ip_id": 0, "flags": "R",
                "seq_ok": true, "count": 1}}));
    // An ICMP error about the connection is named.
    let fd = one(json!({"state": "S1", "end": "timeout",
        "client": {"fin_frame": null, "retransmissions": 6}, "server": {"fin_frame": null},
        "icmp": [{"from_ip": "10.0.2.1", "proto": "icmp", "icmp_type": 3, "icmp_code": 1,
                  "description": "host unreachable", "frame": 30, "ts": 1003.0, "ttl": 254}],
        "icmp_count": 1}));
    assert!(
        fd.summary
            .ends_with("; ICMP host unreachable from 10.0.2.1 (frame 30)"),
        "{}",
        fd.summary
    );
    assert!(fd.frames.contains(&30));
    // A long transfer with a few early losses that idled out: not a storm (3 of 600 packets).
    none(json!({"state": "S1", "end": "timeout",
        "client": {"fin_frame": null, "retransmissions": 3, "packets": 600}, "server": {"fin_frame": null}}));
    // Recovered retransmissions (FIN close): silent.
    none(json!({"client": {"retransmissions": 5}}));
    // Two retransmissions then a server reset: a plain reset.
    assert_eq!(
        one(json!({"state": "RSTR", "end": "rst", "client": {"fin_frame": null, "retransmissions": 2},
            "server": {"fin_frame": null},
            "rst": {"from": "server", "frame": 12, "ts": 1000.5, "ttl": 126, "ip_id": 1, "flags": "R",
                    "seq_ok": true, "count": 1}})).kind,
        "reset_mid_connection"
    );
}

#[test]
fn handshake_incomplete_rules() {
    let base = json!({"state": "S1", "history": "Sh", "established": false, "synack_frame": 3,
        "client": {"fin_frame": null, "bytes": 0}, "server": {"fin_frame": null, "bytes": 0}});
    let mut p = base.clone();
    p["server"]["retransmissions"] = json!(4);
    p["end"] = json!("timeout");
    p["last_ts"] = json!(1031.0);
    let fd = one(p);
    assert_eq!(fd.kind, "handshake_incomplete");
    assert_has(&fd.summary, "retransmitted its SYN-ACK 4 times");
    // Capture ended right after the SYN-ACK: not enough evidence.
    let mut p = base.clone();
    p["end"] = json!("capture_end");
    p["last_ts"] = json!(1000.05);
    none(p);
    // The client reset the SYN-ACK (half-open scan): not a failure.
    let mut p = base.clone();
    p["rst"] = json!({"from": "client", "frame": 4, "ts": 1000.1, "ttl": 64, "ip_id": 0,
                      "flags": "R", "seq_ok": true, "count": 1});
    p["end"] = json!("rst");
    none(p);
}

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
    let refs: Vec<&str> = addrs.iter().map(|s| s.as_str()).collect();
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

#[test]
fn slow_connect_after_syn_retries() {
    let fd = one(
        json!({"attempts": {"syn_count": 3, "frames": [2, 3, 4], "ts": [1000.0, 1003.0, 1009.0],
        "intervals": [3.0, 6.0]}, "synack_frame": 5}),
    );
    assert_eq!(fd.kind, "slow_connect");
    assert_eq!(fd.severity, Severity::Warning);
    assert_eq!(fd.evidence["client_os_hint"], "windows");
    assert_has(
        &fd.summary,
        "connected only at the third SYN (frames 2, 3, 4): the first 2 went unanswered, so connect() took 9.0 s",
    );
    let fd = one(
        json!({"attempts": {"syn_count": 2, "frames": [2, 3], "ts": [1000.0, 1001.0],
        "intervals": [1.0]}, "synack_frame": 4}),
    );
    assert_eq!(fd.severity, Severity::Info);
    // One SYN: nothing to say.
    none(json!({}));
}

/// The seed's frame 8: a RST for 10.0.0.1:4973 ↔ :80 from 4.79.185.20, a flow of its own.
fn stray_rst_flow() -> Flow {
    flow(json!({
        "uid": "STRAY", "client_port": 4973, "server_ip": "4.79.185.20",
        "first_frame": 8, "last_frame": 8, "first_ts": 1001.5, "last_ts": 1001.5, "duration": 0.0,
        "state": "RSTRH", "history": "^r", "end": "rst", "midstream": true, "established": false,
        "attempts": {"syn_count": 0, "frames": [], "ts": [], "intervals": []},
        "synack_frame": null,
        "client": {"packets": 0, "bytes": 0, "fin_frame": null},
        "server": {"packets": 1, "bytes": 0, "fin_frame": null},
        "rst": {"from": "server", "frame": 8, "ts": 1001.5, "ttl": 120, "ip_id": 1, "flags": "R",
                "seq_ok": true, "count": 1}
    }))
}

/// The seed's first connection without its RST (it went to the stray flow), stalled to the end.
fn zero_window_without_rst() -> Flow {
    let mut p = seed_zero_window();
    p["rst"] = json!(null);
    p["last_frame"] = json!(7);
    p["last_ts"] = json!(1001.0);
    p["end"] = json!("capture_end");
    p["state"] = json!("S1");
    flow(p)
}

fn check_stray(out: &[Finding]) {
    assert_eq!(out.len(), 1, "{out:#?}");
    let fd = &out[0];
    assert_eq!(fd.kind, "zero_window_at_handshake");
    assert_eq!(fd.uids, ["ZW1", "STRAY"]);
    assert_eq!(fd.origin.as_deref(), Some("middlebox"));
    assert!(fd.frames.contains(&8));
    assert_eq!(windows_code(fd), Some(10054));
    assert_has(
        &fd.summary,
        "that RST came from 4.79.185.20, not from 192.168.0.1 (frame 8, TTL 120)",
    );
}

#[test]
fn stray_rst_from_another_address_either_order() {
    // The RST first (tcpflows' order).
    let mut e = engine();
    let mut out = e.flow(stray_rst_flow());
    out.extend(e.flow(zero_window_without_rst()));
    out.extend(
        e.finish()
            .into_iter()
            .filter(|f| f.kind != "intermittent_backend"),
    );
    check_stray(&out);
    // The connection first (ttlhops holds RST flows): held until the RST comes.
    let mut e = engine();
    let mut out = e.flow(zero_window_without_rst());
    assert!(out.is_empty(), "held for its stray RST");
    out.extend(e.flow(stray_rst_flow()));
    check_stray(&out);
    // No RST ever comes: written at the end, as it is.
    let mut e = engine();
    assert!(e.flow(zero_window_without_rst()).is_empty());
    let out = e.finish();
    assert_eq!(out.len(), 1);
    assert!(
        out[0]
            .summary
            .contains("still closed at the end of the capture")
    );
    // A RST-only flow on its own is no finding.
    let mut e = engine();
    assert!(e.flow(stray_rst_flow()).is_empty());
    assert!(e.finish().is_empty());
}

#[test]
fn zero_window_in_the_clients_syn() {
    // Rarer: the client's SYN advertises window 0 and never opens it; the server resets.
    let fd = one(json!({"state": "RSTR", "end": "rst",
        "client": {"fin_frame": null, "zero_window": {"count": 1, "first_frame": 2, "first_ts": 1000.0,
            "in_handshake": true, "probes": 2, "probe_frames": [6, 7], "longest_stall": 3.0,
            "reopened": false, "reopen_frame": null}},
        "server": {"fin_frame": null, "retransmissions": 2},
        "rst": {"from": "server", "frame": 8, "ts": 1003.0, "ttl": 126, "ip_id": 1, "flags": "R",
                "seq_ok": true, "count": 1}}));
    assert_eq!(fd.kind, "zero_window_at_handshake");
    assert_eq!(fd.origin.as_deref(), Some("client"));
    assert_has(
        &fd.summary,
        "the SYN (frame 2) advertised a zero receive window; the server sent 2 zero-window probes",
    );
    assert!(
        fd.next_step
            .starts_with("10.0.0.1 offers no receive buffer"),
        "{}",
        fd.next_step
    );
}

#[test]
fn retransmission_storm_names_the_servers_repeated_synack() {
    // The client's ACK and data never reach the server: it keeps resending its SYN-ACK.
    let rst = json!({"from": "client", "frame": 27, "ts": 1007.1, "ttl": 64, "ip_id": 0,
        "flags": "R", "seq_ok": true, "count": 1});
    let fd = one(json!({"state": "RSTO", "end": "rst", "synack_count": 4,
        "client": {"fin_frame": null, "retransmissions": 5, "packets": 9, "bytes": 228},
        "server": {"fin_frame": null, "bytes": 0}, "rst": rst.clone()}));
    assert_eq!(fd.kind, "retransmission_storm");
    assert_has(&fd.summary, "the server sent its SYN-ACK 4 times");
    assert_eq!(fd.evidence["synack_count"], 4);
    assert_has(&fd.next_step, "dropped after the handshake");
    // One SYN-ACK: plain loss, no such claim.
    let fd = one(json!({"state": "RSTO", "end": "rst", "synack_count": 1,
        "client": {"fin_frame": null, "retransmissions": 5, "packets": 9, "bytes": 228},
        "server": {"fin_frame": null, "bytes": 0}, "rst": rst}));
    assert_lacks(&fd.summary, "SYN-ACK");
    assert!(
        fd.next_step.starts_with("packets between"),
        "{}",
        fd.next_step
    );
}

// ---- issue 19: dying connections, silent peers, crawling windows, slow paths, clients that
// give up, resets after a half-close.

/// The client's upload left unacknowledged: 5 retransmissions with a doubling RTO, open at the
/// end of the capture.
fn dying_patch() -> serde_json::Value {
    json!({
        "end": "capture_end", "state": "S1", "history": "ShADaT", "last_ts": 1010.0,
        "client": {"fin_frame": null, "retransmissions": 5,
                   "stuck": {"unacked_bytes": 3448, "retransmissions": 5,
                             "frames": [59, 60, 62, 67, 71],
                             "ts": [1003.0, 1003.4, 1004.2, 1005.9, 1009.2],
                             "keep_alives": 0, "keep_alive_frames": [], "keep_alive_ts": []}},
        "server": {"fin_frame": null, "ack_advance_frame": 54, "ack_advance_ts": 1002.8,
                   "last_frame": 54, "last_ts": 1002.8}
    })
}

#[test]
fn connection_dying_fires_at_capture_end_only() {
    let fd = one(dying_patch());
    assert_eq!(fd.kind, "connection_dying");
    assert_eq!(fd.severity, Severity::Error);
    assert_eq!(fd.frames, [54, 59, 60, 62, 67, 71]);
    assert_eq!(fd.evidence["backoff"], true);
    assert_eq!(windows_code(&fd), Some(10053));
    assert_has(&fd.summary, "exponential back-off");
    assert_has(&fd.summary, "would already have given up");
    // The same retransmissions within half a second: loss recovery cut off by the capture.
    let mut p = dying_patch();
    p["client"]["stuck"]["ts"] = json!([1009.0, 1009.1, 1009.2, 1009.3, 1009.4]);
    none(p);
    // Fewer than 3 retransmissions.
    let mut p = dying_patch();
    p["client"]["stuck"]["retransmissions"] = json!(2);
    none(p);
    // The peer acknowledged everything in the end.
    let mut p = dying_patch();
    p["client"]["stuck"] = json!(null);
    none(p);
    // A peer the capture never saw (one-sided capture).
    let mut p = dying_patch();
    p["server"]["packets"] = json!(0);
    none(p);
    // Ended by the idle timeout with retransmissions making up the flow: retransmission_storm.
    let mut p = dying_patch();
    p["end"] = json!("timeout");
    let fd = one(p);
    assert_eq!(fd.kind, "retransmission_storm");
    assert!(
        fd.frames.contains(&67),
        "the storm lists its retransmissions: {:?}",
        fd.frames
    );
    // A long transfer whose last data went unanswered, then the idle timeout: too few
    // retransmissions for a storm, but the connection died.
    let mut p = dying_patch();
    p["end"] = json!("timeout");
    p["client"]["packets"] = json!(5000);
    p["client"]["retransmissions"] = json!(12);
    let fd = one(p);
    assert_eq!(fd.kind, "connection_dying");
    assert_has(&fd.summary, "the connection died");
    assert_has(&fd.summary, "went silent until the capture's idle timeout");
}

fn silent_patch() -> serde_json::Value {
    json!({
        "end": "capture_end", "state": "S1", "history": "ShADa", "last_ts": 1010.0,
        "client": {"fin_frame": null, "keep_alives": 4,
                   "stuck": {"unacked_bytes": 0, "retransmissions": 0, "frames": [], "ts": [],
                             "keep_alives": 4, "keep_alive_frames": [20, 21, 22, 23],
                             "keep_alive_ts": [1006.0, 1007.0, 1008.0, 1009.0]}},
        "server": {"fin_frame": null, "last_frame": 12, "last_ts": 1004.9}
    })
}

#[test]
fn peer_silent_fires_on_unanswered_keepalives() {
    let fd = one(silent_patch());
    assert_eq!(fd.kind, "peer_silent");
    assert_eq!(fd.frames, [12, 20, 21, 22, 23]);
    assert_eq!(windows_code(&fd), Some(10052));
    assert_has(&fd.summary, "about every 1.0 s");
    // The prober's stack gave up with a RST: still the same finding, the RST in the evidence.
    let mut p = silent_patch();
    p["end"] = json!("rst");
    p["rst"] = json!({"from": "client", "frame": 30, "ts": 1010.0, "ttl": 64, "ip_id": 1,
                      "flags": "RA", "seq_ok": true, "count": 1, "frames": [30]});
    let fd = one(p);
    assert_eq!(fd.kind, "peer_silent");
    assert!(fd.frames.contains(&30));
    assert_has(&fd.summary, "reset it (frame 30)");
    // Two unanswered keep-alives: may be loss or the capture ending just before the answer.
    let mut p = silent_patch();
    p["client"]["stuck"]["keep_alives"] = json!(2);
    none(p);
    // A RST from the peer: not silent.
    let mut p = silent_patch();
    p["end"] = json!("rst");
    p["rst"] = json!({"from": "server", "frame": 30, "ts": 1010.0, "ttl": 64, "ip_id": 1,
                      "flags": "R", "seq_ok": true, "count": 1});
    let v = findings(&flow(p));
    assert!(v.iter().all(|f| f.kind != "peer_silent"), "{v:#?}");
}

fn crawl_patch() -> serde_json::Value {
    json!({
        "duration": 7.6, "last_ts": 1007.6,
        "client": {"bytes": 8024,
                   "window_full": {"count": 14, "episodes": 14, "first_frame": 19,
                                   "frames": [19, 26, 30, 32, 36, 38, 44, 50], "waited": 5.2,
                                   "longest": 0.6, "min_window": 376, "max_window": 1128,
                                   "peer_small_windows": 1}},
        "server": {"mss": 200}
    })
}

#[test]
fn window_crawl_fires_on_small_open_windows() {
    let fd = one(crawl_patch());
    assert_eq!(fd.kind, "window_crawl");
    assert_eq!(fd.severity, Severity::Warning);
    assert!(fd.socket_error.is_none());
    assert_eq!(fd.origin.as_deref(), Some("server"));
    assert_has(&fd.summary, "376–1,128 bytes");
    assert_has(&fd.summary, "frames 19, 26, 30, 32, 36, 38, 44, 50, …");
    // Large windows filled now and then: a healthy bulk transfer.
    let mut p = crawl_patch();
    p["client"]["window_full"]["max_window"] = json!(65535);
    none(p);
    // Little time waiting.
    let mut p = crawl_patch();
    p["client"]["window_full"]["waited"] = json!(0.5);
    none(p);
    // The waiting was a zero-window stall (its own finding), not a crawl.
    let mut p = crawl_patch();
    p["server"]["zero_window"] = json!({"count": 2, "first_frame": 40, "first_ts": 1001.0,
        "in_handshake": false, "probes": 2, "probe_frames": [41, 42], "episodes": 1,
        "longest_stall": 4.8, "reopened": true, "reopen_frame": 43});
    let v = findings(&flow(p));
    assert!(v.iter().all(|f| f.kind != "window_crawl"), "{v:#?}");
}

#[test]
fn slow_path_says_where_the_delay_is() {
    let fd = one(json!({"rtt": {"syn_synack": 0.61, "synack_ack": 0.0001, "initial": 0.61}}));
    assert_eq!(fd.kind, "slow_path");
    assert_eq!(fd.severity, Severity::Info);
    assert_eq!(fd.evidence["delay_side"], "server");
    assert_eq!(fd.frames, [2, 3]);
    let fd = one(json!({"rtt": {"syn_synack": 0.0001, "synack_ack": 1.2, "initial": 1.2}}));
    assert_eq!(fd.severity, Severity::Warning);
    assert_eq!(fd.evidence["delay_side"], "client");
    let fd = one(json!({"rtt": {"syn_synack": 0.7, "synack_ack": 0.6, "initial": 1.3}}));
    assert_eq!(fd.evidence["delay_side"], "both");
    // An intercontinental round trip is not slow.
    none(json!({"rtt": {"syn_synack": 0.3, "synack_ack": 0.0001, "initial": 0.3}}));
    // A repeated SYN-ACK times a loss, not the path.
    none(json!({"synack_count": 2, "rtt": {"syn_synack": 0.7, "synack_ack": 0.0001}}));
}

fn gave_up_patch() -> serde_json::Value {
    json!({
        "end": "rst", "state": "RSTO", "history": "ShADaR", "last_frame": 16,
        "client": {"bytes": 38, "fin_frame": null, "last_data_frame": 13, "last_data_ts": 1000.1},
        "server": {"bytes": 0, "fin_frame": null, "ack_advance_frame": 14, "ack_advance_ts": 1000.1,
                   "last_data_frame": null, "last_data_ts": null},
        "rst": rst("client", 16, 1005.1, 64)
    })
}

#[test]
fn client_gave_up_after_an_unanswered_request() {
    let fd = one(gave_up_patch());
    check(&fd, "client_gave_up", &[13, 14, 16], 10060);
    assert_has(&fd.summary, "5.0 s");
    // A shorter wait: an idle close after an empty answer looks the same.
    let mut p = gave_up_patch();
    p["rst"]["ts"] = json!(1003.0);
    none(p);
    // The server answered: a pool closing an idle connection.
    let mut p = gave_up_patch();
    p["server"]["bytes"] = json!(87);
    p["server"]["last_data_frame"] = json!(15);
    p["server"]["last_data_ts"] = json!(1000.2);
    none(p);
    // The server closed first.
    let mut p = gave_up_patch();
    p["server"]["fin_frame"] = json!(15);
    none(p);
}

fn half_close_patch() -> serde_json::Value {
    json!({
        "end": "rst", "state": "RSTR", "history": "ShADaFdr", "last_frame": 19,
        "client": {"bytes": 38, "fin_frame": 15, "fin_ts": 1000.1, "ack_advance_frame": 18},
        "server": {"bytes": 1043, "fin_frame": null},
        "rst": rst("server", 19, 1000.4, 62)
    })
}

#[test]
fn reset_after_half_close_is_econnreset() {
    let fd = one(half_close_patch());
    check(&fd, "reset_after_close", &[15, 18, 19], 10054);
    // The server had sent its FIN first: an abortive close after an orderly one.
    let mut p = half_close_patch();
    p["server"]["fin_frame"] = json!(17);
    none(p);
    // The client read nothing after its FIN (it had closed the socket).
    let mut p = half_close_patch();
    p["client"]["ack_advance_frame"] = json!(12);
    none(p);
}

/// Issue 16, reproducer 4: many refusals sharing one retry window (each its own client port) are
/// held until the window passes, then come out together, oldest first, one finding each; a retry
/// that moves an attempt's window on keeps it waiting; the deadlines never grow past the attempts.
#[test]
fn refusals_sharing_a_retry_window_flush_when_it_ends_oldest_first() {
    // Without the scan/flood holding stage in front (tested in middle_tests.rs), so the retry
    // window's own timing is what is checked here.
    let probes = crate::probes::ProbeConfig {
        window: 0.0,
        ..Default::default()
    };
    let mut e = Engine::with_probes(Config::default(), BackendConfig::default(), probes);
    let n = 5_000u64;
    let mut out = vec![];
    for i in 0..n {
        let mut p = seed_refused_attempt(
            &format!("R{i}"),
            2 * i + 1,
            2 * i + 2,
            100.0 + 0.1 * i as f64 / n as f64,
            false,
        );
        p["client_port"] = json!(10_000 + i);
        out.extend(e.flow(flow(p)));
    }
    assert!(out.is_empty(), "all within the window: {}", out.len());
    // A retry of the first attempt 2 s later: that attempt's window now ends 2 s later.
    let mut p = seed_refused_attempt("R-retry", 99_999, 100_000, 102.0, false);
    p["client_port"] = json!(10_000);
    assert!(e.flow(flow(p)).is_empty());
    assert!(e.pending_due.len() <= 2 * n as usize + 1024 + 1);
    // 3.2 s after the others: every attempt but the retried one is due.
    let late = flow(json!({"uid": "L", "first_ts": 103.2, "last_ts": 103.3}));
    let out = e.flow(late);
    assert_eq!(out.len(), n as usize - 1);
    assert!(
        out.iter()
            .all(|f| f.kind == "refused" && f.attempts == Some(1))
    );
    let ts: Vec<f64> = out.iter().map(|f| f.ts.unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    assert_eq!(out[0].uids, ["R1"]);
    let rest = e.finish();
    let retried: Vec<_> = rest.iter().filter(|f| f.kind == "refused").collect();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].uids, ["R0", "R-retry"]);
    assert_eq!(retried[0].attempts, Some(2));
}

// ------------------------------------------------------------------ TLS (flow.tls)

fn ch(max: &str) -> serde_json::Value {
    json!({"frame": 4, "ts": 1000.03, "version": if max == "TLS 1.3" { "TLS 1.2" } else { max },
           "max_version": max, "versions": [max], "sni": "app.lab.test", "alpn": ["http/1.1"],
           "cipher_suites": 31})
}

fn tls_ok() -> serde_json::Value {
    json!({
        "client_hello": ch("TLS 1.3"),
        "server_hello": {"frame": 6, "ts": 1000.05, "version": "TLS 1.3", "cipher": "0x1302"},
        "certificate_frame": null,
        "change_cipher_spec": {"client": 8, "server": 6},
        "application_data": {"client": 8, "server": 6},
        "alerts": [], "server_text": null, "client_text": null, "after_client_hello": null
    })
}

#[test]
fn tls_healthy_shapes_are_silent() {
    // A completed handshake.
    none(json!({"server_port": 443, "tls": tls_ok()}));
    // close_notify and encrypted alerts after the handshake.
    let mut t = tls_ok();
    t["alerts"] = json!([
        {"frame": 10, "ts": 1000.4, "from": "client", "level": "warning", "code": 0,
         "description": "close_notify", "encrypted": false},
        {"frame": 11, "ts": 1000.4, "from": "server", "level": null, "code": null,
         "description": null, "encrypted": true}
    ]);
    none(json!({"server_port": 443, "tls": t}));
    // A warning alert (unrecognized_name) followed by a completed handshake.
    let mut t = tls_ok();
    t["alerts"] = json!([{"frame": 5, "ts": 1000.04, "from": "server", "level": "warning",
        "code": 112, "description": "unrecognized_name", "encrypted": false}]);
    none(json!({"server_port": 443, "tls": t}));
    // No TLS at all.
    none(json!({"tls": null}));
    // No ServerHello decoded (a capture cut short) but the server sent bytes before its FIN.
    let mut t = tls_ok();
    t["server_hello"] = json!(null);
    t["after_client_hello"] = json!({"end": "fin", "by": "server", "frame": 11, "delay": 0.4});
    none(json!({"server_port": 443, "tls": t}));
    // TLS 1.2 where the client's ChangeCipherSpec was not seen, but the server's was.
    let mut t = tls_ok();
    t["server_hello"] =
        json!({"frame": 6, "ts": 1000.05, "version": "TLS 1.2", "cipher": "0xc02f"});
    t["certificate_frame"] = json!(6);
    t["change_cipher_spec"] = json!({"client": null, "server": 9});
    t["application_data"] = json!({"client": null, "server": 9});
    none(json!({"server_port": 443, "tls": t}));
    // An HTTPS request through a proxy: CONNECT in plaintext, then TLS through the tunnel.
    let mut t = tls_ok();
    t["client_text"] = json!({"frame": 4, "text": "CONNECT app.lab.test:443 HTTP/1.1"});
    none(json!({"server_port": 3128, "tls": t}));
    // A client that closes at once after its ClientHello (a probe): not a server problem.
    let mut t = tls_ok();
    t["server_hello"] = json!(null);
    t["after_client_hello"] = json!({"end": "fin", "by": "client", "frame": 5, "delay": 0.01});
    none(json!({"server_port": 443, "tls": t}));
}

#[test]
fn tls_protocol_version_alert_fires() {
    let mut t = tls_ok();
    t["client_hello"] = ch("TLS 1.0");
    t["server_hello"] = json!(null);
    t["change_cipher_spec"] = json!({"client": null, "server": null});
    t["application_data"] = json!({"client": null, "server": null});
    t["alerts"] = json!([{"frame": 5, "ts": 1000.04, "from": "server", "level": "fatal",
        "code": 70, "description": "protocol_version", "encrypted": false}]);
    let fd = one(json!({"server_port": 443, "tls": t}));
    assert_eq!(fd.kind, "tls_handshake_failed");
    assert_eq!(fd.severity, Severity::Error);
    assert_eq!(fd.frames, vec![4, 5]);
    assert_eq!(fd.origin.as_deref(), Some("server"));
    assert_has(&fd.summary, "fatal alert 70 protocol_version");
    assert_has(&fd.summary, "at most TLS 1.0");
    assert_has(&fd.next_step, "SchUseStrongCrypto");
    assert_has(&fd.next_step, "-tls1_2");
    assert_eq!(
        fd.evidence["messages"]["java"],
        "javax.net.ssl.SSLHandshakeException: Received fatal alert: protocol_version"
    );
    assert!(
        fd.evidence["messages"]["openssl"]
            .as_str()
            .unwrap()
            .contains("0A00042E:SSL routines::tlsv1 alert protocol version")
    );
    assert!(
        fd.evidence["messages"]["dotnet"]
            .as_str()
            .unwrap()
            .contains("'ProtocolVersion'")
    );
    assert_eq!(
        fd.socket_error.as_ref().unwrap().windows_name.as_deref(),
        Some("SEC_E_ILLEGAL_MESSAGE")
    );
}

#[test]
fn tls_handshake_failure_after_server_hello_is_client_cert() {
    let mut t = tls_ok();
    t["client_hello"] = ch("TLS 1.2");
    t["server_hello"] =
        json!({"frame": 6, "ts": 1000.05, "version": "TLS 1.2", "cipher": "0xc02f"});
    t["certificate_frame"] = json!(6);
    t["change_cipher_spec"] = json!({"client": 8, "server": null});
    t["application_data"] = json!({"client": null, "server": null});
    t["alerts"] = json!([{"frame": 9, "ts": 1000.06, "from": "server", "level": "fatal",
        "code": 40, "description": "handshake_failure", "encrypted": false}]);
    let fd = one(json!({"server_port": 443, "tls": t}));
    assert_eq!(fd.kind, "tls_handshake_failed");
    assert_eq!(fd.frames, vec![4, 6, 9]);
    assert_has(&fd.next_step, "client certificate");
}

#[test]
fn tls_client_rejects_server_certificate() {
    let mut t = tls_ok();
    t["client_hello"] = ch("TLS 1.2");
    t["server_hello"] =
        json!({"frame": 6, "ts": 1000.05, "version": "TLS 1.2", "cipher": "0xc02f"});
    t["certificate_frame"] = json!(6);
    t["change_cipher_spec"] = json!({"client": null, "server": null});
    t["application_data"] = json!({"client": null, "server": null});
    t["alerts"] = json!([{"frame": 8, "ts": 1000.06, "from": "client", "level": "fatal",
        "code": 48, "description": "unknown_ca", "encrypted": false}]);
    let fd = one(json!({"server_port": 443, "tls": t.clone()}));
    assert_eq!(fd.origin.as_deref(), Some("client"));
    assert_has(&fd.summary, "unknown_ca");
    assert_eq!(
        fd.socket_error.as_ref().unwrap().windows_name.as_deref(),
        Some("SEC_E_UNTRUSTED_ROOT")
    );
    // Without the alert: the client just closes after the certificate.
    t["alerts"] = json!([]);
    let fd = one(json!({"server_port": 443, "tls": t,
        "client": {"fin_frame": 8, "fin_ts": 1000.06}, "server": {"fin_frame": 9}}));
    assert_eq!(fd.evidence["shape"], "client_abort_after_certificate");
    assert_eq!(fd.frames, vec![4, 6, 8]);
}

#[test]
fn tls_server_resets_old_client_after_client_hello() {
    let mut t = tls_ok();
    t["client_hello"] = ch("TLS 1.0");
    t["server_hello"] = json!(null);
    t["change_cipher_spec"] = json!({"client": null, "server": null});
    t["application_data"] = json!({"client": null, "server": null});
    t["after_client_hello"] = json!({"end": "rst", "by": "server", "frame": 5, "delay": 0.001});
    let fd = one(
        json!({"server_port": 443, "tls": t, "state": "RSTR", "end": "rst",
        "history": "ShADr",
        "rst": {"from": "server", "frame": 5, "ts": 1000.031, "ttl": 126, "ip_id": 9,
                "flags": "RA", "seq_ok": true, "count": 1},
        "client": {"fin_frame": null}, "server": {"fin_frame": null, "bytes": 0}}),
    );
    assert_eq!(fd.kind, "tls_handshake_failed", "{fd:#?}");
    assert_eq!(windows_code(&fd), Some(10054));
    assert_has(&fd.summary, "reset the connection");
    assert_has(&fd.summary, "at most TLS 1.0");
    assert_has(&fd.next_step, "SystemDefaultTlsVersions");
    assert!(
        fd.evidence["messages"]["dotnet_framework"]
            .as_str()
            .unwrap()
            .contains("An unexpected error occurred on a send")
    );
}

#[test]
fn protocol_mismatch_both_ways() {
    let t = json!({"client_hello": ch("TLS 1.3"), "server_hello": null,
        "server_text": {"frame": 5, "text": "HTTP/1.1 400 Bad Request"},
        "after_client_hello": {"end": "fin", "by": "server", "frame": 6, "delay": 0.001}});
    let fd = one(json!({"server_port": 8080, "tls": t}));
    assert_eq!(fd.kind, "protocol_mismatch");
    assert_eq!(fd.frames, vec![4, 5]);
    assert_has(&fd.summary, "the port speaks HTTP, not TLS");
    assert_has(&fd.next_step, "http://app.lab.test:8080/");
    let t = json!({"client_hello": null,
        "client_text": {"frame": 4, "text": "GET / HTTP/1.1"},
        "alerts": [{"frame": 5, "ts": 1000.04, "from": "server", "level": "fatal", "code": 10,
                    "description": "unexpected_message", "encrypted": false}]});
    let fd = one(json!({"server_port": 443, "tls": t}));
    assert_eq!(fd.kind, "protocol_mismatch");
    assert_eq!(fd.frames, vec![4, 5]);
    assert_has(&fd.summary, "speaks TLS but the client sent plaintext");
}

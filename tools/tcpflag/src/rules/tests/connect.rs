//! Failures while connecting: syn_timeout, icmp_unreachable, zero windows in the handshake,
//! handshake_incomplete, slow_connect.

use super::*;

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

//! Issue 19: dying connections, silent peers, crawling windows, slow paths, clients that give up,
//! resets after a half-close.

use super::*;

// give up, resets after a half-close.

/// The client's upload left unacknowledged: 5 retransmissions with a doubling RTO, open at the
/// end of the capture.
fn dying_patch() -> serde_json::Value {
    json!({
        "end": "capture_end", "state": "S1", "history": "ShADaT", "last_ts": 1010.0,
        "client": {"fin_frame": null, "retransmissions": 5,
                   "stuck": stuck(3448, 5, &[59, 60, 62, 67, 71],
                                  &[1003.0, 1003.4, 1004.2, 1005.9, 1009.2])},
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

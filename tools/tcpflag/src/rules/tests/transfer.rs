//! Failures after the handshake: zero_window_stall, reset_mid_connection, retransmission_storm,
//! and stray RSTs from another address attached to their connection.

use super::*;

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
    let fd = one(more.clone());
    assert_eq!(fd.severity, Severity::Warning);
    assert_has(&fd.summary, "where the capture picked the connection up");
    // Mid-stream, bare ACKs answered by the RST (Practical Packet Analysis' double-vision.pcap):
    // no handshake to speak of; the server does not know the connection.
    more["server"]["bytes"] = json!(0);
    more["server"]["packets"] = json!(2);
    more["client"]["packets"] = json!(2);
    let fd = one(more);
    assert_has(&fd.summary, "no longer knows this connection");
    assert_lacks(&fd.summary, "after the handshake");
    assert_has(&fd.next_step, "lost the connection's state");
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

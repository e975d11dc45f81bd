//! refused and refused_by_middlebox: retries grouped into one finding, RST frames, who sent the RST.

use super::*;

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

/// One flow of three SYNs 0.5 s apart from 100 s (Windows), each answered by a RST/ACK, the
/// first in frame `first_rst`; `last` is the flow's last frame.
fn three_refused_syns(syns: [u64; 3], first_rst: u64, last: u64) -> serde_json::Value {
    let mut p = seed_refused_attempt("R", syns[0], last, 100.0, false);
    p["attempts"] = json!({"syn_count": 3, "frames": syns,
                           "ts": [100.0, 100.5, 101.0], "intervals": [0.5, 0.5]});
    p["rst"]["count"] = json!(3);
    p["rst"]["frame"] = json!(first_rst);
    p
}

#[test]
fn refused_as_one_flow_with_three_attempts() {
    let p = three_refused_syns([7447, 7467, 7554], 7448, 7556);
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
    let mut p = three_refused_syns([13, 15, 17], 14, 18);
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

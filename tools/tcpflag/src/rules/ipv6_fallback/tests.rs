//! ipv6_fallback on hand-written flows and DNS answers.

use super::*;
use crate::rules::testutil::{assert_has, flow};
use serde_json::json;
use tcpwhy_common::records::packet::{Dns, DnsAnswer};

const C4: &str = "198.51.100.10";
const C6: &str = "2001:db8:10::10";

fn answer(fb: &mut Fallback, frame: u64, ts: f64, qtype: &str, addr: &str) {
    let p = Packet {
        frame,
        ts,
        src_ip: Some("203.0.113.58".into()),
        dst_ip: Some(C4.into()),
        src_port: Some(53),
        dst_port: Some(40000),
        dns: Some(Dns {
            id: frame as u16,
            response: true,
            rcode: Some(0),
            qname: Some("dual.lab.test".into()),
            qtype: Some(qtype.to_string().into()),
            answers: vec![DnsAnswer {
                name: "dual.lab.test".into(),
                rtype: qtype.to_string().into(),
                ttl: 0,
                data: Some(addr.to_string().into()),
            }],
        }),
        ..Default::default()
    };
    fb.dns(&p);
}

fn names() -> Fallback {
    let mut fb = Fallback::default();
    answer(&mut fb, 2, 99.9, "A", "203.0.113.30");
    answer(&mut fb, 4, 99.9, "AAAA", "2001:db8:20::30");
    fb
}

/// An unanswered IPv6 attempt: SYNs at the given times.
fn v6(uid: &str, port: u16, syns: &[(u64, f64)]) -> Flow {
    let fr: Vec<u64> = syns.iter().map(|s| s.0).collect();
    let ts: Vec<f64> = syns.iter().map(|s| s.1).collect();
    let iv: Vec<f64> = ts.windows(2).map(|w| w[1] - w[0]).collect();
    flow(json!({
        "uid": uid, "ip_version": 6, "client_ip": C6, "client_port": port,
        "server_ip": "2001:db8:20::30", "server_port": 80,
        "first_frame": fr[0], "last_frame": fr[fr.len() - 1], "first_ts": ts[0],
        "last_ts": ts[ts.len() - 1], "state": "S0", "history": "S", "end": "capture_end",
        "established": false, "synack_frame": null,
        "attempts": {"syn_count": fr.len(), "frames": fr, "ts": ts, "intervals": iv},
        "client": {"packets": syns.len(), "bytes": 0},
        "server": {"packets": 0, "bytes": 0}
    }))
}

fn v4(uid: &str, port: u16, frame: u64, ts: f64) -> Flow {
    flow(json!({
        "uid": uid, "client_ip": C4, "client_port": port, "server_ip": "203.0.113.30",
        "server_port": 80, "first_frame": frame, "first_ts": ts, "last_ts": ts + 0.01,
        "attempts": {"syn_count": 1, "frames": [frame], "ts": [ts], "intervals": []}
    }))
}

fn run(fb: &mut Fallback, flows: Vec<Flow>) -> (Vec<Finding>, Vec<String>) {
    let mut out = vec![];
    let mut back = vec![];
    let mut passed = vec![];
    for f in flows {
        if let Some((f, _)) = fb.offer(f, None, &mut back) {
            passed.push(f.uid);
        }
    }
    fb.finish(2, &mut out, &mut back);
    passed.extend(back.into_iter().map(|(f, _)| f.uid));
    (out, passed)
}

/// An IPv6 attempt, then an IPv4 one, after the DNS answers of [`names`]: the findings and the
/// uids passed on to the rules.
fn v6_then_v4(v6: Flow, v4: Flow) -> (Vec<Finding>, Vec<String>) {
    run(&mut names(), vec![v6, v4])
}

#[test]
fn stack_timeout_then_ipv4_is_a_warning_with_the_time_lost() {
    let (out, passed) = v6_then_v4(
        v6("A6", 1000, &[(9, 100.0), (10, 101.0), (11, 103.0)]),
        v4("A4", 2000, 12, 107.2),
    );
    assert_eq!(out.len(), 1, "{out:?}");
    let f = &out[0];
    assert_eq!(f.kind, "ipv6_fallback");
    assert_eq!(f.severity, Severity::Warning);
    assert!((f.evidence["time_lost"].as_f64().unwrap() - 7.2).abs() < 1e-6);
    assert_eq!(f.evidence["ended_by"], "stack");
    assert_eq!(f.frames, vec![2, 4, 9, 10, 11, 12]);
    assert_eq!(f.uids, ["A6", "A4"]);
    assert_eq!(passed, ["A4"], "the IPv4 flow goes on to the rules");
}

#[test]
fn windows_retries_and_an_application_timeout() {
    // Windows retries its SYN at 3 s... the application's 2 s per-address timeout ends the
    // attempt before the stack would retry: "application".
    let (out, _) = v6_then_v4(
        v6("B6", 1001, &[(30, 100.0), (31, 101.0)]),
        v4("B4", 2001, 32, 102.0),
    );
    assert_eq!(out[0].evidence["ended_by"], "application");
    // Windows: SYNs at 0, 3, 9 s (its 21 s connect timeout); IPv4 at 21 s: the stack.
    let (out, _) = v6_then_v4(
        v6("W6", 1002, &[(1, 100.0), (2, 103.0), (3, 109.0)]),
        v4("W4", 2002, 4, 121.0),
    );
    assert_eq!(out[0].evidence["ended_by"], "stack");
    assert_has(&out[0].summary, "21 s after the first IPv6 SYN");
}

#[test]
fn happy_eyeballs_is_silent_and_not_a_no_response() {
    let (out, passed) = v6_then_v4(v6("H6", 1003, &[(52, 100.0)]), v4("H4", 2003, 53, 100.2));
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(passed, ["H4"], "the IPv6 SYN is consumed");
}

#[test]
fn no_ipv4_attempt_stays_syn_timeout_with_a_note_and_a_later_request_does_not_count() {
    let mut fb = names();
    // The application gave up on G6 at 102 s; a new request at 105 s tried IPv6 (H6)
    // again and then IPv4: the IPv4 connection belongs to the new request.
    let (out, passed) = run(
        &mut fb,
        vec![
            v6("G6", 1004, &[(46, 100.0), (47, 101.0)]),
            v6("H6", 1005, &[(52, 105.0)]),
            v4("H4", 2005, 53, 105.2),
        ],
    );
    assert!(out.is_empty(), "{out:?}");
    assert!(passed.contains(&"G6".to_string()), "{passed:?}");
    // The engine runs the per-flow rules on G6 and the note goes on their finding.
    let mut fd = vec![base(
        &v6("G6", 1004, &[(46, 100.0), (47, 101.0)]),
        "syn_timeout",
        Severity::Error,
    )];
    fb.annotate("G6", &mut fd);
    assert_has(&fd[0].summary, "no IPv4 attempt followed");
    assert_eq!(fd[0].evidence["ipv6_fallback"]["fell_back"], false);
    assert!(fd[0].next_step.contains("Happy Eyeballs"));
}

#[test]
fn an_ipv4_connection_that_failed_too_is_no_fallback() {
    let mut fb = names();
    let mut f4 = v4("F4", 2006, 12, 107.2);
    f4.established = false;
    let (out, _) = run(
        &mut fb,
        vec![v6("F6", 1006, &[(9, 100.0), (10, 101.0), (11, 103.0)]), f4],
    );
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn without_dns_or_a_single_syn_the_flow_goes_to_the_rules() {
    let mut fb = Fallback::default();
    let (out, passed) = run(&mut fb, vec![v6("N6", 1006, &[(1, 100.0), (2, 101.0)])]);
    assert!(out.is_empty());
    assert_eq!(passed, ["N6"]);
    let (out, passed) = run(&mut names(), vec![v6("S6", 1007, &[(1, 100.0)])]);
    assert!(out.is_empty());
    assert_eq!(passed, ["S6"], "one SYN, no fallback: per-flow rules");
}

#[test]
fn held_attempts_are_bounded() {
    let mut fb = names();
    let mut back = vec![];
    for i in 0..(MAX_HELD + 5) {
        let f = v6(
            &format!("M{i}"),
            1000 + (i % 50000) as u16,
            &[(i as u64 + 1, 100.0 + i as f64)],
        );
        assert!(fb.offer(f, None, &mut back).is_none());
    }
    assert_eq!(fb.held.len(), MAX_HELD);
    assert_eq!(back.len(), 5);
}

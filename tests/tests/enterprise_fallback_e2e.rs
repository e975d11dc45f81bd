//! End to end on the lab captures of issue 20's connection-setup failures (helper `fallback`):
//! a full listen backlog (`backlog-full`, `backlog-abort`), a slow IPv6 fallback
//! (`ipv6-fallback`) and ECN-setup SYNs dropped or reset (`ecn-syn`). Real Linux stacks in
//! network namespaces (tests/scenarios/run.sh); the lab's CI check runs these tests again on
//! fresh captures (`TCPWHY_CAPTURES=<dir>`), so nothing here depends on the frame numbers, ports
//! or times of one run: the numbers are compared with the packets and with what the client
//! application saw (`<name>.app.jsonl`).

use serde_json::{Value, json};
use tcpwhy_tests::{
    Diagnosis, assert_has, assert_says, diagnose, f64v, frames, lab_captures, packet, strv, u64v,
};

const APP: &str = "203.0.113.30";
const APP6: &str = "2001:db8:20::30";
const MINE: &[&str] = &["backlog_full", "ipv6_fallback", "ecn_setup_blocked"];

/// Every finding is about `port` and of one of `kinds`: the healthy connections stay silent.
fn only(d: &Diagnosis, port: u64, kinds: &[&str]) {
    for f in &d.findings {
        assert!(
            f["server_port"] == port && kinds.contains(&strv(&f["kind"])),
            "{}: unexpected finding: {f}\n{}",
            d.name,
            d.show()
        );
    }
}

/// The burst's connections as the application saw them, by client port.
fn burst(d: &Diagnosis) -> Vec<Value> {
    d.app
        .iter()
        .find(|a| a["action"].as_str().unwrap_or("").starts_with("burst"))
        .and_then(|a| a["connections"].as_array())
        .cloned()
        .unwrap_or_else(|| panic!("{}: no burst in the app log", d.name))
}

/// A backlog_full finding's common evidence: the flow's SYNs are listed, the other answers are
/// packets from the server port to other clients, the text names the count.
fn check_backlog(d: &Diagnosis, f: &Value) {
    let fr = frames(f);
    let port = u64v(&f["client_port"]);
    let flow = d
        .flows
        .iter()
        .find(|x| x["client_port"] == port && x["server_port"] == 8097)
        .expect("its flow");
    for s in flow["attempts"]["frames"].as_array().unwrap() {
        assert!(fr.contains(&s.as_u64().unwrap()), "SYN {s} listed: {f}");
    }
    let others = f["evidence"]["other_frames"].as_array().unwrap();
    assert!(u64v(&f["evidence"]["others_answered"]) >= 1, "{f}");
    assert!(!others.is_empty(), "{f}");
    for o in others {
        let p = packet(d, o.as_u64().unwrap());
        assert_eq!(p["src_ip"], APP, "{f}");
        assert_eq!(p["src_port"], 8097, "{f}");
        assert_ne!(p["dst_port"], port, "an answer to another connection: {f}");
    }
    let s = strv(&f["summary"]);
    assert_says(&f["summary"], &["listen (accept) queue"]);
    assert!(
        s.contains(&format!(
            "answered {} other",
            f["evidence"]["others_answered"]
        )),
        "{s}"
    );
    assert!(strv(&f["next_step"]).contains("somaxconn"), "{f}");
}

#[test]
fn full_backlog_is_named_not_a_timeout_or_a_firewall() {
    let d = diagnose("backlog-full");
    only(&d, 8097, &["backlog_full", "slow_connect"]);
    let v = d.kind("backlog_full");
    assert!(v.len() >= 3, "{}", d.show());
    let app = burst(&d);
    for f in &v {
        check_backlog(&d, f);
        let port = u64v(&f["client_port"]);
        let a = app
            .iter()
            .find(|a| a["client_port"] == port)
            .unwrap_or_else(|| panic!("client port {port} in the app log: {f}"));
        // Served in the end: a warning, and the wait the finding names covers the connect
        // time the application measured.
        assert_eq!(a["result"], "ok", "{a}");
        assert_eq!(f["severity"], "warning", "{f}");
        assert_eq!(f["evidence"]["served"], true);
        let waited = f64v(&f["evidence"]["waited"]);
        assert!(
            waited + 0.05 >= f64v(&a["connect_seconds"]),
            "waited {waited} vs connect {a}: {f}"
        );
        if u64v(&f["evidence"]["unanswered_syns"]) >= 2 {
            assert!(f64v(&a["connect_seconds"]) > 2.5, "{a}");
        }
    }
    // Some handshake ACK was ignored: the request retransmitted before the server's first ACK.
    assert!(
        v.iter().any(|f| f["evidence"]["ignored_ack"] == true),
        "{}",
        d.show()
    );
    let ign = v
        .iter()
        .find(|f| f["evidence"]["ignored_ack"] == true)
        .unwrap();
    assert!(
        u64v(&ign["evidence"]["client_retransmissions"]) >= 1,
        "{ign}"
    );
}

#[test]
fn abort_on_overflow_reset_is_named() {
    let d = diagnose("backlog-abort");
    only(&d, 8097, &["backlog_full", "slow_connect"]);
    let app = burst(&d);
    let reset: Vec<&Value> = app.iter().filter(|a| a["result"] == "ECONNRESET").collect();
    assert!(!reset.is_empty(), "{app:?}");
    let v = d.kind("backlog_full");
    let r: Vec<&&Value> = v
        .iter()
        .filter(|f| f["evidence"]["reset_after_ack"] == true)
        .collect();
    assert_eq!(r.len(), reset.len(), "{}", d.show());
    for f in r {
        check_backlog(&d, f);
        assert_has(
            f,
            &json!({
                "severity": "error", "socket_error": {"posix": "ECONNRESET", "windows_code": 10054},
            }),
        );
        let port = u64v(&f["client_port"]);
        assert!(reset.iter().any(|a| a["client_port"] == port), "{f}");
        // The RST is listed, and it came from the server's own stack (TTL 62 like its others).
        let rst = d.frames_where(|p| {
            p["dst_port"] == port && p["tcp_flags"].as_str().unwrap_or("").contains('R')
        });
        assert_eq!(rst.len(), 1);
        assert!(frames(f).contains(&rst[0]), "{f}");
        assert!(strv(&f["summary"]).contains("tcp_abort_on_overflow=1"));
    }
}

#[test]
fn slow_ipv6_fallback_names_the_time_lost() {
    let dir = lab_captures();
    if !dir.join("ipv6-fallback.pcap").exists() {
        tcpwhy_tests::skip(
            &format!("ipv6-fallback.pcap is not in {}", dir.display()),
            "the lab makes it only with dnsmasq (tests/scenarios/run.sh)",
        );
        return;
    }
    let d = diagnose("ipv6-fallback");
    only(&d, 80, &["ipv6_fallback", "syn_timeout"]);
    let v = d.kind("ipv6_fallback");
    assert_eq!(v.len(), 2, "{}", d.show());
    // The application's view: fallback by the stack, by its 2 s per-address timeout, none.
    let cc: Vec<&Value> = d
        .app
        .iter()
        .filter(|a| strv(&a["action"]).starts_with("create-connection"))
        .collect();
    assert_eq!(cc.len(), 2);
    for (f, a) in v.iter().zip(&cc) {
        assert_eq!(f["evidence"]["fell_back"], true);
        assert_eq!(f["severity"], "warning", "{f}");
        assert_eq!(f["server_ip"], APP6);
        // The IPv4 connection it names is the one the application used, and the time lost is
        // what the application measured for its connect.
        let v4 = packet(&d, u64v(&f["evidence"]["ipv4_syn_frame"]));
        assert_eq!(v4["dst_ip"], APP);
        assert_eq!(v4["src_port"], a["client_port"], "{f} {a}");
        let lost = f64v(&f["evidence"]["time_lost"]);
        let took = f64v(&a["connect_seconds"]);
        assert!((lost - took).abs() < 0.1, "lost {lost} vs connect {took}");
        assert!(strv(&f["summary"]).contains("lost on this connection"));
        assert!(strv(&f["next_step"]).contains("Happy Eyeballs"));
        // The DNS answers that link the two addresses are evidence.
        let dns = f["evidence"]["dns_frames"].as_array().unwrap();
        assert_eq!(dns.len(), 2, "the A and the AAAA answer: {f}");
        for x in dns {
            assert!(packet(&d, x.as_u64().unwrap())["dns"].is_object(), "{f}");
        }
    }
    assert_eq!(v[0]["evidence"]["ended_by"], "stack", "{}", v[0]);
    assert_eq!(v[1]["evidence"]["ended_by"], "application", "{}", v[1]);
    // The application that gave up before trying IPv4: its connect timed out (syn_timeout),
    // and the finding says the name offered IPv4.
    let st = d.kind("syn_timeout");
    assert_eq!(st.len(), 1, "{}", d.show());
    assert_eq!(st[0]["server_ip"], APP6);
    assert_eq!(st[0]["evidence"]["ipv6_fallback"]["fell_back"], false);
    assert!(
        strv(&st[0]["summary"]).contains("no IPv4 attempt followed"),
        "{}",
        st[0]
    );
    assert!(d.app.iter().any(|a| a["result"] == "timeout (application)"));
    // curl's Happy Eyeballs: its abandoned IPv6 SYN is not reported.
    let last_v6_syn = *d
        .frames_where(|p| p["dst_ip"] == APP6 && p["tcp_flags"] == "S")
        .last()
        .unwrap();
    assert!(
        v.iter().all(|f| !frames(f).contains(&last_v6_syn)),
        "{}",
        d.show()
    );
}

#[test]
fn ecn_setup_syn_dropped_or_reset_is_info() {
    let d = diagnose("ecn-syn");
    let v = d.kind("ecn_setup_blocked");
    assert_eq!(v.len(), 2, "{}", d.show());
    // Linux's own connect to the port that resets ECN SYNs: refused (no retry without ECN), and
    // the refusal says the SYN asked for ECN.
    let refused: Vec<&Value> = d
        .findings
        .iter()
        .filter(|f| f["kind"] != "ecn_setup_blocked")
        .collect();
    assert_eq!(refused.len(), 1, "nothing else: {}", d.show());
    let r = refused[0];
    assert!(strv(&r["kind"]).starts_with("refused"), "{}", d.show());
    assert_eq!(r["server_port"], 8096);
    assert_eq!(r["evidence"]["ecn_setup_syn"], true, "{r}");
    assert_eq!(r["socket_error"]["posix"], "ECONNREFUSED");
    assert!(strv(&r["summary"]).contains("asked for ECN"), "{r}");
    let a = d
        .app
        .iter()
        .find(|a| a["result"] == "ECONNREFUSED")
        .expect("the application saw the refusal");
    // Its source port is fixed in the action ("connect HOST PORT SPORT").
    assert!(
        strv(&a["action"]).ends_with(&format!(" {}", r["client_port"])),
        "{a} {r}"
    );
    for f in &v {
        assert_eq!(f["severity"], "info");
        let fr = frames(f);
        let first = packet(&d, fr[0]);
        assert!(
            strv(&first["tcp_flags"]).contains("EC"),
            "the first frame is the ECN SYN: {first}"
        );
        let plain = packet(&d, u64v(&f["evidence"]["plain_syn_frame"]));
        assert_eq!(plain["tcp_flags"], "S");
        let lost = f64v(&f["evidence"]["time_lost"]);
        assert!((0.9..2.5).contains(&lost), "{f}");
    }
    let by_port = |p: u64| v.iter().find(|f| f["server_port"] == p).unwrap();
    assert_eq!(v.iter().filter(|f| f["server_port"] == 8096).count(), 1);
    assert_eq!(by_port(8095)["evidence"]["how"], "dropped");
    let r = by_port(8096);
    assert_eq!(r["evidence"]["how"], "reset");
    let rst = packet(&d, u64v(&r["evidence"]["rst_frame"]));
    assert_eq!(
        rst["ttl"], 63,
        "router2's RST, one hop closer than the server"
    );
    // The application waited about the time the finding names.
    let a = d
        .app
        .iter()
        .find(|a| a["action"] == "get 203.0.113.30 8095")
        .unwrap();
    let lost = f64v(&by_port(8095)["evidence"]["time_lost"]);
    assert!((f64v(&a["seconds"]) - lost).abs() < 0.2, "{a}");
}

#[test]
fn other_lab_captures_never_get_these_kinds() {
    // The captures diagnose() reads: the committed ones, or a fresh lab run's.
    let dir = lab_captures();
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".pcap") else {
            continue;
        };
        if stem.contains('.')
            || ["backlog-full", "backlog-abort", "ipv6-fallback", "ecn-syn"].contains(&stem)
        {
            continue;
        }
        let d = diagnose(stem);
        for f in &d.findings {
            assert!(!MINE.contains(&strv(&f["kind"])), "{stem}: {f}");
        }
        n += 1;
    }
    if n == 0 {
        tcpwhy_tests::skip(
            &format!("no other lab capture in {}", dir.display()),
            "make lab writes them (tests/scenarios/run.sh)",
        );
    }
}

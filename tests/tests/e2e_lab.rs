//! End to end on the lab's captures (tests/captures/, made with real Linux stacks by
//! tests/scenarios/run.sh): `pcap2jsonl | tcpflows | ttlhops | tcpflag | portmap --listeners`,
//! through the real binaries, asserting the conclusion a person needs — what failed, where, how
//! often, who really sent the RST or ICMP error, what the application saw, what listens instead.
//!
//! Nothing here depends on frame numbers, ports or times of one particular lab run: the lab's CI
//! check (`make lab LAB_CHECK=1`) runs these same tests on freshly made captures
//! (`TCPWHY_CAPTURES=<dir>`). Every scenario mixes healthy connections in, and every test checks
//! that they stay silent.

use serde_json::{Value, json};
use tcpwhy_tests::{Diagnosis, assert_has, diagnose, f64v, strv, u64s, u64v as u};

const SQL: &str = "203.0.113.20";
const SQL6: &str = "2001:db8:20::20";
const APP: &str = "203.0.113.30";
const BAD: &str = "203.0.113.13";
const ROUTER2: &str = "192.0.2.2";
const ROUTER2_V6: &str = "2001:db8:12::2";
const APP6: &str = "2001:db8:20::30";

/// The errno the application got, for the action's server and port, is the socket error of a
/// finding about that server and port; and no connection that worked is in an error finding.
fn app_agrees(d: &Diagnosis) {
    assert!(!d.app.is_empty(), "{}: no <name>.app.jsonl", d.name);
    for a in &d.app {
        let action = strv(&a["action"]);
        let w: Vec<&str> = action.split_whitespace().collect();
        let (server, port) = match w[0] {
            "get" | "get-timeout" | "connect" | "post" | "bulk" => (w[1].to_string(), w[2]),
            "resolve-get" => (a["server"].as_str().unwrap_or("").to_string(), w[2]),
            _ => continue,
        };
        let port: u64 = port.parse().unwrap();
        let result = strv(&a["result"]);
        if result == "ok" {
            let cp = &a["client_port"];
            let uids: Vec<&Value> = d
                .flows
                .iter()
                .filter(|f| f["client_port"] == *cp && f["server_ip"] == server.as_str())
                .map(|f| &f["uid"])
                .collect();
            assert!(!uids.is_empty(), "{}: no flow for `{action}`", d.name);
            for f in &d.findings {
                if f["severity"] == "error" {
                    let fu = f["uids"].as_array().unwrap();
                    assert!(
                        !uids.iter().any(|x| fu.contains(x)),
                        "{}: `{action}` worked but is in an error finding: {f}",
                        d.name
                    );
                }
            }
        } else {
            assert!(
                d.findings.iter().any(|f| f["server_ip"] == server.as_str()
                    && f["server_port"] == port
                    && f["socket_error"]["posix"] == result),
                "{}: the application got {result} from {server}:{port}, no finding says so:\n{}",
                d.name,
                d.show()
            );
        }
    }
}

/// Every finding is about `server:port`: the healthy connections beside it stay silent.
fn only_about(d: &Diagnosis, targets: &[(&str, u64)]) {
    for f in &d.findings {
        assert!(
            targets
                .iter()
                .any(|(ip, port)| f["server_ip"] == *ip && f["server_port"] == *port),
            "{}: unexpected finding (healthy traffic flagged?): {f}",
            d.name
        );
    }
}

/// A finding a person can act on: a sentence, a next step, evidence frames that exist.
fn readable(d: &Diagnosis, f: &Value) {
    let s = f["summary"].as_str().unwrap_or("");
    let n = f["next_step"].as_str().unwrap_or("");
    assert!(s.len() > 20, "{}: summary too thin: {f}", d.name);
    assert!(n.len() > 20, "{}: next_step too thin: {f}", d.name);
    let last = d.packets.len() as u64;
    let frames = f["frames"].as_array().unwrap();
    assert!(!frames.is_empty(), "{}: no evidence frames: {f}", d.name);
    for fr in frames {
        assert!(
            (1..=last).contains(&u(fr)),
            "{}: frame {fr} out of range",
            d.name
        );
    }
}

/// The one finding of `kind`, [`readable`].
fn one<'a>(d: &'a Diagnosis, kind: &str) -> &'a Value {
    let f = d.one(kind);
    readable(d, f);
    f
}

fn refused_by_the_server(name: &str, server: &str, ttl: u64) {
    let d = diagnose(name);
    only_about(&d, &[(server, 2383)]);
    let f = one(&d, "refused");
    assert_has(
        f,
        &json!({
            "severity": "error", "server_ip": server, "server_port": 2383, "client_port": 20531,
        }),
    );
    assert_eq!(f["attempts"], 3, "three connect attempts: {f}");
    assert_eq!(f["origin"], "server", "the server itself refused: {f}");
    assert_eq!(f["socket_error"]["windows_code"], 10061);
    assert_eq!(f["socket_error"]["posix"], "ECONNREFUSED");
    // The evidence is the three RST/ACKs (and their SYNs).
    let rsts = d.frames_where(|p| p["src_port"] == 2383 && p["tcp_flags"] == "RA");
    assert_eq!(rsts.len(), 3);
    let ev: Vec<u64> = u64s(&f["frames"]);
    for r in &rsts {
        assert!(
            ev.contains(r),
            "{name}: RST frame {r} not in the evidence {ev:?}"
        );
    }
    assert!(strv(&f["summary"]).contains("2383"), "{f}");
    // ttlhops: TTL 126 = initial 128 - 2 routers: the RSTs came from the server itself.
    let flows = d.flows_to(server, 2383);
    assert_eq!(flows.len(), 3, "{name}: three attempts, three flows");
    for fl in flows {
        let o = &fl["ttlhops"]["rst"];
        assert_eq!(o["origin"], "endpoint", "{fl}");
        assert_has(
            o,
            &json!({"observed_ttl": ttl, "initial_ttl": 128, "hops": 2}),
        );
    }
    let h = d.host(server);
    assert_has(
        h,
        &json!({"initial_ttl": 128, "hops": 2, "os_hint": "windows"}),
    );
    // portmap, from the server's real `ss -ltnp`: nothing on 2383, msmdsrv on 2725.
    let pm = &f["portmap"];
    assert_eq!(pm["port"], 2383);
    assert_eq!(pm["listening"], false, "{pm}");
    let hint = pm["hint"].as_str().unwrap_or("");
    assert!(
        hint.contains("2725") && hint.contains("msmdsrv"),
        "hint: {hint}"
    );
    assert!(
        pm["listeners"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["port"] == 2725 && l["process"] == "msmdsrv"),
        "{pm}"
    );
    app_agrees(&d);
}

#[test]
fn refused_2383_is_the_server_itself_and_the_service_listens_on_2725() {
    refused_by_the_server("refused-2383", SQL, 126);
}

#[test]
fn refused_ipv6_counts_hops_from_the_hop_limit() {
    refused_by_the_server("refused-ipv6", SQL6, 126);
}

#[test]
fn refused_windows_retry_is_one_connect_with_three_syns() {
    // The seed's exact pattern: one connect(), the same SYN three times, each reset.
    let d = diagnose("refused-windows-retry");
    only_about(&d, &[(SQL, 2383)]);
    let f = one(&d, "refused");
    assert_has(
        f,
        &json!({
            "client_port": 20531, "attempts": 3, "origin": "server",
            "socket_error": {"windows_code": 10061},
        }),
    );
    let s = strv(&f["summary"]);
    assert!(s.contains("Windows"), "the retry pattern is Windows': {s}");
    let flows = d.flows_to(SQL, 2383);
    assert_eq!(flows.len(), 1, "same ISN: one connection attempt, one flow");
    assert_has(
        flows[0],
        &json!({
            "attempts": {"syn_count": 3}, "state": "REJ",
            "ttlhops": {"rst": {"origin": "endpoint"}},
        }),
    );
    // Every SYN and every RST is evidence.
    let ev: Vec<u64> = u64s(&f["frames"]);
    for fr in d.frames_where(|p| p["dst_port"] == 2383 || p["src_port"] == 2383) {
        assert!(ev.contains(&fr), "frame {fr} not in the evidence {ev:?}");
    }
    // The client is Windows too (TTL 128 at the capture point).
    assert_eq!(d.host("198.51.100.10")["os_hint"], "windows");
    assert_eq!(f["portmap"]["listening"], false);
    assert!(f["portmap"]["hint"].as_str().unwrap_or("").contains("2725"));
    app_agrees(&d);
}

#[test]
fn refused_by_the_hosts_own_firewall_while_the_service_listens() {
    let d = diagnose("refused-host-firewall");
    only_about(&d, &[(APP, 8443)]);
    let f = one(&d, "refused");
    assert_eq!(
        f["origin"], "server",
        "the server's own stack sent the RST: {f}"
    );
    assert_eq!(f["socket_error"]["posix"], "ECONNREFUSED");
    let pm = &f["portmap"];
    assert_eq!(pm["listening"], true, "its ss output shows 8443 open: {pm}");
    let hint = pm["hint"].as_str().unwrap_or("");
    assert!(
        hint.contains("listens on 8443") && hint.contains("firewall"),
        "a listening port that refuses points at a filter: {hint}"
    );
    app_agrees(&d);
}

#[test]
fn middlebox_reset_is_a_device_nearer_than_the_server() {
    let d = diagnose("middlebox-reset");
    only_about(&d, &[(APP, 8443)]);
    assert!(
        d.kind("refused").is_empty(),
        "not the server:\n{}",
        d.show()
    );
    let found = d.kind("refused_by_middlebox");
    assert!(!found.is_empty(), "middlebox-reset:\n{}", d.show());
    let attempts: u64 = found.iter().map(|f| u(&f["attempts"])).sum();
    assert_eq!(attempts, 2, "two connects, two SYNs");
    for f in &found {
        readable(&d, f);
        assert_has(
            f,
            &json!({
                "server_ip": APP, "server_port": 8443, "origin": "middlebox",
                "socket_error": {"windows_code": 10061, "posix": "ECONNREFUSED"},
            }),
        );
        // The server's real listener table says it listens: look at the path, not the server.
        assert_eq!(f["portmap"]["listening"], true, "{}", f["portmap"]);
    }
    // TTL 64 from a server 2 hops away (its other packets arrive with 62): router1, hop 1.
    for fl in d.flows_to(APP, 8443) {
        let o = &fl["ttlhops"]["rst"];
        assert_eq!(o["origin"], "middlebox", "{fl}");
        assert_has(
            o,
            &json!({"observed_ttl": 64, "hops": 0, "at_hop": 1, "expected_hops": 2}),
        );
    }
    assert_eq!(d.host(APP)["hops"], 2);
    app_agrees(&d);
}

#[test]
fn syn_timeout_counts_the_retries() {
    let d = diagnose("syn-timeout");
    only_about(&d, &[(APP, 8080)]);
    let f = one(&d, "syn_timeout");
    assert_eq!(f["server_ip"], APP);
    assert_eq!(f["server_port"], 8080);
    assert_eq!(f["attempts"], 3, "SYN + 2 retransmissions: {f}");
    assert_eq!(f["socket_error"]["windows_code"], 10060);
    assert_eq!(f["socket_error"]["posix"], "ETIMEDOUT");
    let syns = d.frames_where(|p| p["dst_port"] == 8080 && p["tcp_flags"] == "S");
    let ev: Vec<u64> = u64s(&f["frames"]);
    assert_eq!(syns.len(), 3);
    for s in &syns {
        assert!(ev.contains(s), "SYN {s} not in the evidence {ev:?}");
    }
    // Something listens on 8080 (ss): the SYNs are lost on the way, a firewall drops them.
    assert_eq!(f["portmap"]["listening"], true, "{}", f["portmap"]);
    app_agrees(&d);
}

#[test]
fn icmp_unreachable_names_the_router_and_the_error() {
    let d = diagnose("icmp-unreachable");
    only_about(
        &d,
        &[("203.0.113.14", 80), (APP, 5432), (APP, 5433), (APP6, 5432)],
    );
    let found = d.kind("icmp_unreachable");
    assert_eq!(found.len(), 4, "icmp-unreachable:\n{}", d.show());
    let pick = |ip: &str, port: u64| {
        *found
            .iter()
            .find(|f| f["server_ip"] == ip && f["server_port"] == port)
            .unwrap_or_else(|| panic!("no finding for {ip}:{port}:\n{}", d.show()))
    };
    let host = pick("203.0.113.14", 80);
    let port = pick(APP, 5432);
    let admin = pick(APP, 5433);
    let port6 = pick(APP6, 5432);
    for (f, router) in [
        (host, ROUTER2),
        (port, ROUTER2),
        (admin, ROUTER2),
        (port6, ROUTER2_V6),
    ] {
        readable(&d, f);
        assert_eq!(f["origin"], "network", "a router answered: {f}");
        assert!(strv(&f["summary"]).contains(router), "{f}");
    }
    assert_eq!(host["socket_error"]["posix"], "EHOSTUNREACH");
    assert_eq!(host["socket_error"]["windows_code"], 10065);
    assert_eq!(port["socket_error"]["posix"], "ECONNREFUSED");
    assert_eq!(admin["socket_error"]["posix"], "EHOSTUNREACH");
    assert_eq!(port6["socket_error"]["posix"], "ECONNREFUSED");
    for (ip, p, from, ty, code) in [
        ("203.0.113.14", 80, ROUTER2, 3, 1),
        (APP, 5432, ROUTER2, 3, 3),
        (APP, 5433, ROUTER2, 3, 13),
        (APP6, 5432, ROUTER2_V6, 1, 4),
    ] {
        let fl = d.flows_to(ip, p);
        assert_eq!(fl.len(), 1, "{ip}:{p}");
        let fl = fl[0];
        assert_eq!(fl["icmp"][0]["from_ip"], from);
        assert_eq!(fl["icmp"][0]["icmp_type"], ty);
        assert_eq!(fl["icmp"][0]["icmp_code"], code);
        // TTL / hop limit 63: router2, one router away (hop 2 as traceroute counts).
        let o = &fl["ttlhops"]["icmp"][0];
        assert_eq!(o["origin"], "middlebox", "{o}");
        assert_eq!(o["hops"], 1);
        assert_eq!(o["at_hop"], 2);
    }
    app_agrees(&d);
}

#[test]
fn retrans_timeout_is_a_lost_request_not_a_healthy_close() {
    // The request never gets through; the client retransmits it and gives up (ETIMEDOUT); the
    // server's late FIN is answered by the client stack's RST. Not a normal ending.
    let d = diagnose("retrans-timeout");
    only_about(&d, &[(APP, 8081)]);
    let f = one(&d, "retransmission_storm");
    assert_has(
        f,
        &json!({
            "severity": "error", "server_port": 8081, "socket_error": {"posix": "ETIMEDOUT"},
        }),
    );
    assert!(u(&f["evidence"]["client_retransmissions"]) >= 3, "{f}");
    let fl = d.flows_to(APP, 8081);
    assert_eq!(fl.len(), 1);
    assert_eq!(fl[0]["established"], true);
    assert!(u(&fl[0]["client"]["retransmissions"]) >= 3);
    assert_eq!(fl[0]["rst"]["from"], "client");
    app_agrees(&d);
}

#[test]
fn slow_connect_is_worth_knowing_not_a_failure() {
    let d = diagnose("slow-connect");
    only_about(&d, &[(APP, 8082)]);
    let f = one(&d, "slow_connect");
    assert_eq!(f["severity"], "info", "connect took ~1 s: {f}");
    assert!(f["socket_error"].is_null(), "the connect succeeded: {f}");
    assert_eq!(f["evidence"]["syn_count"], 2);
    let t = f64v(&f["evidence"]["connect_time"]);
    assert!((0.9..2.0).contains(&t), "connect_time {t}");
    assert!(d.findings.iter().all(|f| f["severity"] != "error"));
    let fl = d.flows_to(APP, 8082);
    assert_eq!(fl[0]["state"], "SF");
    assert_eq!(fl[0]["attempts"]["syn_count"], 2);
    app_agrees(&d);
}

#[test]
fn handshake_incomplete_the_clients_packets_never_arrive() {
    // Client side: connected as far as the client knows, then its request is retransmitted in
    // vain and the read times out.
    let d = diagnose("handshake-incomplete");
    only_about(&d, &[(APP, 8083)]);
    let errors: Vec<&Value> = d
        .findings
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert_eq!(errors.len(), 1, "handshake-incomplete:\n{}", d.show());
    let f = errors[0];
    readable(&d, f);
    assert_eq!(f["server_port"], 8083);
    assert_eq!(f["socket_error"]["posix"], "ETIMEDOUT");
    let fl = d.flows_to(APP, 8083);
    assert_eq!(fl.len(), 1);
    assert!(u(&fl[0]["client"]["retransmissions"]) >= 3);
    app_agrees(&d);

    // Server side: SYN, then only the server's SYN-ACKs: the handshake never completed.
    let d = diagnose("handshake-incomplete.server");
    only_about(&d, &[(APP, 8083)]);
    let found = d.kind("handshake_incomplete");
    assert_eq!(found.len(), 1, "handshake-incomplete.server:\n{}", d.show());
    assert_eq!(found[0]["socket_error"]["posix"], "ETIMEDOUT");
    assert!(
        u(&found[0]["evidence"]["synack_retransmissions"]) >= 2,
        "{}",
        found[0]
    );
}

#[test]
fn handshake_incomplete_client_side_names_the_servers_repeated_synack() {
    // The tell a person needs from the client's capture: after the client's ACK the server kept
    // sending its SYN-ACK again, so the client's packets do not reach the server (a firewall or
    // the return path), which is not the same as loss of data on an established connection.
    let d = diagnose("handshake-incomplete");
    let f = d
        .findings
        .iter()
        .find(|f| f["severity"] == "error" && f["server_port"] == 8083)
        .unwrap_or_else(|| panic!("no error finding:\n{}", d.show()));
    let s = strv(&f["summary"]);
    assert!(
        s.contains("SYN-ACK"),
        "the server's repeated SYN-ACKs are the evidence: {s}"
    );
}

#[test]
fn zero_window_synack_is_the_servers_fault() {
    let d = diagnose("zero-window-synack");
    only_about(&d, &[(BAD, 80)]);
    let f = one(&d, "zero_window_at_handshake");
    assert_has(
        f,
        &json!({
            "severity": "error", "server_ip": BAD, "server_port": 80,
            "socket_error": {"windows_code": 10054, "posix": "ECONNRESET"},
        }),
    );
    let synack =
        d.frames_where(|p| p["src_ip"] == BAD && p["tcp_flags"] == "SA" && p["window"] == 0);
    assert_eq!(synack.len(), 1);
    let ev: Vec<u64> = u64s(&f["frames"]);
    assert!(
        ev.contains(&synack[0]),
        "the SYN-ACK {} is the evidence: {ev:?}",
        synack[0]
    );
    let fl = d.flows_to(BAD, 80);
    assert_eq!(fl.len(), 1);
    let zw = &fl[0]["server"]["zero_window"];
    assert_eq!(zw["in_handshake"], true, "{zw}");
    assert_eq!(zw["reopened"], false);
    assert!(u(&zw["probes"]) >= 2, "the client probed: {zw}");
    assert_eq!(fl[0]["rst"]["from"], "server");
    assert_eq!(fl[0]["ttlhops"]["rst"]["origin"], "endpoint");
    app_agrees(&d);
}

#[test]
fn intermittent_rr_names_the_bad_backend_and_the_dns_name() {
    let d = diagnose("intermittent-rr");
    only_about(&d, &[(BAD, 80)]);
    let f = one(&d, "intermittent_backend");
    assert_eq!(f["server_ip"], BAD, "the broken backend");
    assert_has(
        f,
        &json!({"server_port": 80, "evidence": {"name": "web2.lab.test", "failed": 4}}),
    );
    assert_eq!(f["attempts"], 4, "4 of the 12 connections went to {BAD}");
    let s = strv(&f["summary"]);
    assert!(s.contains(BAD) && s.contains("web2.lab.test"), "{s}");
    let others: Vec<&Value> = f["evidence"]["other_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    for good in ["203.0.113.11", "203.0.113.12"] {
        let o = others.iter().find(|o| o["address"] == good).unwrap();
        assert_eq!(o["failed"], 0);
        assert_eq!(o["ok"], 4);
    }
    // Each failed connection is the seed's zero-window handshake.
    let zw = d.kind("zero_window_at_handshake");
    assert_eq!(zw.len(), 4, "{}", d.show());
    app_agrees(&d);
}

#[test]
fn reset_mid_connection_comes_from_the_server_application() {
    let d = diagnose("reset-mid");
    only_about(&d, &[(APP, 9000)]);
    let f = one(&d, "reset_mid_connection");
    assert_has(
        f,
        &json!({
            "server_ip": APP, "server_port": 9000, "origin": "server",
            "socket_error": {"windows_code": 10054, "posix": "ECONNRESET"},
        }),
    );
    let fl = d.flows_to(APP, 9000);
    assert_eq!(fl.len(), 1);
    assert_eq!(fl[0]["established"], true);
    assert!(u(&fl[0]["server"]["bytes"]) > 1000, "data flowed first");
    assert_eq!(fl[0]["ttlhops"]["rst"]["origin"], "endpoint");
    assert_eq!(fl[0]["ttlhops"]["rst"]["hops"], 2);
    app_agrees(&d);
}

#[test]
fn zero_window_that_recovers_is_a_warning_not_a_failure() {
    let d = diagnose("zero-window-recover");
    only_about(&d, &[(APP, 9001)]);
    let f = one(&d, "zero_window_stall");
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["server_port"], 9001);
    assert!(
        d.findings.iter().all(|f| f["severity"] != "error"),
        "nothing failed:\n{}",
        d.show()
    );
    let fl = d.flows_to(APP, 9001);
    let zw = &fl[0]["server"]["zero_window"];
    assert_eq!(zw["in_handshake"], false);
    assert_eq!(zw["reopened"], true, "{zw}");
    assert!(f64v(&zw["longest_stall"]) > 1.0, "{zw}");
    assert_eq!(fl[0]["state"], "SF");
    app_agrees(&d);
}

#[test]
fn healthy_traffic_gives_no_finding() {
    let d = diagnose("healthy");
    assert!(d.findings.is_empty(), "healthy:\n{}", d.show());
    assert!(d.flows.len() >= 6);
    for f in &d.flows {
        assert_eq!(f["state"], "SF", "{f}");
    }
    app_agrees(&d);
}

#[test]
fn seen_from_the_server_the_same_conclusions_hold() {
    // refused-2383 captured on the SQL server itself: its RSTs leave with TTL 128 (0 hops), the
    // client is 2 routers away.
    let d = diagnose("refused-2383.server");
    only_about(&d, &[(SQL, 2383)]);
    let found = d.kind("refused");
    assert_eq!(found.len(), 1, "{}", d.show());
    assert_eq!(found[0]["attempts"], 3);
    assert_eq!(found[0]["origin"], "server");
    for fl in d.flows_to(SQL, 2383) {
        let o = &fl["ttlhops"]["rst"];
        assert_eq!(o["origin"], "endpoint", "{fl}");
        assert_eq!(o["observed_ttl"], 128);
        assert_eq!(o["hops"], 0);
    }
    assert_eq!(d.host("198.51.100.10")["hops"], 2);

    // middlebox-reset on the server: the SYNs to 8443 never arrived; nothing to report there.
    let d = diagnose("middlebox-reset.server");
    assert!(d.findings.is_empty(), "{}", d.show());
    assert!(d.flows_to(APP, 8443).is_empty());

    // reset-mid on the server: the RST leaves the server itself.
    let d = diagnose("reset-mid.server");
    let found = d.kind("reset_mid_connection");
    assert_eq!(found.len(), 1, "{}", d.show());
    assert_eq!(found[0]["origin"], "server");
    assert_eq!(found[0]["socket_error"]["posix"], "ECONNRESET");
}

use super::*;

#[test]
fn rounding_rule() {
    assert_eq!(initial_ttl(126), 128);
    assert_eq!(hops(126), 2);
    assert_eq!(initial_ttl(128), 128);
    assert_eq!(initial_ttl(129), 255);
    assert_eq!(hops(250), 5);
    assert_eq!(initial_ttl(64), 64);
    assert_eq!(initial_ttl(65), 128);
    assert_eq!(initial_ttl(63), 64);
    assert_eq!(initial_ttl(33), 64);
    assert_eq!(initial_ttl(32), 32);
    assert_eq!(initial_ttl(1), 32);
    assert_eq!(initial_ttl(0), 32);
    assert_eq!(hops(0), 32);
    assert_eq!(initial_ttl(255), 255);
    assert_eq!(hops(255), 0);
}

fn flow_with(server_ttl: (u8, u8, u8), synack: bool, rst: Option<(&str, u8, u32)>) -> Flow {
    let mut f = Flow {
        synack_frame: synack.then_some(2),
        ..Default::default()
    };
    f.attempts.syn_count = 1;
    f.client.packets = 2;
    f.client.ttl = Some(tcpwhy_common::records::flow::TtlStats {
        first: 64,
        min: 64,
        max: 64,
    });
    f.server.packets = u64::from(synack) + rst.map_or(0, |r| u64::from(r.2));
    f.server.ttl = Some(tcpwhy_common::records::flow::TtlStats {
        first: server_ttl.0,
        min: server_ttl.1,
        max: server_ttl.2,
    });
    f.rst = rst.map(|(from, ttl, count)| tcpwhy_common::records::flow::Rst {
        from: from.into(),
        ttl: Some(ttl),
        count,
        ..Default::default()
    });
    f
}

#[test]
fn non_rst_ttls_leave_the_rsts_out() {
    // Refused: the server sent only the RST.
    let f = flow_with((126, 126, 126), false, Some(("server", 126, 1)));
    assert_eq!(non_rst_ttls(&f, Which::Server), None);
    assert_eq!(non_rst_ttls(&f, Which::Client), Some((64, vec![64])));
    // SYN-ACK 126 then one forged RST 64: 64 is the RST's.
    let f = flow_with((126, 64, 126), true, Some(("server", 64, 1)));
    assert_eq!(non_rst_ttls(&f, Which::Server), Some((126, vec![126])));
    // SYN-ACK 126, a route change to 125, one RST 126: both non-RST values kept.
    let f = flow_with((126, 125, 126), true, Some(("server", 126, 1)));
    assert_eq!(non_rst_ttls(&f, Which::Server), Some((126, vec![125, 126])));
    // Two RSTs (126 first, then a forged 64): only the SYN-ACK's value.
    let f = flow_with((126, 64, 126), true, Some(("server", 126, 2)));
    assert_eq!(non_rst_ttls(&f, Which::Server), Some((126, vec![126])));
    // The client reset first, the server answered with RSTs only: none for the server.
    let mut f = flow_with((60, 60, 60), false, Some(("client", 64, 3)));
    f.server.packets = 2;
    assert_eq!(non_rst_ttls(&f, Which::Server), None);
    // No RST at all: the whole range.
    let f = flow_with((126, 120, 126), true, None);
    assert_eq!(non_rst_ttls(&f, Which::Server), Some((126, vec![120, 126])));
    assert!(side_hops(&f, Which::Server).unwrap().varies);
}

#[test]
fn os_hints_only_where_meaningful() {
    assert_eq!(os_hint(64), Some("linux/macos/unix"));
    assert_eq!(os_hint(128), Some("windows"));
    assert_eq!(os_hint(255), Some("network device"));
    assert_eq!(os_hint(32), None);
}

fn claim(ttl: u8) -> Claim<'static> {
    Claim {
        what: "RST".into(),
        frame: 3,
        from_ip: "172.16.0.1",
        role: "server",
        ip_version: 4,
        ttl: Some(ttl),
        ip_id: Some(14341),
        peer_ip_id: None,
    }
}

fn cap(basis: Basis, ttl: u8) -> Expect {
    Expect {
        basis,
        ttl: Some(ttl),
        initial: Some(initial_ttl(ttl)),
        hops: hops(ttl),
        others: vec![],
        count: 1,
    }
}

/// Evidence from the capture alone: the claimed sender's packets arrived with `ttl`.
fn seen(basis: Basis, ttl: u8) -> Evidence {
    Evidence {
        capture: Some(cap(basis, ttl)),
        ..Default::default()
    }
}

#[test]
fn seed_case_unknown_without_evidence_endpoint_with_hint() {
    let o = judge(&claim(126), &Evidence::default());
    assert_eq!(o.origin, "unknown");
    assert_eq!(o.basis, "none");
    assert_eq!(
        (o.initial_ttl, o.hops, o.at_hop),
        (Some(128), Some(2), Some(3))
    );
    assert!(
        o.reason.contains("leans towards the server"),
        "{}",
        o.reason
    );
    assert!(o.settle.unwrap().contains("--expect-hops"));
    assert_eq!(o.confidence, None);

    let ev = Evidence {
        user: Some(Expect::user(Basis::UserExpect, 2)),
        ..Default::default()
    };
    let o = judge(&claim(126), &ev);
    assert_eq!(o.origin, "endpoint");
    assert_eq!(o.basis, "user_expect");
    assert_eq!(o.confidence.as_deref(), Some("medium"));
    assert_eq!(o.expected_hops, Some(2));
    assert!(o.reason.contains("server itself"), "{}", o.reason);
}

#[test]
fn firewall_one_hop_from_client_is_middlebox_at_hop_1() {
    // Server at 2 routers with initial 128 (SYN-ACK TTL 126) elsewhere; RST TTL 64.
    let ev = seen(Basis::OtherFlows, 126);
    let o = judge(&claim(64), &ev);
    assert_eq!(o.origin, "middlebox");
    assert_eq!(o.hops, Some(0));
    assert_eq!(o.at_hop, Some(1));
    assert_eq!(o.confidence.as_deref(), Some("high"));
    assert_eq!(o.expected_hops, Some(2));
    // Same initial TTL, fewer hops: still a middlebox.
    let ev = seen(Basis::SameFlow, 62);
    let o = judge(&claim(63), &ev);
    assert_eq!((o.origin.as_str(), o.at_hop), ("middlebox", Some(2)));
}

#[test]
fn server_two_hops_away_is_endpoint() {
    let ev = seen(Basis::SameFlow, 126);
    let o = judge(&claim(126), &ev);
    assert_eq!(o.origin, "endpoint");
    assert_eq!(o.basis, "same_flow");
    assert_eq!(o.confidence.as_deref(), Some("high"));
}

#[test]
fn conflicting_evidence_is_unknown_with_a_way_to_settle_it() {
    // Server 126 (128, 2 routers); RST TTL 100: 128 - 28 routers: farther than the server.
    let ev = seen(Basis::OtherFlows, 126);
    let o = judge(&claim(100), &ev);
    assert_eq!(o.origin, "unknown");
    assert!(o.reason.contains("conflicts"), "{}", o.reason);
    assert!(o.settle.is_some());
    // Same distance, other initial TTL: another stack at the server's distance.
    let o = judge(&claim(62), &ev);
    assert_eq!(o.origin, "middlebox");
    assert_eq!(o.confidence.as_deref(), Some("medium"));
    // The user's hint disagrees with the capture: the capture wins, and it is said.
    let ev = Evidence {
        capture: Some(cap(Basis::OtherFlows, 126)),
        user: Some(Expect::user(Basis::UserExpect, 3)),
        ..Default::default()
    };
    let o = judge(&claim(126), &ev);
    assert_eq!(o.origin, "endpoint");
    assert!(o.reason.contains("the capture wins"), "{}", o.reason);
    // A hint that says the server is nearer than the RST: conflict.
    let ev = Evidence {
        user: Some(Expect::user(Basis::UserHops, 1)),
        ..Default::default()
    };
    assert_eq!(judge(&claim(126), &ev).origin, "unknown");
}

#[test]
fn ip_id_supports_or_weakens() {
    let ev = seen(Basis::SameFlow, 126);
    let mut c = claim(126);
    c.peer_ip_id = Some(14339);
    let o = judge(&c, &ev);
    assert_eq!(o.confidence.as_deref(), Some("high"));
    assert!(o.reason.contains("same counter"));
    c.peer_ip_id = Some(40000);
    let o = judge(&c, &ev);
    assert_eq!(o.origin, "endpoint");
    assert_eq!(o.confidence.as_deref(), Some("medium"));
    c.peer_ip_id = Some(0);
    assert_eq!(judge(&c, &ev).confidence.as_deref(), Some("high"));
}

#[test]
fn router_on_the_path_bounds_the_server_distance() {
    let ev = Evidence {
        router_hops: Some((1, "10.0.12.2".into())),
        ..Default::default()
    };
    let o = judge(&claim(64), &ev);
    assert_eq!(o.origin, "middlebox");
    assert_eq!(o.basis, "icmp_path");
    assert_eq!(judge(&claim(126), &ev).origin, "unknown");
}

#[test]
fn a_neighbour_is_mentioned_but_decides_nothing() {
    let ev = Evidence {
        neighbour: Some(("172.16.0.9".into(), 2)),
        ..Default::default()
    };
    let o = judge(&claim(126), &ev);
    assert_eq!(o.origin, "unknown");
    assert!(o.reason.contains("172.16.0.9 (same /24)"), "{}", o.reason);
    assert!(
        o.reason.contains("from the server's distance"),
        "{}",
        o.reason
    );
    assert!(judge(&claim(64), &ev).reason.contains("from nearer"));
}

#[test]
fn without_evidence_the_initial_ttl_gives_a_lean_not_a_verdict() {
    let none = Evidence::default();
    let lean = |ttl: u8, ev: &Evidence| {
        let o = judge(&claim(ttl), ev);
        assert_eq!(o.origin, "unknown");
        assert_eq!(o.confidence, None);
        o.lean
    };
    assert_eq!(lean(126, &none).as_deref(), Some("endpoint"));
    assert_eq!(lean(253, &none).as_deref(), Some("middlebox"));
    assert_eq!(
        lean(62, &none),
        None,
        "64 is hosts' and routers' default alike"
    );
    // A neighbour farther than the RST points nearer than the server: no endpoint lean.
    let nearer = Evidence {
        neighbour: Some(("172.16.0.9".into(), 5)),
        ..Default::default()
    };
    assert_eq!(lean(126, &nearer), None);
    let o = judge(&claim(126), &nearer);
    assert!(
        o.reason
            .contains("but the next clue points nearer than the server")
            && !o.reason.contains("leans towards the server"),
        "{}",
        o.reason
    );
    // Decided verdicts carry no lean.
    let same = seen(Basis::OtherFlows, 126);
    let o = judge(&claim(126), &same);
    assert_eq!((o.origin.as_str(), o.lean), ("endpoint", None));
}

#[test]
fn a_neighbour_that_is_the_flows_other_end_is_named_so() {
    let ev = Evidence {
        neighbour: Some(("10.0.0.1".into(), 0)),
        neighbour_is_peer: true,
        ..Default::default()
    };
    let o = judge(&claim(126), &ev);
    assert!(
        o.reason
            .contains("The client, 10.0.0.1 (same /24), is 0 routers away"),
        "{}",
        o.reason
    );
    assert!(!o.reason.contains("A neighbour"), "{}", o.reason);
}

#[test]
fn a_rst_without_ttl_is_unknown() {
    let mut c = claim(126);
    c.ttl = None;
    let o = judge(&c, &Evidence::default());
    assert_eq!(
        (o.origin.as_str(), o.hops, o.at_hop),
        ("unknown", None, None)
    );
    assert!(o.settle.unwrap().contains("frame.number == 3"));
}

#[test]
fn zero_hops_from_another_subnet_is_mentioned() {
    let ev = Evidence {
        other_subnet_local: Some("10.0.1.2".into()),
        ..Default::default()
    };
    let o = judge(&claim(64), &ev);
    assert_eq!(o.origin, "unknown");
    assert!(
        o.reason.contains("a device at hop 1 sent it"),
        "{}",
        o.reason
    );
    assert!(!judge(&claim(126), &ev).reason.contains("hop 1 sent"));
}

#[test]
fn ipv6_hop_limits() {
    let mut c = claim(62);
    c.ip_version = 6;
    c.from_ip = "fd00:2::2";
    let o = judge(&c, &Evidence::default());
    assert_eq!((o.initial_ttl, o.hops), (Some(64), Some(2)));
    assert!(o.reason.contains("hop limit 62"), "{}", o.reason);
    let ev = seen(Basis::SameFlow, 62);
    assert_eq!(judge(&c, &ev).origin, "endpoint");
    c.ttl = Some(64);
    assert_eq!(judge(&c, &ev).origin, "middlebox");
}

#[test]
fn icmp_from_a_router() {
    let c = Claim {
        what: "ICMP port unreachable".into(),
        frame: 9,
        from_ip: "10.0.12.2",
        role: "router",
        ip_version: 4,
        ttl: Some(63),
        ip_id: None,
        peer_ip_id: None,
    };
    let o = judge_router(&c, "server", None);
    assert_eq!(
        (o.origin.as_str(), o.hops, o.at_hop),
        ("middlebox", Some(1), Some(2))
    );
    assert_eq!(o.basis, "source_address");
    let s = cap(Basis::OtherFlows, 126);
    assert_eq!(
        judge_router(&c, "server", Some(&s)).confidence.as_deref(),
        Some("high")
    );
    let s = cap(Basis::OtherFlows, 64);
    assert_eq!(
        judge_router(&c, "server", Some(&s)).confidence.as_deref(),
        Some("medium")
    );
}

//! Stream-level tests on hand-written records (the real-stack captures are in tests/).

use clap::Parser;
use serde_json::{Value, json};

use super::*;
use tcpwhy_common::jsonl::JsonlReader;

/// A flow record as tcpflows writes it: a SYN from the client (TTL 64), and what the server
/// side sent (`server` = None: nothing).
fn flow(
    uid: &str,
    server_ip: &str,
    port: u16,
    server_ttl: Option<(u8, u8, u8)>,
    synack: bool,
    rst: Option<(u8, u32)>,
) -> Value {
    let server_packets = u64::from(synack) * 2 + u64::from(rst.is_some());
    json!({
        "type": "flow", "uid": uid, "ip_version": 4,
        "client_ip": "10.0.1.2", "client_port": 40000, "server_ip": server_ip, "server_port": port,
        "first_frame": 1, "last_frame": 3, "first_ts": 1.0, "last_ts": 1.5, "duration": 0.5,
        "state": if synack { "RSTR" } else { "REJ" }, "history": if synack { "ShADr" } else { "Sr" },
        "end": if rst.is_some() { "rst" } else { "fin" }, "midstream": false, "established": synack,
        "attempts": {"syn_count": 1, "frames": [1], "ts": [1.0], "intervals": []},
        "synack_frame": if synack { Some(2) } else { None },
        "rtt": {"syn_synack": null, "synack_ack": null},
        "client": {"packets": 2, "bytes": 0, "initial_window": 64240, "wscale": 7, "mss": 1460,
                   "sack_perm": true, "ttl": {"first": 64, "min": 64, "max": 64},
                   "first_ip_id": 1000, "retransmissions": 0, "zero_window": null, "fin_frame": null},
        "server": {"packets": server_packets, "bytes": if synack { 10 } else { 0 },
                   "initial_window": null, "wscale": null, "mss": null, "sack_perm": false,
                   "ttl": server_ttl.map(|(f, mn, mx)| json!({"first": f, "min": mn, "max": mx})),
                   "first_ip_id": if synack { Some(5000) } else { rst.map(|r| r.1) },
                   "retransmissions": 0, "zero_window": null, "fin_frame": null},
        "rst": rst.map(|(ttl, id)| json!({"from": "server", "frame": 3, "ts": 1.5, "ttl": ttl,
                   "ip_id": id, "flags": "RA", "seq_ok": true, "count": 1})),
        "icmp": [], "icmp_count": 0,
        "tcpflows_extra": {"kept": true}
    })
}

fn refused(uid: &str, ip: &str, ttl: u8) -> Value {
    flow(
        uid,
        ip,
        2383,
        Some((ttl, ttl, ttl)),
        false,
        Some((ttl, 14341)),
    )
}

fn ok(uid: &str, ip: &str, ttl: u8) -> Value {
    flow(uid, ip, 2725, Some((ttl, ttl, ttl)), true, None)
}

/// A connection to 172.16.0.1:80 answered with a SYN-ACK, then reset: the server's TTLs
/// (first, min, max) and the RST's (TTL, IP ID).
fn reset_after_synack(uid: &str, server_ttl: (u8, u8, u8), rst: (u8, u32)) -> Value {
    flow(uid, "172.16.0.1", 80, Some(server_ttl), true, Some(rst))
}

fn lines(recs: &[Value]) -> String {
    recs.iter().map(|r| format!("{r}\n")).collect()
}

fn run_on(input: &str, extra: &[&str]) -> (anyhow::Result<Exit>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("in.jsonl");
    std::fs::write(&p, input).unwrap();
    let mut argv = vec!["ttlhops".to_string()];
    argv.extend(extra.iter().map(std::string::ToString::to_string));
    argv.push(p.display().to_string());
    let args = Args::try_parse_from(argv).unwrap();
    let mut w = JsonlWriter::new(Vec::new());
    let res = run(args, &mut w);
    let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
    (res, out.lines().map(str::to_string).collect())
}

fn parse(l: &str) -> Value {
    serde_json::from_str(l).unwrap()
}

/// The records of type `kind` in the output, parsed.
fn of_type(out: &[String], kind: &str) -> Vec<Value> {
    out.iter()
        .map(|l| parse(l))
        .filter(|v| v["type"] == kind)
        .collect()
}

fn flows(out: &[String]) -> Vec<Value> {
    of_type(out, "flow")
}

#[test]
fn seed_case_alone_is_unknown_and_says_what_would_settle_it() {
    let (res, out) = run_on(&lines(&[refused("C1", "172.16.0.1", 126)]), &[]);
    assert_eq!(res.unwrap(), Exit::Ok);
    let f = &flows(&out)[0];
    let r = &f["ttlhops"]["rst"];
    assert_eq!(r["origin"], "unknown");
    assert_eq!(r["hops"], 2);
    assert_eq!(r["initial_ttl"], 128);
    assert!(r["settle"].as_str().unwrap().contains("--expect-hops"));
    assert_eq!(
        f["ttlhops"]["server"],
        Value::Null,
        "only RSTs: no server distance"
    );
    assert_eq!(f["ttlhops"]["client"]["hops"], 0);
}

#[test]
fn seed_case_with_expect_hops_is_endpoint() {
    let (_, out) = run_on(
        &lines(&[refused("C1", "172.16.0.1", 126)]),
        &["--expect-hops", "2"],
    );
    let r = &flows(&out)[0]["ttlhops"]["rst"];
    assert_eq!(r["origin"], "endpoint");
    assert_eq!(r["basis"], "user_expect");
    assert_eq!(r["confidence"], "medium");
    let (_, out) = run_on(
        &lines(&[refused("C1", "172.16.0.1", 126)]),
        &["--hops", "172.16.0.1=3", "--expect-hops", "2"],
    );
    let r = &flows(&out)[0]["ttlhops"]["rst"];
    assert_eq!(r["origin"], "middlebox", "--hops wins over --expect-hops");
    assert_eq!(r["basis"], "user_hops");
}

#[test]
fn later_evidence_resolves_a_held_flow_and_order_is_kept() {
    let input = lines(&[
        refused("C1", "172.16.0.1", 126),
        json!({"type": "note", "text": "between"}),
        ok("C2", "172.16.0.1", 126),
    ]);
    let (_, out) = run_on(&input, &[]);
    let types: Vec<String> = out
        .iter()
        .map(|l| parse(l)["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, ["flow", "note", "flow", "host", "host"]);
    let fl = flows(&out);
    assert_eq!(fl[0]["uid"], "C1");
    let r = &fl[0]["ttlhops"]["rst"];
    assert_eq!(r["origin"], "endpoint", "{r}");
    assert_eq!(r["basis"], "other_flows");
    assert_eq!(r["confidence"], "high");
    assert_eq!(r["expected_hops"], 2);
    // The pass-through record is byte for byte what came in.
    assert_eq!(out[1], r#"{"type":"note","text":"between"}"#);

    // --no-wait: decided with what is known when the flow arrives.
    let (_, out) = run_on(&input, &["--no-wait"]);
    assert_eq!(flows(&out)[0]["ttlhops"]["rst"]["origin"], "unknown");
}

#[test]
fn forged_rst_before_and_after_the_evidence_is_middlebox_at_hop_1() {
    for order in [0, 1] {
        let mut recs = vec![ok("C2", "172.16.0.1", 126), refused("C1", "172.16.0.1", 64)];
        if order == 1 {
            recs.reverse();
        }
        let (_, out) = run_on(&lines(&recs), &[]);
        let fl = flows(&out);
        let c1 = fl.iter().find(|f| f["uid"] == "C1").unwrap();
        let r = &c1["ttlhops"]["rst"];
        assert_eq!(r["origin"], "middlebox", "{r}");
        assert_eq!(r["at_hop"], 1);
        assert_eq!(r["hops"], 0);
        assert_eq!(r["expected_hops"], 2);
        let hosts = of_type(&out, "host");
        let s = hosts.iter().find(|h| h["ip"] == "172.16.0.1").unwrap();
        assert_eq!(s["ttls"], json!([126]));
        assert_eq!(s["rst_ttls"], json!([64]));
        assert_eq!(s["middlebox_rsts"], 1);
        assert_eq!(s["os_hint"], "windows");
        assert_eq!(s["source"], "flows");
    }
}

#[test]
fn rst_after_synack_in_the_same_flow() {
    // SYN-ACK TTL 126, then a RST TTL 64: the range is 64..126, first 126.
    let f = reset_after_synack("C3", (126, 64, 126), (64, 7));
    let (_, out) = run_on(&lines(&[f]), &[]);
    let th = &flows(&out)[0]["ttlhops"];
    assert_eq!(th["rst"]["origin"], "middlebox");
    assert_eq!(th["rst"]["basis"], "same_flow");
    assert_eq!(th["server"]["hops"], 2);
    assert_eq!(th["server"]["varies"], false);
    // And a RST that matches the SYN-ACK.
    let f = reset_after_synack("C4", (126, 126, 126), (126, 5003));
    let (_, out) = run_on(&lines(&[f]), &[]);
    let r = &flows(&out)[0]["ttlhops"]["rst"];
    assert_eq!(r["origin"], "endpoint");
    assert_eq!(r["peer_ip_id"], 5000);
    assert!(
        r["reason"].as_str().unwrap().contains("same counter"),
        "{r}"
    );
}

#[test]
fn enrichment_keeps_the_flow_byte_for_byte_and_adds_one_field() {
    let f = ok("C2", "172.16.0.1", 126).to_string();
    let (_, out) = run_on(&format!("{f}\n"), &[]);
    assert!(out[0].starts_with(&f[..f.len() - 1]));
    assert!(out[0].ends_with("}}"));
    let v = parse(&out[0]);
    assert_eq!(v["tcpflows_extra"]["kept"], true);
    // Running twice replaces the field rather than adding a second one.
    let (_, out2) = run_on(&format!("{}\n", out[0]), &[]);
    assert_eq!(out2[0].matches("\"ttlhops\"").count(), 1);
    assert_eq!(parse(&out2[0])["ttlhops"], v["ttlhops"]);
}

#[test]
fn icmp_from_a_router_and_from_the_server() {
    let mut f = flow("C5", "192.168.2.2", 2383, None, false, None);
    f["server"]["packets"] = json!(0);
    f["icmp"] = json!([
        {"from_ip": "10.0.12.2", "proto": "icmp", "icmp_type": 3, "icmp_code": 13,
         "description": "administratively prohibited", "frame": 2, "ts": 1.1, "ttl": 63},
        {"from_ip": "192.168.2.2", "proto": "icmp", "icmp_type": 3, "icmp_code": 3,
         "description": "port unreachable", "frame": 3, "ts": 1.2, "ttl": 62}
    ]);
    f["icmp_count"] = json!(2);
    let (_, out) = run_on(&lines(&[f]), &["--expect-hops", "2"]);
    let th = &flows(&out)[0]["ttlhops"];
    assert_eq!(th["icmp"][0]["origin"], "middlebox");
    assert_eq!(th["icmp"][0]["at_hop"], 2);
    assert_eq!(th["icmp"][0]["basis"], "source_address");
    assert_eq!(th["icmp"][1]["origin"], "endpoint");
    assert_eq!(th["rst"], Value::Null);
    let hosts = of_type(&out, "host");
    let r = hosts.iter().find(|h| h["ip"] == "10.0.12.2").unwrap();
    assert_eq!(r["icmp_errors"], 1);
    assert_eq!(r["hops"], 1);
    // The server's own ICMP error is counted, its TTL is not taken as the server's distance.
    let srv = hosts.iter().find(|h| h["ip"] == "192.168.2.2").unwrap();
    assert_eq!(srv["icmp_errors"], 1);
    assert_eq!(srv["ttls"], json!([]));
    assert_eq!(srv["hops"], Value::Null);
}

#[test]
fn a_router_on_the_path_places_an_otherwise_unknown_rst() {
    let mut f = flow("C6", "192.168.2.2", 2383, None, false, None);
    f["server"]["packets"] = json!(0);
    f["icmp"] = json!([{"from_ip": "10.0.12.2", "proto": "icmp", "icmp_type": 11,
        "icmp_code": 0, "description": "ttl exceeded", "frame": 2, "ts": 1.1, "ttl": 63}]);
    let r = refused("C7", "192.168.2.2", 64);
    let (_, out) = run_on(&lines(&[f, r]), &[]);
    let o = &flows(&out)[1]["ttlhops"]["rst"];
    assert_eq!(o["origin"], "middlebox", "{o}");
    assert_eq!(o["basis"], "icmp_path");
}

#[test]
fn packets_feed_host_records_and_pass_through() {
    let pk = |frame: u64, src: &str, dst: &str, ttl: u8, flags: &str| {
        format!(
            r#"{{"type":"packet","frame":{frame},"ts":1.{frame},"iface":0,"link":"ether","len":60,"caplen":60,"decode_error":null,"ip_version":4,"src_ip":"{src}","dst_ip":"{dst}","ttl":{ttl},"ip_id":1,"df":true,"mf":false,"frag_offset":0,"ip_proto":6,"proto":"tcp","src_port":1,"dst_port":2,"seq":0,"ack":0,"tcp_flags":"{flags}","window":0,"payload_len":0,"mss":null,"wscale":null,"sack_perm":false,"sack":null,"tsval":null,"tsecr":null}}"#
        )
    };
    let input = [
        pk(1, "10.0.1.2", "172.16.0.1", 64, "S"),
        pk(2, "172.16.0.1", "10.0.1.2", 126, "SA"),
        pk(3, "172.16.0.1", "10.0.1.2", 64, "RA"),
    ]
    .join("\n");
    let (_, out) = run_on(&input, &[]);
    assert_eq!(out.len(), 5);
    assert_eq!(out[..3].join("\n"), input);
    let h = parse(&out[4]);
    assert_eq!(h["ip"], "172.16.0.1");
    assert_eq!(h["packets"], 2);
    assert_eq!(h["ttls"], json!([126]));
    assert_eq!(h["rst_ttls"], json!([64]));
    assert_eq!(h["source"], "packets");
    let (_, out) = run_on(&input, &["--drop-packets"]);
    assert_eq!(out.len(), 2);
    let (_, out) = run_on(&input, &["--drop-packets", "--no-hosts"]);
    assert!(out.is_empty());
}

#[test]
fn bad_line_is_an_error_naming_the_line_after_everything_before_it() {
    let input = format!(
        "{}\n{{\"type\":\"x\"}}\nnot json\n{}\n",
        refused("C1", "172.16.0.1", 126),
        ok("C2", "172.16.0.1", 126)
    );
    let (res, out) = run_on(&input, &[]);
    let e = format!("{:#}", res.unwrap_err());
    assert!(e.contains("line 3"), "{e}");
    // The held flow and the record behind it are written, decided with what was known.
    assert_eq!(flows(&out).len(), 1);
    assert_eq!(parse(&out[1]), json!({"type": "x"}));
    // A flow that does not match the record contract is an error too.
    let (res, _) = run_on("{\"type\":\"flow\",\"uid\":5}\n", &[]);
    assert!(format!("{:#}", res.unwrap_err()).contains("line 1"));
}

#[test]
fn held_records_are_bounded() {
    let mut recs = vec![refused("C1", "172.16.0.1", 126)];
    for i in 0..5 {
        recs.push(json!({"type": "note", "i": i}));
    }
    let input = lines(&recs);
    let args = Args::try_parse_from(["ttlhops", "--max-held", "3"]).unwrap();
    let mut st = State::new(&args);
    let mut w = JsonlWriter::new(Vec::new());
    let mut rd = JsonlReader::new(input.as_bytes(), "t");
    let mut max_q = 0;
    while let Some(l) = rd.next_line(&mut tcpwhy_common::jsonl::NoFlush).unwrap() {
        let ty = l.record_type().unwrap();
        st.handle(l, &ty, &mut w).unwrap();
        max_q = max_q.max(st.queue.len());
    }
    assert!(max_q <= 3, "{max_q}");
    st.end_of_input(&mut w).unwrap();
    let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
    assert!(out.starts_with("{\"type\":\"flow\""));
}

#[test]
fn wait_limits_holding_by_capture_time() {
    let mut later = ok("C9", "10.9.9.9", 64);
    later["last_ts"] = json!(100.0);
    let input = lines(&[refused("C1", "172.16.0.1", 126), later]);
    let (_, out) = run_on(&input, &["--wait", "10"]);
    assert_eq!(flows(&out)[0]["uid"], "C1");
    let (res, _) = run_on(&input, &["--wait=-1"]);
    assert!(res.is_err());
}

#[test]
fn a_tick_decides_a_held_flow_after_the_live_wait() {
    // C1's RST (TTL 126) waits for evidence of 172.16.0.1's distance (C2 brings it); C1's
    // last_ts is 1.5. Output order is input order either way: what the tick changes is when
    // C1 is decided, so with what evidence.
    let origin = |tick_ts: f64| {
        let input = lines(&[
            refused("C1", "172.16.0.1", 126),
            json!({"type": "tick", "ts": tick_ts}),
            ok("C2", "172.16.0.1", 126),
        ]);
        let (res, out) = run_on(&input, &[]);
        res.unwrap();
        let types: Vec<String> = out
            .iter()
            .map(|l| parse(l)["type"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            types[..3],
            ["flow", "tick", "flow"],
            "the tick passes in place"
        );
        assert_eq!(
            out[1],
            format!("{}", json!({"type": "tick", "ts": tick_ts})),
            "byte for byte"
        );
        flows(&out)[0]["ttlhops"]["rst"]["origin"].clone()
    };
    assert_eq!(
        origin(1.5 + LIVE_WAIT + 0.5),
        "unknown",
        "decided at the tick, with what was known"
    );
    assert_eq!(origin(1.5 + LIVE_WAIT - 0.5), "endpoint", "still waited");
}

#[test]
fn hint_parsing() {
    assert_eq!(
        parse_hint("172.16.0.1=2").unwrap(),
        ("172.16.0.1".to_string(), 2)
    );
    assert_eq!(parse_hint("fd00::1=3").unwrap(), ("fd00::1".to_string(), 3));
    assert!(parse_hint("172.16.0.1").is_err());
    assert!(parse_hint("host=2").is_err());
    assert!(parse_hint("1.2.3.4=300").is_err());
}

#[test]
fn a_hint_decided_flow_waits_for_the_capture_s_own_evidence() {
    let input = lines(&[
        refused("C1", "172.16.0.1", 126),
        ok("C2", "172.16.0.1", 126),
    ]);
    let (_, out) = run_on(&input, &["--expect-hops", "2"]);
    let r = &flows(&out)[0]["ttlhops"]["rst"];
    assert_eq!(
        r["basis"], "other_flows",
        "the capture outranks the hint: {r}"
    );
    assert_eq!(r["confidence"], "high");
    let (_, out) = run_on(&input, &["--expect-hops", "2", "--no-wait"]);
    assert_eq!(flows(&out)[0]["ttlhops"]["rst"]["basis"], "user_expect");
}

#[test]
fn an_explicit_null_ttlhops_is_replaced_not_duplicated() {
    let mut f = ok("C2", "172.16.0.1", 126);
    f["ttlhops"] = Value::Null;
    let (_, out) = run_on(&lines(&[f]), &["--no-hosts"]);
    assert_eq!(out[0].matches("\"ttlhops\"").count(), 1);
    assert_eq!(parse(&out[0])["ttlhops"]["server"]["hops"], 2);
}

#[test]
fn hints_match_addresses_in_any_spelling() {
    let mut f = refused("C1", "fd00::1", 126);
    f["ip_version"] = json!(6);
    f["client_ip"] = json!("fd00::2");
    let (_, out) = run_on(&lines(&[f]), &["--hops", "FD00:0:0::1=2"]);
    let r = &flows(&out)[0]["ttlhops"]["rst"];
    assert_eq!(r["origin"], "endpoint", "{r}");
    assert_eq!(r["basis"], "user_hops");
    assert!(r["reason"].as_str().unwrap().contains("hop limit 126"));
}

#[test]
fn an_address_only_sent_to_gets_no_host_record() {
    let mut f = flow("C8", "192.168.9.9", 80, None, false, None);
    f["server"]["packets"] = json!(0);
    f["state"] = json!("S0");
    let (_, out) = run_on(&lines(&[f]), &[]);
    let hosts = of_type(&out, "host");
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0]["ip"], "10.0.1.2");
}

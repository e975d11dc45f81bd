//! tcpflows' tracker on packet lines written per docs/schema.md, each rule where it must fire
//! and where it must not: how a connection is found, keyed and ended (refusals and their RSTs,
//! ISNs, the handshake's RTTs and options, the ladder, IPv6, ICMP errors, time order and
//! midstream pickup, timeouts, reuse and eviction), and what stalls an established one (zero
//! windows and their probes, retransmissions, keep-alives, a full window) and what it was left
//! waiting for. The command line around it: `cli.rs`; real captures: tests/tests/tcpflows_*.rs.

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

mod common;

use common::*;
use serde_json::Value;

#[test]
fn refused_with_same_isn_retries_is_one_rej_flow_with_three_attempts() {
    let f = ok(&input(&refused_windows()), &[]);
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(f["state"], "REJ");
    assert_eq!(f["history"], "Sr");
    assert_eq!(f["end"], "rst");
    assert_eq!(f["client_ip"], C);
    assert_eq!(f["server_port"], 2383);
    assert_eq!(f["attempts"]["syn_count"], 3);
    assert_eq!(f["attempts"]["frames"], serde_json::json!([1, 3, 5]));
    assert_eq!(f["attempts"]["intervals"], serde_json::json!([0.5, 0.5]));
    assert_eq!(f["rst"]["from"], "server");
    assert_eq!(f["rst"]["ttl"], 126);
    assert_eq!(f["rst"]["ip_id"], 1002);
    assert_eq!(f["rst"]["flags"], "RA");
    assert_eq!(f["rst"]["seq_check"], "exact");
    assert_eq!(f["rst"]["seq_ok"], true);
    assert_eq!(f["rst"]["count"], 3);
    // Every RST is listed, the middle one too.
    assert_eq!(f["rst"]["frames"], serde_json::json!([2, 4, 6]));
    assert_eq!(f["established"], false);
    // tshark flags the repeated SYNs as retransmissions
    assert_eq!(f["client"]["retransmissions"], 2);
    assert_eq!(f["synack_frame"], Value::Null);
}

#[test]
fn a_new_isn_after_a_rst_is_a_new_flow() {
    // Linux: every connect() picks a new ISN, even from the same source port
    let v = vec![
        p(1, 1.0, (C, 20531), (S, 2383), "S", 100, 0, 64240, 0),
        p(2, 1.001, (S, 2383), (C, 20531), "RA", 0, 101, 0, 0),
        p(3, 1.5, (C, 20531), (S, 2383), "S", 9000, 0, 64240, 0),
        p(4, 1.501, (S, 2383), (C, 20531), "RA", 0, 9001, 0, 0),
    ];
    let f = ok(&input(&v), &[]);
    assert_eq!(f.len(), 2);
    assert!(
        f.iter()
            .all(|f| f["state"] == "REJ" && f["attempts"]["syn_count"] == 1)
    );
    assert_ne!(f[0]["uid"], f[1]["uid"]);
}

#[test]
fn a_rst_with_a_wrong_ack_is_unacceptable() {
    let v = vec![
        p(1, 1.0, (C, 2000), (S, 80), "S", 100, 0, 64240, 0),
        p(2, 1.001, (S, 80), (C, 2000), "RA", 0, 5555, 0, 0),
    ];
    let f = ok(&input(&v), &[]);
    assert_eq!(f[0]["rst"]["seq_check"], "unacceptable");
    assert_eq!(f[0]["rst"]["seq_ok"], false);
}

#[test]
fn normal_connection_is_sf_with_rtts_and_options() {
    let v = vec![
        p(1, 1.0, (C, 40001), (S, 80), "S", 100, 0, 64240, 0),
        p(2, 1.01, (S, 80), (C, 40001), "SA", 500, 101, 65535, 0).ttl(62),
        p(3, 1.011, (C, 40001), (S, 80), "A", 101, 501, 502, 0),
        p(4, 1.012, (C, 40001), (S, 80), "PA", 101, 501, 502, 100),
        p(5, 1.03, (S, 80), (C, 40001), "PA", 501, 201, 501, 1000).ttl(61),
        p(6, 1.04, (C, 40001), (S, 80), "FA", 201, 1501, 502, 0),
        p(7, 1.05, (S, 80), (C, 40001), "FA", 1501, 202, 501, 0).ttl(62),
        p(8, 1.051, (C, 40001), (S, 80), "A", 202, 1502, 502, 0),
    ];
    let f = ok(&input(&v), &[]);
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(f["state"], "SF");
    assert_eq!(f["history"], "ShADdFf");
    assert_eq!(f["end"], "fin");
    assert_eq!(f["midstream"], false);
    assert_eq!(f["duration"], 0.051);
    assert_eq!(f["first_ts"], 1.0);
    assert_eq!(f["client"]["packets"], 5);
    assert_eq!(f["client"]["bytes"], 100);
    assert_eq!(f["server"]["bytes"], 1000);
    assert_eq!(f["server"]["wire_bytes"], 54 * 3 + 1000);
    assert_eq!(f["client"]["mss"], 1460);
    assert_eq!(f["client"]["initial_window"], 64240);
    assert_eq!(f["server"]["initial_window"], 65535);
    assert_eq!(f["server"]["isn"], 500);
    assert_eq!(
        f["server"]["ttl"],
        serde_json::json!({"first":62,"min":61,"max":62})
    );
    assert_eq!(f["client"]["fin_frame"], 6);
    assert_eq!(f["server"]["fin_frame"], 7);
    assert_eq!(f["rtt"]["syn_synack"], 0.01);
    assert_eq!(f["rtt"]["synack_ack"], 0.001);
    assert_eq!(f["rtt"]["initial"], 0.011);
    assert_eq!(f["rst"], Value::Null);
    assert_eq!(f["client"]["retransmissions"], 0);
    assert_eq!(f["server"]["zero_window"], Value::Null);
    // the uid is deterministic
    let again = ok(&input(&v), &[]);
    assert_eq!(again[0]["uid"], f["uid"]);
    assert!(f["uid"].as_str().unwrap().starts_with('C'));
    assert_eq!(f["uid"].as_str().unwrap().len(), 18);
}

#[test]
fn ladder_is_left_out_of_plain_healthy_flows_unless_asked() {
    let plain = vec![
        p(1, 1.0, (C, 40001), (S, 80), "S", 100, 0, 64240, 0),
        p(2, 1.01, (S, 80), (C, 40001), "SA", 500, 101, 65535, 0),
        p(3, 1.011, (C, 40001), (S, 80), "A", 101, 501, 64240, 0),
        p(4, 1.012, (C, 40001), (S, 80), "PA", 101, 501, 64240, 100),
        p(5, 1.03, (S, 80), (C, 40001), "PA", 501, 201, 65535, 1000),
        p(6, 1.04, (C, 40001), (S, 80), "FA", 201, 1501, 64240, 0),
        p(7, 1.05, (S, 80), (C, 40001), "FA", 1501, 202, 65535, 0),
        p(8, 1.051, (C, 40001), (S, 80), "A", 202, 1502, 64240, 0),
    ];
    let f = ok(&input(&plain), &[]);
    assert_eq!(f[0]["state"], "SF");
    assert!(f[0].get("ladder").is_none(), "{}", f[0]);
    let all = ok(&input(&plain), &["--ladder", "all"]);
    assert_eq!(all[0]["ladder"]["steps"].as_array().unwrap().len(), 8);
    assert_eq!(
        all[0]["ladder"]["steps"][1],
        serde_json::json!([2, 10000, "s", "SA", 0, 1, 0, 65535, 64])
    );
    // A slow handshake, a retransmission, a refusal: each keeps its ladder.
    let mut slow = plain.clone();
    slow[0] = p(1, 0.4, (C, 40001), (S, 80), "S", 100, 0, 64240, 0);
    assert!(ok(&input(&slow), &[])[0].get("ladder").is_some());
    let mut again = plain.clone();
    again.insert(
        5,
        p(9, 1.035, (S, 80), (C, 40001), "PA", 501, 201, 65535, 1000),
    );
    assert!(ok(&input(&again), &[])[0].get("ladder").is_some());
    let refused = ok(&input(&refused_windows()), &[]);
    assert!(refused[0].get("ladder").is_some());
    let none = ok(&input(&refused_windows()), &["--ladder", "none"]);
    assert!(none[0].get("ladder").is_none());
}

#[test]
fn ipv6_flows() {
    let a = "2001:db8:10::10";
    let b = "2001:db8:20::20";
    let v = vec![
        p(1, 1.0, (a, 20531), (b, 2383), "S", 1, 0, 64800, 0),
        p(2, 1.001, (b, 2383), (a, 20531), "RA", 0, 2, 0, 0).ttl(126),
    ];
    let f = ok(&input(&v), &[]);
    assert_eq!(f[0]["ip_version"], 6);
    assert_eq!(f[0]["client_ip"], a);
    assert_eq!(f[0]["state"], "REJ");
    assert_eq!(f[0]["rst"]["ip_id"], Value::Null);
}

#[test]
fn icmp_errors_quoting_the_connection_are_attached() {
    let server = ("203.0.113.14", 80);
    let syn = p(1, 1.0, (C, 44916), server, "S", 100, 0, 64240, 0);
    let icmp = r#"{"type":"packet","frame":2,"ts":1.002,"iface":0,"link":"ether","len":70,"caplen":70,"src_mac":"00:00:00:00:00:02","dst_mac":"00:00:00:00:00:01","vlan":null,"ethertype":2048,"ip_version":4,"src_ip":"192.0.2.2","dst_ip":"10.0.0.1","ttl":63,"ip_id":5,"df":false,"mf":false,"frag_offset":0,"ip_proto":1,"proto":"icmp","icmp_type":3,"icmp_code":1,"icmp_inner":{"src_ip":"10.0.0.1","dst_ip":"203.0.113.14","ip_proto":6,"ttl":63,"ip_id":1001,"src_port":44916,"dst_port":80,"seq":100},"decode_error":null}"#;
    let other = r#"{"type":"packet","frame":3,"ts":1.003,"ip_version":4,"src_ip":"192.0.2.2","dst_ip":"10.0.0.1","ttl":63,"ip_proto":1,"proto":"icmp","icmp_type":3,"icmp_code":3,"icmp_inner":{"src_ip":"10.0.0.1","dst_ip":"203.0.113.99","ip_proto":6,"ttl":63,"src_port":1,"dst_port":2,"seq":1}}"#;
    let o = run(&format!("{}\n{icmp}\n{other}\n", syn.line()), &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    // ICMP packets pass through
    assert!(o.stdout.lines().any(|l| l == icmp));
    let f = flows(&o);
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(f["state"], "S0");
    assert_eq!(f["icmp_count"], 1);
    tcpwhy_tests::assert_has(
        &f["icmp"][0],
        &serde_json::json!({"from_ip": "192.0.2.2", "proto": "icmp", "icmp_type": 3,
            "icmp_code": 1, "description": "host unreachable", "frame": 2, "ttl": 63,
            "quoted": "client"}),
    );
}

#[test]
fn midstream_pickup_uses_the_server_port_heuristic() {
    // first packet from the server port 443: the receiver is the client
    let v = vec![
        p(1, 1.0, (S, 443), (C, 51000), "PA", 500, 100, 501, 100),
        p(2, 1.01, (C, 51000), (S, 443), "A", 100, 600, 502, 0),
    ];
    let f = ok(&input(&v), &[]);
    assert_eq!(f[0]["client_ip"], C);
    assert_eq!(f[0]["client_port"], 51000);
    assert_eq!(f[0]["state"], "OTH");
    assert_eq!(f[0]["history"], "^dA");
    assert_eq!(f[0]["midstream"], true);
    // both ephemeral: the sender of the first packet is the client
    let v = vec![p(1, 1.0, (S, 50000), (C, 51000), "PA", 500, 100, 501, 100)];
    let f = ok(&input(&v), &[]);
    assert_eq!(f[0]["client_port"], 50000);
    assert_eq!(f[0]["history"], "D");
}

#[test]
fn synack_before_syn_is_put_back_in_time_order() {
    let v = vec![
        p(1, 1.01, (S, 80), (C, 40001), "SA", 500, 101, 65535, 0),
        p(2, 1.0, (C, 40001), (S, 80), "S", 100, 0, 64240, 0),
        p(3, 1.011, (C, 40001), (S, 80), "A", 101, 501, 502, 0),
    ];
    let f = ok(&input(&v), &[]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["history"], "ShA");
    assert_eq!(f[0]["rtt"]["syn_synack"], 0.01);
    assert_eq!(f[0]["first_frame"], 1);
    assert_eq!(f[0]["first_ts"], 1.0);
    // in input order (as tshark) Zeek's reversal rule gives the flipped history
    let f = ok(&input(&v), &["--reorder-window", "0"]);
    assert_eq!(f[0]["history"], "^hSA");
    assert_eq!(f[0]["client_ip"], C);
}

#[test]
fn packets_later_than_the_reorder_window_are_counted_and_still_tracked() {
    let v = vec![
        p(1, 10.0, (C, 40001), (S, 80), "S", 100, 0, 64240, 0),
        p(2, 10.01, (S, 80), (C, 40001), "SA", 500, 101, 65535, 0),
        p(3, 12.0, (C, 40009), (S, 80), "S", 7, 0, 64240, 0),
        // 1.99 s late: beyond the default 0.25 s window
        p(4, 10.011, (C, 40001), (S, 80), "A", 101, 501, 502, 0),
    ];
    let o = run(&input(&v), &[]);
    assert_eq!(o.code, 0);
    assert!(
        o.stderr.contains("1 TCP packets came more than"),
        "{}",
        o.stderr
    );
    let f = flows(&o);
    let x = f.iter().find(|f| f["client_port"] == 40001).unwrap();
    // handled where it came, in its own flow: the handshake still completes
    assert_eq!(x["history"], "ShA");
    assert_eq!(x["established"], true);
    // a window wide enough puts it back in order without a warning
    let o = run(&input(&v), &["--reorder-window", "3"]);
    assert!(o.stderr.is_empty(), "{}", o.stderr);
}

#[test]
fn syn_timeout_is_s0_with_linux_backoff_and_times_out() {
    let mut v = vec![];
    for (k, d) in [0.0, 1.0, 3.0, 7.0].iter().enumerate() {
        let (frame, t) = (k as u64 + 1, 100.0 + d);
        v.push(p(frame, t, (C, 40000), (S, 8080), "S", 1234, 0, 64240, 0));
    }
    // an unrelated packet 61 s after the last SYN: the attempt times out before it
    v.push(p(5, 168.5, (C, 40002), (S, 80), "S", 1, 0, 64240, 0));
    let o = run(&input(&v), &[]);
    let f = flows(&o);
    assert_eq!(f.len(), 2);
    assert_eq!(f[0]["state"], "S0");
    assert_eq!(f[0]["history"], "S");
    assert_eq!(f[0]["end"], "timeout");
    assert_eq!(f[0]["attempts"]["syn_count"], 4);
    assert_eq!(
        f[0]["attempts"]["intervals"],
        serde_json::json!([1.0, 2.0, 4.0])
    );
    assert_eq!(f[1]["end"], "capture_end");
    // 59 s later: still one flow with 5 attempts
    v.pop();
    v.push(p(5, 166.0, (C, 40000), (S, 8080), "S", 1234, 0, 64240, 0));
    let f = ok(&input(&v), &[]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["attempts"]["syn_count"], 5);
    // --attempt-timeout shortens it
    let f = ok(&input(&v), &["--attempt-timeout", "30"]);
    assert_eq!(f.len(), 2);
}

#[test]
fn idle_timeout_ends_an_established_connection() {
    let v = vec![
        p(1, 1.0, (C, 40001), (S, 80), "S", 100, 0, 64240, 0),
        p(2, 1.01, (S, 80), (C, 40001), "SA", 500, 101, 65535, 0),
        p(3, 1.02, (C, 40001), (S, 80), "A", 101, 501, 502, 0),
        p(4, 400.0, (C, 40003), (S, 80), "S", 7, 0, 64240, 0),
    ];
    let f = ok(&input(&v), &[]);
    assert_eq!(f[0]["state"], "S1");
    assert_eq!(f[0]["end"], "timeout");
    let f = ok(&input(&v), &["--idle-timeout", "500"]);
    assert_eq!(f[0]["end"], "capture_end");
    assert_eq!(f[0]["client_port"], 40001);
}

#[test]
fn a_new_isn_on_an_open_connection_ends_it_with_reuse() {
    let v = vec![
        p(1, 1.0, (C, 40001), (S, 80), "S", 100, 0, 64240, 0),
        p(2, 1.01, (S, 80), (C, 40001), "SA", 500, 101, 65535, 0),
        p(3, 1.02, (C, 40001), (S, 80), "A", 101, 501, 502, 0),
        p(4, 5.0, (C, 40001), (S, 80), "S", 777777, 0, 64240, 0),
        p(5, 5.01, (S, 80), (C, 40001), "SA", 9, 777778, 65535, 0),
    ];
    let f = ok(&input(&v), &[]);
    assert_eq!(f.len(), 2);
    assert_eq!(f[0]["end"], "reuse");
    assert_eq!(f[0]["last_frame"], 3);
    assert_eq!(f[1]["first_frame"], 4);
    assert_eq!(f[1]["state"], "S1");
}

#[test]
fn max_flows_evicts_the_least_recently_active_and_says_so() {
    let v = vec![
        p(1, 1.0, (C, 1001), (S, 80), "S", 1, 0, 64240, 0),
        p(2, 2.0, (C, 1002), (S, 80), "S", 2, 0, 64240, 0),
        p(3, 3.0, (C, 1001), (S, 80), "S", 1, 0, 64240, 0),
        p(4, 4.0, (C, 1003), (S, 80), "S", 3, 0, 64240, 0),
    ];
    let o = run(&input(&v), &["--max-flows", "2"]);
    assert_eq!(o.code, 0);
    let f = flows(&o);
    assert_eq!(f.len(), 3);
    assert_eq!(f[0]["client_port"], 1002);
    assert_eq!(f[0]["end"], "evicted");
    assert!(f[1..].iter().all(|f| f["end"] == "capture_end"));
    assert!(o.stderr.contains("evict"), "{}", o.stderr);
    // without the limit nothing is evicted
    let o = run(&input(&v), &[]);
    assert!(flows(&o).iter().all(|f| f["end"] != "evicted"));
    assert!(o.stderr.is_empty());
}

/// Issue 16, reproducer 6: a SYN flood fills only the attempt table (`--max-attempts`): the
/// oldest SYN-only flows are evicted (written at once with `"end":"evicted"`), an established
/// connection is never evicted for them, and `--max-flows` evicts attempts before connections.
#[test]
fn a_syn_flood_evicts_its_own_attempts_not_established_connections() {
    let mut v = vec![
        p(1, 1.0, (C, 40000), (S, 443), "S", 100, 0, 64240, 0),
        p(2, 1.001, (S, 443), (C, 40000), "SA", 500, 101, 65160, 0),
        p(3, 1.002, (C, 40000), (S, 443), "A", 101, 501, 502, 0),
    ];
    const SRC: [&str; 10] = [
        "10.9.0.1",
        "10.9.0.2",
        "10.9.0.3",
        "10.9.0.4",
        "10.9.0.5",
        "10.9.0.6",
        "10.9.0.7",
        "10.9.0.8",
        "10.9.0.9",
        "10.9.0.10",
    ];
    for (k, src) in SRC.iter().enumerate() {
        let k = k as u64;
        let t = 2.0 + 0.001 * k as f64;
        v.push(p(4 + k, t, (src, 5000), (S, 80), "S", 7, 0, 1024, 0));
    }
    // The established connection goes on after the flood.
    v.push(p(20, 3.0, (C, 40000), (S, 443), "PA", 101, 501, 502, 10));
    for args in [&["--max-attempts", "3"][..], &["--max-flows", "4"][..]] {
        let o = run(&input(&v), args);
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
        let f = flows(&o);
        let evicted: Vec<&Value> = f.iter().filter(|f| f["end"] == "evicted").collect();
        assert_eq!(evicted.len(), 7, "{args:?}");
        assert!(
            evicted
                .iter()
                .all(|f| f["history"] == "S" && f["server_port"] == 80),
            "{args:?}: only SYN-only attempts are evicted"
        );
        // Oldest first, written as they are evicted (before the flows still open at the end).
        let evicted_src: Vec<&str> = evicted
            .iter()
            .map(|f| f["client_ip"].as_str().unwrap())
            .collect();
        assert_eq!(evicted_src, SRC[..7], "{args:?}");
        let est: Vec<&Value> = f.iter().filter(|f| f["server_port"] == 443).collect();
        assert_eq!(est.len(), 1, "{args:?}: one connection, never split");
        assert_eq!(est[0]["client"]["packets"], 3);
        assert_eq!(est[0]["end"], "capture_end");
        assert!(o.stderr.contains("evict"), "{}", o.stderr);
    }
}

#[test]
fn zero_window_in_the_synack_with_windows_probes() {
    let f = ok(&input(&zero_window_synack()), &[]);
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(f["state"], "RSTR");
    assert_eq!(f["history"], "ShwADTr");
    assert_eq!(f["established"], true);
    assert_eq!(f["synack_frame"], 2);
    let z = &f["server"]["zero_window"];
    assert_eq!(z["count"], 1);
    assert_eq!(z["in_handshake"], true);
    assert_eq!(z["first_frame"], 2);
    assert_eq!(z["probes"], 3);
    assert_eq!(z["probe_kind"], "one_byte");
    assert_eq!(z["probe_frames"], serde_json::json!([4, 5, 6]));
    assert_eq!(z["reopened"], false);
    assert_eq!(z["longest_stall"], 1.59);
    assert_eq!(f["client"]["zero_window"], Value::Null);
    // probes are not retransmissions (tshark 4: ZeroWindowProbe)
    assert_eq!(f["client"]["retransmissions"], 0);
    assert_eq!(f["rst"]["seq_check"], "exact");
    assert_eq!(f["rtt"]["syn_synack"], 0.01);
}

#[test]
fn a_stall_that_recovers_and_linux_probes() {
    let v = vec![
        p(1, 1.0, (C, 3000), (S, 9001), "S", 100, 0, 64240, 0),
        p(2, 1.01, (S, 9001), (C, 3000), "SA", 500, 101, 65535, 0),
        p(3, 1.011, (C, 3000), (S, 9001), "A", 101, 501, 502, 0),
        p(4, 1.02, (C, 3000), (S, 9001), "PA", 101, 501, 502, 1000),
        p(5, 1.03, (S, 9001), (C, 3000), "A", 501, 1101, 0, 0),
        // Linux zero-window probes: 0 bytes at snd_una - 1
        p(6, 1.3, (C, 3000), (S, 9001), "A", 1100, 501, 502, 0),
        p(7, 1.301, (S, 9001), (C, 3000), "A", 501, 1101, 0, 0),
        p(8, 1.9, (C, 3000), (S, 9001), "A", 1100, 501, 502, 0),
        p(9, 1.901, (S, 9001), (C, 3000), "A", 501, 1101, 0, 0),
        p(10, 2.5, (S, 9001), (C, 3000), "A", 501, 1101, 2048, 0),
        p(11, 2.6, (C, 3000), (S, 9001), "FA", 1101, 501, 502, 0),
        p(12, 2.61, (S, 9001), (C, 3000), "FA", 501, 1102, 2048, 0),
        p(13, 2.62, (C, 3000), (S, 9001), "A", 1102, 502, 502, 0),
    ];
    let f = ok(&input(&v), &[]);
    let f = &f[0];
    assert_eq!(f["state"], "SF");
    assert_eq!(f["history"], "ShADawFf");
    let z = &f["server"]["zero_window"];
    assert_eq!(z["count"], 3);
    assert_eq!(z["in_handshake"], false);
    assert_eq!(z["probes"], 2);
    assert_eq!(z["probe_kind"], "zero_byte");
    assert_eq!(z["episodes"], 1);
    assert_eq!(z["reopened"], true);
    assert_eq!(z["reopen_frame"], 10);
    assert_eq!(z["longest_stall"], 1.47);
    // tshark would call the probes keep-alives; they are probes
    assert_eq!(f["client"]["keep_alives"], 0);
}

#[test]
fn data_retransmissions_are_counted_and_t_is_log_scaled() {
    let mut v = vec![
        p(1, 1.0, (C, 5000), (S, 80), "S", 100, 0, 64240, 0),
        p(2, 1.01, (S, 80), (C, 5000), "SA", 500, 101, 65535, 0),
        p(3, 1.02, (C, 5000), (S, 80), "PA", 101, 501, 502, 10),
    ];
    for k in 0..10 {
        let t = 1.5 + k as f64;
        v.push(p(4 + k, t, (C, 5000), (S, 80), "PA", 101, 501, 502, 10));
    }
    let f = ok(&input(&v), &[]);
    assert_eq!(f[0]["client"]["retransmissions"], 10);
    assert_eq!(f[0]["history"], "ShDTT");
    assert_eq!(f[0]["state"], "S1");
    assert_eq!(f[0]["end"], "capture_end");
    // Still unacknowledged at the end: what the client was left waiting for.
    let st = &f[0]["client"]["stuck"];
    assert_eq!(st["unacked_bytes"], 10);
    assert_eq!(st["retransmissions"], 10);
    assert_eq!(
        st["frames"],
        serde_json::json!([4, 5, 6, 7, 8, 9, 10, 11, 12, 13])
    );
    assert_eq!(st["ts"][0], 1.5);
    assert_eq!(st["keep_alives"], 0);
    assert_eq!(f[0]["server"]["stuck"], Value::Null);
    assert_eq!(f[0]["client"]["last_data_frame"], 13);
    assert_eq!(f[0]["server"]["last_frame"], 2);
    // The server acknowledges in the end: nothing is stuck any more.
    v.push(p(14, 12.0, (S, 80), (C, 5000), "A", 501, 111, 65535, 0));
    let f = ok(&input(&v), &[]);
    assert_eq!(f[0]["client"]["stuck"], Value::Null);
    assert_eq!(f[0]["server"]["ack_advance_frame"], 14);
}

#[test]
fn unanswered_keep_alives_are_stuck_answered_ones_are_not() {
    let mut v = vec![
        p(1, 1.0, (C, 5000), (S, 80), "S", 100, 0, 64240, 0),
        p(2, 1.01, (S, 80), (C, 5000), "SA", 500, 101, 65535, 0),
        p(3, 1.02, (C, 5000), (S, 80), "A", 101, 501, 502, 0),
        p(4, 1.03, (C, 5000), (S, 80), "PA", 101, 501, 502, 10),
        p(5, 1.04, (S, 80), (C, 5000), "A", 501, 111, 65535, 0),
        // keep-alive (seq = next - 1) answered by the server
        p(6, 3.0, (C, 5000), (S, 80), "A", 110, 501, 502, 0),
        p(7, 3.01, (S, 80), (C, 5000), "A", 501, 111, 65535, 0),
    ];
    let f = ok(&input(&v), &[]);
    assert_eq!(f[0]["client"]["keep_alives"], 1);
    assert_eq!(f[0]["client"]["stuck"], Value::Null);
    // tshark: the answer to a keep-alive is a keep-alive ACK, not a duplicate ACK.
    assert_eq!(f[0]["server"]["dup_acks"], 0);
    for k in 0..4u64 {
        let t = 5.0 + k as f64;
        v.push(p(8 + k, t, (C, 5000), (S, 80), "A", 110, 501, 502, 0));
    }
    let f = ok(&input(&v), &[]);
    let st = &f[0]["client"]["stuck"];
    assert_eq!(st["keep_alives"], 4);
    assert_eq!(st["keep_alive_frames"], serde_json::json!([8, 9, 10, 11]));
    assert_eq!(st["unacked_bytes"], 0);
    assert_eq!(st["retransmissions"], 0);
    assert_eq!(f[0]["server"]["last_frame"], 7);
}

#[test]
fn window_full_waits_are_timed() {
    // The server offers 100 bytes; the client fills them and waits 0.5 s for each ACK.
    let mut v = vec![
        p(1, 1.0, (C, 5000), (S, 80), "S", 100, 0, 64240, 0),
        p(2, 1.01, (S, 80), (C, 5000), "SA", 500, 101, 100, 0),
        p(3, 1.02, (C, 5000), (S, 80), "A", 101, 501, 502, 0),
    ];
    let mut seq = 101;
    let mut t = 1.03;
    let mut fr = 4;
    for _ in 0..3 {
        v.push(p(fr, t, (C, 5000), (S, 80), "PA", seq, 501, 502, 100));
        seq += 100;
        // The server's ACK, half a second later.
        v.push(p(
            fr + 1,
            t + 0.5,
            (S, 80),
            (C, 5000),
            "A",
            501,
            seq,
            100,
            0,
        ));
        fr += 2;
        t += 0.6;
    }
    let f = ok(&input(&v), &[]);
    let w = &f[0]["client"]["window_full"];
    assert_eq!(w["count"], 3);
    assert_eq!(w["episodes"], 3);
    assert_eq!(w["first_frame"], 4);
    assert_eq!(w["frames"], serde_json::json!([4, 6, 8]));
    assert!((w["waited"].as_f64().unwrap() - 1.5).abs() < 1e-6, "{w}");
    assert!((w["longest"].as_f64().unwrap() - 0.5).abs() < 1e-6, "{w}");
    assert_eq!(w["min_window"], 100);
    assert_eq!(w["max_window"], 100);
    // 100 bytes is below the server's MSS (1460): silly-window sized.
    assert_eq!(w["peer_small_windows"], 3);
    assert_eq!(f[0]["server"]["window_full"], Value::Null);
}

//! tcpflows as a command, on packet lines written per docs/schema.md: other records passed
//! through byte for byte, input errors naming the line (bad JSON, a missing field, a number in
//! another form, invalid UTF-8), the slow path for unusual JSON, streaming and help. What the
//! tracker makes of the packets: `tracker.rs`; real captures: tests/tests/tcpflows_*.rs at the
//! workspace level.

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

mod common;

use common::*;
use serde_json::Value;
use tcpwhy_common::records::Flow;
use tcpwhy_tests::cli;

#[test]
fn other_records_pass_through_byte_for_byte_and_in_place() {
    let odd = r#"{"type":"listener",  "x" : [1, 2.50, "é\u00e9"],"y":{}}"#;
    let udp = r#"{"type":"packet","frame":2,"ts":1.5,"ip_version":4,"src_ip":"10.0.0.1","dst_ip":"8.8.8.8","ip_proto":17,"proto":"udp","src_port":5353,"dst_port":53,"payload_len":30,"dns":{"id":1,"response":false,"rcode":null,"qname":"web2","qtype":"A","answers":[]}}"#;
    let arp = r#"{"type":"packet","frame":3,"ts":1.6,"iface":0,"link":"ether","len":42,"caplen":42,"src_mac":"00:00:00:00:00:01","dst_mac":"ff:ff:ff:ff:ff:ff","vlan":null,"ethertype":2054,"decode_error":null}"#;
    let tcp = p(1, 1.0, (C, 1), (S, 2), "S", 1, 0, 1, 0).line();
    let text = format!("{odd}\n{tcp}\n{udp}\n{arp}\n");
    let o = run(&text, &[]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0], odd);
    assert_eq!(lines[1], udp);
    assert_eq!(lines[2], arp);
    assert!(lines[3].starts_with(r#"{"type":"flow""#));
    // --keep-packets passes the TCP packet on too
    let o = run(&text, &["--keep-packets"]);
    assert!(o.stdout.lines().any(|l| l == tcp));
}

#[test]
fn dns_over_tcp_passes_through_and_is_tracked() {
    let a = p(1, 1.0, (C, 5555), (S, 53), "PA", 1, 1, 100, 40).line();
    let with_dns = a.replace(
        r#","decode_error":null}"#,
        r#","dns":{"id":7,"response":false,"rcode":null,"qname":"x.test","qtype":"A","answers":[]},"decode_error":null}"#,
    );
    let o = run(&format!("{with_dns}\n"), &[]);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], with_dns);
    assert_eq!(flows(&o).len(), 1);
    assert_eq!(flows(&o)[0]["server_port"], 53);
}

#[test]
fn malformed_line_is_an_error_with_its_number_after_everything_before_it() {
    let good = r#"{"type":"listener","a":1}"#;
    let text = format!(
        "{good}\n{}\n{{\"type\":\"packet\",\"frame\":3,\n{good}\n",
        p(1, 1.0, (C, 1), (S, 2), "S", 1, 0, 1, 0).line()
    );
    let o = run(&text, &[]);
    assert_eq!(o.code, 2);
    assert!(o.stdout.starts_with(good), "{}", o.stdout);
    assert_eq!(o.stdout.lines().count(), 1);
    assert!(o.stderr.contains("line 3"), "{}", o.stderr);
    assert!(o.stderr.starts_with("tcpflows: "), "{}", o.stderr);
    // a broken record of another type is an error too
    let o = run("{\"type\":\"flow\",\"a\":[1,}\n", &[]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("line 1"), "{}", o.stderr);
    // not a JSON object with a type
    let o = run("hello\n", &[]);
    assert_eq!(o.code, 2);
}

#[test]
fn a_packet_without_a_needed_field_names_it() {
    let line = p(1, 1.0, (C, 1), (S, 2), "S", 1, 0, 1, 0)
        .line()
        .replace(r#""seq":1,"#, "");
    let o = run(&format!("{line}\n"), &[]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("line 1"), "{}", o.stderr);
    assert!(o.stderr.contains("`seq`"), "{}", o.stderr);
    let line = p(1, 1.0, (C, 1), (S, 2), "S", 1, 0, 1, 0)
        .line()
        .replace(r#""window":1"#, r#""window":null"#);
    let o = run(&format!("{line}\n"), &[]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("`window`"), "{}", o.stderr);
    // a frame whose TCP header did not decode (no tcp_flags) is passed on, not an error
    let trunc = r#"{"type":"packet","frame":1,"ts":1.0,"ip_version":4,"src_ip":"10.0.0.1","dst_ip":"10.0.0.2","ip_proto":6,"proto":"tcp","decode_error":"tcp at byte 34: cut short"}"#;
    let o = run(&format!("{trunc}\n"), &[]);
    assert_eq!(o.code, 0);
    assert_eq!(o.stdout.trim_end(), trunc);
}

#[test]
fn unusual_json_goes_through_the_slow_path_with_the_same_result() {
    let fast = input(&refused_windows());
    // whitespace, reordered keys and an escaped key: valid JSON that the fast path hands to serde
    let slow: String = fast
        .lines()
        .map(|l| {
            l.replacen(
                r#"{"type":"packet","#,
                r#"{ "type" : "packet" , "\u0078":1, "#,
                1,
            ) + "\n"
        })
        .collect();
    let a = ok(&fast, &[]);
    let b = ok(&slow, &[]);
    assert_eq!(a, b);
}

#[test]
fn every_flow_field_is_the_flow_struct() {
    for v in [refused_windows(), zero_window_synack()] {
        let o = run(&input(&v), &[]);
        for line in o.stdout.lines() {
            // Flow skips unknown fields: the round trip loses any field outside the struct.
            let f: Flow = serde_json::from_str(line).unwrap();
            let back = serde_json::to_value(&f).unwrap();
            let orig: Value = serde_json::from_str(line).unwrap();
            assert_eq!(back, orig);
        }
    }
}

#[test]
fn flows_are_written_while_the_input_is_still_open() {
    let no_args: [&str; 0] = [];
    let mut tcpflows = cli::Live::start("tcpflows", &no_args);
    // a refused connection, then a packet 3 s later: the REJ flow must come out now
    let mut v = refused_windows();
    v.truncate(2);
    v.push(p(9, 1004.0, (C, 7), (S, 8), "S", 1, 0, 1, 0));
    tcpflows.send(input(&v).as_bytes()).unwrap();
    let got = tcpflows.line(std::time::Duration::from_secs(20));
    tcpflows.kill();
    let line = got.expect("no flow record while the input stayed open");
    let f: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(f["state"], "REJ");
}

#[test]
fn empty_input_and_help() {
    let o = run("", &[]);
    assert_eq!(o.code, 0);
    assert!(o.stdout.is_empty());
    let o = run("", &["--help"]);
    assert_eq!(o.code, 0);
    assert!(o.stdout.contains("pcap2jsonl trace.pcap | tcpflows"));
    let o = run("", &["--version"]);
    assert_eq!(o.code, 0);
    let o = run("", &["--linger", "-1"]);
    assert_eq!(o.code, 2);
    let o = run("", &["/nonexistent/file.jsonl"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("/nonexistent/file.jsonl"));
}

/// Issue 16, reproducer 1 (tcpflows already held): invalid UTF-8 anywhere in a record, read or
/// passed on, is an input error naming the line, the same check as every other stage.
#[test]
fn invalid_utf8_in_any_record_is_an_input_error() {
    let tcp = p(1, 1.0, (C, 40000), (S, 80), "S", 1, 0, 64240, 0).line();
    let tcp = tcp.replacen("\"iface\":0", "\"iface\":0,\"x-note\":\"@\"", 1);
    let dns = r#"{"type":"packet","frame":2,"ts":1.5,"len":100,"ip_version":4,"src_ip":"10.0.0.53","dst_ip":"10.0.0.1","ttl":62,"ip_proto":17,"proto":"udp","src_port":53,"dst_port":45497,"dns":{"id":1,"response":true,"rcode":0,"qname":"@","qtype":"A","answers":[]}}"#;
    let flow = r#"{"type":"flow","uid":"C1","history":"@"}"#;
    cli::rejects_invalid_utf8(
        "tcpflows",
        &[
            ("tcp packet", tcp.as_str()),
            ("dns packet", dns),
            ("flow", flow),
        ],
        &[&[], &["--keep-packets"]],
        "<stdin>: line 2: invalid UTF-8",
        Some(b"{\"type\":\"x\"}\n"),
    );
}

/// `"ts":1795612209.590102` written as `"ts":1.795612209590102e9` (the same number).
fn exponent_ts(line: &str) -> String {
    let at = line.find("\"ts\":").unwrap() + 5;
    let end = at + line[at..].find(',').unwrap();
    let digits: String = line[at..end].chars().filter(|c| *c != '.').collect();
    let int_len = line[at..end].find('.').unwrap();
    format!(
        "{}{}.{}e{}{}",
        &line[..at],
        &digits[..1],
        &digits[1..],
        int_len - 1,
        &line[end..]
    )
}

/// Issue 16, reproducer 2: a timestamp in exponent form is read as its value: the same flows, to
/// the byte, as from the plain decimal (it gave `first_ts` 1.795612209 and zero RTTs); one past
/// 2^63 ns is an error naming the line, never a wrapped negative `first_ts`.
#[test]
fn timestamps_in_any_json_number_form_give_the_same_flows() {
    let t = 1_795_612_209.590102;
    let (c, s) = ((C, 44676), (S, 80));
    let v = vec![
        p(1, t, c, s, "S", 100, 0, 64240, 0),
        p(2, t + 0.000074, s, c, "SA", 500, 101, 65160, 0),
        p(3, t + 0.000085, c, s, "A", 101, 501, 502, 0),
        p(4, t + 0.000200, c, s, "FA", 101, 501, 502, 0),
        p(5, t + 0.000300, s, c, "FA", 501, 102, 509, 0),
        p(6, t + 0.000400, c, s, "A", 102, 502, 502, 0),
    ];
    let plain = input(&v);
    let exp: String = plain.lines().map(|l| exponent_ts(l) + "\n").collect();
    assert!(exp.contains("\"ts\":1.795612209590102e9,"), "{exp}");
    let a = run(&plain, &[]);
    let b = run(&exp, &[]);
    assert_eq!((a.code, b.code), (0, 0), "{}", b.stderr);
    assert_eq!(a.stdout, b.stdout);
    let f = flows(&b);
    assert_eq!(f[0]["first_ts"], serde_json::json!(1795612209.590102));
    assert_eq!(f[0]["rtt"]["syn_synack"], serde_json::json!(0.000074));

    let far = plain
        .lines()
        .next()
        .unwrap()
        .replace("\"ts\":1795612209.590102", "\"ts\":9999999999.5");
    for line in [far.clone(), far.replace("9999999999.5", "1e300")] {
        let o = run(&format!("{}\n{line}\n", plain.lines().next().unwrap()), &[]);
        assert_eq!(o.code, 2, "{}", o.stderr);
        assert!(
            o.stderr.contains("<stdin>: line 2: `ts`") && o.stderr.contains("out of range"),
            "{}",
            o.stderr
        );
    }
}

/// Issue 16, reproducer 3: an error about a wrong-typed value quotes at most 200 bytes of it and
/// says how long it was (a 10 MiB string gave 10 MiB on stderr).
#[test]
fn an_error_quotes_at_most_200_bytes_of_a_value() {
    let big = "A".repeat(10 << 20);
    let line = p(1, 1.0, (C, 2000), (S, 80), "S", 100, 0, 64240, 0)
        .line()
        .replace("\"src_port\":2000", &format!("\"src_port\":\"{big}\""));
    let o = run(&format!("{line}\n"), &[]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.len() < 1000, "{} bytes on stderr", o.stderr.len());
    assert!(o.stderr.contains("<stdin>: line 1: "), "{}", o.stderr);
    assert!(
        o.stderr
            .contains(&format!("\"{}…\" ({} bytes)", &big[..200], big.len())),
        "{}",
        o.stderr
    );
}

/// Issue 16, reproducer 2, the other numbers: an integer field given as a fraction, an exponent,
/// a negative or an oversized number is rejected with an error naming the line, never misread.
#[test]
fn integer_fields_in_other_number_forms_are_rejected_not_misread() {
    let line = p(1, 1.0, (C, 2000), (S, 80), "S", 100, 0, 64240, 0).line();
    for (from, to) in [
        ("\"frame\":1,", "\"frame\":1.0,"),
        ("\"seq\":100,", "\"seq\":1e2,"),
        ("\"seq\":100,", "\"seq\":-100,"),
        ("\"seq\":100,", "\"seq\":99999999999999999999999,"),
        ("\"src_port\":2000,", "\"src_port\":2e3,"),
        ("\"src_port\":2000,", "\"src_port\":65536,"),
        ("\"ttl\":64,", "\"ttl\":6.4e1,"),
    ] {
        assert!(line.contains(from), "{from}");
        let bad = line.replacen(from, to, 1);
        let o = run(&format!("{line}\n{bad}\n"), &[]);
        assert_eq!(o.code, 2, "{to}: {}", o.stderr);
        assert!(o.stderr.contains("<stdin>: line 2: "), "{to}: {}", o.stderr);
    }
}

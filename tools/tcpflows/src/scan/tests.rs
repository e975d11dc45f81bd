//! The packet scanner against the schema example, serde and malformed input.

use super::*;

const LINE: &str = r#"{"type":"packet","frame":3,"ts":1278472579.466743,"iface":0,"link":"ether","len":60,"caplen":60,"decode_error":null,"src_mac":"00:1f:f3:3c:e1:13","dst_mac":"f8:1e:df:e5:84:3a","vlan":null,"ip_version":4,"src_ip":"172.16.0.1","dst_ip":"10.0.0.1","ttl":126,"ip_id":14341,"df":false,"mf":false,"frag_offset":0,"ip_proto":6,"proto":"tcp","src_port":2383,"dst_port":20531,"seq":0,"ack":655839664,"tcp_flags":"RA","window":0,"payload_len":0,"mss":null,"wscale":null,"sack_perm":false,"sack":[[1,2],[3,4]],"tsval":null,"tsecr":null}"#;

#[test]
fn scans_the_schema_example() {
    let p = scan_packet(LINE).unwrap();
    assert_eq!(p.frame, Some(3));
    assert_eq!(
        p.ts,
        Some(Ts {
            ns: 1_278_472_579_466_743_000,
            digits: 6
        })
    );
    assert_eq!(p.ip.src, Some("172.16.0.1"));
    assert_eq!(p.ip.ttl, Some(126));
    assert_eq!(p.ip.id, Some(14341));
    assert_eq!(p.tcp.flags, Some(flags::RST | flags::ACK));
    assert!(p.tcp.decoded);
    assert_eq!(p.tcp.ack, Some(655839664));
    assert_eq!(p.tcp.window, Some(0));
    assert_eq!(p.tcp.sack_perm, Some(false));
    assert!(!p.has_dns);
}

#[test]
fn agrees_with_serde_on_the_example() {
    let fast = scan_packet(LINE).unwrap();
    let sp: tcpwhy_common::records::Packet = serde_json::from_str(LINE).unwrap();
    let slow = from_serde(&sp, LINE).unwrap();
    assert_eq!(fast.frame, slow.frame);
    assert_eq!(fast.ip.src, slow.ip.src);
    assert_eq!(fast.tcp.flags, slow.tcp.flags);
    assert_eq!(fast.ts.unwrap().ns, slow.ts.unwrap().ns);
}

#[test]
fn rejects_malformed_lines() {
    for bad in [
        &LINE[..LINE.len() - 1],
        r#"{"type":"packet","frame":3,}"#,
        r#"{"type":"packet","frame":03}"#,
        r#"{"type":"packet" "frame":3}"#,
        r#"{"type":"packet","frame":3} x"#,
        r#"{"type":"packet","x":[1,2}"#,
        r#"{"type":"packet","x":"a\qb"}"#,
        "{\"type\":\"packet\",\"x\":\"a\u{1}b\"}",
    ] {
        assert!(
            matches!(scan_packet(bad), Err(ScanError::Syntax(_))),
            "{bad}"
        );
        assert!(validate(bad).is_err(), "{bad}");
        assert!(serde_json::from_str::<serde_json::Value>(bad).is_err());
    }
}

#[test]
fn nested_values_and_escapes_are_skipped() {
    let l = r#"{"type":"packet","frame":9,"ts":1.5,"dns":{"id":1,"response":true,"answers":[{"name":"a\"b","type":"A","ttl":1,"data":"1.2.3.4"}]},"comment":"x\u00e9\n","icmp_inner":{"src_ip":"10.0.0.1","dst_ip":"10.0.0.2","ip_proto":6,"ttl":1,"src_port":1,"dst_port":2,"seq":7}}"#;
    let p = scan_packet(l).unwrap();
    assert!(p.has_dns);
    assert_eq!(p.ts.unwrap().ns, 1_500_000_000);
    let i = p.icmp_inner.unwrap();
    assert_eq!(i.dst_port, Some(2));
    assert_eq!(i.seq, Some(7));
    assert!(validate(l).is_ok());
}

#[test]
fn unusual_but_valid_json_goes_to_the_slow_path() {
    for l in [
        r#"{"type":"packet","frame":1,"ts":1.5e300}"#,
        r#"{"type":"packet","frame":1.0,"ts":1}"#,
        r#"{"type":"packet","src_ip":"1\u002e2.3.4"}"#,
    ] {
        assert!(
            matches!(scan_packet(l), Err(ScanError::Unsupported(_))),
            "{l}"
        );
    }
}

/// Issue 16, reproducer 2: every form of a JSON number is read as its value, on the fast path
/// or through serde, and both agree; a value nanoseconds cannot hold is `None`, never wrapped.
#[test]
fn every_json_number_form_of_ts_is_read_as_its_value() {
    let ns = |t: &str| parse_ts(t.as_bytes()).map(|t| (t.ns, t.digits));
    let ts = 1_795_612_209_590_102_000;
    for (text, value, digits) in [
        ("1.795612209590102e9", ts, 6),
        ("1.795612209590102E+9", ts, 6),
        ("17956122095901020e-7", ts, 7),
        ("0.0000017956122095901020e15", ts, 7),
        ("1795612209590102000e-9", ts, 9),
        ("1.5e9", 1_500_000_000_000_000_000, 0),
        ("15e-1", 1_500_000_000, 1),
        ("-5", -5_000_000_000, 0),
        ("-1.25", -1_250_000_000, 2),
        ("-1.25e0", -1_250_000_000, 2),
        ("0", 0, 0),
        ("0e999999999999999999999", 0, 0),
        ("1e-10", 0, 9),
        ("1e-99999999999999999999", 0, 9),
        ("00000000001.5", 1_500_000_000, 1),
        ("9223372036.854775807", i64::MAX, 9),
        ("-9223372036.854775807", -i64::MAX, 9),
    ] {
        assert_eq!(ns(text), Some((value, digits)), "{text}");
    }
    // Past 2^63 ns (the year 2262): refused, never a wrapped negative value.
    for big in [
        "9223372036.854775808",
        "9999999999.999999999",
        "9999999999",
        "99999999999",
        "1e10",
        "1e19",
        "1e400",
        "123456789012345678901234567890",
        "-9999999999",
    ] {
        assert_eq!(ns(big), None, "{big}");
    }
}

#[test]
fn the_fast_path_and_serde_agree_on_exotic_timestamps() {
    for (ts, want) in [
        ("1.795612209590102e9", Some(1_795_612_209_590_102_000)),
        ("-1.5", Some(-1_500_000_000)),
        ("17956122095901020e-7", Some(1_795_612_209_590_102_000)),
        ("1.0e300", None),
        ("9999999999.5", None),
    ] {
        let line = format!(
            r#"{{"type":"packet","frame":1,"ts":{ts},"len":60,"caplen":60,"x":{{"ts":"no"}}}}"#
        );
        let fast = scan_packet(&line);
        let sp: tcpwhy_common::records::Packet = serde_json::from_str(&line).unwrap();
        let slow = from_serde(&sp, &line);
        match want {
            Some(ns) => {
                assert_eq!(fast.unwrap().ts.unwrap().ns, ns, "{ts}");
                assert_eq!(slow.unwrap().ts.unwrap().ns, ns, "{ts}");
            }
            None => {
                assert!(matches!(fast, Err(ScanError::Unsupported(_))), "{ts}");
                let e = slow.unwrap_err();
                assert!(e.contains("out of range") && e.contains(ts), "{e}");
            }
        }
    }
    // A line the fast path refuses for another reason (an escaped key) still gets its exact
    // timestamp, not the one of a `"ts"` inside a string.
    let line = r#"{"type":"packet","n\u0061me":"\"ts\":7","frame":1,"ts":1.795612209590102e9,"len":60,"caplen":60}"#;
    assert!(matches!(scan_packet(line), Err(ScanError::Unsupported(_))));
    let sp: tcpwhy_common::records::Packet = serde_json::from_str(line).unwrap();
    let slow = from_serde(&sp, line).unwrap();
    assert_eq!(slow.ts.unwrap().ns, 1_795_612_209_590_102_000);
}

#[test]
fn ts_round_trips_exactly() {
    let t = parse_ts(b"1278472579.466743").unwrap();
    assert_eq!(t.to_f64(), 1278472579.466743);
    let t = parse_ts(b"1700000000.123456789").unwrap();
    assert_eq!(t.digits, 9);
    assert_eq!(t.ns % 1_000_000_000, 123456789);
    assert_eq!(parse_ts(b"5").unwrap().ns, 5_000_000_000);
}

#[test]
fn tls_and_text_are_kept_raw() {
    let l = r#"{"type":"packet","frame":4,"ts":1.5,"ip_proto":6,"src_port":1,"dst_port":443,"tcp_flags":"PA","payload_len":7,"tsecr":null,"tls":{"records":[{"type":"alert","alert":{"level":"fatal","code":40,"description":"handshake_failure"}}]},"decode_error":null}"#;
    let p = scan_packet(l).unwrap();
    assert_eq!(
        p.tls,
        Some(
            r#"{"records":[{"type":"alert","alert":{"level":"fatal","code":40,"description":"handshake_failure"}}]}"#
        )
    );
    assert_eq!(p.dst_port, Some(443));
    let l = r#"{"type":"packet","frame":6,"ts":1.5,"text":"say \"hi\"","decode_error":null}"#;
    let p = scan_packet(l).unwrap();
    assert_eq!(p.text, Some(r#""say \"hi\"""#));
    assert_eq!(p.tls, None);
    // the slow path finds them too
    assert_eq!(raw_value(l.as_bytes(), b"\"text\":\""), p.text);
}

#[test]
fn order_is_pcap2jsonls_key_order() {
    // ORDER's patterns are `"key":`; the shared list is what pcap2jsonl writes (its own test
    // checks that side).
    let keys: Vec<String> = ORDER
        .iter()
        .map(|p| {
            let bytes = p.val.to_le_bytes();
            let pat = &bytes[..p.len];
            String::from_utf8(pat[1..pat.len() - 2].to_vec()).expect("ASCII key")
        })
        .collect();
    assert_eq!(keys, tcpwhy_common::records::packet::TCP_KEY_ORDER);
}

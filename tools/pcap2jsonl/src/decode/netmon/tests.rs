use super::*;
use crate::decode::testutil::assert_has;

fn u16z(s: &str) -> Vec<u8> {
    let mut v: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    v.extend([0, 0]);
    v
}

#[test]
fn filter_frame() {
    let mut b = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 4];
    b.extend(u16z("Network Monitor"));
    b.extend(u16z("tcp.port == 2383"));
    let (err, m) = parse(Kind::Filter, &b);
    assert_eq!(err, None);
    assert_eq!(
        Value::Object(m),
        json!({"filter_type":"capture","application":"Network Monitor",
                   "application_version":"3.4","filter":"tcp.port == 2383"})
    );
    // Cut anywhere: no panic, what was read is kept, the error names the byte.
    for cut in 0..b.len() - 1 {
        let (err, _) = parse(Kind::Filter, &b[..cut]);
        assert!(
            err.unwrap()
                .starts_with("netmon_filter: content cut short at byte")
        );
    }
}

#[test]
fn network_info_cut_keeps_adapters() {
    let mut b = vec![0, 1, 0, 2];
    b.extend(u16z("WEB1"));
    for _ in 0..2 {
        b.extend(u16z("eth0"));
        b.extend(u16z("Intel"));
        b.extend(u16z("{guid}"));
        b.extend([0, 0, 0, 1, 0, 0, 5, 220]);
        b.extend([0xff; 8]);
        b.extend([0, 1, 2, 3, 4, 5]);
        b.extend([0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0]);
        b.extend([10, 0, 0, 1, 255, 0, 0, 0]);
        b.extend(
            [0xfe, 0x80]
                .iter()
                .chain([0u8; 13].iter())
                .chain([1u8].iter()),
        );
        b.extend([10, 0, 0, 53]);
    }
    let (err, m) = parse(Kind::NetworkInfoEx, &b);
    assert_eq!(err, None);
    let a = &m["adapters"][1];
    assert_has(
        a,
        &json!({"mtu": 1500, "link_speed": null, "mac": "00:01:02:03:04:05",
                "ipv4": ["10.0.0.1"], "ipv4_masks": ["255.0.0.0"], "ipv6": ["fe80::1"],
                "dns_servers": ["10.0.0.53"]}),
    );
    for cut in 0..b.len() {
        let (err, _) = parse(Kind::NetworkInfoEx, &b[..cut]);
        assert!(err.is_some(), "cut at {cut}");
    }
}

#[test]
fn timestamps() {
    let ts = |s, f, d| {
        let mut b = Vec::new();
        push_ts(&mut b, s, f, d);
        String::from_utf8(b).unwrap()
    };
    assert_eq!(ts(1_278_472_579, 466_000, 6), "1278472579.466000");
    assert_eq!(ts(5, 1, 7), "5.0000001");
    assert_eq!(ts(-1, 250, 3), "-0.750");
    assert_eq!(ts(-5, 0, 3), "-5.000");
    assert_eq!(ts(-11_644_473_600, 1, 7), "-11644473599.9999999");
    assert_eq!(ts(7, 0, 0), "7");
}

#[test]
fn media_types() {
    assert_eq!(classify(1), Media::Pcap(1));
    assert_eq!(classify(0), Media::Pcap(1));
    assert_eq!(classify(9), Media::Pcap(101));
    assert_eq!(classify(0xE000 | 228), Media::Pcap(228));
    assert_eq!(classify(0xE000 | 1), Media::Pcap(1));
    assert_eq!(classify(0xE080), Media::Pcap(105));
    assert_eq!(classify(4), Media::Atm);
    assert!(matches!(classify(0xE083), Media::Undecoded(_)));
    assert!(matches!(classify(5), Media::Undecoded(_)));
    assert!(matches!(classify(0x1234), Media::Undecoded("unknown")));
    assert_eq!(classify(0xFFFF), Media::Special(Kind::Filter));
}

#[test]
fn utf16() {
    assert_eq!(utf16_lossy(&u16z("C:\\w3wp.exe")), "C:\\w3wp.exe");
    assert_eq!(utf16_lossy(&[0x00, 0xd8, 0x41, 0]), "\u{fffd}A");
    assert_eq!(utf16_lossy(&[0x41]), "");
}

use super::super::testutil::{Ng, PKT, input_error, read};
use super::*;

/// The same file as /tmp crafted with a Python writer and read by tshark 4.0.17: two
/// sections (little- then big-endian), ten interfaces each with a different
/// if_tsresol/if_tsoffset, EPB (one with a comment), SPB, obsolete PB.
fn crafted() -> Vec<u8> {
    let t: u64 = 1_700_000_000;
    let mut all = vec![];
    for be in [false, true] {
        let mut ng = Ng::new(be);
        ng.shb();
        ng.idb(1, None, None);
        ng.idb(1, Some(0x8a), None);
        ng.idb(1, Some(0x94), Some(1000));
        ng.idb(1, Some(0x0c), None);
        ng.idb(1, Some(0x9e), None);
        ng.idb(1, Some(0x83), None);
        ng.idb(1, Some(0x00), Some(-100));
        ng.idb(1, Some(9), Some(1_700_000_000));
        ng.idb(1, Some(0xa4), None);
        ng.idb(1, Some(0x0f), None);
        ng.epb(0, t * 1_000_000 + 123_456, PKT, Some("first comment"));
        ng.epb(1, t * 1024 + 1023, PKT, None);
        ng.epb(2, (t << 20) + 777_777, PKT, None);
        ng.epb(3, 1_700_000 * 10u64.pow(12) + 999_999_999_999, PKT, None);
        ng.epb(4, (t << 30) + 123_456_789, PKT, None);
        ng.epb(5, t * 8 + 7, PKT, None);
        ng.epb(6, t, PKT, None);
        ng.epb(7, 123_456_789, PKT, None);
        ng.epb(8, (100_000_000u64 << 36) + (1 << 36) - 1, PKT, None);
        ng.epb(9, 1000 * 10u64.pow(15) + 10u64.pow(15) - 1, PKT, None);
        ng.spb(PKT);
        ng.pb(1, t * 1024 + 1, PKT);
        all.extend(ng.out);
    }
    all
}

#[test]
fn crafted_sections_equal_tshark() {
    let (got, r) = read(crafted());
    assert_eq!(r.unwrap(), Finish::Clean);
    // tshark 4.0.17's frame.time_epoch, except where its 64-bit arithmetic overflows
    // (resolutions finer than 2^-34): there the exact value, truncated to ns.
    let want = [
        "1700000000.123456",
        "1700000000.999023437",
        "1700001000.741745948",
        "1700000.999999999", // tshark: 1700000.003875820 (overflow)
        "1700000000.114978094",
        "1700000000.875",
        "1699999900.0",
        "1700000000.123456789",
        "100000000.999999999", // tshark: 100000000.194693631 (overflow)
        "1000.999999999",      // tshark: 1000.000002003 (overflow)
        "0.000000",            // SPB: no timestamp (tshark: empty)
        "1700000000.000976562",
    ];
    assert_eq!(got.len(), 24);
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g.frame, i as u64 + 1);
        assert_eq!(g.ts, want[i % 12], "frame {}", g.frame);
        let iface = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1][i % 12];
        assert_eq!(g.iface, iface, "frame {}", g.frame);
        assert_eq!(g.linktype, 1);
        assert_eq!(g.caplen, PKT.len());
        assert_eq!(g.len as usize, PKT.len());
        let comment = (i % 12 == 0).then(|| "first comment".to_string());
        assert_eq!(g.comment, comment);
    }
}

#[test]
fn interface_ids_restart_with_each_section() {
    let mut a = Ng::new(false);
    a.shb();
    a.idb(1, None, None);
    a.idb(113, None, None);
    a.epb(1, 5, PKT, None);
    let mut b = Ng::new(true);
    b.shb();
    b.idb(101, None, None);
    b.epb(0, 6, PKT, None);
    let third = b.epb(1, 7, PKT, None);
    let mut bytes = a.out;
    let second = bytes.len();
    bytes.extend(b.out);
    let (got, r) = read(bytes);
    // Interface 1 of section 1 does not exist in section 2: damage at that block.
    let m = input_error(r);
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].iface, got[0].linktype), (1, 113));
    assert_eq!((got[1].iface, got[1].linktype), (0, 101));
    let third_block = second + third;
    assert!(m.contains(&format!("at byte {third_block}")), "{m}");
    assert!(
        m.contains("interface 1, but the section describes 1 interface"),
        "{m}"
    );
}

#[test]
fn damage_is_reported_at_its_block() {
    let mut ng = Ng::new(false);
    ng.shb();
    ng.idb(1, None, None);
    ng.epb(0, 1, PKT, None);
    let bad = ng.epb(0, 2, PKT, None);
    ng.epb(0, 3, PKT, None);
    let good = ng.out.clone();

    // Trailing length differs from the leading one.
    let mut b = good.clone();
    let end = bad + 28 + PKT.len().next_multiple_of(4);
    b[end..end + 4].copy_from_slice(&999u32.to_le_bytes());
    let (got, r) = read(b);
    assert_eq!(got.len(), 1);
    let m = input_error(r);
    assert!(
        m.starts_with(&format!("t: damaged or corrupt at byte {bad}: ")),
        "{m}"
    );
    assert!(m.contains("at its end"), "{m}");

    // Not a multiple of 4 / below 12 / huge.
    for (len, what) in [
        (70u32, "invalid total length"),
        (8, "invalid total length"),
        (0xffff_fff0, "maximum"),
    ] {
        let mut b = good.clone();
        b[bad + 4..bad + 8].copy_from_slice(&len.to_le_bytes());
        let (got, r) = read(b);
        assert_eq!(got.len(), 1);
        let m = input_error(r);
        assert!(
            m.contains(&format!("at byte {bad}")) && m.contains(what),
            "{m}"
        );
    }

    // caplen beyond the block.
    let mut b = good.clone();
    b[bad + 20..bad + 24].copy_from_slice(&1000u32.to_le_bytes());
    let m = input_error(read(b).1);
    assert!(
        m.contains(&format!("at byte {bad}")) && m.contains("claims 1000 captured bytes"),
        "{m}"
    );

    // Cut short inside the last block: a warning, every complete packet before it.
    let mut b = good.clone();
    b.truncate(b.len() - 5);
    let (got, r) = read(b);
    assert_eq!(got.len(), 2);
    let last = good.len() - (32 + PKT.len().next_multiple_of(4));
    match r.unwrap() {
        Finish::Truncated(m) => assert!(m.contains(&format!("at byte {last}")), "{m}"),
        f => panic!("{f:?}"),
    }

    // A packet before any interface.
    let mut ng = Ng::new(false);
    ng.shb();
    let at = ng.epb(0, 1, PKT, None);
    let m = input_error(read(ng.out).1);
    assert!(
        m.contains(&format!("at byte {at}")) && m.contains("describes 0 interfaces"),
        "{m}"
    );
}

#[test]
fn section_header_problems() {
    // Only a section header: no packets, clean.
    let mut ng = Ng::new(true);
    ng.shb();
    let (got, r) = read(ng.out.clone());
    assert!(got.is_empty());
    assert_eq!(r.unwrap(), Finish::Clean);
    // Cut inside it: not a capture.
    let m = input_error(read(ng.out[..20].to_vec()).1);
    assert!(
        m.contains("cut short inside the pcapng section header"),
        "{m}"
    );
    // Bad byte-order magic.
    let mut b = ng.out.clone();
    b[8] = 0x77;
    let m = input_error(read(b).1);
    assert!(
        m.contains("at byte 0") && m.contains("byte-order magic"),
        "{m}"
    );
    // Version 2.
    let mut ng = Ng::new(false);
    ng.shb();
    ng.out[12] = 2;
    let m = input_error(read(ng.out).1);
    assert!(m.contains("version 2.0"), "{m}");
}

#[test]
fn unknown_and_custom_blocks_are_skipped() {
    let mut ng = Ng::new(false);
    ng.shb();
    ng.block(0x0000_0bad, &[1, 2, 3, 4]);
    ng.idb(1, None, None);
    ng.block(5, &[0; 8]); // statistics
    ng.block(0x1234_5678, &[]);
    ng.epb(0, 1, PKT, None);
    let (got, r) = read(ng.out);
    assert_eq!(r.unwrap(), Finish::Clean);
    assert_eq!(got.len(), 1);
}

#[test]
fn resolutions_finer_than_64_bits_are_refused() {
    let mut ng = Ng::new(false);
    ng.shb();
    let at = ng.idb(1, Some(30), None);
    let m = input_error(read(ng.out).1);
    assert!(
        m.contains(&format!("at byte {at}")) && m.contains("if_tsresol 0x1e"),
        "{m}"
    );
}

fn show(c: TsConv, ticks: u64) -> String {
    let (s, f) = c.split(ticks);
    format!("{s}.{f:0w$}", w = c.digits() as usize)
}

#[test]
fn decimal_resolutions() {
    assert_eq!(
        show(TsConv::new(6).unwrap(), 1_340_954_905_298_858),
        "1340954905.298858"
    );
    assert_eq!(
        show(TsConv::new(9).unwrap(), 4_294_967_296_000_000_001),
        "4294967296.000000001"
    );
    assert_eq!(show(TsConv::new(0).unwrap(), 17), "17.0");
    assert_eq!(show(TsConv::new(3).unwrap(), 1_500), "1.500");
    // Finer than ns: truncated to 9 digits.
    assert_eq!(
        show(TsConv::new(12).unwrap(), 1_123_456_789_999),
        "1.123456789"
    );
    assert!(TsConv::new(20).is_none());
}

#[test]
fn binary_resolutions_are_exact() {
    // 2^-1: 3 ticks = 1.5 s.
    assert_eq!(show(TsConv::new(0x81).unwrap(), 3), "1.5");
    // 2^-3: 1 tick = 0.125 s.
    assert_eq!(show(TsConv::new(0x83).unwrap(), 9), "1.125");
    // 2^-9: 1 tick = 0.001953125 s.
    assert_eq!(show(TsConv::new(0x89).unwrap(), 513), "1.001953125");
    // 2^-10: 1 tick = 0.0009765625 s: truncated to ns.
    assert_eq!(show(TsConv::new(0x8a).unwrap(), 1), "0.000976562");
    // 2^-32 (NTP-style fractions).
    assert_eq!(
        show(TsConv::new(0xa0).unwrap(), (5 << 32) | 0x8000_0000),
        "5.500000000"
    );
    assert!(TsConv::new(0x80 | 64).is_none());
    assert!(TsConv::new(0x80 | 63).is_some());
}

#[test]
fn comments() {
    let mut o = vec![];
    o.extend_from_slice(&2u16.to_le_bytes());
    o.extend_from_slice(&4u16.to_le_bytes());
    o.extend_from_slice(&[0, 0, 0, 1]);
    o.extend_from_slice(&1u16.to_le_bytes());
    o.extend_from_slice(&5u16.to_le_bytes());
    o.extend_from_slice(b"hello\0\0\0");
    o.extend_from_slice(&[0; 4]);
    assert_eq!(find_comment(&o, false), Some("hello"));
    assert_eq!(find_comment(&o[..10], false), None);
    assert_eq!(find_comment(&[], false), None);
}

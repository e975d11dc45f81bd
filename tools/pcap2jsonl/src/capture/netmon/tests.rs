use super::*;

#[test]
fn magic() {
    assert!(is_netmon(b"GMBU\x00\x02"));
    assert!(is_netmon(b"RTSS"));
    assert!(!is_netmon(b"GMB"));
    assert!(!is_netmon(&[0xd4, 0xc3, 0xb2, 0xa1]));
}

#[test]
fn systemtime_as_utc() {
    // 2010-07-07 03:16:19 UTC
    assert_eq!(
        start_seconds(&[2010, 7, 3, 7, 3, 16, 19, 466]),
        1_278_472_579
    );
    assert_eq!(start_seconds(&[1970, 1, 4, 1, 0, 0, 0, 0]), 0);
    // mktime-style normalisation: month 13 is January of the next year, day 0 the last
    // day of the previous month.
    assert_eq!(
        start_seconds(&[2009, 13, 0, 1, 0, 0, 0, 0]),
        start_seconds(&[2010, 1, 0, 1, 0, 0, 0, 0])
    );
    assert_eq!(
        start_seconds(&[2010, 3, 0, 0, 0, 0, 0, 0]),
        start_seconds(&[2010, 2, 0, 28, 0, 0, 0, 0])
    );
    assert_eq!(
        start_seconds(&[1601, 1, 0, 1, 0, 0, 0, 0]),
        -FILETIME_EPOCH_OFFSET
    );
    // Hostile values do not overflow.
    let _ = start_seconds(&[u16::MAX; 8]);
    let _ = start_seconds(&[0; 8]);
}

fn hdr(major: u8, minor: u8, ms: u16) -> Header {
    Header {
        major,
        minor,
        network: 1,
        start: [2010, 7, 3, 7, 3, 16, 19, ms],
        frame_table_offset: 0,
        frame_table_length: 0,
        comment_offset: 0,
        comment_length: 0,
        process_offset: 0,
        process_count: 0,
    }
}

#[test]
fn frame_times() {
    let s = 1_278_472_579;
    let h1 = hdr(1, 1, 466);
    assert_eq!(frame_time(&h1, s, 1, None), (s, 467_000_000));
    assert_eq!(frame_time(&h1, s, 1534, None), (s + 2, 0));
    let h2 = hdr(2, 0, 466);
    assert_eq!(frame_time(&h2, s, 1000, None), (s, 467_000_000));
    // -1 µs: just before the start.
    assert_eq!(frame_time(&h2, s, u64::MAX, None), (s, 465_999_000));
    let h0 = hdr(2, 0, 0);
    assert_eq!(frame_time(&h0, s, u64::MAX, None), (s - 1, 999_999_000));
    // Hostile deltas wrap as in Wireshark instead of panicking.
    let _ = frame_time(&h2, i64::MAX, u64::MAX / 3, None);
    let _ = frame_time(&h2, i64::MIN, 1 << 62, None);
    // 2.3: the FILETIME wins.
    let h3 = hdr(2, 3, 0);
    let ft = 129_230_000_001_234_567u64;
    assert_eq!(
        frame_time(&h3, 0, 5, Some(ft)),
        (12_923_000_000 - FILETIME_EPOCH_OFFSET, 123_456_700)
    );
    assert_eq!(frame_time(&h3, 0, 0, Some(0)), (-FILETIME_EPOCH_OFFSET, 0));
    let _ = frame_time(&h3, 0, 0, Some(u64::MAX));
}

//! Classic pcap: a 24-byte file header, then records of a 16-byte header (24 bytes in the
//! "modified" format) and the captured bytes.
//!
//! Damage rule (as Wireshark's): a record whose caplen exceeds both the file's snaplen and
//! 256 KiB cannot be a packet (a garbage header, or a hostile length); it is reported at the
//! byte where that record header starts, without allocating anything for it.

use super::{
    Fail, Finish, FrameSink, MAX_BLOCK, MAX_CAPLEN_BEYOND_SNAPLEN, Source, cut_short, damaged,
};
use crate::frame::FrameMeta;

const FILE_HEADER: usize = 24;

#[inline(always)]
fn u32_at<const BE: bool>(b: &[u8], at: usize) -> u32 {
    let v = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if BE {
        u32::from_be_bytes(v)
    } else {
        u32::from_le_bytes(v)
    }
}

pub fn read<S: FrameSink>(
    src: Source,
    out: &mut S,
    big_endian: bool,
    nanos: bool,
    modified: bool,
) -> Result<Finish, Fail> {
    if big_endian {
        read_records::<true, S>(src, out, nanos, modified)
    } else {
        read_records::<false, S>(src, out, nanos, modified)
    }
}

fn read_records<const BE: bool, S: FrameSink>(
    mut src: Source,
    out: &mut S,
    nanos: bool,
    modified: bool,
) -> Result<Finish, Fail> {
    if !src.fill(FILE_HEADER, out)? {
        return Err(Fail::Input(format!(
            "{}: cut short inside the pcap file header ({} of {FILE_HEADER} bytes)",
            src.name,
            src.available()
        )));
    }
    let d = src.data();
    let snaplen = u32_at::<BE>(d, 16);
    // The upper bits of the link type field carry the FCS length (LT_LINKTYPE in libpcap).
    let linktype = u32_at::<BE>(d, 20) & 0x03ff_ffff;
    src.consume(FILE_HEADER);

    let rec_header: usize = if modified { 24 } else { 16 };
    let (digits, unit): (u8, u64) = if nanos {
        (9, 1_000_000_000)
    } else {
        (6, 1_000_000)
    };
    let max_caplen = (snaplen.min(MAX_BLOCK as u32)).max(MAX_CAPLEN_BEYOND_SNAPLEN);
    let mut frame: u64 = 0;

    loop {
        if src.available() < rec_header && !src.fill(rec_header, out)? {
            if src.available() == 0 {
                return Ok(src.clean_end());
            }
            let at = src.offset();
            return Ok(cut_short(&src, "packet header", at, rec_header as u64));
        }
        let d = src.data();
        let ts_sec = u32_at::<BE>(d, 0);
        let ts_sub = u32_at::<BE>(d, 4);
        let caplen = u32_at::<BE>(d, 8);
        let len = u32_at::<BE>(d, 12);
        if caplen > max_caplen {
            let at = src.offset();
            return Err(damaged(
                &src,
                at,
                format!(
                    "record header of packet {} claims {caplen} captured bytes, more than the \
                     {max_caplen} a packet can have here (file snaplen {snaplen})",
                    frame + 1
                ),
            ));
        }
        let total = rec_header + caplen as usize;
        if src.available() < total && !src.fill(total, out)? {
            let at = src.offset();
            return Ok(cut_short(&src, "packet", at, total as u64));
        }
        frame += 1;
        // A sub-second field past one second (broken writers) carries into the seconds.
        let (mut sec, mut frac) = (ts_sec as i64, ts_sub as u64);
        if frac >= unit {
            sec += (frac / unit) as i64;
            frac %= unit;
        }
        let meta = FrameMeta {
            frame,
            ts_sec: sec,
            ts_frac: frac,
            ts_digits: digits,
            iface: 0,
            linktype,
            len,
            comment: None,
            netmon: None,
        };
        out.frame(&meta, &src.data()[rec_header..total])
            .map_err(Fail::Output)?;
        src.consume(total);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{PKT, input_error, pcap, read};
    use super::*;

    const LE_US: [u8; 4] = [0xd4, 0xc3, 0xb2, 0xa1];
    const BE_US: [u8; 4] = [0xa1, 0xb2, 0xc3, 0xd4];
    const LE_NS: [u8; 4] = [0x4d, 0x3c, 0xb2, 0xa1];
    const BE_NS: [u8; 4] = [0xa1, 0xb2, 0x3c, 0x4d];
    const LE_MOD: [u8; 4] = [0x34, 0xcd, 0xb2, 0xa1];
    const BE_MOD: [u8; 4] = [0xa1, 0xb2, 0xcd, 0x34];

    #[test]
    fn every_variant() {
        for (magic, be, ts) in [
            (LE_US, false, "1700000000.000042"),
            (BE_US, true, "1700000000.000042"),
            (LE_NS, false, "1700000000.000000042"),
            (BE_NS, true, "1700000000.000000042"),
            (LE_MOD, false, "1700000000.000042"),
            (BE_MOD, true, "1700000000.000042"),
        ] {
            let recs: &[(u32, u32, &[u8])] =
                &[(1_700_000_000, 42, PKT), (1_700_000_001, 0, &PKT[..20])];
            // FCS-length bits above the link type are masked off.
            let (got, r) = read(pcap(magic, be, 65535, 0x1000_0000 | 113, recs));
            assert_eq!(r.unwrap(), Finish::Clean, "{magic:x?}");
            assert_eq!(got.len(), 2);
            assert_eq!(got[0].ts, ts);
            assert_eq!((got[0].frame, got[1].frame), (1, 2));
            assert_eq!((got[0].linktype, got[0].iface), (113, 0));
            assert_eq!((got[1].caplen, got[1].len), (20, 30));
        }
    }

    #[test]
    fn sub_second_overflow_carries() {
        let (got, _) = read(pcap(LE_US, false, 65535, 1, &[(10, 2_500_000, PKT)]));
        assert_eq!(got[0].ts, "12.500000");
    }

    #[test]
    fn cut_short_and_damage() {
        let recs: &[(u32, u32, &[u8])] = &[(1, 0, PKT), (2, 0, PKT), (3, 0, PKT)];
        let good = pcap(LE_US, false, 65535, 1, recs);
        let rec = 16 + PKT.len();
        // Truncated inside the last record's data, then inside its header.
        for cut in [good.len() - 1, 24 + 2 * rec + 5] {
            let (got, r) = read(good[..cut].to_vec());
            assert_eq!(got.len(), 2);
            match r.unwrap() {
                Finish::Truncated(m) => {
                    assert!(m.contains(&format!("at byte {}", 24 + 2 * rec)), "{m}");
                }
                f => panic!("{f:?}"),
            }
        }
        // File header only: clean, nothing. Part of it: not a capture.
        let (got, r) = read(good[..24].to_vec());
        assert!(got.is_empty() && r.unwrap() == Finish::Clean);
        let m = input_error(read(good[..20].to_vec()).1);
        assert!(
            m.contains("cut short inside the pcap file header (20 of 24 bytes)"),
            "{m}"
        );
        // An impossible caplen in the middle: damage at that record, no allocation.
        let mut b = good.clone();
        b[24 + rec + 8..24 + rec + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        let (got, r) = read(b);
        assert_eq!(got.len(), 1);
        let m = input_error(r);
        assert!(
            m.starts_with(&format!("t: damaged or corrupt at byte {}: ", 24 + rec)),
            "{m}"
        );
        // caplen above snaplen but plausible (below 256 KiB): read as tshark does.
        let big = vec![0u8; 100_000];
        let (got, r) = read(pcap(LE_US, false, 1500, 1, &[(1, 0, &big), (2, 0, PKT)]));
        assert_eq!(r.unwrap(), Finish::Clean);
        assert_eq!(got[0].caplen, 100_000);
        // A big snaplen allows big records (jumbo / TSO captures), up to 16 MiB.
        let big = vec![0u8; 3_000_000];
        let (got, r) = read(pcap(BE_NS, true, 0x7fff_ffff, 1, &[(1, 0, &big)]));
        assert_eq!(r.unwrap(), Finish::Clean);
        assert_eq!(got[0].caplen, 3_000_000);
    }
}

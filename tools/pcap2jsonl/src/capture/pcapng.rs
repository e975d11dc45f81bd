//! pcapng: a sequence of blocks; a Section Header Block starts a section with its own byte order
//! and its own list of interfaces (Interface Description Blocks), to which packets refer.
//!
//! Packets come from Enhanced Packet Blocks, Simple Packet Blocks (interface 0, no timestamp:
//! `ts` 0, as libpcap gives them) and obsolete Packet Blocks. Every other block (name
//! resolution, statistics, decryption secrets, custom, unknown) is skipped.
//!
//! Interface ids are per section, as tshark's `frame.interface_id` numbers them. Timestamps are
//! converted exactly for every `if_tsresol` of 10^-n and 2^-n up to nine decimal digits; finer
//! resolutions are truncated to nanoseconds, as tshark does. `if_tsoffset` is added in seconds.
//!
//! pcap-parser parses the Section Header and Interface Description blocks (rare, with options);
//! packet blocks are read here, straight from the buffer.

use super::{Fail, Finish, FrameSink, MAX_BLOCK, Source, cut_short, damaged};
use crate::frame::FrameMeta;

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
const BOM: u32 = 0x1a2b_3c4d;
/// More interfaces than this in one section is damage, not a capture (bounds the state kept).
const MAX_INTERFACES: usize = 65_536;

/// Exact conversion of an interface's timestamp ticks to seconds and a decimal fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsConv {
    /// Ticks per second.
    units: u64,
    /// Decimal digits written.
    digits: u8,
    /// How the remainder (ticks below one second) becomes the fraction.
    frac: FracRule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FracRule {
    /// `rem * k` (exact).
    Mul(u64),
    /// `rem / k` (10^-n finer than ns: truncated as tshark).
    Div(u64),
    /// `rem * 10^9 / 2^n` (2^-n finer than 2^-9: truncated to ns as tshark).
    BinNanos(u32),
}

impl TsConv {
    /// The conversion for an `if_tsresol` value; `None` when the resolution does not fit 64 bits.
    pub fn new(tsresol: u8) -> Option<TsConv> {
        let n = u32::from(tsresol & 0x7f);
        if tsresol & 0x80 == 0 {
            let units = 10u64.checked_pow(n)?;
            Some(if n <= 9 {
                let digits = n.max(1);
                TsConv {
                    units,
                    digits: digits as u8,
                    frac: FracRule::Mul(10u64.pow(digits - n)),
                }
            } else {
                TsConv {
                    units,
                    digits: 9,
                    frac: FracRule::Div(10u64.pow(n - 9)),
                }
            })
        } else {
            let units = 1u64.checked_shl(n).filter(|_| n < 64)?;
            Some(if n <= 9 {
                // rem / 2^n == rem * 5^n / 10^n: exact with n digits.
                let digits = n.max(1);
                TsConv {
                    units,
                    digits: digits as u8,
                    frac: FracRule::Mul(5u64.pow(n) * 10u64.pow(digits - n)),
                }
            } else {
                TsConv {
                    units,
                    digits: 9,
                    frac: FracRule::BinNanos(n),
                }
            })
        }
    }

    /// Seconds and fraction (in units of 10^-digits) of a tick count.
    #[inline]
    pub fn split(&self, ticks: u64) -> (u64, u64) {
        let secs = ticks / self.units;
        let rem = ticks % self.units;
        let frac = match self.frac {
            FracRule::Mul(k) => rem * k,
            FracRule::Div(k) => rem / k,
            FracRule::BinNanos(n) => ((u128::from(rem) * 1_000_000_000) >> n) as u64,
        };
        (secs, frac)
    }

    pub fn digits(&self) -> u8 {
        self.digits
    }
}

#[derive(Debug, Clone, Copy)]
struct Iface {
    linktype: u32,
    snaplen: u32,
    ts: TsConv,
    tsoffset: i64,
}

#[inline(always)]
fn u32_at(b: &[u8], at: usize, be: bool) -> u32 {
    let v = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if be {
        u32::from_be_bytes(v)
    } else {
        u32::from_le_bytes(v)
    }
}

#[inline(always)]
fn u16_at(b: &[u8], at: usize, be: bool) -> u16 {
    let v = [b[at], b[at + 1]];
    if be {
        u16::from_be_bytes(v)
    } else {
        u16::from_le_bytes(v)
    }
}

/// The first `opt_comment` (code 1) among options, if valid UTF-8. Trailing NULs are dropped.
fn find_comment(mut opts: &[u8], be: bool) -> Option<&str> {
    while opts.len() >= 4 {
        let code = u16_at(opts, 0, be);
        let len = u16_at(opts, 2, be) as usize;
        if code == 0 || 4 + len > opts.len() {
            return None;
        }
        if code == 1 {
            let v = &opts[4..4 + len];
            let v = match v.iter().rposition(|&b| b != 0) {
                Some(last) => &v[..=last],
                None => return None,
            };
            return std::str::from_utf8(v).ok();
        }
        let next = 4 + len.next_multiple_of(4);
        opts = opts.get(next..)?;
    }
    None
}

pub fn read<S: FrameSink>(mut src: Source, out: &mut S) -> Result<Finish, Fail> {
    let mut ifaces: Vec<Iface> = Vec::new();
    let mut be = false;
    let mut frame: u64 = 0;
    let mut sections: u64 = 0;

    loop {
        if src.available() < 12 && !src.fill(12, out)? {
            if src.available() == 0 {
                if sections == 0 {
                    // Only reachable for an input shorter than a block header.
                    return Err(Fail::Input(format!(
                        "{}: cut short inside the pcapng section header",
                        src.name
                    )));
                }
                return Ok(src.clean_end());
            }
            let at = src.offset();
            if sections == 0 {
                return Err(Fail::Input(format!(
                    "{}: cut short inside the pcapng section header ({} of at least 28 bytes)",
                    src.name,
                    src.available()
                )));
            }
            return Ok(cut_short(&src, "block header", at, 12));
        }
        let at = src.offset();
        let d = src.data();
        let raw_type = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
        if raw_type == SHB {
            // The byte-order magic decides how to read this block, its length included.
            match u32::from_le_bytes([d[8], d[9], d[10], d[11]]) {
                BOM => be = false,
                x if x == BOM.swap_bytes() => be = true,
                x => {
                    return Err(damaged(
                        &src,
                        at,
                        format!("section header with a bad byte-order magic {x:08x}"),
                    ));
                }
            }
        } else if sections == 0 {
            return Err(damaged(
                &src,
                at,
                "pcapng file does not start with a section header",
            ));
        }
        let btype = u32_at(d, 0, be);
        let blen = u32_at(d, 4, be) as usize;
        if blen < 12 || blen % 4 != 0 {
            return Err(damaged(
                &src,
                at,
                format!(
                    "block type 0x{btype:08x} with an invalid total length {blen} (below 12 or not a multiple of 4)"
                ),
            ));
        }
        if blen > MAX_BLOCK {
            return Err(damaged(
                &src,
                at,
                format!(
                    "block type 0x{btype:08x} with a total length of {blen} bytes, more than the {MAX_BLOCK}-byte maximum"
                ),
            ));
        }
        if src.available() < blen && !src.fill(blen, out)? {
            if sections == 0 {
                return Err(Fail::Input(format!(
                    "{}: cut short inside the pcapng section header ({} of {blen} bytes)",
                    src.name,
                    src.available()
                )));
            }
            return Ok(cut_short(&src, "block", at, blen as u64));
        }
        let block = &src.data()[..blen];
        let trailer = u32_at(block, blen - 4, be) as usize;
        if trailer != blen {
            return Err(damaged(
                &src,
                at,
                format!(
                    "block type 0x{btype:08x}: total length {blen} at its start but {trailer} at its end"
                ),
            ));
        }
        let body = &block[8..blen - 4];
        match btype {
            EPB | PB => {
                let (id, hdr) = if btype == EPB {
                    if body.len() < 20 {
                        return Err(damaged(
                            &src,
                            at,
                            "enhanced packet block shorter than its fixed fields",
                        ));
                    }
                    (u32_at(body, 0, be), 4)
                } else {
                    if body.len() < 20 {
                        return Err(damaged(
                            &src,
                            at,
                            "packet block shorter than its fixed fields",
                        ));
                    }
                    (u32::from(u16_at(body, 0, be)), 4)
                };
                let ts_high = u32_at(body, hdr, be);
                let ts_low = u32_at(body, hdr + 4, be);
                let caplen = u32_at(body, hdr + 8, be) as usize;
                let len = u32_at(body, hdr + 12, be);
                let data_at = hdr + 16;
                if caplen > body.len() - data_at {
                    return Err(damaged(
                        &src,
                        at,
                        format!(
                            "packet {} claims {caplen} captured bytes but its block holds {}",
                            frame + 1,
                            body.len() - data_at
                        ),
                    ));
                }
                let Some(iface) = ifaces.get(id as usize) else {
                    return Err(damaged(
                        &src,
                        at,
                        format!(
                            "packet {} is on interface {id}, but the section describes {} interface{}",
                            frame + 1,
                            ifaces.len(),
                            if ifaces.len() == 1 { "" } else { "s" }
                        ),
                    ));
                };
                let opts_at = (data_at + caplen.next_multiple_of(4)).min(body.len());
                let comment = if opts_at + 4 <= body.len() {
                    find_comment(&body[opts_at..], be)
                } else {
                    None
                };
                let ticks = (u64::from(ts_high) << 32) | u64::from(ts_low);
                let (secs, frac) = iface.ts.split(ticks);
                frame += 1;
                let meta = FrameMeta {
                    frame,
                    ts_sec: (i128::from(secs) + i128::from(iface.tsoffset))
                        .clamp(i128::from(i64::MIN), i128::from(i64::MAX))
                        as i64,
                    ts_frac: frac,
                    ts_digits: iface.ts.digits(),
                    iface: id,
                    linktype: iface.linktype,
                    len,
                    comment,
                    netmon: None,
                };
                out.frame(&meta, &body[data_at..data_at + caplen])
                    .map_err(Fail::Output)?;
            }
            SPB => {
                if body.len() < 4 {
                    return Err(damaged(
                        &src,
                        at,
                        "simple packet block shorter than its fixed field",
                    ));
                }
                let Some(iface) = ifaces.first() else {
                    return Err(damaged(
                        &src,
                        at,
                        format!(
                            "packet {} (simple packet block) before any interface description",
                            frame + 1
                        ),
                    ));
                };
                let len = u32_at(body, 0, be);
                let mut caplen = (len as usize).min(body.len() - 4);
                if iface.snaplen != 0 {
                    caplen = caplen.min(iface.snaplen as usize);
                }
                frame += 1;
                let meta = FrameMeta {
                    frame,
                    ts_sec: 0,
                    ts_frac: 0,
                    ts_digits: iface.ts.digits(),
                    iface: 0,
                    linktype: iface.linktype,
                    len,
                    comment: None,
                    netmon: None,
                };
                out.frame(&meta, &body[4..4 + caplen])
                    .map_err(Fail::Output)?;
            }
            SHB => {
                let res = if be {
                    pcap_parser::pcapng::parse_sectionheaderblock_be(block)
                } else {
                    pcap_parser::pcapng::parse_sectionheaderblock_le(block)
                };
                match res {
                    Ok((_, shb)) if shb.major_version == 1 => {}
                    Ok((_, shb)) => {
                        return Err(damaged(
                            &src,
                            at,
                            format!(
                                "pcapng version {}.{} is not supported (only 1.x)",
                                shb.major_version, shb.minor_version
                            ),
                        ));
                    }
                    Err(e) => {
                        return Err(damaged(
                            &src,
                            at,
                            format!("bad section header block: {e:?}"),
                        ));
                    }
                }
                sections += 1;
                ifaces.clear();
            }
            IDB => {
                let res = if be {
                    pcap_parser::pcapng::parse_interfacedescriptionblock_be(block)
                } else {
                    pcap_parser::pcapng::parse_interfacedescriptionblock_le(block)
                };
                let idb = match res {
                    Ok((_, idb)) => idb,
                    Err(e) => {
                        return Err(damaged(
                            &src,
                            at,
                            format!("bad interface description block: {e:?}"),
                        ));
                    }
                };
                let Some(ts) = TsConv::new(idb.if_tsresol) else {
                    return Err(damaged(
                        &src,
                        at,
                        format!(
                            "interface {} has a timestamp resolution (if_tsresol 0x{:02x}) finer than 64 bits can count",
                            ifaces.len(),
                            idb.if_tsresol
                        ),
                    ));
                };
                // pcap-parser reads if_tsoffset little-endian only: read it in the section's order.
                let tsoffset = idb
                    .options
                    .iter()
                    .find(|o| o.code.0 == 14 && o.value.len() >= 8)
                    .map(|o| {
                        let v: [u8; 8] = o.value[..8].try_into().unwrap_or([0; 8]);
                        if be {
                            i64::from_be_bytes(v)
                        } else {
                            i64::from_le_bytes(v)
                        }
                    })
                    .unwrap_or(0);
                if ifaces.len() >= MAX_INTERFACES {
                    return Err(damaged(
                        &src,
                        at,
                        format!("more than {MAX_INTERFACES} interfaces in one section"),
                    ));
                }
                ifaces.push(Iface {
                    linktype: u32::from(idb.linktype.0 as u16),
                    snaplen: idb.snaplen,
                    ts,
                    tsoffset,
                });
            }
            _ => {}
        }
        src.consume(blen);
    }
}

#[cfg(test)]
mod tests {
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
}

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
mod tests;

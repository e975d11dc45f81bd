//! Classic pcap: a 24-byte file header, then records of a 16-byte header (24 bytes in the
//! "modified" format) and the captured bytes.
//!
//! Damage rule (as Wireshark's): a record whose caplen exceeds both the file's snaplen and
//! 256 KiB cannot be a packet (a garbage header, or a hostile length); it is reported at the
//! byte where that record header starts, without allocating anything for it.

use std::io::Write;

use tcpwhy_common::jsonl::JsonlWriter;

use super::{Fail, Finish, MAX_BLOCK, MAX_CAPLEN_BEYOND_SNAPLEN, Source, cut_short, damaged};
use crate::decode::write_packet;
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

pub fn read<W: Write>(
    src: Source,
    out: &mut JsonlWriter<W>,
    big_endian: bool,
    nanos: bool,
    modified: bool,
) -> Result<Finish, Fail> {
    if big_endian {
        read_records::<true, W>(src, out, nanos, modified)
    } else {
        read_records::<false, W>(src, out, nanos, modified)
    }
}

fn read_records<const BE: bool, W: Write>(
    mut src: Source,
    out: &mut JsonlWriter<W>,
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
                return Ok(Finish::Clean);
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
        };
        write_packet(&meta, &src.data()[rec_header..total], out.buffer());
        out.end_record().map_err(Fail::Output)?;
        src.consume(total);
    }
}

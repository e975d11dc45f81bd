//! Microsoft Network Monitor captures (`.cap`): NetMon 1.x (`RTSS`) and 2.x (`GMBU`, versions
//! 2.0 to 2.3, as written by Network Monitor 2.x and 3.x and by `editcap -F netmon1|netmon2`).
//!
//! Layout (as Wireshark's `wiretap/netmon.c` reads it): a 128-byte file header (magic, version,
//! media type, capture start as a `SYSTEMTIME`, then offsets and lengths of the frame table, the
//! comment table and the process table), the frames, and at the end the frame table: one 32-bit
//! file offset per frame. Frames are read through that table, as tshark reads them. Each frame is
//! a header (1.x: 32-bit millisecond offset from the start and 16-bit lengths; 2.x: 64-bit
//! microsecond offset and 32-bit lengths), the bytes, and from 2.1 on a trailer: the frame's
//! media type (2.1), an index into the process table (2.2) and a UTC `FILETIME` with 100 ns
//! resolution plus a time zone index (2.3).
//!
//! Because the frame table is at the end, a stream (stdin, a decompressed `.cap.gz`) is first
//! spooled to an anonymous temporary file; memory stays bounded by one frame (at most
//! [`MAX_CAPLEN`] bytes), one chunk of the frame table and the comment and process tables (each
//! read only up to [`MAX_SIDE_TABLE`] bytes). Every offset and length read from the file is
//! checked against the real file size before anything is read or allocated for it.
//!
//! Damage: a file cut short (its frame table lies past its end, or was never written) is read in
//! file order from byte 128, frame by frame, up to the cut: every complete frame is output, then
//! a warning names the byte where the cut frame starts (exit 0, as for a cut pcap). A frame table
//! entry pointing outside the file, an impossible frame length or a damaged comment or process
//! table is an error naming the file and the byte (exit 2) after every frame before it.
//!
//! Records: every frame, NetMon's own (filter, network info, ETW event, DNS cache, …) included,
//! goes to the [`FrameSink`] like any other, its [`FrameMeta`] carrying a [`NetmonFrame`] (NetMon
//! frame number, media type, comment, process); `crate::decode::netmon` maps the media type to
//! its pcap `LINKTYPE_*` or writes NetMon's own frames. docs/netmon.md describes every field.
//!
//! Here the header and the frame table walk (table or file order); in `netmon/` the window over
//! the file, the time stamps and the two side tables.

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom, Write};

use super::{Fail, Finish, FrameSink, Source};
use crate::decode::netmon::{Media, classify};
use crate::frame::{FrameMeta, NetmonComment as Comment, NetmonFrame, NetmonProcess as Process};

mod input;
mod tables;
mod time;

use input::Input;
use tables::{read_comments, read_processes};
#[cfg(test)]
use time::FILETIME_EPOCH_OFFSET;
use time::{frame_time, start_seconds};

/// Magic of NetMon 1.x files.
pub const MAGIC_1X: &[u8; 4] = b"RTSS";
/// Magic of NetMon 2.x files.
pub const MAGIC_2X: &[u8; 4] = b"GMBU";
/// The part of the file header that is read (magic and the fields after it).
const HEADER_FIELDS: u64 = 64;
/// The header is padded to this size; files written by NetMon and editcap put frame 1 here.
pub const FIRST_FRAME: u64 = 128;
/// The largest captured length accepted (Wireshark's `WTAP_MAX_PACKET_SIZE_STANDARD`).
pub const MAX_CAPLEN: u32 = 262_144;
/// The comment and process tables are read only up to this size each.
pub const MAX_SIDE_TABLE: u64 = 64 << 20;
/// The most a stream is spooled: frame offsets are 32-bit, so no NetMon file is larger than
/// 4 GiB plus its frame table (another 4 GiB at most).
pub const MAX_SPOOL: u64 = 8 << 30;
/// Frame table entries read at a time.
const TABLE_CHUNK: usize = 16 * 1024;

/// True when `magic` (the first bytes of an input) is a NetMon 1.x or 2.x capture.
pub fn is_netmon(magic: &[u8]) -> bool {
    magic.starts_with(MAGIC_1X) || magic.starts_with(MAGIC_2X)
}

/// What reading a NetMon capture found besides its frames.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Records written (numbered frames and NetMon metadata frames).
    pub records: u64,
    /// Warnings: the file was cut short (every complete frame before the cut was output).
    pub warnings: Vec<String>,
    /// Errors: damage (every frame before it was output); any of these means exit 2.
    pub errors: Vec<String>,
}

/// The capture reader's dispatch point: reads a NetMon capture whose magic was seen at the start
/// of `src`. The last error (or, without errors, the last warning) is returned for the caller to
/// print; any others are printed by [`super::report`], after the records before them.
pub(super) fn read_source<S: FrameSink>(src: Source, out: &mut S) -> Result<Finish, Fail> {
    let name = src.name.clone();
    let (prefix, rd) = src.into_parts();
    let res = match reopen(&name, &prefix) {
        // A regular file: read it in place, no spool.
        Some((file, len)) => read_seekable(file, len, &name, out),
        None => read_stream(&prefix, rd, &name, out),
    };
    let outcome = res?;
    super::report(out, outcome.warnings, outcome.errors)
}

/// When `name` is a regular file that starts with `prefix` (the bytes the capture reader has
/// read from it), opens it again for seeking; pipes and decompressed streams are spooled.
fn reopen(name: &str, prefix: &[u8]) -> Option<(std::fs::File, u64)> {
    // `pcap2jsonl - < x.cap`: stdin redirected from a regular file (read from its start).
    let name = if name == "<stdin>" && cfg!(unix) {
        "/dev/stdin"
    } else {
        name
    };
    let meta = std::fs::metadata(name).ok()?;
    if !meta.is_file() || meta.len() < prefix.len() as u64 {
        return None;
    }
    let mut f = std::fs::File::open(name).ok()?;
    let n = prefix.len().min(64 * 1024);
    let mut head = vec![0u8; n];
    f.read_exact(&mut head).ok()?;
    if head != prefix[..n] {
        return None;
    }
    f.seek(SeekFrom::Start(0)).ok()?;
    Some((f, meta.len()))
}

/// Spools `prefix` + `rest` to an anonymous temporary file and reads it with [`read_seekable`].
pub fn read_stream<R: Read, S: FrameSink>(
    prefix: &[u8],
    rest: R,
    name: &str,
    out: &mut S,
) -> Result<Outcome, Fail> {
    let mut file = tempfile::tempfile().map_err(|e| {
        Fail::Input(format!(
            "{name}: cannot create a temporary file to read the NetMon capture (its frame \
             table is at its end, so a stream is spooled first): {e}"
        ))
    })?;
    let spool_err = |e: io::Error| {
        Fail::Input(format!(
            "{name}: cannot spool the NetMon capture to a temporary file: {e}"
        ))
    };
    file.write_all(prefix).map_err(spool_err)?;
    let mut read_error = None;
    let mut total = prefix.len() as u64;
    let mut limited = rest.take(MAX_SPOOL.saturating_sub(total) + 1);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match limited.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                file.write_all(&buf[..n]).map_err(spool_err)?;
                total += n as u64;
            }
            // TimedOut: a live stream's idle signal (capture::ReadAhead), not an error.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => {
                read_error = Some(format!(
                    "{name}: read error at byte {total}: {e}; the {total} bytes before it were read"
                ));
                break;
            }
        }
    }
    if total > MAX_SPOOL {
        return Err(Fail::Input(format!(
            "{name}: more than {} GiB: larger than any NetMon capture can be",
            MAX_SPOOL >> 30
        )));
    }
    file.seek(SeekFrom::Start(0)).map_err(spool_err)?;
    let mut outcome = read_seekable(file, total, name, out)?;
    if let Some(e) = read_error {
        outcome.errors.insert(0, e);
    }
    Ok(outcome)
}

/// The parsed file header.
#[derive(Debug, Clone, Copy)]
struct Header {
    major: u8,
    minor: u8,
    network: u16,
    /// SYSTEMTIME: year, month, day of week, day, hour, minute, second, millisecond.
    start: [u16; 8],
    frame_table_offset: u32,
    frame_table_length: u32,
    comment_offset: u32,
    comment_length: u32,
    process_offset: u32,
    process_count: u32,
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn le64(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

impl Header {
    fn parse(b: &[u8]) -> Header {
        let mut start = [0u16; 8];
        for (i, s) in start.iter_mut().enumerate() {
            *s = le16(b, 8 + 2 * i);
        }
        Header {
            minor: b[4],
            major: b[5],
            network: le16(b, 6),
            start,
            frame_table_offset: le32(b, 24),
            frame_table_length: le32(b, 28),
            comment_offset: le32(b, 40),
            comment_length: le32(b, 44),
            process_offset: le32(b, 48),
            process_count: le32(b, 52),
        }
    }

    /// Size of the per-frame trailer (2.1 and later).
    fn trailer_len(&self) -> u64 {
        match (self.major, self.minor) {
            (2, 1) => 2,
            (2, 2) => 6,
            (2, m) if m >= 3 => 15,
            _ => 0,
        }
    }

    fn per_frame_media(&self) -> bool {
        self.major == 2 && self.minor >= 1
    }

    fn has_side_tables(&self) -> bool {
        self.major == 2 && self.minor >= 2
    }

    /// Decimal digits of the time stamps: ms (1.x), µs (2.0-2.2), 100 ns (2.3).
    fn ts_digits(&self) -> u8 {
        match (self.major, self.minor) {
            (1, _) => 3,
            (_, m) if m >= 3 => 7,
            _ => 6,
        }
    }
}

/// How frames are found.
enum Walk {
    /// Through the frame table: `entries` offsets at `offset`.
    Table { offset: u64, entries: u64 },
    /// In file order from byte 128 up to `end` (the frame table is missing: the file was cut
    /// short or never closed).
    Sequential { end: u64 },
}

/// Reads a whole NetMon capture of `len` bytes from a seekable input.
pub fn read_seekable<R: Read + Seek, S: FrameSink>(
    r: R,
    len: u64,
    name: &str,
    out: &mut S,
) -> Result<Outcome, Fail> {
    let mut inp = Input::new(r, len);
    let io_err =
        |at: u64, e: io::Error| Fail::Input(format!("{name}: read error at byte {at}: {e}"));
    if len < HEADER_FIELDS {
        return Err(Fail::Input(format!(
            "{name}: cut short inside the NetMon file header ({len} of {HEADER_FIELDS} bytes)"
        )));
    }
    let mut hb = [0u8; HEADER_FIELDS as usize];
    inp.read_at(0, &mut hb).map_err(|e| io_err(0, e))?;
    if !is_netmon(&hb) {
        return Err(Fail::Input(format!(
            "{name}: not a NetMon capture (no RTSS or GMBU magic)"
        )));
    }
    let h = Header::parse(&hb);
    match (&hb[..4], h.major) {
        (m, 1) if m == MAGIC_1X => {}
        (m, 2) if m == MAGIC_2X => {}
        _ => {
            return Err(Fail::Input(format!(
                "{name}: NetMon file format version {}.{} with magic {} is not supported \
                 (1.x and 2.x are)",
                h.major,
                h.minor,
                String::from_utf8_lossy(&hb[..4])
            )));
        }
    }
    if !h.per_frame_media() {
        let m = classify(h.network);
        if !matches!(m, Media::Pcap(_) | Media::Atm) {
            return Err(Fail::Input(format!(
                "{name}: NetMon media type {} in the file header is unknown or not supported",
                h.network
            )));
        }
    }

    let mut outcome = Outcome::default();
    let start_secs = start_seconds(&h.start);

    // Where the frames are.
    let ft_off = u64::from(h.frame_table_offset);
    let ft_len = u64::from(h.frame_table_length);
    let entries = ft_len / 4;
    let walk = if ft_len == 0 {
        if len > FIRST_FRAME {
            outcome.warnings.push(format!(
                "{name}: the NetMon frame table is empty (the capture was not closed, or the \
                 file was cut short); reading frames in file order from byte {FIRST_FRAME}"
            ));
            Walk::Sequential { end: len }
        } else {
            Walk::Table {
                offset: 0,
                entries: 0,
            }
        }
    } else if !inp.fits(ft_off, entries * 4) {
        outcome.warnings.push(format!(
            "{name}: cut short: the NetMon frame table ({entries} frames at byte {ft_off}) \
             lies past the end of the file ({len} bytes); reading frames in file order from \
             byte {FIRST_FRAME} up to the cut"
        ));
        let end = if (FIRST_FRAME..len).contains(&ft_off) {
            ft_off
        } else {
            len
        };
        Walk::Sequential { end }
    } else {
        if ft_len % 4 != 0 {
            outcome.errors.push(format!(
                "{name}: damaged or corrupt at byte 28: frame table length {ft_len} is not a \
                 multiple of 4; its first {entries} entries were read"
            ));
        }
        Walk::Table {
            offset: ft_off,
            entries,
        }
    };

    let (comments, processes) = if h.has_side_tables() {
        (
            read_comments(&mut inp, &h, name, &mut outcome),
            read_processes(&mut inp, &h, name, &mut outcome),
        )
    } else {
        (HashMap::new(), Vec::new())
    };

    let hdr_len: u64 = if h.major == 1 { 8 } else { 16 };
    let trailer_len = h.trailer_len();
    let digits = h.ts_digits();
    let mut table: Vec<u32> = Vec::new();
    let mut table_base: u64 = 0; // index of table[0]
    let mut frame_no: u64 = 0; // tshark's numbering
    let mut index: u64 = 0; // NetMon's own numbering (1-based after increment)
    let mut next_seq = FIRST_FRAME;

    loop {
        // The next frame's offset.
        let off = match walk {
            Walk::Table { offset, entries } => {
                if index >= entries {
                    break;
                }
                if index >= table_base + table.len() as u64 {
                    let n = (entries - index).min(TABLE_CHUNK as u64) as usize;
                    let mut raw = vec![0u8; n * 4];
                    let at = offset + index * 4;
                    inp.read_at(at, &mut raw).map_err(|e| io_err(at, e))?;
                    table.clear();
                    table.extend(raw.chunks_exact(4).map(|c| le32(c, 0)));
                    table_base = index;
                }
                u64::from(table[(index - table_base) as usize])
            }
            Walk::Sequential { end } => {
                if next_seq >= end {
                    break;
                }
                next_seq
            }
        };
        index += 1;
        let seq_end = match walk {
            Walk::Sequential { end } => Some(end),
            Walk::Table { .. } => None,
        };

        // The frame header.
        if !inp.fits(off, hdr_len) || seq_end.is_some_and(|e| off + hdr_len > e) {
            match seq_end {
                Some(end) => outcome.warnings.push(format!(
                    "{name}: cut short in the middle of the header of frame {index} at byte \
                     {off} ({hdr_len} bytes expected, {} present); every complete frame \
                     before it was output",
                    end - off
                )),
                None => outcome.errors.push(format!(
                    "{name}: damaged or corrupt at byte {}: frame table entry {index} points \
                     to byte {off}, past the end of the file ({len} bytes)",
                    ft_off + (index - 1) * 4
                )),
            }
            break;
        }
        let mut fh = [0u8; 16];
        let fh = &mut fh[..hdr_len as usize];
        inp.read_at(off, fh).map_err(|e| io_err(off, e))?;
        let (delta_raw, orig_len, incl_len) = if h.major == 1 {
            (
                u64::from(le32(fh, 0)),
                u32::from(le16(fh, 4)),
                u32::from(le16(fh, 6)),
            )
        } else {
            (le64(fh, 0), le32(fh, 8), le32(fh, 12))
        };
        if incl_len > MAX_CAPLEN || (seq_end.is_some() && incl_len > orig_len) {
            outcome.errors.push(format!(
                "{name}: damaged or corrupt at byte {off}: frame {index} has a captured length \
                 of {incl_len} bytes (wire length {orig_len}; at most {MAX_CAPLEN} accepted)"
            ));
            break;
        }
        let total = hdr_len + u64::from(incl_len) + trailer_len;
        if !inp.fits(off, total) || seq_end.is_some_and(|e| off + total > e) {
            match seq_end {
                Some(end) => outcome.warnings.push(format!(
                    "{name}: cut short in the middle of frame {index} at byte {off} ({total} \
                     bytes expected, {} present); every complete frame before it was output",
                    end - off
                )),
                None => outcome.errors.push(format!(
                    "{name}: damaged or corrupt at byte {off}: frame {index} ({total} bytes) \
                     extends past the end of the file ({len} bytes)"
                )),
            }
            break;
        }
        // The whole frame (header, bytes, trailer), at most MAX_CAPLEN + 31 bytes.
        let whole = inp.slice(off, total as usize).map_err(|e| io_err(off, e))?;
        let data = &whole[hdr_len as usize..(hdr_len + u64::from(incl_len)) as usize];
        let mut media = h.network;
        let mut process_index = None;
        let mut utc = None;
        if trailer_len > 0 {
            let tb = &whole[(hdr_len + u64::from(incl_len)) as usize..];
            media = le16(tb, 0);
            if trailer_len >= 6 {
                process_index = Some(le32(tb, 2));
            }
            if trailer_len >= 15 {
                utc = Some(le64(tb, 6));
            }
        }
        let kind = classify(media);
        if seq_end.is_some() && matches!(kind, Media::Undecoded("unknown")) {
            // Without the frame table, an unknown media type means we are not at a frame.
            outcome.errors.push(format!(
                "{name}: damaged or corrupt at byte {off}: frame {index} has unknown media \
                 type {media} (reading in file order, without the frame table)"
            ));
            break;
        }
        next_seq = off + total;

        let (ts_sec, ns) = frame_time(&h, start_secs, delta_raw, utc);
        let ts_frac = u64::from(ns) / 10u64.pow(9 - u32::from(digits));
        let numbered = !matches!(kind, Media::Special(k) if !k.numbered());
        if numbered {
            frame_no += 1;
        }
        let comment = comments
            .get(&(off as u32))
            .filter(|_| u32::try_from(off).is_ok());
        let process = process_index.and_then(|i| processes.get(i as usize));
        let nm = NetmonFrame {
            netmon_frame: index,
            media,
            comment,
            process,
        };
        let meta = FrameMeta {
            frame: if numbered { frame_no } else { 0 },
            ts_sec,
            ts_frac,
            ts_digits: digits,
            iface: 0,
            linktype: 0,
            len: orig_len,
            comment: comment.map(|c| c.title.as_str()),
            netmon: Some(&nm),
        };
        out.frame(&meta, data).map_err(Fail::Output)?;
        outcome.records += 1;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests;

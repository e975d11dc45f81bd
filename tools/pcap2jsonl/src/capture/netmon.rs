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
//! Over 600 lines: the header, the frame table walk (table or file order), the window over the
//! file and the two side tables are one file format, read together.

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom, Write};

use super::{Fail, Finish, FrameSink, Source};
use crate::decode::netmon::{Media, classify, utf16_lossy};
use crate::frame::{FrameMeta, NetmonComment as Comment, NetmonFrame, NetmonProcess as Process};

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
/// Seconds from 1601-01-01 (FILETIME epoch) to 1970-01-01.
const FILETIME_EPOCH_OFFSET: i64 = 11_644_473_600;

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

/// Days from 1970-01-01 to the given proleptic Gregorian date (month 1..=12).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The capture start of a 1.x/2.x header in epoch seconds. The SYSTEMTIME is read as UTC (the
/// file does not say which zone it was in; tshark applies the reader's local zone, so it agrees
/// with this under TZ=UTC). Out-of-range fields carry over as `mktime` normalises them.
fn start_seconds(st: &[u16; 8]) -> i64 {
    let [year, month, _dow, day, hour, minute, second, _ms] = st.map(i64::from);
    let m0 = month - 1;
    let y = year + m0.div_euclid(12);
    let m = m0.rem_euclid(12) + 1;
    let days = days_from_civil(y, m, 1) + day - 1;
    days * 86_400 + hour * 3_600 + minute * 60 + second
}

/// Time stamp of one frame as (seconds, nanoseconds), exactly as tshark computes it.
fn frame_time(h: &Header, start_secs: i64, delta_raw: u64, utc: Option<u64>) -> (i64, u32) {
    if let Some(ft) = utc {
        let secs = (ft / 10_000_000) as i64 - FILETIME_EPOCH_OFFSET;
        return (secs, ((ft % 10_000_000) * 100) as u32);
    }
    let start_nsecs = i64::from(h.start[7]) * 1_000_000;
    let delta_ns: i64 = if h.major == 1 {
        i64::from(delta_raw as u32) * 1_000_000
    } else {
        // Microseconds, unsigned on disk but negative values occur: as Wireshark, multiply by
        // 10 as unsigned and read the result as signed 100 ns units.
        (delta_raw.wrapping_mul(10) as i64).wrapping_mul(100)
    };
    let t = start_nsecs.wrapping_add(delta_ns);
    let secs = t.div_euclid(1_000_000_000);
    let nsecs = t.rem_euclid(1_000_000_000) as u32;
    (start_secs.wrapping_add(secs), nsecs)
}

/// A seekable input with its real size; reads are bounds-checked by the callers.
///
/// Frames are handed out as slices of a window of the file (no copy per frame): the window is
/// refilled with [`WINDOW`] bytes from the frame that does not fit in it, so frames stored in
/// file order cost one large read per window.
struct Input<R: Read + Seek> {
    r: R,
    len: u64,
    win: Vec<u8>,
    win_off: u64,
    win_len: usize,
}

/// The usual window size (it grows to one whole frame when a frame is larger).
const WINDOW: usize = 1 << 20;

impl<R: Read + Seek> Input<R> {
    fn new(r: R, len: u64) -> Self {
        Input {
            r,
            len,
            win: Vec::new(),
            win_off: 0,
            win_len: 0,
        }
    }

    /// The `n` bytes at `off`, which the caller checked lie inside the file (`n` is at most one
    /// frame).
    fn slice(&mut self, off: u64, n: usize) -> io::Result<&[u8]> {
        if !self.fits(off, n as u64) {
            // Callers check first; never index past the window.
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let in_window = off >= self.win_off && off - self.win_off + n as u64 <= self.win_len as u64;
        if !in_window {
            let want = (n.max(WINDOW) as u64).min(self.len.saturating_sub(off)) as usize;
            if self.win.len() < want {
                self.win.resize(want, 0);
            }
            self.r.seek(SeekFrom::Start(off))?;
            self.r.read_exact(&mut self.win[..want])?;
            self.win_off = off;
            self.win_len = want;
        }
        let s = (off - self.win_off) as usize;
        Ok(&self.win[s..s + n])
    }

    /// Reads `buf.len()` bytes at `off` (inside the file): small reads through the window,
    /// large ones (a frame table chunk, a comment table) directly, leaving the window as it is.
    fn read_at(&mut self, off: u64, buf: &mut [u8]) -> io::Result<()> {
        if buf.len() <= 4096 {
            let n = buf.len();
            buf.copy_from_slice(self.slice(off, n)?);
        } else {
            self.r.seek(SeekFrom::Start(off))?;
            self.r.read_exact(buf)?;
        }
        Ok(())
    }

    /// True when `len` bytes at `off` lie inside the file.
    fn fits(&self, off: u64, len: u64) -> bool {
        off.checked_add(len).is_some_and(|end| end <= self.len)
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

/// Reads the comment table (2.2 and later): comments keyed by the file offset of their frame.
fn read_comments<R: Read + Seek>(
    inp: &mut Input<R>,
    h: &Header,
    name: &str,
    outcome: &mut Outcome,
) -> HashMap<u32, Comment> {
    let mut map = HashMap::new();
    let off = u64::from(h.comment_offset);
    let size = u64::from(h.comment_length);
    if size == 0 {
        return map;
    }
    // The tables follow the frames and the frame table: a file cut short loses them first.
    // Frames are complete then, so this is a warning; inconsistent contents are an error.
    if !inp.fits(off, size) {
        outcome.warnings.push(format!(
            "{name}: cut short or damaged: the comment table ({size} bytes at byte {off}, \
             header byte 40) lies past the end of the file ({} bytes); comments were not read",
            inp.len
        ));
        return map;
    }
    let errors = &mut outcome.errors;
    if size > MAX_SIDE_TABLE {
        errors.push(format!(
            "{name}: the comment table at byte {off} is {size} bytes, more than the {} MiB \
             read; comments were not read",
            MAX_SIDE_TABLE >> 20
        ));
        return map;
    }
    let mut b = vec![0u8; size as usize];
    if let Err(e) = inp.read_at(off, &mut b) {
        errors.push(format!("{name}: read error at byte {off}: {e}"));
        return map;
    }
    let mut at = 0usize;
    let bad = |at: usize, what: &str| {
        format!(
            "{name}: damaged or corrupt at byte {}: {what} in the comment table; the comments \
             after it were not read",
            off + at as u64
        )
    };
    while b.len() - at > 16 {
        let frame_offset = le32(&b, at + 4);
        let title_len = le32(&b, at + 8) as usize;
        if title_len == 0 || title_len > b.len() - at - 12 {
            errors.push(bad(at, &format!("comment title length {title_len}")));
            break;
        }
        let title = utf16_lossy(&b[at + 12..at + 12 + title_len]);
        let p = at + 12 + title_len;
        if b.len() - p < 4 {
            errors.push(bad(p, "comment cut short"));
            break;
        }
        let desc_len = le32(&b, p) as usize;
        if desc_len > b.len() - p - 4 {
            errors.push(bad(p, &format!("comment description length {desc_len}")));
            break;
        }
        let d = &b[p + 4..p + 4 + desc_len];
        let d = d.split(|&c| c == 0).next().unwrap_or(d);
        let description = String::from_utf8_lossy(d).into_owned();
        map.insert(frame_offset, Comment { title, description });
        at = p + 4 + desc_len;
    }
    map
}

/// Reads the process table (2.2 and later): application path, PID and the connection's ends.
fn read_processes<R: Read + Seek>(
    inp: &mut Input<R>,
    h: &Header,
    name: &str,
    outcome: &mut Outcome,
) -> Vec<Process> {
    let mut v = Vec::new();
    let off = u64::from(h.process_offset);
    let count = h.process_count;
    if off == 0 || count == 0 {
        return v;
    }
    if off >= inp.len {
        outcome.warnings.push(format!(
            "{name}: cut short or damaged: the process table (at byte {off}, header byte 48) \
             lies past the end of the file ({} bytes); process names were not read",
            inp.len
        ));
        return v;
    }
    // The table's size is not in the header: read up to the end of the file (or the bound).
    let reaches_eof = off + MAX_SIDE_TABLE >= inp.len;
    let size = (inp.len - off).min(MAX_SIDE_TABLE);
    let mut b = vec![0u8; size as usize];
    if let Err(e) = inp.read_at(off, &mut b) {
        outcome
            .errors
            .push(format!("{name}: read error at byte {off}: {e}"));
        return v;
    }
    // An entry running past the end of the file: cut short (a warning, frames are complete);
    // past the bound, or an impossible path length: damage.
    let mut problem = |at: usize, i: u32, short: bool, what: &str| {
        let at = off + at as u64;
        if short && reaches_eof {
            outcome.warnings.push(format!(
                "{name}: cut short at byte {at}: process table entry {i} {what} ({} bytes); \
                 the entries from it on were not read",
                inp.len
            ));
        } else {
            outcome.errors.push(format!(
                "{name}: damaged or corrupt at byte {at}: process table entry {i} {what}; the \
                 entries from it on were not read"
            ));
        }
    };
    // A 2-byte version, then the entries.
    let mut at = 2usize;
    let need = |at: usize, n: usize| b.len() >= at && b.len() - at >= n;
    for i in 0..count {
        if !need(at, 4) {
            problem(at, i, true, "runs past the end of the file");
            break;
        }
        let path_len = le32(&b, at) as usize;
        if path_len > 65_536 {
            problem(at, i, false, &format!("has a path of {path_len} bytes"));
            break;
        }
        if !need(at, 4 + path_len + 4) {
            problem(at, i, true, "runs past the end of the file");
            break;
        }
        let path = utf16_lossy(&b[at + 4..at + 4 + path_len]);
        at += 4 + path_len;
        let icon_len = le32(&b, at) as usize;
        at += 4;
        if !need(at, icon_len.saturating_add(48)) {
            problem(at, i, true, "runs past the end of the file");
            break;
        }
        at += icon_len;
        let pid = le32(&b, at);
        let local_port = le16(&b, at + 4);
        let remote_port = le16(&b, at + 8);
        let ipv6 = le32(&b, at + 12) != 0;
        let mut local_addr = [0u8; 16];
        local_addr.copy_from_slice(&b[at + 16..at + 32]);
        let mut remote_addr = [0u8; 16];
        remote_addr.copy_from_slice(&b[at + 32..at + 48]);
        at += 48;
        v.push(Process {
            path,
            pid,
            local_port,
            remote_port,
            ipv6,
            local_addr,
            remote_addr,
        });
    }
    v
}

#[cfg(test)]
mod tests {
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
}

//! Capture reading: format detection by magic, then the record loop of the format.
//!
//! Formats: classic pcap (µs and ns magic, both byte orders, and the "modified" Kuznetzov
//! variant), pcapng (any number of sections, each with its own byte order and interfaces),
//! gzip of any of them (detected by magic, decompressed on the fly, then detected again), and
//! Microsoft Network Monitor files (`netmon.rs`; NetMon's own frame kinds are ordinary frames
//! here, written by `crate::decode::netmon`).
//!
//! Every reader works on one [`Source`] buffer: frames are borrowed slices of it, handed to
//! [`crate::decode::write_packet`] together with a [`FrameMeta`](crate::frame::FrameMeta).
//!
//! Outcomes: [`Finish::Clean`]; [`Finish::Truncated`] when the input ends inside a record (every
//! complete frame was written; the caller prints a warning, exit 0); [`Fail::Input`] when the
//! input is not a capture or is damaged before its end (every frame before the damage was
//! written; the message names the input and the byte offset; exit 2); [`Fail::Output`] when
//! writing fails (a closed pipe included).

pub mod netmon;
mod pcap;
mod pcapng;
mod source;
#[cfg(test)]
mod testutil;

use std::io::{self, Read, Write};

use tcpwhy_common::jsonl::{Flush, JsonlWriter};

use crate::frame::FrameMeta;

pub use source::Source;

/// Largest caplen accepted beyond the file's snaplen (as Wireshark's 256 KiB standard maximum).
pub const MAX_CAPLEN_BEYOND_SNAPLEN: u32 = 256 * 1024;
/// Largest pcapng block, and largest classic pcap record, accepted at all (16 MiB).
pub const MAX_BLOCK: usize = 16 << 20;

/// Why reading an input stopped early.
#[derive(Debug)]
pub enum Fail {
    /// Writing the output failed (a closed pipe included): stop everything.
    Output(io::Error),
    /// The input is unreadable, not a capture, or damaged: the message names it and the byte.
    Input(String),
}

/// How reading an input ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Finish {
    /// At the end of the input, after a complete record.
    Clean,
    /// The input ended inside a record: every complete frame was written; the message (for a
    /// warning) names the input and the offset of the incomplete record.
    Truncated(String),
}

/// What the first bytes of an input say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic pcap: big-endian fields, nanosecond timestamps, 24-byte record headers
    /// ("modified" format).
    Pcap {
        big_endian: bool,
        nanos: bool,
        modified: bool,
    },
    PcapNg,
    Gzip,
    /// Microsoft Network Monitor 2.x (`GMBU`) or 1.x (`RTSS`).
    NetMon {
        version: u8,
    },
}

/// Recognises a capture format from its first four bytes.
pub fn detect(magic: [u8; 4]) -> Option<Format> {
    let pcap = |big_endian, nanos, modified| {
        Some(Format::Pcap {
            big_endian,
            nanos,
            modified,
        })
    };
    match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => pcap(false, false, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => pcap(true, false, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => pcap(false, true, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => pcap(true, true, false),
        [0x34, 0xcd, 0xb2, 0xa1] => pcap(false, false, true),
        [0xa1, 0xb2, 0xcd, 0x34] => pcap(true, false, true),
        [0x0a, 0x0d, 0x0d, 0x0a] => Some(Format::PcapNg),
        [0x1f, 0x8b, _, _] => Some(Format::Gzip),
        [b'G', b'M', b'B', b'U'] => Some(Format::NetMon { version: 2 }),
        [b'R', b'T', b'S', b'S'] => Some(Format::NetMon { version: 1 }),
        _ => None,
    }
}

/// Where the readers put each frame. [`Flush::flush_output`] is called before every read of the
/// input that may block.
pub trait FrameSink: Flush {
    fn frame(&mut self, meta: &FrameMeta, data: &[u8]) -> io::Result<()>;
}

/// The production sink: one JSON `packet` record per frame.
impl<W: Write> FrameSink for JsonlWriter<W> {
    #[inline]
    fn frame(&mut self, meta: &FrameMeta, data: &[u8]) -> io::Result<()> {
        crate::decode::write_packet(meta, data, self.buffer());
        self.end_record()
    }
}

/// Reads one whole input, handing every frame to `out`. Frame numbers start at 1.
pub fn read_capture<S: FrameSink>(
    name: &str,
    rd: Box<dyn Read + Send>,
    out: &mut S,
) -> Result<Finish, Fail> {
    read_source(Source::new(rd, name.to_string()), out, 0)
}

/// How long a live stream may stay silent before [`Flush::idle`] is called (a `tick`).
pub const IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// [`read_capture`] for a stream (stdin, a pipe, a FIFO): the input is read on a thread of its
/// own, and whenever nothing arrives for `idle` the sink's [`Flush::idle`] is called (it writes a
/// `tick`). A first SIGINT/SIGTERM ends the input as if it had ended (within 0.2 s).
pub fn read_stream<S: FrameSink>(
    name: &str,
    rd: Box<dyn Read + Send>,
    out: &mut S,
    idle: std::time::Duration,
) -> Result<Finish, Fail> {
    let rd = Box::new(ReadAhead::spawn(rd).with_idle(idle));
    let mut src = Source::new(rd, name.to_string());
    src.live = true;
    read_source(src, out, 0)
}

fn read_source<S: FrameSink>(mut src: Source, out: &mut S, gzip_depth: u8) -> Result<Finish, Fail> {
    src.fill(4, out)?;
    let head = src.data();
    if head.is_empty() {
        let what = if gzip_depth > 0 {
            "empty after decompression"
        } else {
            "empty input"
        };
        return Err(Fail::Input(format!(
            "{}: {what}: not a capture file",
            src.name
        )));
    }
    if head.len() < 4 {
        return Err(Fail::Input(format!(
            "{}: only {} byte{}: not a capture file",
            src.name,
            head.len(),
            if head.len() == 1 { "" } else { "s" }
        )));
    }
    let magic = [head[0], head[1], head[2], head[3]];
    match detect(magic) {
        Some(Format::Pcap {
            big_endian,
            nanos,
            modified,
        }) => pcap::read(src, out, big_endian, nanos, modified),
        Some(Format::PcapNg) => pcapng::read(src, out),
        Some(Format::Gzip) => {
            if gzip_depth >= 2 {
                return Err(Fail::Input(format!(
                    "{}: gzip nested more than twice: not a capture file",
                    src.name
                )));
            }
            let name = format!("{} (decompressed)", src.name);
            let live = src.live;
            let (prefix, rd) = src.into_parts();
            // The decompressor must not see a live reader's idle signal: the read-ahead after it
            // gives it (a live gzip stream ticks too).
            let rd = Box::new(NoIdle(rd));
            let gz = flate2::read::MultiGzDecoder::new(io::Cursor::new(prefix).chain(rd));
            let mut ahead = ReadAhead::spawn(gz);
            if live {
                ahead = ahead.with_idle(IDLE);
            }
            let mut src = Source::decompressed(Box::new(ahead), name);
            src.live = live;
            read_source(src, out, gzip_depth + 1)
        }
        Some(Format::NetMon { .. }) => netmon::read_source(src, out),
        None => Err(Fail::Input(not_a_capture(&src.name, src.data()))),
    }
}

/// A reader running on its own thread (the decompressor: on two cores, inflating overlaps with
/// decoding). Chunks of up to 1 MiB go through a channel of two, so memory stays bounded; each
/// chunk is sent as soon as the inner reader returns it, so a live compressed stream is not held
/// back. When the receiving side is dropped, the thread ends at its next send.
///
/// With [`ReadAhead::with_idle`] (live streams), a read that waits longer than the idle time
/// returns `ErrorKind::TimedOut` (the caller writes a tick and reads again), and a first Ctrl-C
/// (`tcpwhy_common::live`) ends the input: the main thread waits in slices of 0.2 s, never spins.
struct ReadAhead {
    rx: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
    done: bool,
    idle: Option<std::time::Duration>,
    /// When data (or the last idle report) came.
    since: std::time::Instant,
}

/// A reader that waits through `TimedOut` (a live reader's idle signal) instead of reporting it.
struct NoIdle(Box<dyn Read + Send>);

impl Read for NoIdle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.0.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::TimedOut => continue,
                r => return r,
            }
        }
    }
}

impl ReadAhead {
    fn spawn<R: Read + Send + 'static>(mut inner: R) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(2);
        std::thread::spawn(move || {
            loop {
                let mut buf = vec![0u8; source::CHUNK];
                let res = loop {
                    match inner.read(&mut buf) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        r => break r,
                    }
                };
                let msg = match res {
                    Ok(0) => return,
                    Ok(n) => {
                        buf.truncate(n);
                        Ok(buf)
                    }
                    Err(e) => Err(e),
                };
                let stop = msg.is_err();
                if tx.send(msg).is_err() || stop {
                    return;
                }
            }
        });
        ReadAhead {
            rx,
            chunk: Vec::new(),
            at: 0,
            done: false,
            idle: None,
            since: std::time::Instant::now(),
        }
    }

    fn with_idle(mut self, idle: std::time::Duration) -> Self {
        self.idle = Some(idle);
        self
    }

    /// The next chunk, or `TimedOut` after the idle time (live only).
    fn next_chunk(&mut self) -> Result<io::Result<Vec<u8>>, ()> {
        let Some(idle) = self.idle else {
            return self.rx.recv().map_err(|_| ());
        };
        const SLICE: std::time::Duration = std::time::Duration::from_millis(200);
        loop {
            if tcpwhy_common::live::stop_requested() {
                return Err(());
            }
            let left = idle.saturating_sub(self.since.elapsed());
            if left.is_zero() {
                self.since = std::time::Instant::now();
                return Ok(Err(io::ErrorKind::TimedOut.into()));
            }
            match self.rx.recv_timeout(left.min(SLICE)) {
                Ok(msg) => {
                    self.since = std::time::Instant::now();
                    return Ok(msg);
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Err(()),
            }
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            if self.done {
                return Ok(0);
            }
            match self.next_chunk() {
                Ok(Ok(c)) => {
                    self.chunk = c;
                    self.at = 0;
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::TimedOut => return Err(e),
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(()) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The error for an input whose magic is not a known capture format, with a hint for
/// compressed files and text.
fn not_a_capture(name: &str, head: &[u8]) -> String {
    let hint = if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("zstd-compressed: try `zstd -dc FILE | pcap2jsonl -`")
    } else if head.starts_with(b"BZh") {
        Some("bzip2-compressed: try `bzip2 -dc FILE | pcap2jsonl -`")
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some("xz-compressed: try `xz -dc FILE | pcap2jsonl -`")
    } else if head.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
        Some("lz4-compressed: try `lz4 -dc FILE | pcap2jsonl -`")
    } else if head.starts_with(b"{") || head.starts_with(b"[") {
        Some("JSON, not a capture: pcap2jsonl reads captures, the other tools read its JSON lines")
    } else if head.starts_with(b"PK\x03\x04") {
        Some("a zip archive: unzip it and give pcap2jsonl the capture inside")
    } else if is_etl(name) {
        Some(
            "a Windows ETL trace (pktmon, `netsh trace`): convert it first, \
             `pktmon etl2pcap FILE.etl --out FILE.pcapng` on Windows or etl2pcapng, \
             then `pcap2jsonl FILE.pcapng`",
        )
    } else {
        None
    };
    let shown: String = head
        .iter()
        .take(4)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    const KNOWN: &str = "pcap, pcapng, NetMon .cap, or gzip of one";
    match hint {
        Some(h) => format!("{name}: not a capture file ({h})"),
        None if looks_like_text(head) => format!(
            "{name}: not a capture file ({KNOWN}): a text file, starting \"{}\"",
            text_start(head)
        ),
        None => format!(
            "{name}: not a capture file ({KNOWN}): it starts with {:02x}{:02x}{:02x}{:02x} \"{shown}\"",
            head[0], head[1], head[2], head[3]
        ),
    }
}

/// A Windows event trace (pktmon, `netsh trace`): named `.etl`, it has no fixed magic.
fn is_etl(name: &str) -> bool {
    name.len() > 4
        && name.is_char_boundary(name.len() - 4)
        && name[name.len() - 4..].eq_ignore_ascii_case(".etl")
}

/// True when the first bytes are text (UTF-8 without control characters other than white space).
fn looks_like_text(head: &[u8]) -> bool {
    let head = &head[..head.len().min(512)];
    let s = match std::str::from_utf8(head) {
        Ok(s) => s,
        // A multi-byte character cut at the end of the sample.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or("")
        }
        Err(_) => return false,
    };
    !s.is_empty()
        && s.chars()
            .all(|c| !c.is_control() || c.is_ascii_whitespace())
}

/// The first line of a text file, at most 40 characters.
fn text_start(head: &[u8]) -> String {
    let s = String::from_utf8_lossy(&head[..head.len().min(200)]);
    let line = s.trim_start().lines().next().unwrap_or("");
    let mut t: String = line.chars().take(40).collect();
    if line.chars().count() > 40 {
        t.push('…');
    }
    t
}

/// The end of an input that produced several messages (NetMon reads its side tables before its
/// frames, and may find damage in both): all but the last are printed here, warnings then
/// errors, after the records written so far; the last error (or, without errors, the last
/// warning) is returned for the caller to print, as from the other readers.
fn report<S: FrameSink>(
    out: &mut S,
    mut warnings: Vec<String>,
    mut errors: Vec<String>,
) -> Result<Finish, Fail> {
    let last_error = errors.pop();
    let last_warning = if last_error.is_none() {
        warnings.pop()
    } else {
        None
    };
    if !warnings.is_empty() || !errors.is_empty() {
        out.flush_output().map_err(Fail::Output)?;
        warnings.iter().for_each(tcpwhy_common::cli::warn);
        errors.iter().for_each(tcpwhy_common::cli::error);
    }
    match (last_error, last_warning) {
        (Some(e), _) => Err(Fail::Input(e)),
        (None, Some(w)) => Ok(Finish::Truncated(w)),
        (None, None) => Ok(Finish::Clean),
    }
}

/// The warning for an input that ends inside a record starting at `at`.
pub(crate) fn cut_short(src: &Source, what: &str, at: u64, need: u64) -> Finish {
    let have = src.offset() + src.available() as u64 - at;
    Finish::Truncated(format!(
        "{}: cut short in the middle of a {what} at byte {at} ({need} bytes expected, {have} present); \
         every complete packet before it was output",
        src.name
    ))
}

/// The error for damage at byte `at`.
pub(crate) fn damaged(src: &Source, at: u64, what: impl std::fmt::Display) -> Fail {
    Fail::Input(format!(
        "{}: damaged or corrupt at byte {at}: {what}",
        src.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_magic() {
        assert_eq!(
            detect([0xd4, 0xc3, 0xb2, 0xa1]),
            Some(Format::Pcap {
                big_endian: false,
                nanos: false,
                modified: false
            })
        );
        assert_eq!(
            detect([0xa1, 0xb2, 0x3c, 0x4d]),
            Some(Format::Pcap {
                big_endian: true,
                nanos: true,
                modified: false
            })
        );
        assert_eq!(detect(*b"\n\r\r\n"), Some(Format::PcapNg));
        assert_eq!(detect([0x1f, 0x8b, 8, 0]), Some(Format::Gzip));
        assert_eq!(detect(*b"GMBU"), Some(Format::NetMon { version: 2 }));
        assert_eq!(detect(*b"RTSS"), Some(Format::NetMon { version: 1 }));
        assert_eq!(detect(*b"HTTP"), None);
    }

    #[test]
    fn gzip_cut_at_a_record_boundary_is_still_a_warning() {
        use std::io::Write as _;
        let pcap = super::testutil::pcap(
            [0xd4, 0xc3, 0xb2, 0xa1],
            false,
            65535,
            1,
            &[(1, 0, super::testutil::PKT)],
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&pcap).unwrap();
        let whole = gz.finish().unwrap();
        let (got, r) = super::testutil::read(whole.clone());
        assert_eq!((got.len(), r.unwrap()), (1, Finish::Clean));
        // Without the gzip trailer (CRC and size): all data is there, the stream is not whole.
        let (got, r) = super::testutil::read(whole[..whole.len() - 8].to_vec());
        assert_eq!(got.len(), 1);
        match r.unwrap() {
            Finish::Truncated(m) => assert!(
                m.starts_with("t (decompressed): compressed stream cut short after byte 74"),
                "{m}"
            ),
            f => panic!("{f:?}"),
        }
    }

    #[test]
    fn text_is_named() {
        let m = not_a_capture("x.txt", b"HTTP/1.1 200 OK");
        assert!(m.contains("x.txt: not a capture file"), "{m}");
        assert!(
            m.contains("a text file, starting \"HTTP/1.1 200 OK\""),
            "{m}"
        );
        assert!(m.contains("NetMon .cap"), "{m}");
        let m = not_a_capture("x.bin", &[0, 1, 2, 3]);
        assert!(m.contains("it starts with 00010203"), "{m}");
        let m = not_a_capture("trace.ETL", &[0, 0, 1, 0, 0x10]);
        assert!(m.contains("Windows ETL trace"), "{m}");
        assert!(m.contains("pktmon etl2pcap"), "{m}");
        assert!(m.contains("etl2pcapng"), "{m}");
        let m = not_a_capture("x.zst", &[0x28, 0xb5, 0x2f, 0xfd, 0]);
        assert!(m.contains("zstd -dc"), "{m}");
    }
}

//! The input buffer every capture reader works on.
//!
//! One `Vec<u8>` per input, read in large chunks. Records are handed out as borrowed slices of it
//! (no copy, no allocation per packet); the stream offset of every byte is known, so damage is
//! reported at its exact byte. The buffer grows only when one record is larger than it, and never
//! beyond [`MAX_BUFFER`]: callers check a length field against their own bound before asking for
//! that many bytes. Before every read of the underlying input (which may block on a pipe) the
//! output is flushed, so a live `tcpdump -U -w - | pcap2jsonl -` shows each packet at once.

use std::io::{self, Read};

use tcpwhy_common::jsonl::Flush;

use super::Fail;

/// The usual buffer size: reads are up to this large.
pub const CHUNK: usize = 1 << 20;
/// Below this much free space at the end of the buffer, the unconsumed bytes are moved to the
/// front before reading, so reads stay large.
const MIN_READ: usize = 64 * 1024;
/// The largest buffer ever allocated (the largest pcapng block accepted, plus slack).
pub const MAX_BUFFER: usize = super::MAX_BLOCK + 64;

/// A buffered input with exact stream offsets.
pub struct Source {
    rd: Box<dyn Read + Send>,
    /// The input's name for diagnostics (a path, `<stdin>`, `x.gz (decompressed)`).
    pub name: String,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    eof: bool,
    /// The input is a decompressor's output: its end-of-file error means "cut short".
    compressed: bool,
    /// The compressed stream ended early (a warning even at a record boundary).
    cut: bool,
    /// A live stream: the reader reports idle time as `TimedOut` (see `super::ReadAhead`).
    pub(super) live: bool,
}

impl Source {
    pub fn new(rd: Box<dyn Read + Send>, name: String) -> Self {
        Self::with_prefix(rd, name, Vec::new())
    }

    /// A source whose first bytes are `prefix` (already read from `rd` by someone else).
    pub fn with_prefix(rd: Box<dyn Read + Send>, name: String, mut prefix: Vec<u8>) -> Self {
        let end = prefix.len();
        if prefix.len() < CHUNK {
            prefix.resize(CHUNK, 0);
        }
        Source {
            rd,
            name,
            buf: prefix,
            pos: 0,
            end,
            base: 0,
            eof: false,
            compressed: false,
            cut: false,
            live: false,
        }
    }

    /// A source reading a decompressor: a compressed stream that ends early is the end of the
    /// input (as tshark treats a cut `.gz`), remembered for [`Source::clean_end`].
    pub fn decompressed(rd: Box<dyn Read + Send>, name: String) -> Self {
        let mut s = Self::new(rd, name);
        s.compressed = true;
        s
    }

    /// How an input that ended at a record boundary finished: clean, or cut short when the
    /// compressed stream around it was incomplete.
    pub fn clean_end(&self) -> super::Finish {
        if self.cut {
            super::Finish::Truncated(format!(
                "{}: compressed stream cut short after byte {}; every complete packet before it \
                 was output",
                self.name,
                self.base + self.end as u64
            ))
        } else {
            super::Finish::Clean
        }
    }

    /// The bytes read and not yet consumed.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Number of bytes available without reading.
    #[inline]
    pub fn available(&self) -> usize {
        self.end - self.pos
    }

    /// Stream offset of the first unconsumed byte.
    #[inline]
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Marks `n` available bytes as used.
    #[inline]
    pub fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.available());
        self.pos += n;
    }

    /// True once the underlying input reported its end.
    pub fn at_eof(&self) -> bool {
        self.eof
    }

    /// Makes at least `n` bytes (`n <= MAX_BUFFER`) available. Returns false when the input ends
    /// first (then fewer than `n` bytes are available). `out` is flushed before each read.
    #[inline]
    pub fn fill(&mut self, n: usize, out: &mut dyn Flush) -> Result<bool, Fail> {
        while self.available() < n {
            if self.eof {
                return Ok(false);
            }
            self.read_more(n, out)?;
        }
        Ok(true)
    }

    #[cold]
    fn read_more(&mut self, n: usize, out: &mut dyn Flush) -> Result<(), Fail> {
        debug_assert!(n <= MAX_BUFFER);
        if self.buf.len() - self.pos < n || self.buf.len() - self.end < MIN_READ {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.buf.len() < n {
            let len = n.next_power_of_two().clamp(CHUNK, MAX_BUFFER).max(n);
            self.buf.resize(len, 0);
        }
        out.flush_output().map_err(Fail::Output)?;
        loop {
            // A first Ctrl-C: stop reading, end as at the end of the input (tcpwhy_common::live).
            if tcpwhy_common::live::stop_requested() {
                self.eof = true;
                return Ok(());
            }
            match self.rd.read(&mut self.buf[self.end..]) {
                Ok(k) => {
                    self.end += k;
                    self.eof = k == 0;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if self.live && e.kind() == io::ErrorKind::TimedOut => {
                    out.idle().map_err(Fail::Output)?;
                }
                Err(e) if self.compressed && e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.eof = true;
                    self.cut = true;
                    return Ok(());
                }
                Err(e) => {
                    return Err(Fail::Input(format!(
                        "{}: read error at byte {}: {e}",
                        self.name,
                        self.base + self.end as u64
                    )));
                }
            }
        }
    }

    /// Takes the source apart: the unconsumed bytes and the reader (for a decompressor).
    pub fn into_parts(self) -> (Vec<u8>, Box<dyn Read + Send>) {
        (self.buf[self.pos..self.end].to_vec(), self.rd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcpwhy_common::jsonl::NoFlush;

    /// A reader that hands out at most `step` bytes per read, like a pipe.
    struct Trickle(Vec<u8>, usize, usize);
    impl Read for Trickle {
        fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(b.len()).min(self.0.len() - self.2);
            b[..n].copy_from_slice(&self.0[self.2..self.2 + n]);
            self.2 += n;
            Ok(n)
        }
    }

    #[test]
    fn offsets_survive_compaction_and_growth() {
        let data: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        let mut s = Source::new(Box::new(Trickle(data.clone(), 100_000, 0)), "t".into());
        let mut at = 0usize;
        // Consume in odd sizes, including one larger than the initial buffer.
        for n in [7usize, 1000, CHUNK + 5, 3, 300_000] {
            assert!(s.fill(n, &mut NoFlush).unwrap());
            assert_eq!(s.offset(), at as u64);
            assert_eq!(&s.data()[..n], &data[at..at + n]);
            s.consume(n);
            at += n;
        }
        assert!(!s.fill(3 * CHUNK, &mut NoFlush).unwrap());
        assert_eq!(s.available(), data.len() - at);
        assert!(s.at_eof());
    }
}

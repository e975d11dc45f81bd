//! JSON-lines reading and writing.
//!
//! The reader keeps one buffer for the whole input, hands out each line as a borrowed slice with
//! its 1-based line number, and before every `read` on the underlying input flushes the writer it
//! is given, so that in a live pipeline (`tcpdump -U -w - | pcap2jsonl - | tcpflows`) every record
//! already produced reaches the next stage before this one blocks waiting for more input.
//!
//! Records a tool does not consume are written back with [`JsonlWriter::write_raw`]: the very
//! bytes that came in, so unknown fields and unknown record types pass through untouched.

use std::io::{self, Read, Write};

use anyhow::{Context, anyhow, bail};
use serde::{Deserialize, Serialize};

/// Output buffer size: records are written in 64 KiB chunks unless line-buffered.
pub const WRITE_BUFFER: usize = 64 * 1024;
/// Initial read buffer; it grows (doubling) only for longer lines, up to [`MAX_LINE`].
pub const READ_BUFFER: usize = 64 * 1024;
/// The longest line accepted (64 MiB): a longer one is an input error, never an allocation.
pub const MAX_LINE: usize = 64 * 1024 * 1024;

/// A buffered JSON-lines writer.
pub struct JsonlWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
    line_buffered: bool,
}

impl<W: Write> JsonlWriter<W> {
    pub fn new(inner: W) -> Self {
        JsonlWriter {
            inner,
            buf: Vec::with_capacity(WRITE_BUFFER + 4096),
            line_buffered: false,
        }
    }

    /// Flush after every record (for terminals and `--line-buffered`).
    pub fn set_line_buffered(&mut self, on: bool) {
        self.line_buffered = on;
    }

    pub fn is_line_buffered(&self) -> bool {
        self.line_buffered
    }

    /// Writes one record (serialized with serde_json) and a newline.
    pub fn write_record<T: Serialize + ?Sized>(&mut self, rec: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.buf, rec).map_err(io::Error::other)?;
        self.end_record()
    }

    /// Writes one line as it came (no newline expected in `line`) and a newline.
    pub fn write_raw(&mut self, line: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(line);
        self.end_record()
    }

    /// The buffer to append a hand-written JSON object to; call [`end_record`](Self::end_record)
    /// after each object.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Ends the record appended to [`buffer`](Self::buffer): adds the newline and writes the
    /// buffer out when it is full (or at once when line-buffered).
    #[inline]
    pub fn end_record(&mut self) -> io::Result<()> {
        self.buf.push(b'\n');
        if self.line_buffered || self.buf.len() >= WRITE_BUFFER {
            self.write_out()?;
        }
        Ok(())
    }

    fn write_out(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.inner.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Writes everything buffered and flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.write_out()?;
        self.inner.flush()
    }

    /// The underlying writer (after [`flush`](Self::flush)).
    pub fn into_inner(mut self) -> io::Result<W> {
        self.flush()?;
        Ok(self.inner)
    }
}

/// Something the reader flushes before it blocks on input.
pub trait Flush {
    fn flush_output(&mut self) -> io::Result<()>;

    /// Called by a live reader when no input came for a while (about a second): a writer that
    /// knows the capture clock writes a `tick` record here. The default does nothing.
    fn idle(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Flush for JsonlWriter<W> {
    fn flush_output(&mut self) -> io::Result<()> {
        self.flush()
    }
}

/// No flushing (for tests and for readers with no output).
pub struct NoFlush;
impl Flush for NoFlush {
    fn flush_output(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One input line: its 1-based number, the bytes without the line end, and the input's name.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub no: u64,
    pub bytes: &'a [u8],
    pub source: &'a str,
}

#[derive(Deserialize)]
struct TypeOnly<'a> {
    #[serde(rename = "type", borrow)]
    ty: Option<std::borrow::Cow<'a, str>>,
}

impl<'a> Line<'a> {
    /// The record's `type`. Fast path: records written by the tcpwhy tools (and `jq -c` on
    /// them) start with `{"type":"`; otherwise the line is parsed. A line that is not a JSON
    /// object with a string `type` is an error naming the line.
    pub fn record_type(&self) -> anyhow::Result<std::borrow::Cow<'a, str>> {
        const PREFIX: &[u8] = b"{\"type\":\"";
        let b = self.bytes;
        if b.starts_with(PREFIX) {
            let rest = &b[PREFIX.len()..];
            if let Some(end) = memchr::memchr2(b'"', b'\\', rest) {
                if rest[end] == b'"' {
                    if let Ok(s) = std::str::from_utf8(&rest[..end]) {
                        return Ok(std::borrow::Cow::Borrowed(s));
                    }
                }
            }
        }
        if b.trim_ascii_start().first() != Some(&b'{') {
            return Err(self.error(
                "not a JSON object: tcpwhy stages read JSON lines, one record per line, as \
                 `pcap2jsonl CAPTURE | tcpflows | …` writes them",
            ));
        }
        let t: TypeOnly<'a> = self.parse()?;
        t.ty.ok_or_else(|| {
            anyhow!(
                "{}: line {}: record has no \"type\" field (not a tcpwhy record)",
                self.source,
                self.no
            )
        })
    }

    /// The line as text: the one UTF-8 check every stage shares (docs/contract.md, promise 4).
    /// serde skips the strings it ignores (unknown fields, fields a stage does not read) without
    /// checking their encoding, so a record a stage passes on or enriches would otherwise carry
    /// invalid UTF-8 downstream. The error names the line and the byte's column.
    pub fn text(&self) -> anyhow::Result<&'a str> {
        // simdutf8 validates with SIMD where the CPU has it; std's check only finds the column
        // of a line already known to be bad.
        simdutf8::basic::from_utf8(self.bytes).or_else(|_| {
            std::str::from_utf8(self.bytes).map_err(|e| {
                self.error(format_args!(
                    "invalid UTF-8 at column {}",
                    e.valid_up_to() + 1
                ))
            })
        })
    }

    /// Deserializes the line, after checking that all of it is UTF-8 ([`text`](Self::text)),
    /// the fields it does not read included; errors name the input and line number.
    pub fn parse<T: Deserialize<'a>>(&self) -> anyhow::Result<T> {
        serde_json::from_str(self.text()?).map_err(|e| self.error(e))
    }

    /// Deserializes the line with `what` (e.g. `packet record`) before serde's message.
    pub fn parse_as<T: Deserialize<'a>>(&self, what: &str) -> anyhow::Result<T> {
        serde_json::from_str(self.text()?).map_err(|e| self.error(format_args!("{what}: {e}")))
    }

    /// Checks that the line is well-formed JSON in UTF-8 (for records passed through unread).
    pub fn validate(&self) -> anyhow::Result<()> {
        serde_json::from_str::<serde::de::IgnoredAny>(self.text()?)
            .map(|_| ())
            .map_err(|e| self.error(e))
    }

    /// An error about this line: `source: line N: msg`, any value `msg` quotes cut to 200
    /// bytes with its length ([`crate::quote::shorten`]).
    pub fn error(&self, msg: impl std::fmt::Display) -> anyhow::Error {
        let mut msg = msg.to_string();
        if msg.contains("EOF while parsing") && self.bytes.trim_ascii_start().starts_with(b"{") {
            msg.push_str(
                " (an object cut short: pretty-printed JSON? tcpwhy stages expect one JSON \
                 object per line: `jq -c . FILE | …`)",
            );
        }
        anyhow!(
            "{}: line {}: {}",
            self.source,
            self.no,
            crate::quote::shorten(&msg)
        )
    }
}

/// A JSON-lines reader over any `Read`, with one growing buffer.
pub struct JsonlReader<R: Read> {
    inner: R,
    name: String,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Where the next newline search starts (avoids rescanning a long partial line).
    scanned: usize,
    line_no: u64,
    eof: bool,
    /// True once the start of the input was looked at ([`JsonlReader::sniff`]).
    sniffed: bool,
    /// True once a non-blank line was returned (only the first is checked by `not_jsonl`).
    first_seen: bool,
}

/// What the first bytes of an input say it is, when it is not JSON lines: a capture file
/// (pcap, pcapng, NetMon, gzip) gets the pipeline to run first. None for anything else.
pub fn capture_kind(b: &[u8]) -> Option<&'static str> {
    let m = b.get(..4)?;
    Some(match m {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0xa1, 0xb2, 0xc3, 0xd4] => "a pcap capture",
        [0x4d, 0x3c, 0xb2, 0xa1] | [0xa1, 0xb2, 0x3c, 0x4d] => "a pcap capture (nanosecond)",
        [0x0a, 0x0d, 0x0d, 0x0a] => "a pcapng capture",
        b"GMBU" | b"RTSS" => "a NetMon capture",
        [0x1f, 0x8b, _, _] => "gzip-compressed (a capture?)",
        _ => return None,
    })
}

/// The hint for a JSON document that is not JSON lines, from its first non-blank line.
fn not_jsonl(line: &[u8]) -> Option<&'static str> {
    let t = line.trim_ascii();
    if t.first() == Some(&b'[') {
        return Some(
            "a JSON array, but tcpwhy stages expect one JSON object per line (JSON lines): \
             `jq -c '.[]' FILE | …` turns an array into lines",
        );
    }
    if t == b"{" {
        return Some(
            "pretty-printed JSON (an object over several lines), but tcpwhy stages expect one \
             JSON object per line (JSON lines): `jq -c . FILE | …` puts each on one line",
        );
    }
    None
}

impl<R: Read> JsonlReader<R> {
    pub fn new(inner: R, name: impl Into<String>) -> Self {
        JsonlReader {
            inner,
            name: name.into(),
            buf: vec![0; READ_BUFFER],
            start: 0,
            end: 0,
            scanned: 0,
            line_no: 0,
            eof: false,
            sniffed: false,
            first_seen: false,
        }
    }

    /// The input's first bytes: a leading UTF-8 byte order mark (PowerShell's `Out-File`
    /// writes one) is skipped; a capture file or a JSON document that is not JSON lines is an
    /// error saying what to run instead.
    fn sniff(&mut self) -> anyhow::Result<()> {
        self.sniffed = true;
        let b = &self.buf[self.start..self.end];
        if b.starts_with(b"\xEF\xBB\xBF") {
            self.start += 3;
            self.scanned = self.start;
            return Ok(());
        }
        if let Some(what) = capture_kind(b) {
            let file = if self.name == "<stdin>" {
                "FILE"
            } else {
                &self.name
            };
            bail!(
                "{}: this is {what}, not JSON lines: run `pcap2jsonl {file} | tcpflows | …` first",
                self.name
            );
        }
        Ok(())
    }

    /// The input's name as used in diagnostics.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number of the last line returned.
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// The next non-blank line, or `None` at end of input. Before every read of the underlying
    /// input, `out` is flushed so downstream stages see what was produced so far.
    #[inline]
    pub fn next_line<F: Flush + ?Sized>(
        &mut self,
        out: &mut F,
    ) -> anyhow::Result<Option<Line<'_>>> {
        loop {
            if !self.sniffed {
                if self.end - self.start >= 4 || self.eof {
                    self.sniff()?;
                } else {
                    self.fill(out)?;
                    continue;
                }
            }
            let (s, e) = if let Some(pos) = memchr::memchr(b'\n', &self.buf[self.scanned..self.end])
            {
                let nl = self.scanned + pos;
                let s = self.start;
                self.start = nl + 1;
                self.scanned = self.start;
                (s, nl)
            } else if self.eof && self.start < self.end {
                // The last line, without a newline.
                let s = self.start;
                self.start = self.end;
                self.scanned = self.end;
                (s, self.end)
            } else {
                self.scanned = self.end;
                if self.eof {
                    return Ok(None);
                }
                self.fill(out)?;
                continue;
            };
            self.line_no += 1;
            let mut line = &self.buf[s..e];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if !self.first_seen {
                self.first_seen = true;
                if let Some(h) = not_jsonl(line) {
                    bail!("{}: line {}: {h}", self.name, self.line_no);
                }
            }
            // Re-borrow to satisfy the borrow checker across loop iterations.
            let len = line.len();
            return Ok(Some(Line {
                no: self.line_no,
                bytes: &self.buf[s..s + len],
                source: &self.name,
            }));
        }
    }

    fn fill<F: Flush + ?Sized>(&mut self, out: &mut F) -> anyhow::Result<()> {
        // Move the partial line to the front, grow if the buffer is full of one line.
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.scanned -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= MAX_LINE {
                bail!(
                    "{}: line {}: line longer than {} bytes",
                    self.name,
                    self.line_no + 1,
                    MAX_LINE
                );
            }
            let new_len = (self.buf.len() * 2).min(MAX_LINE);
            self.buf.resize(new_len, 0);
        }
        out.flush_output().context("writing output")?;
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(anyhow::Error::new(e).context(self.name.clone())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &str) -> Vec<(u64, String)> {
        let mut r = JsonlReader::new(input.as_bytes(), "t");
        let mut v = vec![];
        while let Some(l) = r.next_line(&mut NoFlush).unwrap() {
            v.push((l.no, String::from_utf8(l.bytes.to_vec()).unwrap()));
        }
        v
    }

    #[test]
    fn numbers_lines_and_skips_blank_ones() {
        assert_eq!(
            lines("{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}"),
            vec![
                (1, "{\"a\":1}".into()),
                (3, "{\"b\":2}".into()),
                (4, "{\"c\":3}".into())
            ]
        );
    }

    #[test]
    fn the_last_line_needs_no_newline() {
        assert_eq!(lines("{\"a\":1}\r"), vec![(1, "{\"a\":1}".into())]);
        assert_eq!(lines("{\"a\":1}\n  \r"), vec![(1, "{\"a\":1}".into())]);
        assert_eq!(lines("\n\n{\"a\":1}"), vec![(3, "{\"a\":1}".into())]);
        assert_eq!(lines(" \r\n \t"), vec![]);
        assert_eq!(lines(""), vec![]);
        // The first line is checked for a JSON document whether or not a newline ends it.
        for input in ["[{\"a\":1}]", "[{\"a\":1}]\n", "\n{ \r"] {
            let mut r = JsonlReader::new(input.as_bytes(), "t");
            let e = r.next_line(&mut NoFlush).unwrap_err().to_string();
            assert!(e.starts_with("t: line "), "{e}");
        }
    }

    #[test]
    fn long_lines_grow_the_buffer() {
        let long = format!("{{\"type\":\"x\",\"v\":\"{}\"}}", "a".repeat(200_000));
        let input = format!("{long}\n{{\"type\":\"y\"}}\n");
        let got = lines(&input);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, long);
    }

    #[test]
    fn record_type_fast_and_slow_path() {
        let l = Line {
            no: 1,
            bytes: br#"{"type":"flow","x":1}"#,
            source: "t",
        };
        assert_eq!(l.record_type().unwrap(), "flow");
        let l = Line {
            no: 7,
            bytes: br#"{"x":1, "type" : "dns"}"#,
            source: "t",
        };
        assert_eq!(l.record_type().unwrap(), "dns");
        let l = Line {
            no: 9,
            bytes: br#"{"x":1"#,
            source: "in.jsonl",
        };
        let e = l.record_type().unwrap_err().to_string();
        assert!(e.starts_with("in.jsonl: line 9: "), "{e}");
        let l = Line {
            no: 2,
            bytes: br#"{"x":1}"#,
            source: "t",
        };
        assert!(
            l.record_type()
                .unwrap_err()
                .to_string()
                .contains("no \"type\"")
        );
    }

    #[test]
    fn validate_rejects_invalid_utf8_and_bad_json() {
        let ok = Line {
            no: 1,
            bytes: "{\"type\":\"x\",\"s\":\"é\"}".as_bytes(),
            source: "t",
        };
        ok.validate().unwrap();
        let bad = Line {
            no: 4,
            bytes: b"{\"type\":\"x\",\"s\":\"\xff\"}",
            source: "in",
        };
        let e = bad.validate().unwrap_err().to_string();
        assert_eq!(e, "in: line 4: invalid UTF-8 at column 18");
        let bad = Line {
            no: 5,
            bytes: b"{\"type\":\"x\",}",
            source: "in",
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .starts_with("in: line 5: ")
        );
    }

    #[test]
    fn writer_passes_raw_lines_and_records() {
        let mut w = JsonlWriter::new(Vec::new());
        w.write_raw(br#"{"type":"dns","weird":[1,2]}"#).unwrap();
        w.write_record(&serde_json::json!({"type":"x"})).unwrap();
        let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(
            out,
            "{\"type\":\"dns\",\"weird\":[1,2]}\n{\"type\":\"x\"}\n"
        );
    }

    struct Counting(usize);
    impl Flush for Counting {
        fn flush_output(&mut self) -> io::Result<()> {
            self.0 += 1;
            Ok(())
        }
    }

    #[test]
    fn flushes_before_each_read() {
        let mut r = JsonlReader::new("{}\n{}\n".as_bytes(), "t");
        let mut c = Counting(0);
        while r.next_line(&mut c).unwrap().is_some() {}
        assert!(c.0 >= 1);
    }
}

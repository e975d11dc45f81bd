//! A generic, allocation-free JSON cursor: walks one line byte by byte, reads strings (borrowed),
//! numbers (as text), unsigned integers, booleans and timestamps in place, skips any value while
//! still checking that it is well-formed, and says `Unsupported` for valid JSON it leaves to serde
//! (escapes in strings it must return, exotic numbers). It knows nothing about `packet` records:
//! the packet scanner (`super`) is built on it. Hot path: keep the `#[inline]`s.

use std::fmt;

use super::ts::{Ts, parse_ts};

/// Why the fast scanner gave up on a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanError {
    /// Not well-formed JSON (or not an object) at this byte offset.
    Syntax(usize),
    /// Valid JSON the fast path does not handle (escapes in keys/strings we read, exotic numbers,
    /// out-of-range values): parse with serde instead.
    Unsupported(usize),
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanError::Syntax(at) => write!(f, "malformed JSON at column {}", at + 1),
            ScanError::Unsupported(at) => write!(f, "unsupported JSON at column {}", at + 1),
        }
    }
}

pub(super) type R<T> = Result<T, ScanError>;

pub(super) struct Cur<'a> {
    pub(super) b: &'a [u8],
    /// The same bytes as text (the caller checked UTF-8 once), for borrowing strings.
    pub(super) s: &'a str,
    pub(super) i: usize,
}

/// The index of the first quote, backslash or control character at or after `i` (or `b.len()`):
/// eight bytes per step with the classic "has zero byte" bit trick.
#[inline]
pub(super) fn special(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let q = w ^ (ONES * b'"' as u64);
        let bs = w ^ (ONES * b'\\' as u64);
        let m = ((q.wrapping_sub(ONES) & !q)
            | (bs.wrapping_sub(ONES) & !bs)
            | (w.wrapping_sub(ONES * 0x20) & !w))
            & HIGH;
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

#[inline]
pub(super) fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

impl<'a> Cur<'a> {
    #[inline]
    pub(super) fn ws(&mut self) {
        while self.i < self.b.len() && is_ws(self.b[self.i]) {
            self.i += 1;
        }
    }

    #[inline]
    pub(super) fn peek(&self) -> R<u8> {
        self.b.get(self.i).copied().ok_or(ScanError::Syntax(self.i))
    }

    #[inline]
    pub(super) fn expect(&mut self, c: u8) -> R<()> {
        if self.peek()? == c {
            self.i += 1;
            Ok(())
        } else {
            Err(ScanError::Syntax(self.i))
        }
    }

    /// A string whose opening quote is at `self.i`. Returns its raw content and whether it holds
    /// escapes (then the content is still raw, unescaped). A plain byte loop: the strings of a
    /// packet record are short, where a SIMD search costs more than it saves.
    #[inline]
    pub(super) fn string(&mut self) -> R<(&'a [u8], bool)> {
        self.expect(b'"')?;
        let b = self.b;
        let start = self.i;
        let mut i = self.i;
        let mut escaped = false;
        while i < b.len() {
            // skip to the next quote, backslash or control character, 8 bytes at a time
            i = special(b, i);
            if i >= b.len() {
                break;
            }
            let c = b[i];
            if c == b'"' {
                self.i = i + 1;
                return Ok((&b[start..i], escaped));
            }
            if c == b'\\' {
                escaped = true;
                let e = *b.get(i + 1).ok_or(ScanError::Syntax(i))?;
                match e {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' => {
                        let hex = b.get(i + 2..i + 6).ok_or(ScanError::Syntax(i))?;
                        if !hex.iter().all(|c| c.is_ascii_hexdigit()) {
                            return Err(ScanError::Syntax(i));
                        }
                        i += 6;
                    }
                    _ => return Err(ScanError::Syntax(i)),
                }
                continue;
            }
            if c < 0x20 {
                return Err(ScanError::Syntax(i));
            }
            i += 1;
        }
        Err(ScanError::Syntax(b.len()))
    }

    /// A string we read: must be escape-free (always true for IPs, flags, types).
    #[inline]
    pub(super) fn plain_str(&mut self) -> R<&'a [u8]> {
        let at = self.i;
        let (s, esc) = self.string()?;
        if esc {
            return Err(ScanError::Unsupported(at));
        }
        Ok(s)
    }

    /// Checks a JSON number's grammar and returns its text.
    #[inline]
    pub(super) fn number(&mut self) -> R<&'a [u8]> {
        let start = self.i;
        let b = self.b;
        let mut i = self.i;
        if i < b.len() && b[i] == b'-' {
            i += 1;
        }
        let d0 = i;
        i = digits_end(b, i);
        if i == d0 || (b[d0] == b'0' && i - d0 > 1) {
            return Err(ScanError::Syntax(d0));
        }
        if i < b.len() && b[i] == b'.' {
            let f0 = i + 1;
            i = digits_end(b, f0);
            if i == f0 {
                return Err(ScanError::Syntax(i));
            }
        }
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                i += 1;
            }
            let e0 = i;
            i = digits_end(b, e0);
            if i == e0 {
                return Err(ScanError::Syntax(i));
            }
        }
        self.i = i;
        Ok(&b[start..i])
    }

    #[inline]
    pub(super) fn literal(&mut self, lit: &[u8]) -> R<()> {
        if self.b[self.i..].starts_with(lit) {
            self.i += lit.len();
            Ok(())
        } else {
            Err(ScanError::Syntax(self.i))
        }
    }

    /// `null` → None, else an unsigned integer that fits `max` (a fraction or an exponent is
    /// left to the slow path).
    #[inline]
    pub(super) fn opt_uint(&mut self, max: u64) -> R<Option<u64>> {
        let b = self.b;
        let at = self.i;
        let mut i = self.i;
        match b.get(i) {
            Some(b'n') => {
                self.literal(b"null")?;
                return Ok(None);
            }
            Some(b'0'..=b'9') => {}
            Some(b'-') => return Err(ScanError::Unsupported(at)),
            _ => return Err(ScanError::Unsupported(at)),
        }
        let mut v: u64 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            v = v.wrapping_mul(10).wrapping_add((b[i] - b'0') as u64);
            i += 1;
        }
        if i - at > 19 {
            return Err(ScanError::Unsupported(at));
        }
        if b[at] == b'0' && i - at > 1 {
            return Err(ScanError::Syntax(at));
        }
        if i < b.len() && matches!(b[i], b'.' | b'e' | b'E') {
            // valid JSON perhaps, but not an integer: check it and let serde decide
            self.number()?;
            return Err(ScanError::Unsupported(at));
        }
        if v > max {
            return Err(ScanError::Unsupported(at));
        }
        self.i = i;
        Ok(Some(v))
    }

    #[inline]
    pub(super) fn opt_bool(&mut self) -> R<Option<bool>> {
        match self.peek()? {
            b't' => self.literal(b"true").map(|_| Some(true)),
            b'f' => self.literal(b"false").map(|_| Some(false)),
            b'n' => self.literal(b"null").map(|_| None),
            _ => Err(ScanError::Unsupported(self.i)),
        }
    }

    #[inline]
    pub(super) fn opt_str(&mut self) -> R<Option<&'a str>> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Ok(None);
        }
        if self.peek()? != b'"' {
            return Err(ScanError::Unsupported(self.i));
        }
        let start = self.i + 1;
        let s = self.plain_str()?;
        // slicing at the quotes (ASCII) is always on character boundaries
        self.s
            .get(start..start + s.len())
            .map(Some)
            .ok_or(ScanError::Syntax(start))
    }

    pub(super) fn opt_ts(&mut self) -> R<Option<Ts>> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Ok(None);
        }
        let at = self.i;
        let t = self.number()?;
        parse_ts(t).map(Some).ok_or(ScanError::Unsupported(at))
    }

    /// Skips a value of a field tcpflows does not read: plain strings, integers and `null` on a
    /// short path, anything else through [`skip_value`](Self::skip_value).
    #[inline]
    pub(super) fn skip_fast(&mut self) -> R<()> {
        let b = self.b;
        let i = self.i;
        match b.get(i) {
            Some(b'"') => {
                let e = special(b, i + 1);
                if b.get(e) == Some(&b'"') {
                    self.i = e + 1;
                    return Ok(());
                }
            }
            Some(b'1'..=b'9') => {
                let j = digits_end(b, i + 1);
                if !matches!(b.get(j), Some(b'.' | b'e' | b'E')) {
                    self.i = j;
                    return Ok(());
                }
            }
            Some(b'n') if b.get(i..i + 4) == Some(b"null") => {
                self.i = i + 4;
                return Ok(());
            }
            _ => {}
        }
        self.skip_value(1)
    }

    /// Skips any JSON value, checking its syntax.
    pub(super) fn skip_value(&mut self, depth: u32) -> R<()> {
        if depth > 128 {
            return Err(ScanError::Unsupported(self.i));
        }
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            open @ (b'{' | b'[') => {
                // an object's members are `key: value`, an array's elements values
                let close = if open == b'{' { b'}' } else { b']' };
                self.i += 1;
                self.ws();
                if self.peek()? == close {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    if close == b'}' {
                        self.string()?;
                        self.ws();
                        self.expect(b':')?;
                        self.ws();
                    }
                    self.skip_value(depth + 1)?;
                    if !self.comma_or(close)? {
                        return Ok(());
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'1'..=b'9' => {
                // the common case: a plain integer
                let b = self.b;
                let i = digits_end(b, self.i + 1);
                if i < b.len() && matches!(b[i], b'.' | b'e' | b'E') {
                    return self.number().map(|_| ());
                }
                self.i = i;
                Ok(())
            }
            b'-' | b'0' => self.number().map(|_| ()),
            _ => Err(ScanError::Syntax(self.i)),
        }
    }

    /// Walks an object, calling `field` for every key; `field` must consume the value.
    #[inline]
    pub(super) fn object(&mut self, mut field: impl FnMut(&mut Self, &'a [u8]) -> R<()>) -> R<()> {
        self.ws();
        self.expect(b'{')?;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Ok(());
        }
        loop {
            if self.b.get(self.i) != Some(&b'"') {
                self.ws();
            }
            let key = self.plain_str()?;
            if self.b.get(self.i) == Some(&b':') {
                self.i += 1;
            } else {
                self.ws();
                self.expect(b':')?;
            }
            if self.b.get(self.i).is_some_and(|c| is_ws(*c)) {
                self.ws();
            }
            field(self, key)?;
            if !self.member_end()? {
                return Ok(());
            }
        }
    }

    /// After an object's member: `,` (true: another member follows) or `}` (false: the object
    /// ends). The compact form, `,` or `}` at once, is tried first; past whitespace, the
    /// whitespace after the comma is skipped too. Always inlined: it runs after every field of
    /// every packet (tcpflows 990 M -> 984 M instructions on 100k generated packets).
    #[inline(always)]
    pub(super) fn member_end(&mut self) -> R<bool> {
        match self.b.get(self.i) {
            Some(b',') => {
                self.i += 1;
                Ok(true)
            }
            Some(b'}') => {
                self.i += 1;
                Ok(false)
            }
            _ => {
                let more = self.comma_or(b'}')?;
                if more {
                    self.ws();
                }
                Ok(more)
            }
        }
    }

    /// After a member or element, whitespace allowed before it: `,` (true: another follows) or
    /// `close` (false: the container ends); anything else is a syntax error.
    #[inline]
    fn comma_or(&mut self, close: u8) -> R<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.i += 1;
                Ok(true)
            }
            c if c == close => {
                self.i += 1;
                Ok(false)
            }
            _ => Err(ScanError::Syntax(self.i)),
        }
    }

    pub(super) fn end(&mut self) -> R<()> {
        self.ws();
        if self.i == self.b.len() {
            Ok(())
        } else {
            Err(ScanError::Syntax(self.i))
        }
    }
}

/// Where the run of ASCII digits that starts at `i` in `b` ends.
#[inline]
fn digits_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

//! A targeted, allocation-free reader of `packet` lines.
//!
//! `tcpflows` sees one `packet` line per captured frame, so parsing them is most of its work. This
//! scanner walks the JSON object once, picks out the fields the tracker needs (numbers decoded in
//! place, strings borrowed from the line), and skips everything else while still checking that the
//! line is well-formed JSON. It never allocates. When it meets something it does not handle (an
//! escaped key, an exponent in a timestamp…) it says so and the caller falls back to serde, which
//! is the reference: the scanner is only a fast path, never a second opinion.

use std::fmt;

/// Timestamp: integer nanoseconds since the epoch plus how many decimals the input had (6 for a
/// microsecond capture, 9 for nanoseconds), so it can be printed back exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Ts {
    pub ns: i64,
    pub digits: u8,
}

impl Ts {
    /// The value as the f64 a JSON reader would get from the original decimal text.
    pub fn to_f64(self) -> f64 {
        let mut buf = [0u8; 40];
        let s = self.write_decimal(&mut buf);
        s.parse::<f64>().unwrap_or(self.ns as f64 / 1e9)
    }

    fn write_decimal(self, buf: &mut [u8; 40]) -> &str {
        use std::io::Write;
        let digits = self.digits.min(9) as u32;
        let neg = self.ns < 0;
        let abs = self.ns.unsigned_abs();
        let secs = abs / 1_000_000_000;
        let frac = (abs % 1_000_000_000) / 10u64.pow(9 - digits);
        let mut cur = std::io::Cursor::new(&mut buf[..]);
        let _ = if digits == 0 {
            write!(cur, "{}{}", if neg { "-" } else { "" }, secs)
        } else {
            write!(
                cur,
                "{}{}.{:0width$}",
                if neg { "-" } else { "" },
                secs,
                frac,
                width = digits as usize
            )
        };
        let n = cur.position() as usize;
        std::str::from_utf8(&buf[..n]).unwrap_or("0")
    }

    /// Seconds between two timestamps.
    pub fn secs_since(self, earlier: Ts) -> f64 {
        (self.ns - earlier.ns) as f64 / 1e9
    }
}

/// TCP flag bits (as on the wire).
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;

    /// Letters in the schema's order `FSRPAUEC`.
    pub fn parse(s: &[u8]) -> Option<u8> {
        let mut f = 0u8;
        for &c in s {
            f |= match c {
                b'F' => FIN,
                b'S' => SYN,
                b'R' => RST,
                b'P' => PSH,
                b'A' => ACK,
                b'U' => URG,
                b'E' => ECE,
                b'C' => CWR,
                _ => return None,
            };
        }
        Some(f)
    }

    /// Back to letters, in the order `FSRPAUEC`.
    pub fn letters(f: u8) -> String {
        let mut s = String::with_capacity(8);
        for (bit, c) in [
            (FIN, 'F'),
            (SYN, 'S'),
            (RST, 'R'),
            (PSH, 'P'),
            (ACK, 'A'),
            (URG, 'U'),
            (ECE, 'E'),
            (CWR, 'C'),
        ] {
            if f & bit != 0 {
                s.push(c);
            }
        }
        s
    }
}

/// The quoted datagram of an ICMP error.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Inner<'a> {
    pub src_ip: Option<&'a str>,
    pub dst_ip: Option<&'a str>,
    pub ip_proto: Option<u8>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub seq: Option<u32>,
}

/// The fields of a `packet` line that tcpflows reads. `None` = absent or null.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pkt<'a> {
    pub frame: Option<u64>,
    pub ts: Option<Ts>,
    /// Frame length on the wire.
    pub len: Option<u32>,
    pub ip_version: Option<u8>,
    pub src_ip: Option<&'a str>,
    pub dst_ip: Option<&'a str>,
    pub ttl: Option<u8>,
    pub ip_id: Option<u32>,
    pub frag_offset: Option<u32>,
    pub mf: Option<bool>,
    pub ip_proto: Option<u8>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub seq: Option<u32>,
    pub ack: Option<u32>,
    /// `tcp_flags` parsed to bits; the key being present marks the TCP layer as decoded.
    pub tcp_flags: Option<u8>,
    pub has_tcp_flags_key: bool,
    pub window: Option<u16>,
    pub payload_len: Option<u32>,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_perm: Option<bool>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    pub icmp_inner: Option<Inner<'a>>,
    /// A `dns` object is present.
    pub has_dns: bool,
    /// The `tls` object's JSON text, unparsed (read by `crate::tls` only for such segments).
    pub tls: Option<&'a str>,
    /// The `text` string's JSON text (with its quotes and any escapes).
    pub text: Option<&'a str>,
    /// The `tunnel` array's JSON text, when present.
    pub tunnel: Option<&'a str>,
}

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

type R<T> = Result<T, ScanError>;

struct Cur<'a> {
    b: &'a [u8],
    /// The same bytes as text (the caller checked UTF-8 once), for borrowing strings.
    s: &'a str,
    i: usize,
}

/// The index of the first quote, backslash or control character at or after `i` (or `b.len()`):
/// eight bytes per step with the classic "has zero byte" bit trick.
#[inline]
fn special(b: &[u8], mut i: usize) -> usize {
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
fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

impl<'a> Cur<'a> {
    #[inline]
    fn ws(&mut self) {
        while self.i < self.b.len() && is_ws(self.b[self.i]) {
            self.i += 1;
        }
    }

    #[inline]
    fn peek(&self) -> R<u8> {
        self.b.get(self.i).copied().ok_or(ScanError::Syntax(self.i))
    }

    #[inline]
    fn expect(&mut self, c: u8) -> R<()> {
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
    fn string(&mut self) -> R<(&'a [u8], bool)> {
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
    fn plain_str(&mut self) -> R<&'a [u8]> {
        let at = self.i;
        let (s, esc) = self.string()?;
        if esc {
            return Err(ScanError::Unsupported(at));
        }
        Ok(s)
    }

    /// Checks a JSON number's grammar and returns its text.
    #[inline]
    fn number(&mut self) -> R<&'a [u8]> {
        let start = self.i;
        let b = self.b;
        let mut i = self.i;
        if i < b.len() && b[i] == b'-' {
            i += 1;
        }
        let d0 = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == d0 || (b[d0] == b'0' && i - d0 > 1) {
            return Err(ScanError::Syntax(d0));
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let f0 = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
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
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == e0 {
                return Err(ScanError::Syntax(i));
            }
        }
        self.i = i;
        Ok(&b[start..i])
    }

    #[inline]
    fn literal(&mut self, lit: &[u8]) -> R<()> {
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
    fn opt_uint(&mut self, max: u64) -> R<Option<u64>> {
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
    fn opt_bool(&mut self) -> R<Option<bool>> {
        match self.peek()? {
            b't' => self.literal(b"true").map(|_| Some(true)),
            b'f' => self.literal(b"false").map(|_| Some(false)),
            b'n' => self.literal(b"null").map(|_| None),
            _ => Err(ScanError::Unsupported(self.i)),
        }
    }

    #[inline]
    fn opt_str(&mut self) -> R<Option<&'a str>> {
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

    fn opt_ts(&mut self) -> R<Option<Ts>> {
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
    fn skip_fast(&mut self) -> R<()> {
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
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
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
    fn skip_value(&mut self, depth: u32) -> R<()> {
        if depth > 128 {
            return Err(ScanError::Unsupported(self.i));
        }
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' => {
                self.i += 1;
                self.ws();
                if self.peek()? == b'}' {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    self.string()?;
                    self.ws();
                    self.expect(b':')?;
                    self.ws();
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(ScanError::Syntax(self.i)),
                    }
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.peek()? == b']' {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(ScanError::Syntax(self.i)),
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'1'..=b'9' => {
                // the common case: a plain integer
                let b = self.b;
                let mut i = self.i + 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
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
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a [u8]) -> R<()>) -> R<()> {
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
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => {
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(ScanError::Syntax(self.i)),
                    }
                }
            }
        }
    }

    fn end(&mut self) -> R<()> {
        self.ws();
        if self.i == self.b.len() {
            Ok(())
        } else {
            Err(ScanError::Syntax(self.i))
        }
    }
}

/// Reads a timestamp in seconds (the text of a JSON number, grammar already checked) as integer
/// nanoseconds, exactly, keeping how many decimals it had (at most 9; digits past the
/// nanosecond are dropped). Every JSON number form is read as its value: `1278472579.466743` on
/// the fast path, `1.795612209590102e9`, `-5`, `17956122095901020e-7` on the general one. `None`
/// when the value is outside what nanoseconds since 1970 hold in an `i64` (before 1677 or after
/// 2262): never a wrapped value.
pub fn parse_ts(t: &[u8]) -> Option<Ts> {
    let (neg, body) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        _ => (false, t),
    };
    let (int, frac) = match memchr::memchr(b'.', body) {
        Some(p) => (&body[..p], &body[p + 1..]),
        None => (body, &body[body.len()..]),
    };
    if int.is_empty() || int.len() > 10 || !int.iter().all(|c| c.is_ascii_digit()) {
        return parse_ts_general(t);
    }
    if !frac.iter().all(|c| c.is_ascii_digit()) {
        return parse_ts_general(t);
    }
    // Fast path: a plain decimal with at most 10 integer digits.
    let mut secs: i64 = 0;
    for &c in int {
        secs = secs * 10 + (c - b'0') as i64;
    }
    let mut ns: i64 = 0;
    let used = frac.len().min(9);
    for &c in &frac[..used] {
        ns = ns * 10 + (c - b'0') as i64;
    }
    ns *= 10i64.pow(9 - used as u32);
    let v = secs.checked_mul(1_000_000_000)?.checked_add(ns)?;
    Some(Ts {
        ns: if neg { -v } else { v },
        digits: used as u8,
    })
}

/// [`parse_ts`] for any JSON number: exponent, many digits, leading zeros.
fn parse_ts_general(t: &[u8]) -> Option<Ts> {
    let (neg, t) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        _ => (false, t),
    };
    let e_at = t.iter().position(|c| matches!(c, b'e' | b'E'));
    let (mantissa, exp_text) = match e_at {
        Some(p) => (&t[..p], &t[p + 1..]),
        None => (t, &t[t.len()..]),
    };
    let (int, frac) = match memchr::memchr(b'.', mantissa) {
        Some(p) => (&mantissa[..p], &mantissa[p + 1..]),
        None => (mantissa, &mantissa[mantissa.len()..]),
    };
    let (eneg, edigits) = match exp_text.first() {
        Some(b'-') => (true, &exp_text[1..]),
        Some(b'+') => (false, &exp_text[1..]),
        _ => (false, exp_text),
    };
    let ok = |d: &[u8]| d.iter().all(|c| c.is_ascii_digit());
    if int.is_empty()
        || !ok(int)
        || !ok(frac)
        || !ok(edigits)
        || (e_at.is_some() && edigits.is_empty())
    {
        return None;
    }
    // The exponent, saturated far beyond any digit count a line can hold.
    let mut exp: i64 = 0;
    for &c in edigits {
        exp = (exp * 10 + (c - b'0') as i64).min(1 << 40);
    }
    if eneg {
        exp = -exp;
    }
    let digits = (frac.len() as i64).saturating_sub(exp).clamp(0, 9) as u8;
    // All the digits, and how many of them are before the decimal point once the exponent is
    // applied; leading zeros dropped.
    let all = int.iter().chain(frac.iter()).copied();
    let zeros = all.clone().take_while(|c| *c == b'0').count();
    let sig = int.len() + frac.len() - zeros;
    let point = int.len() as i64 - zeros as i64 + exp;
    if sig == 0 {
        return Some(Ts { ns: 0, digits });
    }
    // Digits of the nanosecond count: `point + 9` of them (the first is not zero).
    let n = point + 9;
    if n <= 0 {
        // Below one nanosecond: dropped, as any digit past the ninth decimal.
        return Some(Ts { ns: 0, digits });
    }
    if n > 19 {
        return None;
    }
    let mut v: u64 = 0;
    let mut it = all.skip(zeros);
    for _ in 0..n {
        v = v * 10 + it.next().map_or(0, |c| (c - b'0') as u64);
    }
    let v = i64::try_from(v).ok()?;
    Some(Ts {
        ns: if neg { -v } else { v },
        digits,
    })
}

fn scan_inner<'a>(c: &mut Cur<'a>) -> R<Option<Inner<'a>>> {
    if c.peek()? == b'n' {
        c.literal(b"null")?;
        return Ok(None);
    }
    if c.peek()? != b'{' {
        return Err(ScanError::Unsupported(c.i));
    }
    let mut inner = Inner::default();
    c.object(|c, key| {
        match key {
            b"src_ip" => inner.src_ip = c.opt_str()?,
            b"dst_ip" => inner.dst_ip = c.opt_str()?,
            b"ip_proto" => inner.ip_proto = c.opt_uint(255)?.map(|v| v as u8),
            b"src_port" => inner.src_port = c.opt_uint(65535)?.map(|v| v as u16),
            b"dst_port" => inner.dst_port = c.opt_uint(65535)?.map(|v| v as u16),
            b"seq" => inner.seq = c.opt_uint(u32::MAX as u64)?.map(|v| v as u32),
            _ => c.skip_value(1)?,
        }
        Ok(())
    })?;
    Ok(Some(inner))
}

const F_OTHER: u8 = 0;
const F_FRAME: u8 = 1;
const F_TS: u8 = 2;
const F_LEN: u8 = 3;
const F_IP_VERSION: u8 = 4;
const F_SRC_IP: u8 = 5;
const F_DST_IP: u8 = 6;
const F_TTL: u8 = 7;
const F_IP_ID: u8 = 8;
const F_FRAG_OFFSET: u8 = 9;
const F_MF: u8 = 10;
const F_IP_PROTO: u8 = 11;
const F_SRC_PORT: u8 = 12;
const F_DST_PORT: u8 = 13;
const F_SEQ: u8 = 14;
const F_ACK: u8 = 15;
const F_TCP_FLAGS: u8 = 16;
const F_WINDOW: u8 = 17;
const F_PAYLOAD_LEN: u8 = 18;
const F_MSS: u8 = 19;
const F_WSCALE: u8 = 20;
const F_SACK_PERM: u8 = 21;
const F_ICMP_TYPE: u8 = 22;
const F_ICMP_CODE: u8 = 23;
const F_ICMP_INNER: u8 = 24;
const F_DNS: u8 = 25;
const F_TLS: u8 = 26;
const F_TEXT: u8 = 27;
const F_TUNNEL: u8 = 28;

/// The field a key names: a switch on the length first, then one comparison or two.
#[inline]
fn field_id(k: &[u8]) -> u8 {
    let cand: &[(&[u8], u8)] = match k.len() {
        2 => &[(b"ts", F_TS), (b"mf", F_MF)],
        3 => &[
            (b"len", F_LEN),
            (b"ttl", F_TTL),
            (b"seq", F_SEQ),
            (b"ack", F_ACK),
            (b"mss", F_MSS),
            (b"dns", F_DNS),
            (b"tls", F_TLS),
        ],
        4 => &[(b"text", F_TEXT)],
        5 => &[(b"frame", F_FRAME), (b"ip_id", F_IP_ID)],
        6 => &[
            (b"src_ip", F_SRC_IP),
            (b"dst_ip", F_DST_IP),
            (b"window", F_WINDOW),
            (b"wscale", F_WSCALE),
            (b"tunnel", F_TUNNEL),
        ],
        8 => &[
            (b"ip_proto", F_IP_PROTO),
            (b"src_port", F_SRC_PORT),
            (b"dst_port", F_DST_PORT),
        ],
        9 => &[
            (b"tcp_flags", F_TCP_FLAGS),
            (b"sack_perm", F_SACK_PERM),
            (b"icmp_type", F_ICMP_TYPE),
            (b"icmp_code", F_ICMP_CODE),
        ],
        10 => &[(b"ip_version", F_IP_VERSION), (b"icmp_inner", F_ICMP_INNER)],
        11 => &[
            (b"frag_offset", F_FRAG_OFFSET),
            (b"payload_len", F_PAYLOAD_LEN),
        ],
        _ => return F_OTHER,
    };
    for (name, id) in cand {
        if k == *name {
            return *id;
        }
    }
    F_OTHER
}

/// A key pattern (`"key":`, at most 16 bytes) packed for a single masked 16-byte comparison.
struct Pat {
    val: u128,
    mask: u128,
    len: usize,
    id: u8,
}

const fn pat(s: &[u8], id: u8) -> Pat {
    let mut val = 0u128;
    let mut i = 0;
    while i < s.len() {
        val |= (s[i] as u128) << (8 * i);
        i += 1;
    }
    let mask = if s.len() >= 16 {
        u128::MAX
    } else {
        (1u128 << (8 * s.len())) - 1
    };
    Pat {
        val,
        mask,
        len: s.len(),
        id,
    }
}

impl Pat {
    #[inline]
    fn matches(&self, b: &[u8]) -> bool {
        match b.get(..16) {
            Some(w) => u128::from_le_bytes(w.try_into().expect("16 bytes")) & self.mask == self.val,
            None => {
                b.len() >= self.len && {
                    let mut a = [0u8; 16];
                    a[..self.len].copy_from_slice(&b[..self.len]);
                    u128::from_le_bytes(a) == self.val
                }
            }
        }
    }

    /// Whether the pattern is `"key":` for this key.
    fn matches_key(&self, key: &[u8]) -> bool {
        key.len() + 3 == self.len && {
            let mut a = [0u8; 16];
            a[0] = b'"';
            a[1..1 + key.len()].copy_from_slice(key);
            a[1 + key.len()] = b'"';
            a[2 + key.len()] = b':';
            u128::from_le_bytes(a) == self.val
        }
    }
}

/// The keys of a `packet` record in the order pcap2jsonl writes them (as `"key":`), with the
/// field they fill. The scanner first checks whether the next key is the expected one (one short
/// comparison, no scanning); any other order still works through the generic path.
static ORDER: &[Pat] = &[
    pat(b"\"type\":", F_OTHER),
    pat(b"\"frame\":", F_FRAME),
    pat(b"\"ts\":", F_TS),
    pat(b"\"iface\":", F_OTHER),
    pat(b"\"link\":", F_OTHER),
    pat(b"\"len\":", F_LEN),
    pat(b"\"caplen\":", F_OTHER),
    pat(b"\"src_mac\":", F_OTHER),
    pat(b"\"dst_mac\":", F_OTHER),
    pat(b"\"vlan\":", F_OTHER),
    pat(b"\"ethertype\":", F_OTHER),
    pat(b"\"ip_version\":", F_IP_VERSION),
    pat(b"\"src_ip\":", F_SRC_IP),
    pat(b"\"dst_ip\":", F_DST_IP),
    pat(b"\"ttl\":", F_TTL),
    pat(b"\"ip_id\":", F_IP_ID),
    pat(b"\"df\":", F_OTHER),
    pat(b"\"mf\":", F_MF),
    pat(b"\"frag_offset\":", F_FRAG_OFFSET),
    pat(b"\"ip_proto\":", F_IP_PROTO),
    pat(b"\"proto\":", F_OTHER),
    pat(b"\"src_port\":", F_SRC_PORT),
    pat(b"\"dst_port\":", F_DST_PORT),
    pat(b"\"seq\":", F_SEQ),
    pat(b"\"ack\":", F_ACK),
    pat(b"\"tcp_flags\":", F_TCP_FLAGS),
    pat(b"\"window\":", F_WINDOW),
    pat(b"\"payload_len\":", F_PAYLOAD_LEN),
    pat(b"\"mss\":", F_MSS),
    pat(b"\"wscale\":", F_WSCALE),
    pat(b"\"sack_perm\":", F_SACK_PERM),
    pat(b"\"sack\":", F_OTHER),
    pat(b"\"tsval\":", F_OTHER),
    pat(b"\"tsecr\":", F_OTHER),
    pat(b"\"decode_error\":", F_OTHER),
];

/// Scans one `packet` line. The caller has already checked that the line is UTF-8.
pub fn scan_packet(line: &str) -> Result<Pkt<'_>, ScanError> {
    let mut c = Cur {
        b: line.as_bytes(),
        s: line,
        i: 0,
    };
    let mut p = Pkt::default();
    c.ws();
    c.expect(b'{')?;
    c.ws();
    if c.peek()? == b'}' {
        c.i += 1;
        c.end()?;
        return Ok(p);
    }
    let mut next = 0usize;
    loop {
        let id = match ORDER.get(next) {
            Some(pt) if pt.matches(&c.b[c.i..]) => {
                c.i += pt.len;
                next += 1;
                pt.id
            }
            _ => {
                if c.b.get(c.i) != Some(&b'"') {
                    c.ws();
                }
                let key = c.plain_str()?;
                c.ws();
                c.expect(b':')?;
                if let Some(pos) = ORDER.iter().position(|pt| pt.matches_key(key)) {
                    next = pos + 1;
                }
                field_id(key)
            }
        };
        if c.b.get(c.i).is_some_and(|ch| is_ws(*ch)) {
            c.ws();
        }
        match id {
            F_FRAME => p.frame = c.opt_uint(u64::MAX)?,
            F_TS => p.ts = c.opt_ts()?,
            F_LEN => p.len = c.opt_uint(u32::MAX as u64)?.map(|v| v as u32),
            F_IP_VERSION => p.ip_version = c.opt_uint(255)?.map(|v| v as u8),
            F_SRC_IP => p.src_ip = c.opt_str()?,
            F_DST_IP => p.dst_ip = c.opt_str()?,
            F_TTL => p.ttl = c.opt_uint(255)?.map(|v| v as u8),
            F_IP_ID => p.ip_id = c.opt_uint(u32::MAX as u64)?.map(|v| v as u32),
            F_FRAG_OFFSET => p.frag_offset = c.opt_uint(u32::MAX as u64)?.map(|v| v as u32),
            F_MF => p.mf = c.opt_bool()?,
            F_IP_PROTO => p.ip_proto = c.opt_uint(255)?.map(|v| v as u8),
            F_SRC_PORT => p.src_port = c.opt_uint(65535)?.map(|v| v as u16),
            F_DST_PORT => p.dst_port = c.opt_uint(65535)?.map(|v| v as u16),
            F_SEQ => p.seq = c.opt_uint(u32::MAX as u64)?.map(|v| v as u32),
            F_ACK => p.ack = c.opt_uint(u32::MAX as u64)?.map(|v| v as u32),
            F_TCP_FLAGS => {
                p.has_tcp_flags_key = true;
                match c.opt_str()? {
                    None => p.tcp_flags = None,
                    Some(s) => {
                        p.tcp_flags =
                            Some(flags::parse(s.as_bytes()).ok_or(ScanError::Unsupported(c.i))?)
                    }
                }
            }
            F_WINDOW => p.window = c.opt_uint(65535)?.map(|v| v as u16),
            F_PAYLOAD_LEN => p.payload_len = c.opt_uint(u32::MAX as u64)?.map(|v| v as u32),
            F_MSS => p.mss = c.opt_uint(65535)?.map(|v| v as u16),
            F_WSCALE => p.wscale = c.opt_uint(255)?.map(|v| v as u8),
            F_SACK_PERM => p.sack_perm = c.opt_bool()?,
            F_ICMP_TYPE => p.icmp_type = c.opt_uint(255)?.map(|v| v as u8),
            F_ICMP_CODE => p.icmp_code = c.opt_uint(255)?.map(|v| v as u8),
            F_ICMP_INNER => p.icmp_inner = scan_inner(&mut c)?,
            F_TUNNEL => {
                let at = c.i;
                c.skip_value(1)?;
                p.tunnel = Some(&c.s[at..c.i]).filter(|t| !t.starts_with('n'));
            }
            F_DNS => {
                p.has_dns = c.peek()? != b'n';
                c.skip_value(1)?;
            }
            F_TLS | F_TEXT => {
                let start = c.i;
                let present = c.peek()? != b'n';
                c.skip_value(1)?;
                let v = present.then(|| c.s.get(start..c.i)).flatten();
                if id == F_TLS {
                    p.tls = v;
                } else {
                    p.text = v;
                }
            }
            _ => c.skip_fast()?,
        }
        match c.b.get(c.i) {
            Some(b',') => c.i += 1,
            Some(b'}') => {
                c.i += 1;
                break;
            }
            _ => {
                c.ws();
                match c.peek()? {
                    b',' => c.i += 1,
                    b'}' => {
                        c.i += 1;
                        break;
                    }
                    _ => return Err(ScanError::Syntax(c.i)),
                }
                c.ws();
            }
        }
    }
    c.end()?;
    Ok(p)
}

/// Checks that a line is one well-formed JSON value (for records passed through unread).
pub fn validate(line: &str) -> Result<(), ScanError> {
    let mut c = Cur {
        b: line.as_bytes(),
        s: line,
        i: 0,
    };
    c.ws();
    c.skip_value(0)?;
    c.end()
}

/// The text of the top-level `ts` number of a line serde accepted (the fast path refused it for
/// something else, or for the number itself), found by walking the object: never a `"ts"` inside
/// a string or a nested object; escaped keys are decoded. `None` when `ts` is absent or not a
/// number.
fn raw_ts(line: &str) -> Option<&[u8]> {
    let mut c = Cur {
        b: line.as_bytes(),
        s: line,
        i: 0,
    };
    let mut found = None;
    c.ws();
    c.expect(b'{').ok()?;
    c.ws();
    if c.peek().ok()? == b'}' {
        return None;
    }
    loop {
        c.ws();
        let at = c.i;
        let (key, escaped) = c.string().ok()?;
        let is_ts = if escaped {
            serde_json::from_str::<String>(&line[at..c.i]).ok()? == "ts"
        } else {
            key == b"ts"
        };
        c.ws();
        c.expect(b':').ok()?;
        c.ws();
        if is_ts && matches!(c.peek().ok()?, b'-' | b'0'..=b'9') {
            found = Some(c.number().ok()?);
        } else {
            // Nested deeper than 128 levels: `None`, and serde's f64 is used.
            c.skip_value(1).ok()?;
        }
        c.ws();
        match c.peek().ok()? {
            b',' => c.i += 1,
            _ => return found,
        }
    }
}

/// A timestamp outside what tcpflows holds: the error, quoting the number.
fn ts_range_error(text: &str) -> String {
    format!(
        "`ts` {} is out of range: timestamps are seconds since 1970, read to the nanosecond, \
         between the years 1677 and 2262",
        tcpwhy_common::quote::quote(text)
    )
}

/// The slow path: the same fields read with serde through `tcpwhy_common::records::Packet`.
/// `ts` is read from its text, exactly as the fast path reads it; an error (to be given the
/// line) when it is out of range.
pub fn from_serde<'a>(
    p: &'a tcpwhy_common::records::Packet<'a>,
    raw: &'a str,
) -> Result<Pkt<'a>, String> {
    let tcp_flags_key = memchr::memmem::find(raw.as_bytes(), b"\"tcp_flags\"").is_some();
    let ts = match raw_ts(raw) {
        Some(text) => parse_ts(text)
            .ok_or_else(|| ts_range_error(std::str::from_utf8(text).unwrap_or("?")))?,
        None => {
            let ns = (p.ts * 1e9).round();
            if ns.is_nan() || ns.abs() >= 9.2e18 {
                return Err(ts_range_error(&p.ts.to_string()));
            }
            Ts {
                ns: ns as i64,
                digits: 9,
            }
        }
    };
    Ok(Pkt {
        frame: Some(p.frame),
        ts: Some(ts),
        len: Some(p.len),
        ip_version: p.ip_version,
        src_ip: p.src_ip.as_deref(),
        dst_ip: p.dst_ip.as_deref(),
        ttl: p.ttl,
        ip_id: p.ip_id,
        frag_offset: p.frag_offset,
        mf: p.mf,
        ip_proto: p.ip_proto,
        src_port: p.src_port,
        dst_port: p.dst_port,
        seq: p.seq,
        ack: p.ack,
        tcp_flags: p
            .tcp_flags
            .as_deref()
            .and_then(|s| flags::parse(s.as_bytes())),
        has_tcp_flags_key: tcp_flags_key,
        window: p.window,
        payload_len: p.payload_len,
        mss: p.mss,
        wscale: p.wscale,
        sack_perm: p.sack_perm,
        icmp_type: p.icmp_type,
        icmp_code: p.icmp_code,
        icmp_inner: p.icmp_inner.as_ref().map(|i| Inner {
            src_ip: i.src_ip.as_deref(),
            dst_ip: i.dst_ip.as_deref(),
            ip_proto: i.ip_proto,
            src_port: i.src_port,
            dst_port: i.dst_port,
            seq: i.seq,
        }),
        has_dns: p.dns.is_some(),
        tls: raw_value(raw.as_bytes(), b"\"tls\":{"),
        text: raw_value(raw.as_bytes(), b"\"text\":\""),
        tunnel: raw_tunnel(raw.as_bytes()),
    })
}

/// The JSON text of the value after `key` (`"tls":{` with the value's first byte) in a line the
/// fast path refused: inside a JSON string every quote is escaped, so the key cannot match there.
fn raw_value<'a>(raw: &'a [u8], key: &[u8]) -> Option<&'a str> {
    let at = memchr::memmem::find(raw, key)? + key.len() - 1;
    let s = std::str::from_utf8(raw).ok()?;
    let mut c = Cur { b: raw, s, i: at };
    c.skip_value(1).ok()?;
    s.get(at..c.i)
}

/// The `tunnel` value's text in a line the fast path refused (it is written without escapes).
fn raw_tunnel(raw: &[u8]) -> Option<&str> {
    let at = memchr::memmem::find(raw, b"\"tunnel\"")? + 8;
    let s = std::str::from_utf8(raw).ok()?;
    let mut c = Cur { b: raw, s, i: at };
    c.ws();
    c.expect(b':').ok()?;
    c.ws();
    let start = c.i;
    c.skip_value(1).ok()?;
    Some(&s[start..c.i]).filter(|t| t.starts_with('['))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"type":"packet","frame":3,"ts":1278472579.466743,"iface":0,"link":"ether","len":60,"caplen":60,"decode_error":null,"src_mac":"00:1f:f3:3c:e1:13","dst_mac":"f8:1e:df:e5:84:3a","vlan":null,"ip_version":4,"src_ip":"172.16.0.1","dst_ip":"10.0.0.1","ttl":126,"ip_id":14341,"df":false,"mf":false,"frag_offset":0,"ip_proto":6,"proto":"tcp","src_port":2383,"dst_port":20531,"seq":0,"ack":655839664,"tcp_flags":"RA","window":0,"payload_len":0,"mss":null,"wscale":null,"sack_perm":false,"sack":[[1,2],[3,4]],"tsval":null,"tsecr":null}"#;

    #[test]
    fn scans_the_schema_example() {
        let p = scan_packet(LINE).unwrap();
        assert_eq!(p.frame, Some(3));
        assert_eq!(
            p.ts,
            Some(Ts {
                ns: 1_278_472_579_466_743_000,
                digits: 6
            })
        );
        assert_eq!(p.src_ip, Some("172.16.0.1"));
        assert_eq!(p.ttl, Some(126));
        assert_eq!(p.ip_id, Some(14341));
        assert_eq!(p.tcp_flags, Some(flags::RST | flags::ACK));
        assert!(p.has_tcp_flags_key);
        assert_eq!(p.ack, Some(655839664));
        assert_eq!(p.window, Some(0));
        assert_eq!(p.sack_perm, Some(false));
        assert!(!p.has_dns);
    }

    #[test]
    fn agrees_with_serde_on_the_example() {
        let fast = scan_packet(LINE).unwrap();
        let sp: tcpwhy_common::records::Packet = serde_json::from_str(LINE).unwrap();
        let slow = from_serde(&sp, LINE).unwrap();
        assert_eq!(fast.frame, slow.frame);
        assert_eq!(fast.src_ip, slow.src_ip);
        assert_eq!(fast.tcp_flags, slow.tcp_flags);
        assert_eq!(fast.ts.unwrap().ns, slow.ts.unwrap().ns);
    }

    #[test]
    fn rejects_malformed_lines() {
        for bad in [
            &LINE[..LINE.len() - 1],
            r#"{"type":"packet","frame":3,}"#,
            r#"{"type":"packet","frame":03}"#,
            r#"{"type":"packet" "frame":3}"#,
            r#"{"type":"packet","frame":3} x"#,
            r#"{"type":"packet","x":[1,2}"#,
            r#"{"type":"packet","x":"a\qb"}"#,
            "{\"type\":\"packet\",\"x\":\"a\u{1}b\"}",
        ] {
            assert!(
                matches!(scan_packet(bad), Err(ScanError::Syntax(_))),
                "{bad}"
            );
            assert!(validate(bad).is_err(), "{bad}");
            assert!(serde_json::from_str::<serde_json::Value>(bad).is_err());
        }
    }

    #[test]
    fn nested_values_and_escapes_are_skipped() {
        let l = r#"{"type":"packet","frame":9,"ts":1.5,"dns":{"id":1,"response":true,"answers":[{"name":"a\"b","type":"A","ttl":1,"data":"1.2.3.4"}]},"comment":"x\u00e9\n","icmp_inner":{"src_ip":"10.0.0.1","dst_ip":"10.0.0.2","ip_proto":6,"ttl":1,"src_port":1,"dst_port":2,"seq":7}}"#;
        let p = scan_packet(l).unwrap();
        assert!(p.has_dns);
        assert_eq!(p.ts.unwrap().ns, 1_500_000_000);
        let i = p.icmp_inner.unwrap();
        assert_eq!(i.dst_port, Some(2));
        assert_eq!(i.seq, Some(7));
        assert!(validate(l).is_ok());
    }

    #[test]
    fn unusual_but_valid_json_goes_to_the_slow_path() {
        for l in [
            r#"{"type":"packet","frame":1,"ts":1.5e300}"#,
            r#"{"type":"packet","frame":1.0,"ts":1}"#,
            r#"{"type":"packet","src_ip":"1\u002e2.3.4"}"#,
        ] {
            assert!(
                matches!(scan_packet(l), Err(ScanError::Unsupported(_))),
                "{l}"
            );
        }
    }

    /// Issue 16, reproducer 2: every form of a JSON number is read as its value, on the fast path
    /// or through serde, and both agree; a value nanoseconds cannot hold is `None`, never wrapped.
    #[test]
    fn every_json_number_form_of_ts_is_read_as_its_value() {
        let ns = |t: &str| parse_ts(t.as_bytes()).map(|t| (t.ns, t.digits));
        assert_eq!(
            ns("1.795612209590102e9"),
            Some((1_795_612_209_590_102_000, 6))
        );
        assert_eq!(
            ns("1.795612209590102E+9"),
            Some((1_795_612_209_590_102_000, 6))
        );
        assert_eq!(
            ns("17956122095901020e-7"),
            Some((1_795_612_209_590_102_000, 7))
        );
        assert_eq!(
            ns("0.0000017956122095901020e15"),
            Some((1_795_612_209_590_102_000, 7))
        );
        assert_eq!(
            ns("1795612209590102000e-9"),
            Some((1_795_612_209_590_102_000, 9))
        );
        assert_eq!(ns("1.5e9"), Some((1_500_000_000_000_000_000, 0)));
        assert_eq!(ns("15e-1"), Some((1_500_000_000, 1)));
        assert_eq!(ns("-5"), Some((-5_000_000_000, 0)));
        assert_eq!(ns("-1.25"), Some((-1_250_000_000, 2)));
        assert_eq!(ns("-1.25e0"), Some((-1_250_000_000, 2)));
        assert_eq!(ns("0"), Some((0, 0)));
        assert_eq!(ns("0e999999999999999999999"), Some((0, 0)));
        assert_eq!(ns("1e-10"), Some((0, 9)));
        assert_eq!(ns("1e-99999999999999999999"), Some((0, 9)));
        assert_eq!(ns("00000000001.5"), Some((1_500_000_000, 1)));
        assert_eq!(ns("9223372036.854775807"), Some((i64::MAX, 9)));
        assert_eq!(ns("-9223372036.854775807"), Some((-i64::MAX, 9)));
        // Past 2^63 ns (the year 2262): refused, never a wrapped negative value.
        for big in [
            "9223372036.854775808",
            "9999999999.999999999",
            "9999999999",
            "99999999999",
            "1e10",
            "1e19",
            "1e400",
            "123456789012345678901234567890",
            "-9999999999",
        ] {
            assert_eq!(ns(big), None, "{big}");
        }
    }

    #[test]
    fn the_fast_path_and_serde_agree_on_exotic_timestamps() {
        for (ts, want) in [
            ("1.795612209590102e9", Some(1_795_612_209_590_102_000)),
            ("-1.5", Some(-1_500_000_000)),
            ("17956122095901020e-7", Some(1_795_612_209_590_102_000)),
            ("1.0e300", None),
            ("9999999999.5", None),
        ] {
            let line = format!(
                r#"{{"type":"packet","frame":1,"ts":{ts},"len":60,"caplen":60,"x":{{"ts":"no"}}}}"#
            );
            let fast = scan_packet(&line);
            let sp: tcpwhy_common::records::Packet = serde_json::from_str(&line).unwrap();
            let slow = from_serde(&sp, &line);
            match want {
                Some(ns) => {
                    assert_eq!(fast.unwrap().ts.unwrap().ns, ns, "{ts}");
                    assert_eq!(slow.unwrap().ts.unwrap().ns, ns, "{ts}");
                }
                None => {
                    assert!(matches!(fast, Err(ScanError::Unsupported(_))), "{ts}");
                    let e = slow.unwrap_err();
                    assert!(e.contains("out of range") && e.contains(ts), "{e}");
                }
            }
        }
        // A line the fast path refuses for another reason (an escaped key) still gets its exact
        // timestamp, not the one of a `"ts"` inside a string.
        let line = r#"{"type":"packet","n\u0061me":"\"ts\":7","frame":1,"ts":1.795612209590102e9,"len":60,"caplen":60}"#;
        assert!(matches!(scan_packet(line), Err(ScanError::Unsupported(_))));
        let sp: tcpwhy_common::records::Packet = serde_json::from_str(line).unwrap();
        let slow = from_serde(&sp, line).unwrap();
        assert_eq!(slow.ts.unwrap().ns, 1_795_612_209_590_102_000);
    }

    #[test]
    fn ts_round_trips_exactly() {
        let t = parse_ts(b"1278472579.466743").unwrap();
        assert_eq!(t.to_f64(), 1278472579.466743);
        let t = parse_ts(b"1700000000.123456789").unwrap();
        assert_eq!(t.digits, 9);
        assert_eq!(t.ns % 1_000_000_000, 123456789);
        assert_eq!(parse_ts(b"5").unwrap().ns, 5_000_000_000);
    }

    #[test]
    fn tls_and_text_are_kept_raw() {
        let l = r#"{"type":"packet","frame":4,"ts":1.5,"ip_proto":6,"src_port":1,"dst_port":443,"tcp_flags":"PA","payload_len":7,"tsecr":null,"tls":{"records":[{"type":"alert","alert":{"level":"fatal","code":40,"description":"handshake_failure"}}]},"decode_error":null}"#;
        let p = scan_packet(l).unwrap();
        assert_eq!(
            p.tls,
            Some(
                r#"{"records":[{"type":"alert","alert":{"level":"fatal","code":40,"description":"handshake_failure"}}]}"#
            )
        );
        assert_eq!(p.dst_port, Some(443));
        let l = r#"{"type":"packet","frame":6,"ts":1.5,"text":"say \"hi\"","decode_error":null}"#;
        let p = scan_packet(l).unwrap();
        assert_eq!(p.text, Some(r#""say \"hi\"""#));
        assert_eq!(p.tls, None);
        // the slow path finds them too
        assert_eq!(raw_value(l.as_bytes(), b"\"text\":\""), p.text);
    }
}

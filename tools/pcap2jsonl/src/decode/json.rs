//! Hand-written JSON output: integers, addresses and escaped strings appended to a `Vec<u8>`
//! without any heap allocation of their own.

/// Appends raw bytes (a field name with its punctuation, a literal).
#[inline]
pub fn raw(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(s);
}

/// Appends an unsigned integer.
#[inline]
pub fn uint(out: &mut Vec<u8>, v: u64) {
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(v).as_bytes());
}

/// Appends an integer or `null`.
#[inline]
pub fn opt_uint(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        Some(v) => uint(out, v),
        None => raw(out, b"null"),
    }
}

/// Appends `true` or `false`.
#[inline]
pub fn boolean(out: &mut Vec<u8>, v: bool) {
    raw(out, if v { b"true" } else { b"false" });
}

/// Appends `sec.frac`, `frac` zero-padded to `digits` decimals: the exact decimal value of
/// `sec + frac / 10^digits` (negative `sec` counts whole seconds before the epoch; `frac` is
/// always added, as capture files store it).
pub fn timestamp(out: &mut Vec<u8>, sec: i64, frac: u64, digits: u8) {
    let digits = digits.min(19) as u32;
    let scale = 10u64.pow(digits); // <= 10^19 < 2^64
    // normalise frac >= 1 second (only a broken reader would pass it) into the seconds
    let (carry, frac) = ((frac / scale) as i64, frac % scale);
    let sec = sec.saturating_add(carry);
    if sec < 0 && frac > 0 {
        // -3 s + 0.25 s = -2.75 s
        raw(out, b"-");
        uint(out, (sec + 1).unsigned_abs());
        padded(out, scale - frac, digits);
    } else {
        let mut b = itoa::Buffer::new();
        out.extend_from_slice(b.format(sec).as_bytes());
        if digits > 0 {
            padded(out, frac, digits);
        }
    }
}

fn padded(out: &mut Vec<u8>, frac: u64, digits: u32) {
    out.push(b'.');
    let mut b = itoa::Buffer::new();
    let s = b.format(frac).as_bytes();
    for _ in s.len()..digits as usize {
        out.push(b'0');
    }
    out.extend_from_slice(s);
}

/// Decimal text of 0..=255, as (length, digits).
const DEC: [(u8, [u8; 3]); 256] = {
    let mut t = [(0u8, [0u8; 3]); 256];
    let mut i = 0;
    while i < 256 {
        let v = i as u8;
        t[i] = if v >= 100 {
            (3, [b'0' + v / 100, b'0' + v / 10 % 10, b'0' + v % 10])
        } else if v >= 10 {
            (2, [b'0' + v / 10, b'0' + v % 10, 0])
        } else {
            (1, [b'0' + v, 0, 0])
        };
        i += 1;
    }
    t
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends a dotted quad (no quotes).
#[inline]
pub fn ipv4(out: &mut Vec<u8>, a: [u8; 4]) {
    let mut buf = [0u8; 15];
    let n = dotted_quad(&mut buf, 0, a);
    out.extend_from_slice(&buf[..n]);
}

/// Writes a dotted quad into `buf` from `n` on (room for 15 bytes); returns where it ends.
#[inline]
fn dotted_quad(buf: &mut [u8], mut n: usize, a: [u8; 4]) -> usize {
    for (i, &o) in a.iter().enumerate() {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        let (len, d) = DEC[o as usize];
        buf[n..n + 3].copy_from_slice(&d);
        n += len as usize;
    }
    n
}

/// Appends a MAC address `aa:bb:cc:dd:ee:ff` (no quotes); `m` has 6 bytes.
#[inline]
pub fn mac(out: &mut Vec<u8>, m: &[u8]) {
    let mut buf = [b':'; 17];
    for (i, &b) in m.iter().take(6).enumerate() {
        buf[i * 3] = HEX[(b >> 4) as usize];
        buf[i * 3 + 1] = HEX[(b & 15) as usize];
    }
    out.extend_from_slice(&buf);
}

/// Appends an IPv6 address (no quotes) as glibc's `inet_ntop` and tshark print it: RFC 5952
/// (lower case, no leading zeros, the longest run of two or more zero groups — the first on a tie —
/// as `::`), with IPv4-mapped (`::ffff:a.b.c.d`) and IPv4-compatible (`::a.b.c.d`) forms.
pub fn ipv6(out: &mut Vec<u8>, a: &[u8; 16]) {
    let mut w = [0u16; 8];
    for (i, g) in w.iter_mut().enumerate() {
        *g = u16::from_be_bytes([a[2 * i], a[2 * i + 1]]);
    }
    // longest run of zero groups
    let (mut best, mut best_len) = (usize::MAX, 0usize);
    let mut i = 0;
    while i < 8 {
        if w[i] == 0 {
            let start = i;
            while i < 8 && w[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best = 99;
        best_len = 0;
    }
    let mut buf = [0u8; 45];
    let mut n = 0;
    for i in 0..8 {
        if i >= best && i < best + best_len {
            if i == best {
                buf[n] = b':';
                n += 1;
            }
            continue;
        }
        if i != 0 {
            buf[n] = b':';
            n += 1;
        }
        // embedded IPv4: ::a.b.c.d or ::ffff:a.b.c.d
        if i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)) {
            n = dotted_quad(&mut buf, n, [a[12], a[13], a[14], a[15]]);
            out.extend_from_slice(&buf[..n]);
            return;
        }
        let g = w[i];
        let mut started = false;
        for shift in [12u32, 8, 4, 0] {
            let nib = ((g >> shift) & 15) as usize;
            if nib != 0 || started || shift == 0 {
                buf[n] = HEX[nib];
                n += 1;
                started = true;
            }
        }
    }
    if best + best_len == 8 {
        buf[n] = b':';
        n += 1;
    }
    out.extend_from_slice(&buf[..n]);
}

/// Appends `s` as a JSON string (with quotes). Control characters, `"` and `\` are escaped;
/// bytes that are not UTF-8 become U+FFFD.
pub fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for chunk in s.utf8_chunks() {
        escape_str(out, chunk.valid().as_bytes());
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
    out.push(b'"');
}

/// Escapes valid UTF-8 text for inside a JSON string (no quotes added).
pub fn escape_str(out: &mut Vec<u8>, s: &[u8]) {
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.extend_from_slice(&s[start..i]);
        match b {
            b'"' => raw(out, b"\\\""),
            b'\\' => raw(out, b"\\\\"),
            b'\n' => raw(out, b"\\n"),
            b'\r' => raw(out, b"\\r"),
            b'\t' => raw(out, b"\\t"),
            _ => {
                raw(out, b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 15) as usize]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
}

#[cfg(test)]
mod test {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn timestamps_are_exact() {
        assert_eq!(
            s(|o| timestamp(o, 1278472579, 466743, 6)),
            "1278472579.466743"
        );
        assert_eq!(s(|o| timestamp(o, 1, 5, 9)), "1.000000005");
        assert_eq!(s(|o| timestamp(o, 7, 0, 0)), "7");
        assert_eq!(s(|o| timestamp(o, -1, 250000, 6)), "-0.750000");
        assert_eq!(s(|o| timestamp(o, -3, 0, 6)), "-3.000000");
        assert_eq!(s(|o| timestamp(o, 4294967296, 1, 3)), "4294967296.001");
    }

    #[test]
    fn addresses() {
        assert_eq!(s(|o| ipv4(o, [10, 0, 200, 1])), "10.0.200.1");
        assert_eq!(s(|o| ipv4(o, [255, 255, 0, 9])), "255.255.0.9");
        assert_eq!(
            s(|o| mac(o, &[0, 0x1f, 0xf3, 0x3c, 0xe1, 0x13])),
            "00:1f:f3:3c:e1:13"
        );
        let cases = [
            "::",
            "::1",
            "2001:db8::1",
            "2001:db8:0:1:1:1:1:1",
            "2001:0:0:1::1",
            "fe80::2c0:9fff:fe1e:4a2c",
            "::ffff:1.2.3.4",
            "::1.2.3.4",
            "1::",
            "1:2:3:4:5:6:7:8",
            "ff02::1:ff00:1",
            "2001:db8::1:0:0:1",
        ];
        for c in cases {
            let a: std::net::Ipv6Addr = c.parse().unwrap();
            assert_eq!(s(|o| ipv6(o, &a.octets())), c);
        }
        // single zero group is not compressed (RFC 5952 4.2.2)
        let a: std::net::Ipv6Addr = "2001:db8:0:1:1:1:1:1".parse().unwrap();
        assert_eq!(s(|o| ipv6(o, &a.octets())), "2001:db8:0:1:1:1:1:1");
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(s(|o| string(o, b"a\"b\\c\n\x01")), r#""a\"b\\c\n\u0001""#);
        assert_eq!(s(|o| string(o, b"x\xffy")), "\"x\u{fffd}y\"");
        assert_eq!(s(|o| string(o, "é".as_bytes())), "\"é\"");
    }
}

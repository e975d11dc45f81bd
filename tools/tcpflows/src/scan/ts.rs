//! The exact timestamp of a `packet` line: integer nanoseconds plus the number of decimals the
//! input had, read from the JSON number's text without going through a float.

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

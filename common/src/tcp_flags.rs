//! TCP flags: the bits as on the wire and the letters the `packet` record's `tcp_flags` field
//! carries (docs/schema.md), in the order `FSRPAUEC` (bit 0 first). pcap2jsonl writes the letters
//! with [`write_letters`]; tcpflows reads them back with [`parse`]. Both are on hot paths: no
//! allocation, `#[inline]`.

use std::fmt;
use std::str::FromStr;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;
pub const URG: u8 = 0x20;
pub const ECE: u8 = 0x40;
pub const CWR: u8 = 0x80;

/// The letter of each bit, bit 0 (FIN) first.
pub const LETTERS: &[u8; 8] = b"FSRPAUEC";

/// The bits named by `s`, letters of `FSRPAUEC` in any order (`""` is no flag); `None` for any
/// other byte.
#[inline]
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

/// Appends the letters of `flags` to `out`, in the order `FSRPAUEC`.
#[inline]
pub fn write_letters(out: &mut Vec<u8>, flags: u8) {
    let mut buf = [0u8; 8];
    let mut n = 0;
    for (i, &c) in LETTERS.iter().enumerate() {
        if flags & (1 << i) != 0 {
            buf[n] = c;
            n += 1;
        }
    }
    out.extend_from_slice(&buf[..n]);
}

/// The letters of `flags`, in the order `FSRPAUEC`.
pub fn letters(flags: u8) -> String {
    let mut s = String::with_capacity(8);
    for (i, &c) in LETTERS.iter().enumerate() {
        if flags & (1 << i) != 0 {
            s.push(char::from(c));
        }
    }
    s
}

/// A TCP flags byte that reads and prints as its letters (`"SA"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// True when every bit of `bits` is set.
    pub fn contains(self, bits: u8) -> bool {
        self.0 & bits == bits
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&letters(self.0))
    }
}

/// Why a `tcp_flags` string is not flag letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadFlags(pub String);

impl fmt::Display for BadFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not TCP flag letters (FSRPAUEC)", self.0)
    }
}

impl std::error::Error for BadFlags {}

impl FromStr for TcpFlags {
    type Err = BadFlags;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s.as_bytes())
            .map(TcpFlags)
            .ok_or_else(|| BadFlags(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_follow_the_bits() {
        for (flags, want) in [
            (SYN | ACK, "SA"),
            (RST | ACK, "RA"),
            (FIN | ACK, "FA"),
            (0xff, "FSRPAUEC"),
            (0, ""),
        ] {
            assert_eq!(letters(flags), want);
            let mut out = b"x".to_vec();
            write_letters(&mut out, flags);
            assert_eq!(&out[1..], want.as_bytes());
            assert_eq!(TcpFlags(flags).to_string(), want);
        }
    }

    #[test]
    fn every_byte_round_trips() {
        for b in 0..=255u8 {
            assert_eq!(parse(letters(b).as_bytes()), Some(b));
            let mut out = vec![];
            write_letters(&mut out, b);
            assert_eq!(out, letters(b).into_bytes());
        }
    }

    #[test]
    fn parse_takes_any_order_and_refuses_other_bytes() {
        assert_eq!(parse(b"AS"), Some(SYN | ACK));
        assert_eq!(parse(b""), Some(0));
        assert_eq!(parse(b"SX"), None);
        assert_eq!(parse(b"s"), None);
        assert_eq!("RA".parse::<TcpFlags>(), Ok(TcpFlags(RST | ACK)));
        assert!("SYN".parse::<TcpFlags>().is_err());
        assert!(TcpFlags(SYN | ACK).contains(SYN));
        assert!(!TcpFlags(SYN).contains(SYN | ACK));
    }
}

//! The connection key (the 4-tuple, direction-free) and a small fast hasher for it.
//!
//! Addresses are kept as the text `pcap2jsonl` wrote (dotted quad / RFC 5952), copied inline into
//! the key: no parsing and no allocation per packet, and the flow record gets the same text back.

use std::hash::{BuildHasherDefault, Hasher};

/// Longest address text accepted: an RFC 5952 IPv6 address with an embedded IPv4 is 45 bytes.
pub const MAX_IP_TEXT: usize = 45;

/// An IP address as text, stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpText {
    len: u8,
    b: [u8; MAX_IP_TEXT],
}

impl IpText {
    /// None when the text is longer than any IP address.
    #[inline]
    pub fn new(s: &str) -> Option<IpText> {
        let s = s.as_bytes();
        if s.len() > MAX_IP_TEXT {
            return None;
        }
        let mut b = [0u8; MAX_IP_TEXT];
        b[..s.len()].copy_from_slice(s);
        Some(IpText {
            len: s.len() as u8,
            b,
        })
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.b[..self.len as usize]).unwrap_or("")
    }
}

impl std::fmt::Debug for IpText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One endpoint: address and port.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Endpoint {
    pub ip: IpText,
    pub port: u16,
}

/// The direction-free 4-tuple: the two endpoints in a fixed (sorted) order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Key {
    pub lo: Endpoint,
    pub hi: Endpoint,
    /// The tunnel the segments came through (a hash of its outer addresses, VNI, session id;
    /// see `crate::tunnel`), 0 for none: two mirrored copies of one connection stay apart.
    pub tun: u64,
}

impl Key {
    /// The key of a segment from `src` to `dst`, and whether `src` is the `lo` endpoint.
    #[inline]
    pub fn of(src: Endpoint, dst: Endpoint) -> (Key, bool) {
        if src <= dst {
            (
                Key {
                    lo: src,
                    hi: dst,
                    tun: 0,
                },
                true,
            )
        } else {
            (
                Key {
                    lo: dst,
                    hi: src,
                    tun: 0,
                },
                false,
            )
        }
    }
}

/// FxHash (the rustc hasher): one multiply-rotate per word. Not DoS-resistant, which is fine for
/// reading a capture file; it is several times faster than SipHash on these 96-byte keys.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.hash = (self.hash.rotate_left(5) ^ w).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let r = chunks.remainder();
        if !r.is_empty() {
            let mut w = [0u8; 8];
            w[..r.len()].copy_from_slice(r);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;

/// A 64-bit FNV-1a with a final mix, for the deterministic uid.
pub fn fnv64(parts: &[&[u8]], seed: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for p in parts {
        for &b in *p {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // splitmix64 finaliser
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(ip: &str, port: u16) -> Endpoint {
        Endpoint {
            ip: IpText::new(ip).unwrap(),
            port,
        }
    }

    #[test]
    fn key_is_direction_free() {
        let a = ep("10.0.0.1", 20531);
        let b = ep("172.16.0.1", 2383);
        let (k1, lo1) = Key::of(a, b);
        let (k2, lo2) = Key::of(b, a);
        assert_eq!(k1, k2);
        assert_ne!(lo1, lo2);
    }

    #[test]
    fn too_long_text_is_refused() {
        assert!(IpText::new(&"1".repeat(46)).is_none());
        assert_eq!(IpText::new("::1").unwrap().as_str(), "::1");
    }
}

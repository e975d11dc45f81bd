//! IPv4 and IPv6 (with extension headers).

use super::link::Net;
use super::transport::{self, Seg};
use super::{Dec, What, be16, be32, json};

/// Decodes the IP packet at `off` and everything above it, following tunnels (see
/// [`super::tunnel`]).
#[inline]
pub(crate) fn decode(d: &mut Dec, off: usize, net: Net) {
    if !super::tunnel::follow(d, off, net) {
        decode_plain(d, off, net);
    }
}

/// Decodes the IP packet at `off` and everything above it, not following tunnels.
pub(crate) fn decode_plain(d: &mut Dec, off: usize, net: Net) {
    let version = match net {
        Net::V4 => 4,
        Net::V6 => 6,
        Net::ByVersion => match d.data.get(off) {
            Some(b) => b >> 4,
            None => {
                d.short("ip", off, 1);
                return;
            }
        },
    };
    match version {
        4 => ipv4(d, off),
        6 => ipv6(d, off),
        v => d.fail(
            "ip",
            off,
            What::text(format!("IP version {v}, expected 4 or 6")),
        ),
    }
}

/// The `proto` name of an IP protocol number, `None` for `ip_proto_N`.
pub(crate) fn proto_name(p: u8) -> Option<&'static str> {
    Some(match p {
        0 => "hopopt",
        1 => "icmp",
        2 => "igmp",
        4 => "ipip",
        6 => "tcp",
        17 => "udp",
        41 => "ipv6",
        43 => "ipv6_route",
        44 => "ipv6_frag",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        58 => "icmpv6",
        59 => "ipv6_nonxt",
        60 => "ipv6_opts",
        89 => "ospf",
        103 => "pim",
        112 => "vrrp",
        132 => "sctp",
        136 => "udplite",
        _ => return None,
    })
}

fn write_proto(d: &mut Dec, p: u8) {
    d.raw(b",\"ip_proto\":");
    d.uint(p as u64);
    d.raw(b",\"proto\":\"");
    match proto_name(p) {
        Some(n) => d.raw(n.as_bytes()),
        None => {
            d.raw(b"ip_proto_");
            d.uint(p as u64);
        }
    }
    d.raw(b"\"");
}

/// The IP header at `off` when the frame holds its fixed part (`min` bytes) and its version
/// field says `version`; else the error is recorded and None returned.
#[inline]
fn fixed_header<'a>(
    d: &mut Dec<'a, '_>,
    off: usize,
    layer: &'static str,
    version: u8,
    min: usize,
) -> Option<&'a [u8]> {
    let b = d.data.get(off..).unwrap_or(&[]);
    if b.len() < min {
        d.short(layer, off, min);
        return None;
    }
    let found = b[0] >> 4;
    if found != version {
        d.fail(
            layer,
            off,
            What::text(format!("version {found} in an IPv{version} header")),
        );
        return None;
    }
    Some(b)
}

fn ipv4(d: &mut Dec, off: usize) {
    let Some(b) = fixed_header(d, off, "ipv4", 4, 20) else {
        return;
    };
    let hl = ((b[0] & 0x0f) as usize) * 4;
    if hl < 20 {
        d.fail(
            "ipv4",
            off,
            What::text(format!(
                "header length {hl} (IHL {}) is below the minimum 20",
                hl / 4
            )),
        );
        return;
    }
    let total = be16(b, 2) as usize;
    let flags = be16(b, 6);
    let frag_offset = ((flags & 0x1fff) as u64) * 8;
    let (proto, ah_len) = ipv4_ah(b, hl, flags);

    d.raw(b",\"ip_version\":4,\"src_ip\":\"");
    json::ipv4(d.out, [b[12], b[13], b[14], b[15]]);
    d.raw(b"\",\"dst_ip\":\"");
    json::ipv4(d.out, [b[16], b[17], b[18], b[19]]);
    d.raw(b"\",\"ttl\":");
    d.uint(b[8] as u64);
    d.raw(b",\"ip_id\":");
    d.uint(be16(b, 4) as u64);
    d.raw(if flags & 0x4000 != 0 {
        b",\"df\":true"
    } else {
        b",\"df\":false"
    });
    d.raw(if flags & 0x2000 != 0 {
        b",\"mf\":true"
    } else {
        b",\"mf\":false"
    });
    d.raw(b",\"frag_offset\":");
    d.uint(frag_offset);
    write_proto(d, proto);
    if ah_len > 0 {
        d.raw(b",\"ipv4_ext\":[51]");
    }

    if b.len() < hl {
        d.short("ipv4", off, hl);
        return;
    }
    // what the frame holds from the IP header on
    let reported = d.wire_len.saturating_sub(off);
    let ip_len = if total < hl {
        if total == 0 {
            // TCP segmentation offload: the NIC fills in the length; tshark then takes the
            // frame's length
            reported
        } else {
            d.fail(
                "ipv4",
                off,
                What::text(format!(
                    "total length {total} is below the header length {hl}"
                )),
            );
            return;
        }
    } else if total > reported {
        d.fail(
            "ipv4",
            off,
            What::text(format!(
                "total length {total} exceeds the {reported} bytes left in the frame"
            )),
        );
        reported
    } else {
        total
    };
    if frag_offset != 0 {
        return; // a later fragment: no transport header here
    }
    let start = (off + hl + ah_len).min(off + ip_len);
    let end = off + ip_len;
    transport::decode(
        d,
        proto,
        Seg {
            start,
            cap_end: end.min(d.data.len()),
            reported: end - start,
            v6: false,
        },
    );
}

/// An unfragmented IPv4 packet's AH headers (RFC 4302, transport mode; `b` from the IPv4 header
/// on, `hl` its length): the protocol after them and their length, or `(b[9], 0)`.
#[inline]
fn ipv4_ah(b: &[u8], hl: usize, flags: u16) -> (u8, usize) {
    let mut proto = b[9];
    if proto != 51 || flags & 0x3fff != 0 {
        return (proto, 0);
    }
    let end = (be16(b, 2) as usize).min(b.len());
    let mut p = hl;
    for _ in 0..4 {
        if proto != 51 || p + 8 > end {
            break;
        }
        let len = (b[p + 1] as usize + 2) * 4;
        if p + len > end {
            break;
        }
        proto = b[p];
        p += len;
    }
    if proto == 51 {
        return (51, 0);
    }
    (proto, p - hl)
}

/// Extension headers we walk (RFC 8200 4.1 and the IANA list of IPv6 extension headers).
fn is_ext(nh: u8) -> bool {
    matches!(nh, 0 | 43 | 44 | 51 | 60 | 135 | 139 | 140)
}

/// At most this many extension headers are listed; a longer chain is an error.
pub(crate) const MAX_EXT: usize = 16;

/// The result of walking IPv6 extension headers.
pub(crate) struct V6Walk {
    /// The upper-layer protocol (or the header where the walk stopped).
    pub nh: u8,
    /// Offset of the upper-layer header, relative to the IPv6 header.
    pub upper: usize,
    pub exts: [u8; MAX_EXT],
    pub n_ext: usize,
    /// Fragment header: (identification, offset in bytes, more fragments).
    pub frag: Option<(u32, u16, bool)>,
    /// Error: offset relative to the IPv6 header, and what.
    pub err: Option<(usize, What)>,
}

/// What keeps `n` bytes at `p` of the IPv6 packet `b` from being read: they run past its payload
/// `end` (`past` says so) or were not captured.
#[inline]
fn missing(
    b: &[u8],
    end: usize,
    p: usize,
    n: usize,
    past: impl FnOnce() -> String,
) -> Option<What> {
    if p + n > end {
        return Some(What::text(past()));
    }
    if p + n > b.len() {
        return Some(What::Short {
            need: n,
            have: b.len() - p,
        });
    }
    None
}

/// Walks the extension headers of the IPv6 packet `b` (captured bytes from the IPv6 header on,
/// at least 40), whose payload ends at `end` (relative; may exceed `b.len()` when not captured).
pub(crate) fn walk_v6(b: &[u8], end: usize) -> V6Walk {
    let mut w = V6Walk {
        nh: b[6],
        upper: 40,
        exts: [0; MAX_EXT],
        n_ext: 0,
        frag: None,
        err: None,
    };
    let mut p = 40;
    while is_ext(w.nh) {
        let nh = w.nh;
        let need = if nh == 44 { 8 } else { 2 };
        if let Some(e) = missing(b, end, p, need, || {
            format!("extension header {nh} runs past the payload length")
        }) {
            w.err = Some((p, e));
            break;
        }
        let hl = match nh {
            44 => 8,
            51 => (b[p + 1] as usize + 2) * 4,
            _ => (b[p + 1] as usize + 1) * 8,
        };
        if let Some(e) = missing(b, end, p, hl, || {
            format!("extension header {nh} of {hl} bytes runs past the payload length")
        }) {
            w.err = Some((p, e));
            break;
        }
        if w.n_ext == MAX_EXT {
            w.err = Some((
                p,
                What::text(format!("more than {MAX_EXT} extension headers")),
            ));
            break;
        }
        if w.nh == 44 {
            let fo = be16(b, p + 2);
            w.frag = Some((be32(b, p + 4), fo & 0xfff8, fo & 1 == 1));
        }
        w.exts[w.n_ext] = w.nh;
        w.n_ext += 1;
        w.nh = b[p];
        p += hl;
    }
    w.upper = p;
    w
}

fn ipv6(d: &mut Dec, off: usize) {
    let Some(b) = fixed_header(d, off, "ipv6", 6, 40) else {
        return;
    };
    let plen = be16(b, 4) as usize;
    let reported = d.wire_len.saturating_sub(off + 40);
    let mut len_err = None;
    let payload = if plen == 0 {
        reported // jumbogram or TSO: the frame's length
    } else if plen > reported {
        len_err = Some(What::text(format!(
            "payload length {plen} exceeds the {reported} bytes left in the frame"
        )));
        reported
    } else {
        plen
    };
    let end = 40 + payload;
    let w = walk_v6(&b[..end.min(b.len())], end);

    d.raw(b",\"ip_version\":6,\"src_ip\":\"");
    json::ipv6(d.out, b[8..24].try_into().unwrap_or(&[0; 16]));
    d.raw(b"\",\"dst_ip\":\"");
    json::ipv6(d.out, b[24..40].try_into().unwrap_or(&[0; 16]));
    d.raw(b"\",\"ttl\":");
    d.uint(b[7] as u64);
    d.raw(b",\"ip_id\":");
    json::opt_uint(d.out, w.frag.map(|f| f.0 as u64));
    d.raw(b",\"df\":null,\"mf\":");
    json::boolean(d.out, w.frag.is_some_and(|f| f.2));
    d.raw(b",\"frag_offset\":");
    d.uint(w.frag.map_or(0, |f| f.1 as u64));
    write_proto(d, w.nh);
    d.raw(b",\"ipv6_ext\":");
    if w.n_ext == 0 {
        d.raw(b"null");
    } else {
        for (i, &e) in w.exts[..w.n_ext].iter().enumerate() {
            d.raw(if i == 0 { b"[" } else { b"," });
            d.uint(e as u64);
        }
        d.raw(b"]");
    }
    if let Some(e) = len_err {
        d.fail("ipv6", off, e);
    }
    if let Some((at, what)) = w.err {
        d.fail("ipv6", off + at, what);
        return;
    }
    if w.frag.is_some_and(|f| f.1 != 0) {
        return; // a later fragment
    }
    let start = off + w.upper;
    let end = off + end;
    transport::decode(
        d,
        w.nh,
        Seg {
            start,
            cap_end: end.min(d.data.len()),
            reported: end - start,
            v6: true,
        },
    );
}

#[cfg(test)]
mod test {
    use super::super::testutil::*;
    use serde_json::{Value, json};

    #[test]
    fn ipv4_fields() {
        // DF, id 0x3805, TTL 126, proto 253 (no transport decoder), 4 bytes of payload
        let v = decode(
            101,
            &hex("4500 0018 3805 4000 7efd 0000 ac100001 0a000001 01020304"),
        );
        assert_has(
            &v,
            &json!({"link": "raw", "ip_version": 4, "src_ip": "172.16.0.1", "dst_ip": "10.0.0.1",
                    "ttl": 126, "ip_id": 14341, "df": true, "mf": false, "frag_offset": 0,
                    "ip_proto": 253, "proto": "ip_proto_253"}),
        );
        assert!(v.get("ipv6_ext").is_none());
        assert_eq!(v["decode_error"], Value::Null);
    }

    #[test]
    fn ipv4_later_fragment_has_no_transport() {
        // MF, offset 185 units = 1480 bytes, UDP
        let v = decode(
            228,
            &hex("4500 001c 0007 20b9 4011 0000 0a000001 0a000002 0035 0035 0008 0000"),
        );
        assert_has(
            &v,
            &json!({"mf": true, "frag_offset": 1480, "proto": "udp"}),
        );
        assert!(v.get("src_port").is_none());
        assert_eq!(v["decode_error"], Value::Null);
    }

    #[test]
    fn ipv4_bad_headers() {
        let v = decode(228, &hex("4500 0014 0001"));
        assert_eq!(
            v["decode_error"],
            "ipv4 at byte 0: cut short: 20 bytes needed, 6 captured"
        );
        assert!(v.get("src_ip").is_none());
        check(&[
            (
                228,
                "4300 0014 0001 0000 40fd 0000 0a000001 0a000002",
                json!({"decode_error": "ipv4 at byte 0: header length 12 (IHL 3) is below the minimum 20"}),
            ),
            (
                228,
                "6500 0014 0001 0000 40fd 0000 0a000001 0a000002",
                json!({"decode_error": "ipv4 at byte 0: version 6 in an IPv4 header"}),
            ),
            (
                101,
                "9500",
                json!({"decode_error": "ip at byte 0: IP version 9, expected 4 or 6"}),
            ),
            // header with options cut short: IP fields present
            (
                228,
                "4600 0018 0001 0000 40fd 0000 0a000001 0a000002 01",
                json!({"src_ip": "10.0.0.1",
                       "decode_error": "ipv4 at byte 0: cut short: 24 bytes needed, 21 captured"}),
            ),
            // total length below the header length
            (
                228,
                "4500 0010 0001 0000 40fd 0000 0a000001 0a000002",
                json!({"decode_error": "ipv4 at byte 0: total length 16 is below the header length 20"}),
            ),
        ]);
    }

    #[test]
    fn ipv6_extension_headers() {
        // hop-by-hop (8) -> fragment (id 0x01020304, offset 0, M) -> UDP
        let f = hex(
            "6000 0000 0018 00 40 20010db8000000000000000000000001 20010db8000000000000000000000002
             2c00 0000 00000000
             1100 0001 01020304
             0035 1234 0008 0000",
        );
        let v = decode(229, &f);
        assert_has(
            &v,
            &json!({"ip_version": 6, "src_ip": "2001:db8::1", "ttl": 64,
                    "ipv6_ext": json!([0, 44]), "ip_id": 0x01020304, "mf": true, "df": null,
                    "frag_offset": 0, "ip_proto": 17, "src_port": 53, "dst_port": 0x1234,
                    "decode_error": null}),
        );
    }

    #[test]
    fn ipv6_bad_extension_header() {
        // routing header claiming 16 bytes, only 8 in the payload
        let f = hex(
            "6000 0000 0008 2b 40 20010db8000000000000000000000001 20010db8000000000000000000000002
             0601 0000 00000000",
        );
        let v = decode(229, &f);
        assert_eq!(v["ip_proto"], 43);
        assert_eq!(v["ipv6_ext"], Value::Null);
        assert_eq!(
            v["decode_error"],
            "ipv6 at byte 40: extension header 43 of 16 bytes runs past the payload length"
        );
        let v = decode(229, &hex("6000 0000 0008 2b 40 2001"));
        assert_eq!(
            v["decode_error"],
            "ipv6 at byte 0: cut short: 40 bytes needed, 10 captured"
        );
    }
}

//! Link layers: Ethernet (VLAN tags, PPPoE session), Linux cooked SLL/SLL2, raw IP, BSD
//! null/loopback, OpenBSD loop, PPP.

use super::{Dec, What, be16, ip, json, links, tunnel};

/// The `link` name of a pcap LINKTYPE_* value, `None` for unsupported ones.
pub(crate) fn name(linktype: u32) -> Option<&'static str> {
    Some(match linktype {
        0 => "null",
        1 => "ether",
        9 => "ppp",
        12 | 14 | 101 => "raw",
        108 => "loop",
        113 => "linux_sll",
        228 => "ipv4",
        229 => "ipv6",
        276 => "linux_sll2",
        _ => return links::name(linktype),
    })
}

/// What follows the link header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Net {
    V4,
    V6,
    /// Raw IP: the version nibble says which.
    ByVersion,
}

/// Decodes the link layer of `d.data` and everything above it.
#[inline]
pub(crate) fn decode(d: &mut Dec, linktype: u32) {
    match linktype {
        1 => ether(d),
        113 => sll(d),
        276 => sll2(d),
        12 | 14 | 101 => ip::decode(d, 0, Net::ByVersion),
        228 => ip::decode(d, 0, Net::V4),
        229 => ip::decode(d, 0, Net::V6),
        0 => null(d),
        108 => loop_(d),
        9 => ppp(d, 0),
        _ => other(d, linktype),
    }
}

/// The link types of [`links`], or the error for an unsupported one.
#[cold]
#[inline(never)]
fn other(d: &mut Dec, linktype: u32) {
    if !links::decode(d, linktype) {
        d.fail(
            "link",
            0,
            What::text(format!("unsupported link type {linktype}")),
        );
    }
}

/// Ethernet II / 802.3 with 802.1Q, 802.1ad and QinQ tags.
fn ether(d: &mut Dec) {
    let b = d.data;
    d.raw(b",\"src_mac\":");
    mac_or_null(d, b.get(6..12));
    d.raw(b",\"dst_mac\":");
    mac_or_null(d, b.get(0..6));
    if b.len() < 14 {
        d.raw(b",\"vlan\":null,\"ethertype\":null");
        d.short("ether", 0, 14);
        return;
    }
    ethertype_and_above(d, 12, 14);
}

/// An Ethernet header at `off` (after a PPI or PKTAP header).
pub(crate) fn ether_at(d: &mut Dec, off: usize) {
    let b = d.data;
    d.raw(b",\"src_mac\":");
    mac_or_null(d, b.get(off + 6..off + 12));
    d.raw(b",\"dst_mac\":");
    mac_or_null(d, b.get(off..off + 6));
    if b.len() < off + 14 {
        d.raw(b",\"vlan\":null,\"ethertype\":null");
        d.short("ether", off, 14);
        return;
    }
    ethertype_and_above(d, off + 12, off + 14);
}

/// Writes `vlan` and `ethertype` for the ethertype field at `et_off` whose payload starts at
/// `p` (VLAN tags included), then decodes the payload.
#[inline]
fn ethertype_and_above(d: &mut Dec, et_off: usize, mut p: usize) {
    let b = d.data;
    let mut et = be16(b, et_off);
    let mut tags = 0;
    while matches!(et, 0x8100 | 0x88a8 | 0x9100) {
        if b.len() < p + 4 {
            d.short("vlan", p, 4);
            break;
        }
        d.raw(if tags == 0 { b",\"vlan\":[" } else { b"," });
        d.uint((be16(b, p) & 0x0fff) as u64);
        tags += 1;
        et = be16(b, p + 2);
        p += 4;
    }
    d.raw(if tags == 0 { b",\"vlan\":null" } else { b"]" });
    d.raw(b",\"ethertype\":");
    if d.err.is_some() {
        d.raw(b"null");
        return;
    }
    if et < 0x0600 {
        // 802.3 length field: LLC follows; IP only under SNAP
        d.raw(b"null");
        links::llc(d, p);
        return;
    }
    d.uint(et as u64);
    above_ethertype(d, et, p);
}

/// Decodes the payload of EtherType `et` at `p`.
#[inline(always)]
pub(crate) fn above_ethertype(d: &mut Dec, et: u16, p: usize) {
    match et {
        0x0800 => ip::decode(d, p, Net::V4),
        0x86dd => ip::decode(d, p, Net::V6),
        0x8864 => pppoe_session(d, p),
        0x8847 | 0x8848 => mpls(d, p),
        _ => links::ethertype(d, et, p), // MACsec, PBB, VN-Tag…; else a link-only record (cold)
    }
}

/// MPLS: see [`tunnel::mpls`].
fn mpls(d: &mut Dec, p: usize) {
    tunnel::mpls(d, p);
}

fn mac_or_null(d: &mut Dec, m: Option<&[u8]>) {
    match m {
        Some(m) => {
            d.raw(b"\"");
            json::mac(d.out, m);
            d.raw(b"\"");
        }
        None => d.raw(b"null"),
    }
}

/// PPPoE session stage (RFC 2516): 6-byte header, then PPP.
fn pppoe_session(d: &mut Dec, off: usize) {
    if d.data.len() < off + 6 {
        d.short("pppoe", off, 6);
        return;
    }
    ppp(d, off + 6);
}

/// PPP (RFC 1661), optionally with HDLC address/control `ff 03`, protocol field 1 or 2 bytes.
pub(crate) fn ppp(d: &mut Dec, mut off: usize) {
    let b = d.data;
    if b.len() >= off + 2 && b[off] == 0xff && b[off + 1] == 0x03 {
        off += 2;
    }
    let Some(&first) = b.get(off) else {
        d.short("ppp", off, 1);
        return;
    };
    let (proto, hl) = if first & 1 == 1 {
        (first as u16, 1)
    } else if b.len() >= off + 2 {
        (be16(b, off), 2)
    } else {
        d.short("ppp", off, 2);
        return;
    };
    match proto {
        0x21 => ip::decode(d, off + hl, Net::V4),
        0x57 => ip::decode(d, off + hl, Net::V6),
        0x281 | 0x283 => mpls(d, off + hl),
        _ => {} // LCP, IPCP, …: not IP
    }
}

/// Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 16 bytes).
fn sll(d: &mut Dec) {
    let b = d.data;
    if b.len() < 16 {
        d.raw(b",\"src_mac\":null,\"dst_mac\":null,\"vlan\":null,\"ethertype\":null");
        sll_extra(d, b.get(0..2).map(|p| be16(p, 0)), None);
        d.short("linux_sll", 0, 16);
        return;
    }
    let addr_len = be16(b, 4) as usize;
    d.raw(b",\"src_mac\":");
    mac_or_null(d, if addr_len == 6 { b.get(6..12) } else { None });
    d.raw(b",\"dst_mac\":null");
    sll_extra(d, Some(be16(b, 0)), None);
    ethertype_and_above(d, 14, 16);
}

/// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 20 bytes).
fn sll2(d: &mut Dec) {
    let b = d.data;
    if b.len() < 20 {
        d.raw(b",\"src_mac\":null,\"dst_mac\":null,\"vlan\":null,\"ethertype\":null");
        let ifindex = b
            .get(4..8)
            .map(|p| u32::from_be_bytes([p[0], p[1], p[2], p[3]]));
        sll_extra(d, b.get(10).map(|&p| p as u16), ifindex);
        d.short("linux_sll2", 0, 20);
        return;
    }
    let addr_len = b[11] as usize;
    d.raw(b",\"src_mac\":");
    mac_or_null(d, if addr_len == 6 { b.get(12..18) } else { None });
    d.raw(b",\"dst_mac\":null");
    let ifindex = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
    sll_extra(d, Some(b[10] as u16), Some(ifindex));
    ethertype_and_above(d, 0, 20);
}

/// `pkt_type` (SLL/SLL2) and `ifindex` (SLL2; null for SLL).
fn sll_extra(d: &mut Dec, pkt_type: Option<u16>, ifindex: Option<u32>) {
    d.raw(b",\"pkt_type\":");
    match pkt_type {
        Some(0) => d.raw(b"\"host\""),
        Some(1) => d.raw(b"\"broadcast\""),
        Some(2) => d.raw(b"\"multicast\""),
        Some(3) => d.raw(b"\"otherhost\""),
        Some(4) => d.raw(b"\"outgoing\""),
        Some(n) => {
            d.raw(b"\"pkt_type_");
            d.uint(n as u64);
            d.raw(b"\"");
        }
        None => d.raw(b"null"),
    }
    d.raw(b",\"ifindex\":");
    json::opt_uint(d.out, ifindex.map(u64::from));
}

/// BSD null/loopback: a 4-byte address family in the capturing host's byte order.
fn null(d: &mut Dec) {
    let b = d.data;
    if b.len() < 4 {
        d.short("null", 0, 4);
        return;
    }
    let mut af = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    if af & 0xffff_0000 != 0 {
        // written by a big-endian host (address families are small numbers)
        af = af.swap_bytes();
    }
    af_and_above(d, af, 4);
}

/// OpenBSD loopback: the address family in network byte order.
fn loop_(d: &mut Dec) {
    let b = d.data;
    if b.len() < 4 {
        d.short("loop", 0, 4);
        return;
    }
    af_and_above(d, u32::from_be_bytes([b[0], b[1], b[2], b[3]]), 4);
}

fn af_and_above(d: &mut Dec, af: u32, off: usize) {
    match af {
        2 => ip::decode(d, off, Net::V4),
        // AF_INET6: Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30
        10 | 24 | 28 | 30 => ip::decode(d, off, Net::V6),
        _ => {} // another family: not IP, not an error
    }
}

#[cfg(test)]
mod test {
    use super::super::testutil::*;
    use serde_json::json;

    /// 802.1ad outer 100 + 802.1Q inner 200, then ARP (from 802.1ad_QinQ.pcap's layout).
    #[test]
    fn qinq_tags_outermost_first() {
        let v = decode(
            1,
            &hex("ffffffffffff 001122334455 88a8 0064 8100 00c8 0806 0001080006040001"),
        );
        let want = json!({"src_mac": "00:11:22:33:44:55", "dst_mac": "ff:ff:ff:ff:ff:ff",
                          "vlan": [100, 200], "ethertype": 0x0806, "decode_error": null});
        assert_has(&v, &want);
        assert!(v.get("ip_version").is_none());
    }

    #[test]
    fn truncated_ethernet_and_vlan() {
        check(&[
            (
                1,
                "ffffffffffff 0011",
                json!({"src_mac": null, "dst_mac": "ff:ff:ff:ff:ff:ff",
                       "decode_error": "ether at byte 0: cut short: 14 bytes needed, 8 captured"}),
            ),
            (
                1,
                "ffffffffffff 001122334455 8100 00",
                json!({"vlan": null,
                       "decode_error": "vlan at byte 14: cut short: 4 bytes needed, 1 captured"}),
            ),
        ]);
    }

    #[test]
    fn null_loopback_either_byte_order() {
        // AF_INET little-endian, then a 20-byte IPv4 header with proto 253
        let ip = "4500 0014 0001 0000 40fd 0000 7f000001 7f000002";
        check(&[
            (
                0,
                &format!("02000000 {ip}"),
                json!({"link": "null", "src_ip": "127.0.0.1"}),
            ),
            (0, &format!("00000002 {ip}"), json!({"dst_ip": "127.0.0.2"})),
            (
                108,
                &format!("00000002 {ip}"),
                json!({"link": "loop", "ttl": 64}),
            ),
        ]);
        // AF 7 (not IP): link-only, no error
        let v = decode(0, &hex("07000000 0102"));
        assert_eq!(v["decode_error"], serde_json::Value::Null);
        assert!(v.get("src_ip").is_none());
    }

    #[test]
    fn sll_and_sll2() {
        let ip = "4500 0014 0001 0000 40fd 0000 0a000001 0a000002";
        check(&[
            (
                113,
                &format!("0004 0001 0006 020000000001 0000 0800 {ip}"),
                json!({"link": "linux_sll", "src_mac": "02:00:00:00:00:01", "dst_mac": null,
                       "pkt_type": "outgoing", "ifindex": null, "ethertype": 0x0800,
                       "src_ip": "10.0.0.1"}),
            ),
            (
                276,
                &format!("0800 0000 00000003 0001 00 06 020000000001 0000 {ip}"),
                json!({"link": "linux_sll2", "ifindex": 3, "pkt_type": "host",
                       "dst_ip": "10.0.0.2"}),
            ),
            (
                276,
                "0800 0000 0000",
                json!({"decode_error": "linux_sll2 at byte 0: cut short: 20 bytes needed, 6 captured"}),
            ),
        ]);
    }

    #[test]
    fn ppp_and_pppoe() {
        let ip = "4500 0014 0001 0000 40fd 0000 0a000001 0a000002";
        check(&[
            (9, &format!("ff03 0021 {ip}"), json!({"src_ip": "10.0.0.1"})),
            (9, &format!("21 {ip}"), json!({"src_ip": "10.0.0.1"})),
            (
                1,
                &format!("ffffffffffff 001122334455 8864 1100 0001 0016 0021 {ip}"),
                json!({"ethertype": 0x8864, "dst_ip": "10.0.0.2"}),
            ),
        ]);
    }

    #[test]
    fn mpls_to_ip_and_pseudowire() {
        let ip = "4500 0014 0001 0000 40fd 0000 0a000001 0a000002";
        check(&[
            // two labels (the second bottom-of-stack), then IPv4
            (
                1,
                &format!("ffffffffffff 001122334455 8847 00010 0ff 000201ff {ip}"),
                json!({"ethertype": 0x8847, "src_ip": "10.0.0.1"}),
            ),
            // one label, control word, inner Ethernet with a VLAN tag, IPv4
            (
                1,
                &format!(
                    "ffffffffffff 001122334455 8847 000111ff 00000000
                     cc0000000000 cc0000000001 8100 0001 0800 {ip}"
                ),
                json!({"dst_ip": "10.0.0.2", "src_mac": "00:11:22:33:44:55"}),
            ),
            (
                1,
                "ffffffffffff 001122334455 8847 0001",
                json!({"decode_error": "mpls at byte 14: cut short: 4 bytes needed, 2 captured"}),
            ),
        ]);
    }

    #[test]
    fn unsupported_link_type() {
        let v = decode(147, &[0; 10]);
        assert_eq!(
            v["decode_error"],
            "link at byte 0: unsupported link type 147"
        );
    }
}

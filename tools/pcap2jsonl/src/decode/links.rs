//! More link types (Cisco HDLC, Frame Relay, Linux NFLOG, IP over InfiniBand, PPI, radiotap and
//! 802.11 data frames, Apple PKTAP) and EtherTypes (MACsec without encryption, 802.1ah PBB,
//! VN-Tag, Cisco FabricPath, Cisco MetaData, NSH, Arista's timestamp header, 802.2 LLC +
//! SNAP). These layers write no fields of their own beyond what `link` says: the IP packet they
//! carry is decoded as usual.

use super::link::{self, Net};
use super::{Dec, be16, ip};

/// The `link` name of the link types decoded here.
pub(crate) fn name(linktype: u32) -> Option<&'static str> {
    Some(match linktype {
        104 => "chdlc",
        105 => "ieee802_11",
        107 => "frame_relay",
        127 => "radiotap",
        192 => "ppi",
        239 => "nflog",
        242 => "ipoib",
        258 => "pktap",
        _ => return None,
    })
}

/// Decodes a frame of the link types named in [`name`]; false for any other link type.
pub(crate) fn decode(d: &mut Dec, linktype: u32) -> bool {
    match linktype {
        104 => ethertype_at(d, "chdlc", 2, 4),
        105 => wlan(d, 0),
        107 => frame_relay(d),
        127 => radiotap(d),
        192 => ppi(d),
        239 => nflog(d),
        242 => ethertype_at(d, "ipoib", 40, 44),
        258 => pktap(d),
        _ => return false,
    }
    true
}

/// A link header of `len` bytes whose EtherType stands at `et_at`: Cisco HDLC (address,
/// control, EtherType) and IP over InfiniBand (40 bytes of addresses, then RFC 4391's
/// EtherType and 2 reserved bytes).
fn ethertype_at(d: &mut Dec, layer: &'static str, et_at: usize, len: usize) {
    if d.data.len() < len {
        d.short(layer, 0, len);
        return;
    }
    let et = be16(d.data, et_at);
    link::above_ethertype(d, et, len);
}

/// Frame Relay (Q.922 address, then RFC 2427 control and NLPID, or Cisco's EtherType).
fn frame_relay(d: &mut Dec) {
    let b = d.data;
    if b.len() < 4 {
        d.short("frame_relay", 0, 4);
        return;
    }
    if b[2] != 0x03 {
        // Cisco encapsulation: an EtherType after the address
        link::above_ethertype(d, be16(b, 2), 4);
        return;
    }
    let mut q = 3;
    if b[q] == 0 {
        q += 1; // padding
    }
    match b.get(q) {
        Some(0xcc) => ip::decode(d, q + 1, Net::V4),
        Some(0x8e) => ip::decode(d, q + 1, Net::V6),
        Some(0x80) => snap(d, q + 1),
        Some(_) => {}
        None => d.short("frame_relay", q, 1),
    }
}

/// Linux NFLOG: family, version, resource id, then TLVs (little-endian length and type, padded
/// to 4 bytes); type 9 holds the packet.
fn nflog(d: &mut Dec) {
    let b = d.data;
    if b.len() < 4 {
        d.short("nflog", 0, 4);
        return;
    }
    let net = match b[0] {
        2 => Net::V4,
        10 => Net::V6,
        _ => Net::ByVersion,
    };
    let mut p = 4;
    while p + 4 <= b.len() {
        let len = u16::from_le_bytes([b[p], b[p + 1]]) as usize;
        let ty = u16::from_le_bytes([b[p + 2], b[p + 3]]);
        if len < 4 {
            break;
        }
        if ty == 9 {
            ip::decode(d, p + 4, net);
            return;
        }
        p += (len + 3) & !3;
    }
}

/// PPI (per-packet information): version, flags, little-endian header length and DLT.
fn ppi(d: &mut Dec) {
    let b = d.data;
    if b.len() < 8 {
        d.short("ppi", 0, 8);
        return;
    }
    let len = u16::from_le_bytes([b[2], b[3]]) as usize;
    let dlt = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    match dlt {
        105 => wlan(d, len),
        1 => link::ether_at(d, len),
        _ => {}
    }
}

/// Radiotap: little-endian header length at byte 2, then an 802.11 frame.
fn radiotap(d: &mut Dec) {
    let b = d.data;
    if b.len() < 4 {
        d.short("radiotap", 0, 4);
        return;
    }
    wlan(d, u16::from_le_bytes([b[2], b[3]]) as usize);
}

/// Apple PKTAP: little-endian header length and, at byte 8, the DLT of the packet after it.
fn pktap(d: &mut Dec) {
    let b = d.data;
    if b.len() < 12 {
        d.short("pktap", 0, 12);
        return;
    }
    let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let dlt = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
    match dlt {
        1 => link::ether_at(d, len),
        12 | 14 | 101 => ip::decode(d, len, Net::ByVersion),
        _ => {}
    }
}

/// An 802.11 data frame at `p`: IP under LLC/SNAP unless protected (encrypted).
fn wlan(d: &mut Dec, p: usize) {
    let b = d.data;
    if b.len() < p + 2 {
        d.short("802.11", p, 2);
        return;
    }
    let (fc0, fc1) = (b[p], b[p + 1]);
    if (fc0 >> 2) & 3 != 2 || fc0 & 0x40 != 0 || fc1 & 0x40 != 0 {
        return; // management or control, a null data frame, or encrypted
    }
    let qos = fc0 & 0x80 != 0;
    let mut hl = if fc1 & 3 == 3 { 30 } else { 24 };
    if qos {
        hl += 2;
        if fc1 & 0x80 != 0 {
            hl += 4; // HT control
        }
    }
    if b.len() < p + hl {
        d.short("802.11", p, hl);
        return;
    }
    llc(d, p + hl);
}

/// 802.2 LLC at `p`: IP only under SNAP (`aa aa 03`).
#[cold]
pub(crate) fn llc(d: &mut Dec, p: usize) {
    if d.data.get(p..p + 3) == Some(&[0xaa, 0xaa, 0x03][..]) {
        snap(d, p + 3);
    }
}

/// SNAP at `p`: OUI 00-00-00 or 00-00-f8, then an EtherType.
fn snap(d: &mut Dec, p: usize) {
    let b = d.data;
    if b.len() < p + 5 {
        d.short("snap", p, 5);
        return;
    }
    if b[p] == 0 && b[p + 1] == 0 && (b[p + 2] == 0 || b[p + 2] == 0xf8) {
        link::above_ethertype(d, be16(b, p + 3), p + 5);
    }
}

/// Most EtherType headers followed in a row (MACsec in PBB in VN-Tag…).
const MAX_CHAIN: usize = 8;

/// EtherTypes that wrap another EtherType (or an Ethernet frame) at `p`; others are link-only.
#[cold]
#[inline(never)]
pub(crate) fn ethertype(d: &mut Dec, mut et: u16, mut p: usize) {
    let b = d.data;
    let mut followed = false;
    for _ in 0..MAX_CHAIN {
        let (layer, next) = match et {
            // MACsec SecTAG (802.1AE): TCI/AN, SL, PN, [SCI]; E or C set: encrypted
            0x88e5 => {
                let Some(&tci) = b.get(p) else {
                    d.short("macsec", p, 6);
                    return;
                };
                if tci & 0x0c != 0 {
                    return;
                }
                ("macsec", p + if tci & 0x20 != 0 { 14 } else { 6 })
            }
            // Arista timestamp header: subtype 1, version (0x10/0x110: 64-bit timestamp,
            // 0x20/0x120: 48-bit), then the original EtherType
            0xd28b => {
                if b.len() < p + 4 {
                    d.short("arista", p, 4);
                    return;
                }
                if be16(b, p) != 1 {
                    return;
                }
                let ts = match be16(b, p + 2) & 0xff {
                    0x10 => 8,
                    0x20 => 6,
                    _ => return,
                };
                ("arista", p + 4 + ts)
            }
            // VN-Tag (802.1Qbh): 4 bytes, then the EtherType
            0x8926 => ("vntag", p + 4),
            // Cisco MetaData: version, length, option, SGT, then the EtherType
            0x8909 => ("cmd", p + 6),
            // 802.1ah PBB I-TAG (4 bytes), then an Ethernet frame
            0x88e7 => ("pbb", p + 4 + 12),
            // Cisco FabricPath: FTag/TTL (2 bytes), then an Ethernet frame
            0x8903 => ("fabricpath", p + 2 + 12),
            // NSH (RFC 8300): length in 4-byte words, next protocol
            0x894f => {
                if b.len() < p + 4 {
                    d.short("nsh", p, 4);
                    return;
                }
                let len = (be16(b, p) & 0x3f) as usize * 4;
                let q = p + len;
                match b[p + 3] {
                    1 => ip::decode(d, q, Net::V4),
                    2 => ip::decode(d, q, Net::V6),
                    3 => {
                        if b.len() >= q + 14 {
                            et = be16(b, q + 12);
                            p = q + 14;
                            followed = true;
                            continue;
                        }
                        d.short("nsh", q, 14);
                    }
                    _ => {}
                }
                return;
            }
            _ => break,
        };
        if b.len() < next + 2 {
            d.short(layer, p, next + 2 - p);
            return;
        }
        et = be16(b, next);
        p = next + 2;
        followed = true;
        // VLAN tags of a carried Ethernet frame
        let mut tags = 0;
        while matches!(et, 0x8100 | 0x88a8 | 0x9100) && tags < 4 && b.len() >= p + 4 {
            et = be16(b, p + 2);
            p += 4;
            tags += 1;
        }
    }
    if followed
        && !matches!(
            et,
            0x88e5 | 0x8926 | 0x8909 | 0x88e7 | 0x8903 | 0x894f | 0xd28b
        )
    {
        link::above_ethertype(d, et, p);
    }
}

#[cfg(test)]
mod test {
    use super::super::testutil::*;
    use serde_json::Value;

    const IP: &str = "4500 0014 0001 0000 40fd 0000 0a000001 0a000002";

    fn ip_ok(v: &Value) {
        assert_eq!(v["src_ip"], "10.0.0.1", "{v}");
        assert_eq!(v["dst_ip"], "10.0.0.2", "{v}");
        assert_eq!(v["decode_error"], Value::Null, "{v}");
    }

    #[test]
    fn link_types() {
        // Cisco HDLC
        let v = decode(104, &hex(&format!("0f00 0800 {IP}")));
        assert_eq!(v["link"], "chdlc");
        ip_ok(&v);
        // Frame Relay, RFC 2427 NLPID IPv4, and Cisco's EtherType
        ip_ok(&decode(107, &hex(&format!("0401 03 cc {IP}"))));
        ip_ok(&decode(107, &hex(&format!("0401 0800 {IP}"))));
        // NFLOG: header, a prefix TLV (5 bytes, padded to 8), the payload TLV
        let v = decode(
            239,
            &hex(&format!("0200 0014 0500 0a00 41000000 1800 0900 {IP}")),
        );
        assert_eq!(v["link"], "nflog");
        ip_ok(&v);
        // IPoIB
        let v = decode(242, &hex(&format!("{} 0800 0000 {IP}", "00".repeat(40))));
        ip_ok(&v);
        // radiotap (8 bytes) + 802.11 QoS data (26 bytes) + LLC/SNAP
        let wlan = format!(
            "8801 0000 {} {} {} 0000 0000 aaaa03 000000 0800 {IP}",
            "020000000001", "020000000002", "020000000003"
        );
        let v = decode(127, &hex(&format!("0000 0800 00000000 {wlan}")));
        assert_eq!(v["link"], "radiotap");
        ip_ok(&v);
        // PPI (8 bytes, DLT 105) + the same 802.11 frame
        ip_ok(&decode(192, &hex(&format!("0000 0800 69000000 {wlan}"))));
        // 802.11 protected: link-only
        let v = decode(
            105,
            &hex("8841 0000 020000000001 020000000002 020000000003 0000 0000"),
        );
        assert!(v.get("src_ip").is_none());
        // PKTAP (header length 12 for the test) carrying Ethernet
        let v = decode(
            258,
            &hex(&format!(
                "0c000000 01000000 01000000 020000000001 020000000002 0800 {IP}"
            )),
        );
        assert_eq!(v["src_mac"], "02:00:00:00:00:02");
        ip_ok(&v);
    }

    #[test]
    fn ethertypes_that_wrap_others() {
        let eth = |rest: &str| hex(&format!("020000000001 020000000002 {rest}"));
        // VN-Tag
        ip_ok(&decode(1, &eth(&format!("8926 00000000 0800 {IP}"))));
        // PBB: I-TAG, customer MACs, a C-tag, IPv4
        ip_ok(&decode(
            1,
            &eth(&format!(
                "88e7 00000064 020000000003 020000000004 8100 0005 0800 {IP}"
            )),
        ));
        // FabricPath: FTag/TTL, inner Ethernet
        ip_ok(&decode(
            1,
            &eth(&format!("8903 003f 020000000003 020000000004 0800 {IP}")),
        ));
        // Cisco MetaData
        ip_ok(&decode(1, &eth(&format!("8909 0101 0001 0005 0800 {IP}"))));
        // Arista timestamp, 64-bit and 48-bit
        ip_ok(&decode(
            1,
            &eth(&format!("d28b 0001 0010 0000000100000002 0800 {IP}")),
        ));
        ip_ok(&decode(
            1,
            &eth(&format!("d28b 0001 0120 000000010002 0800 {IP}")),
        ));
        // NSH: length 2 words, next protocol IPv4
        ip_ok(&decode(1, &eth(&format!("894f 0002 0101 000001ff {IP}"))));
        // 802.3 length + LLC/SNAP
        let v = decode(1, &eth(&format!("0030 aaaa03 000000 0800 {IP}")));
        assert_eq!(v["ethertype"], Value::Null);
        ip_ok(&v);
        // a chain longer than 8 VN-Tags stops without error or recursion
        let many = "8926 00000000 ".repeat(40);
        let v = decode(1, &eth(&format!("{many} 0800 {IP}")));
        assert!(v.get("src_ip").is_none());
    }
}

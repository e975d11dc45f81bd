//! ICMP and ICMPv6: type, code, and for error messages the quoted datagram (`icmp_inner`).

use super::ip::walk_v6;
use super::transport::Seg;
use super::{Dec, What, be16, be32, json};

/// Is this an error message that quotes the offending datagram?
fn is_error(t: u8, v6: bool) -> bool {
    if v6 {
        // destination unreachable, packet too big, time exceeded, parameter problem
        matches!(t, 1..=4)
    } else {
        // unreachable, source quench, redirect, time exceeded, parameter problem
        matches!(t, 3 | 4 | 5 | 11 | 12)
    }
}

pub(crate) fn decode(d: &mut Dec, seg: Seg, v6: bool) {
    let layer = if v6 { "icmpv6" } else { "icmp" };
    let b = d.data.get(seg.start..seg.cap_end).unwrap_or(&[]);
    if b.len() < 4 {
        d.short(layer, seg.start, 4);
        return;
    }
    let (t, c) = (b[0], b[1]);
    d.raw(b",\"icmp_type\":");
    d.uint(t as u64);
    d.raw(b",\"icmp_code\":");
    d.uint(c as u64);
    d.raw(b",\"icmp_inner\":");
    if !is_error(t, v6) {
        d.raw(b"null");
        return;
    }
    if b.len() < 8 {
        d.raw(b"null");
        d.short(layer, seg.start, 8);
        return;
    }
    inner(d, &b[8..], seg.start + 8);
}

/// Writes the quoted datagram `q` (at frame offset `qoff`) as an object, or `null` and an
/// error when not even its IP header was quoted. The quote may stop anywhere after that
/// (RFC 792 asks for only 8 bytes of transport header): ports and `seq` are then `null`.
fn inner(d: &mut Dec, q: &[u8], qoff: usize) {
    let Some(&first) = q.first() else {
        d.raw(b"null");
        d.short("icmp_inner", qoff, 20);
        return;
    };
    let (proto, ttl, id, tp): (u8, u8, Option<u32>, &[u8]);
    match first >> 4 {
        4 => {
            let hl = ((first & 0x0f) as usize) * 4;
            if q.len() < 20 {
                d.raw(b"null");
                d.short("icmp_inner", qoff, 20);
                return;
            }
            if hl < 20 {
                d.raw(b"null");
                d.fail(
                    "icmp_inner",
                    qoff,
                    What::text(format!(
                        "quoted IPv4 header length {hl} is below the minimum 20"
                    )),
                );
                return;
            }
            d.raw(b"{\"src_ip\":\"");
            json::ipv4(d.out, [q[12], q[13], q[14], q[15]]);
            d.raw(b"\",\"dst_ip\":\"");
            json::ipv4(d.out, [q[16], q[17], q[18], q[19]]);
            proto = q[9];
            ttl = q[8];
            id = Some(be16(q, 4) as u32);
            let first_frag = be16(q, 6) & 0x1fff == 0;
            tp = if first_frag {
                q.get(hl..).unwrap_or(&[])
            } else {
                &[]
            };
        }
        6 => {
            if q.len() < 40 {
                d.raw(b"null");
                d.short("icmp_inner", qoff, 40);
                return;
            }
            // the quote is usually cut: walk what is there, with no error if it stops short
            let w = walk_v6(q, q.len());
            d.raw(b"{\"src_ip\":\"");
            json::ipv6(d.out, q[8..24].try_into().unwrap_or(&[0; 16]));
            d.raw(b"\",\"dst_ip\":\"");
            json::ipv6(d.out, q[24..40].try_into().unwrap_or(&[0; 16]));
            proto = w.nh;
            ttl = q[7];
            id = w.frag.map(|f| f.0);
            tp = if w.err.is_none() && w.frag.is_none_or(|f| f.1 == 0) {
                q.get(w.upper..).unwrap_or(&[])
            } else {
                &[]
            };
        }
        v => {
            d.raw(b"null");
            d.fail(
                "icmp_inner",
                qoff,
                What::text(format!("quoted IP version {v}, expected 4 or 6")),
            );
            return;
        }
    }
    d.raw(b"\",\"ip_proto\":");
    d.uint(proto as u64);
    d.raw(b",\"ttl\":");
    d.uint(ttl as u64);
    d.raw(b",\"ip_id\":");
    json::opt_uint(d.out, id.map(u64::from));
    // TCP, UDP, SCTP, UDP-Lite all start with the two ports
    let ports = matches!(proto, 6 | 17 | 132 | 136) && tp.len() >= 4;
    d.raw(b",\"src_port\":");
    json::opt_uint(d.out, ports.then(|| be16(tp, 0) as u64));
    d.raw(b",\"dst_port\":");
    json::opt_uint(d.out, ports.then(|| be16(tp, 2) as u64));
    d.raw(b",\"seq\":");
    json::opt_uint(
        d.out,
        (proto == 6 && tp.len() >= 8).then(|| be32(tp, 4) as u64),
    );
    d.raw(b"}");
}

#[cfg(test)]
mod test {
    use super::super::testutil::*;
    use serde_json::{Value, json};

    /// icmp-rfc5837.pcap: PPP, ICMP time exceeded quoting a UDP datagram (first 60 bytes).
    #[test]
    fn time_exceeded_quoting_udp() {
        let f = hex(
            "ff03 0021 4500 00f0 e720 4000 fe01 7ade 0a040002 0c040404 0b00 ccff 0000 0000
             4500 0028 a551 0000 0111 f76a 0c040404 0c010101 a54b 82a0 0014 0000",
        );
        let v = decode(9, &f);
        assert_has(
            &v,
            &json!({"link": "ppp", "proto": "icmp", "icmp_type": 11, "icmp_code": 0}),
        );
        assert_eq!(
            v["icmp_inner"],
            json!({"src_ip":"12.4.4.4","dst_ip":"12.1.1.1","ip_proto":17,"ttl":1,
                   "ip_id":0xa551,"src_port":42315,"dst_port":33440,"seq":null})
        );
        // the outer IP total length (240) exceeds this cut-down frame: flagged, layers kept
        assert!(
            v["decode_error"]
                .as_str()
                .unwrap()
                .starts_with("ipv4 at byte 4: total length 240 exceeds")
        );
    }

    #[test]
    fn port_unreachable_quoting_tcp_8_bytes() {
        let f = ip4(
            1,
            "0303 0000 0000 0000
             4500 0028 1234 4000 3f06 0000 0a000001 0a000002 4f53 0050 01020304",
        );
        let v = decode(228, &f);
        assert_eq!(v["icmp_type"], 3);
        assert_eq!(v["icmp_code"], 3);
        assert_eq!(v["icmp_inner"]["src_port"], 20307);
        assert_eq!(v["icmp_inner"]["dst_port"], 80);
        assert_eq!(v["icmp_inner"]["seq"], 0x01020304);
        assert_eq!(v["icmp_inner"]["ttl"], 63);
        assert_eq!(v["decode_error"], Value::Null);
        // quote cut after 4 transport bytes: ports, no seq
        let mut cut = f[..f.len() - 4].to_vec();
        cut[3] -= 4;
        let v = decode(228, &cut);
        assert_eq!(v["icmp_inner"]["dst_port"], 80);
        assert_eq!(v["icmp_inner"]["seq"], Value::Null);
        // quote cut inside the IP header
        let mut cut = f[..40].to_vec();
        cut[3] = 40;
        let v = decode(228, &cut);
        assert_eq!(v["icmp_inner"], Value::Null);
        assert_eq!(
            v["decode_error"],
            "icmp_inner at byte 28: cut short: 20 bytes needed, 12 captured"
        );
    }

    #[test]
    fn echo_has_no_inner_and_short_icmp_fails() {
        check(&[(
            228,
            "4500 001c 0001 0000 4001 0000 0a000002 0a000001 0800 0000 0001 0001",
            json!({"icmp_type": 8, "icmp_inner": null}),
        )]);
        let v = decode(
            228,
            &hex("4500 0016 0001 0000 4001 0000 0a000002 0a000001 0800"),
        );
        assert!(v.get("icmp_type").is_none());
        assert_eq!(
            v["decode_error"],
            "icmp at byte 20: cut short: 4 bytes needed, 2 captured"
        );
    }

    #[test]
    fn icmpv6_unreachable_quoting_tcp() {
        let f = hex(
            "6000 0000 0038 3a 40 20010db8000000000000000000000002 20010db8000000000000000000000001
             0104 0000 00000000
             6000 0000 0014 06 3f 20010db8000000000000000000000001 20010db8000000000000000000000002
             c000 0050 0000000a",
        );
        let v = decode(229, &f);
        assert_has(
            &v,
            &json!({"proto": "icmpv6", "icmp_type": 1, "icmp_code": 4}),
        );
        assert_eq!(
            v["icmp_inner"],
            json!({"src_ip":"2001:db8::1","dst_ip":"2001:db8::2","ip_proto":6,"ttl":63,
                   "ip_id":null,"src_port":49152,"dst_port":80,"seq":10})
        );
        assert_eq!(v["decode_error"], Value::Null);
    }
}

//! TCP (with options) and UDP; hands ICMP to `icmp` and port-53 payloads to `dns`.

use super::{Dec, What, be16, be32, dns, icmp, json, tls};

/// The IP payload: where it starts in the frame, how much of it was captured, and how long
/// the IP header says it is (bounded by the frame's original length).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seg {
    pub start: usize,
    /// End of the captured part (exclusive), `<= data.len()`.
    pub cap_end: usize,
    /// Payload length from the IP header (what tshark's dissectors see as reported length).
    pub reported: usize,
    pub v6: bool,
}

pub(crate) fn decode(d: &mut Dec, proto: u8, seg: Seg) {
    match proto {
        6 => tcp(d, seg),
        17 => udp(d, seg),
        1 if !seg.v6 => icmp::decode(d, seg, false),
        58 => icmp::decode(d, seg, true),
        _ => {}
    }
}

/// TCP flag letters in the order `FSRPAUEC` for the flags byte (`tcpwhy_common::tcp_flags`, which
/// tcpflows reads them back with).
#[inline]
pub(crate) fn write_flags(out: &mut Vec<u8>, flags: u8) {
    tcpwhy_common::tcp_flags::write_letters(out, flags);
}

/// The captured bytes of the TCP or UDP header of `seg` when its fixed part (`min` bytes) is
/// there, and its ports, written as `src_port` and `dst_port`; else the error is recorded.
#[inline(always)]
fn header_and_ports<'a>(
    d: &mut Dec<'a, '_>,
    seg: &Seg,
    layer: &'static str,
    min: usize,
) -> Option<(&'a [u8], u16, u16)> {
    let b = d.data.get(seg.start..seg.cap_end).unwrap_or(&[]);
    if b.len() < min {
        d.short(layer, seg.start, min);
        return None;
    }
    let sport = be16(b, 0);
    let dport = be16(b, 2);
    d.raw(b",\"src_port\":");
    d.uint(sport as u64);
    d.raw(b",\"dst_port\":");
    d.uint(dport as u64);
    Some((b, sport, dport))
}

/// Records that a length field of the `layer` header of `seg` (`what`) exceeds the IP payload.
#[cold]
fn exceeds_payload(d: &mut Dec, seg: &Seg, layer: &'static str, what: std::fmt::Arguments) {
    d.fail(
        layer,
        seg.start,
        What::text(format!(
            "{what} exceeds the {} bytes of IP payload",
            seg.reported
        )),
    );
}

fn tcp(d: &mut Dec, seg: Seg) {
    let Some((b, sport, dport)) = header_and_ports(d, &seg, "tcp", 20) else {
        return;
    };
    let hl = ((b[12] >> 4) as usize) * 4;
    d.raw(b",\"seq\":");
    d.uint(be32(b, 4) as u64);
    d.raw(b",\"ack\":");
    d.uint(be32(b, 8) as u64);
    d.raw(b",\"tcp_flags\":\"");
    write_flags(d.out, b[13]);
    d.raw(b"\",\"window\":");
    d.uint(be16(b, 14) as u64);
    d.raw(b",\"payload_len\":");
    if hl < 20 {
        d.raw(b"null");
        write_options(d, &Opts::default());
        d.fail(
            "tcp",
            seg.start,
            What::text(format!(
                "header length {hl} (data offset {}) is below the minimum 20",
                hl / 4
            )),
        );
        return;
    }
    if hl > seg.reported {
        d.raw(b"null");
    } else {
        d.uint((seg.reported - hl) as u64);
    }
    let opts = parse_options(d, seg.start, &b[20..hl.min(b.len())], hl - 20);
    write_options(d, &opts);
    if b.len() < hl {
        if hl > seg.reported {
            exceeds_payload(d, &seg, "tcp", format_args!("header length {hl}"));
        } else {
            d.short("tcp", seg.start, hl);
        }
        return;
    }
    if b.len() > hl {
        // the payload, bounded by the IP length (Ethernet padding is not payload)
        let end = (seg.start + seg.reported).min(seg.cap_end);
        if sport == 53 || dport == 53 {
            dns::decode_tcp(d, seg.start + hl, seg.cap_end);
        } else if seg.start + hl < end {
            tls::decode(d, seg.start + hl, end);
        }
    }
}

#[derive(Default)]
struct Opts {
    mss: Option<u16>,
    wscale: Option<u8>,
    sack_perm: bool,
    sack: [(u32, u32); 4],
    n_sack: usize,
    ts: Option<(u32, u32)>,
}

/// Parses the options bytes `o` (starting at frame offset `start + 20`; `o` is shorter than
/// `len`, the options length the data offset gives, when the snaplen cut them); a malformed
/// option is recorded as the decode error and the options before it are kept.
fn parse_options(d: &mut Dec, start: usize, o: &[u8], len: usize) -> Opts {
    let mut r = Opts::default();
    let mut i = 0;
    while i < o.len() {
        let kind = o[i];
        match kind {
            0 => break,
            1 => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let at = start + 20 + i;
        let Some(&olen) = o.get(i + 1) else {
            if o.len() < len {
                d.short("tcp option", at, 2);
            } else {
                d.fail(
                    "tcp option",
                    at,
                    What::text(format!(
                        "kind {kind} has no length byte before the data offset"
                    )),
                );
            }
            break;
        };
        let olen = olen as usize;
        if olen < 2 {
            d.fail(
                "tcp option",
                at,
                What::text(format!(
                    "kind {kind} has length {olen}, below the minimum 2"
                )),
            );
            break;
        }
        if i + olen > o.len() {
            if i + olen <= len {
                d.short("tcp option", at, olen);
            } else {
                d.fail(
                    "tcp option",
                    at,
                    What::text(format!(
                        "kind {kind} of length {olen} runs past the data offset ({len} bytes of options)"
                    )),
                );
            }
            break;
        }
        let v = &o[i + 2..i + olen];
        let ok = match kind {
            2 => {
                let ok = olen == 4;
                if ok {
                    r.mss = Some(be16(v, 0));
                }
                ok
            }
            3 => {
                let ok = olen == 3;
                if ok {
                    r.wscale = Some(v[0]);
                }
                ok
            }
            4 => {
                let ok = olen == 2;
                r.sack_perm |= ok;
                ok
            }
            5 => {
                let ok = olen >= 10 && (olen - 2) % 8 == 0;
                if ok {
                    for blk in v.chunks_exact(8) {
                        if r.n_sack < r.sack.len() {
                            r.sack[r.n_sack] = (be32(blk, 0), be32(blk, 4));
                            r.n_sack += 1;
                        }
                    }
                }
                ok
            }
            8 => {
                let ok = olen == 10;
                if ok {
                    r.ts = Some((be32(v, 0), be32(v, 4)));
                }
                ok
            }
            _ => true,
        };
        if !ok {
            let name = match kind {
                2 => "mss",
                3 => "window scale",
                4 => "sack permitted",
                5 => "sack",
                _ => "timestamps",
            };
            d.fail(
                "tcp option",
                at,
                What::text(format!("{name} (kind {kind}) has bad length {olen}")),
            );
        }
        i += olen;
    }
    r
}

fn write_options(d: &mut Dec, o: &Opts) {
    d.raw(b",\"mss\":");
    json::opt_uint(d.out, o.mss.map(u64::from));
    d.raw(b",\"wscale\":");
    json::opt_uint(d.out, o.wscale.map(u64::from));
    d.raw(if o.sack_perm {
        b",\"sack_perm\":true,\"sack\":"
    } else {
        b",\"sack_perm\":false,\"sack\":"
    });
    if o.n_sack == 0 {
        d.raw(b"null");
    } else {
        for (i, &(l, r)) in o.sack[..o.n_sack].iter().enumerate() {
            d.raw(if i == 0 { b"[[" } else { b",[" });
            d.uint(l as u64);
            d.raw(b",");
            d.uint(r as u64);
            d.raw(b"]");
        }
        d.raw(b"]");
    }
    d.raw(b",\"tsval\":");
    json::opt_uint(d.out, o.ts.map(|t| t.0 as u64));
    d.raw(b",\"tsecr\":");
    json::opt_uint(d.out, o.ts.map(|t| t.1 as u64));
}

fn udp(d: &mut Dec, seg: Seg) {
    let Some((b, sport, dport)) = header_and_ports(d, &seg, "udp", 8) else {
        return;
    };
    let ulen = be16(b, 4) as usize;
    d.raw(b",\"payload_len\":");
    // the UDP length field bounds the datagram (0 in IPv6 jumbograms: use the IP length)
    let end = if ulen >= 8 && ulen <= seg.reported {
        ulen
    } else {
        seg.reported
    };
    d.uint((end.saturating_sub(8)) as u64);
    if ulen > seg.reported {
        exceeds_payload(d, &seg, "udp", format_args!("length {ulen}"));
    } else if ulen < 8 && !(ulen == 0 && seg.v6) {
        d.fail(
            "udp",
            seg.start,
            What::text(format!("length {ulen} is below the minimum 8")),
        );
    }
    let cap_end = (seg.start + end).min(seg.cap_end);
    if seg.start + 8 < cap_end && dns::is_dns_udp(sport, dport) {
        dns::decode_udp(d, seg.start + 8, cap_end);
    }
}

#[cfg(test)]
mod test {
    use super::super::testutil::*;
    use serde_json::{Value, json};

    #[test]
    fn tcp_keys_come_in_the_shared_order() {
        // tcpflows' fast path expects this order (its scanner's ORDER table is checked against
        // the same list).
        let mut f = hex("020000000001 020000000002 0800");
        f.extend_from_slice(&ip4(6, "1f90 0050 00000001 00000000 5002 ffff 0000 0000"));
        let v = decode(1, &f);
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, tcpwhy_common::records::packet::TCP_KEY_ORDER);
    }

    #[test]
    fn tcp_syn_with_options() {
        // SYN, MSS 1460, SACK-perm, TS 0x11/0, NOP, WS 7 (44-byte header incl. 24 of options)
        let f = ip4(
            6,
            "9c40 0050 00000064 00000000 a002 faf0 0000 0000
             020405b4 0402 080a 00000011 00000000 01 030307",
        );
        let v = decode(228, &f);
        assert_has(
            &v,
            &json!({"src_port": 40000, "dst_port": 80, "seq": 100, "ack": 0, "tcp_flags": "S",
                    "window": 64240, "payload_len": 0, "mss": 1460, "wscale": 7,
                    "sack_perm": true, "sack": null, "tsval": 17, "tsecr": 0,
                    "decode_error": null}),
        );
    }

    #[test]
    fn tcp_flags_sack_and_payload() {
        // ACK+PSH with a SACK block, 4 bytes of payload and 2 bytes of Ethernet-like padding
        let mut f = ip4(
            6,
            "0050 9c40 00000001 00000002 8018 0100 0000 0000
             0101 050a 00000010 00000020
             61626364",
        );
        f.extend_from_slice(&[0, 0]);
        let v = decode(228, &f);
        assert_has(
            &v,
            &json!({"tcp_flags": "PA", "payload_len": 4, "sack": [[16, 32]], "mss": null}),
        );
        let mut out = Vec::new();
        for (flags, want) in [
            (0x12u8, "SA"),
            (0x14, "RA"),
            (0x11, "FA"),
            (0xff, "FSRPAUEC"),
            (0, ""),
        ] {
            out.clear();
            super::write_flags(&mut out, flags);
            assert_eq!(out, want.as_bytes());
        }
    }

    #[test]
    fn tcp_bad_option_keeps_fields() {
        for (options, want) in [
            // MSS with length 3, then WS 2
            (
                "7002 faf0 0000 0000 020305 030302 00",
                json!({"tcp_flags": "S", "mss": null, "wscale": 2,
                       "decode_error": "tcp option at byte 40: mss (kind 2) has bad length 3"}),
            ),
            // an option running past the data offset (not a snaplen cut)
            (
                "6002 faf0 0000 0000 080a 0000 00000000 0000",
                json!({"tsval": null, "payload_len": 6,
                       "decode_error": "tcp option at byte 40: kind 8 of length 10 runs past the data offset (4 bytes of options)"}),
            ),
            // length 0 option stops the walk
            (
                "6002 faf0 0000 0000 0800 0000",
                json!({"decode_error": "tcp option at byte 40: kind 8 has length 0, below the minimum 2"}),
            ),
        ] {
            let v = decode(
                228,
                &ip4(6, &format!("9c40 0050 00000064 00000000 {options}")),
            );
            assert_has(&v, &want);
        }
    }

    #[test]
    fn tcp_truncated_and_bogus() {
        let v = decode(228, &ip4(6, "9c40 0050 0000"));
        assert_eq!(
            v["decode_error"],
            "tcp at byte 20: cut short: 20 bytes needed, 6 captured"
        );
        assert!(v.get("src_port").is_none());
        assert_eq!(v["proto"], "tcp");
        // data offset 4
        let v = decode(
            228,
            &ip4(6, "9c40 0050 00000064 00000000 4002 faf0 0000 0000"),
        );
        assert_eq!(v["src_port"], 40000);
        assert_eq!(v["payload_len"], Value::Null);
        assert_eq!(
            v["decode_error"],
            "tcp at byte 20: header length 16 (data offset 4) is below the minimum 20"
        );
        // snaplen cut inside the options: payload_len still from the IP length (0x40 = 64)
        let mut f = ip4(
            6,
            "9c40 0050 00000064 00000000 b002 faf0 0000 0000 020405b4 04",
        );
        f[3] = 64; // the IP total length of the whole segment, cut by the snaplen
        let meta = crate::frame::FrameMeta {
            frame: 1,
            ts_sec: 0,
            ts_frac: 0,
            ts_digits: 6,
            iface: 0,
            linktype: 228,
            len: 64,
            comment: None,
            netmon: None,
        };
        let v = decode_meta(&meta, &f);
        assert_eq!(v["mss"], 1460);
        assert_eq!(v["payload_len"], 0);
        assert_eq!(
            v["decode_error"],
            "tcp option at byte 44: cut short: 2 bytes needed, 1 captured"
        );
    }

    #[test]
    fn tcp_tso_zero_total_length() {
        // IP total length 0: tshark takes the frame length (ipv4_tcp_http_xml_tso.pcap)
        let f = hex("4500 0000 42c9 4000 8006 0000 1e07b579 c72b44a3
             9a84 1f90 70bb89c8 2b5b50d7 5018 0100 df55 0000 504f5354");
        let v = decode(228, &f);
        assert_eq!(v["payload_len"], 4);
        assert_eq!(v["decode_error"], Value::Null);
    }

    #[test]
    fn udp() {
        let f = hex("4500 0020 0000 0000 4011 0000 0a000001 0a000002 a000 0045 000c 0000 01020304");
        let v = decode(228, &f);
        assert_has(
            &v,
            &json!({"proto": "udp", "src_port": 40960, "dst_port": 69, "payload_len": 4}),
        );
        assert!(v.get("seq").is_none());
        let f = hex("4500 0020 0000 0000 4011 0000 0a000001 0a000002 a000 0045 00ff 0000 01020304");
        let v = decode(228, &f);
        assert_eq!(v["payload_len"], 4);
        assert_eq!(
            v["decode_error"],
            "udp at byte 20: length 255 exceeds the 12 bytes of IP payload"
        );
    }
}

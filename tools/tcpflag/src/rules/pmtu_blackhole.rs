//! `pmtu_blackhole`: the handshake and small segments got through, full-size segments were
//! retransmitted and never acknowledged, and no ICMP "fragmentation needed" / ICMPv6 "packet too
//! big" made the sender lower its size — a link on the path has a smaller MTU and a firewall
//! drops the ICMP that would say so. Read from tcpflows' `size_limit` (docs/schema.md).

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{
    base, conn, ev, ev_fields, ip_of, peer_of, set_error, set_frames, side_of, sides_with,
};
use crate::socket_errors::Sock;
use crate::wording::{bytes, frames_of, plural, secs, thousands};

/// Retransmissions of the large segments needed (the original and two more tries: one loss is
/// not a pattern).
pub const MIN_LOST: u32 = 2;
/// The lost segments must be near full size: at least this share (%) of the sender's MSS (the
/// peer's announced MSS), and at least [`MIN_LOST_BYTES`].
pub const FULL_SIZE_PCT: u32 = 75;
pub const MIN_LOST_BYTES: u32 = 512;

/// True for an ICMP "fragmentation needed" (type 3 code 4) or ICMPv6 "packet too big" (type 2).
pub fn is_too_big(proto: &str, t: u8, c: u8) -> bool {
    if proto == "icmpv6" {
        t == 2
    } else {
        t == 3 && c == 4
    }
}

pub fn pmtu_blackhole(f: &Flow) -> Option<Finding> {
    if !(f.established || f.midstream) {
        return None;
    }
    let (who, sl) =
        sides_with(f, |s| s.size_limit.as_ref()).max_by_key(|(_, s)| s.retransmissions)?;
    let me = side_of(f, who);
    let peer = peer_of(who);
    // The sender's segment limit: the MSS its peer announced (its own when the peer's SYN was
    // not seen).
    let mss = side_of(f, peer).mss.or(me.mss);
    let floor = mss.map_or(MIN_LOST_BYTES, |m| {
        (u32::from(m) * FULL_SIZE_PCT / 100).max(MIN_LOST_BYTES)
    });
    if sl.retransmissions < MIN_LOST || sl.smallest_lost < floor {
        return None;
    }
    let too_big: Vec<_> = f
        .icmp
        .iter()
        .filter(|i| i.quoted == who && is_too_big(&i.proto, i.icmp_type, i.icmp_code))
        .collect();
    let st = me.stuck.as_ref();
    let lost_frames: Vec<u64> = st.map(|s| s.frames.clone()).unwrap_or_default();
    let v6 = f.ip_version == 6;
    let hdr: u32 = if v6 { 60 } else { 40 };

    let mut fd = base(f, "pmtu_blackhole", Severity::Error);
    let mut fr: Vec<u64> = sl.largest_acked_frame.into_iter().collect();
    fr.push(sl.first_lost_frame);
    fr.extend(&lost_frames);
    fr.extend(too_big.iter().map(|i| i.frame));
    set_frames(&mut fd, fr);
    fd.ts = st.and_then(|s| s.ts.first().copied()).or(Some(f.first_ts));
    fd.origin = Some("network".into());
    set_error(&mut fd, Sock::TimedOut);

    let passed = match (sl.largest_acked, sl.largest_acked_frame) {
        (0, _) | (_, None) => "only the handshake got through".to_string(),
        (n, Some(fr)) => format!(
            "the handshake and segments of up to {} got through (the largest, frame {fr}, was \
             acknowledged)",
            bytes(u64::from(n))
        ),
    };
    let sizes = if sl.smallest_lost == sl.largest_lost {
        bytes(u64::from(sl.smallest_lost))
    } else {
        format!(
            "{} to {}",
            thousands(u64::from(sl.smallest_lost)),
            bytes(u64::from(sl.largest_lost))
        )
    };
    let mss_text = mss.map_or(String::new(), |m| format!(", MSS {m}"));
    let span = st
        .and_then(|s| Some(s.ts.last()? - s.ts.first()?))
        .filter(|d| *d > 0.0)
        .map_or(String::new(), |d| format!(" over {}", secs(d)));
    let icmp_text = match too_big.first() {
        None => {
            let what = if v6 {
                "ICMPv6 \"packet too big\""
            } else {
                "ICMP \"fragmentation needed\""
            };
            let range = if sl.largest_acked + hdr >= 576 {
                format!(
                    "between about {} and {} bytes",
                    sl.largest_acked + hdr,
                    sl.smallest_lost + hdr
                )
            } else {
                format!(
                    "smaller than the lost packets: {} bytes or more with their headers",
                    sl.smallest_lost + hdr
                )
            };
            format!(
                "no {what} came back, so the sender never learned to send smaller segments: a \
                 link on the path has a smaller MTU ({range}) and a firewall drops the ICMP that \
                 would say so"
            )
        }
        Some(i) => format!(
            "an ICMP \"{}\" from {} came back (frame {}) yet the sender kept its segment size \
             (the ICMP did not reach its stack, or it ignores it)",
            i.description, i.from_ip, i.frame
        ),
    };
    fd.summary = format!(
        "{}: a Path-MTU black hole — {passed}, but the {who}'s full-size segments (from frame \
         {}: {sizes} of payload{mss_text}) were retransmitted {}{span} ({}) and never acknowledged; {icmp_text}. \
         The application hangs, then times out: Windows 10060 WSAETIMEDOUT, POSIX ETIMEDOUT (a \
         TLS handshake stalls at the server's certificate flight, an upload or a large answer \
         at its first full packet)",
        conn(f),
        sl.first_lost_frame,
        plural(u64::from(sl.retransmissions), "time", "times"),
        frames_of(&lost_frames, sl.retransmissions as usize),
    );
    let size = if v6 { 1452 } else { 1472 };
    fd.next_step = format!(
        "find the link with the small MTU on the path to {} (ping -M do -s {size} {0}, Windows: \
         ping -f -l {size} {0}, lowering the size until it passes) and either clamp the TCP MSS on that \
         router or tunnel (iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS \
         --clamp-mss-to-pmtu; Cisco ip tcp adjust-mss) or let ICMP type 3 code 4 (ICMPv6 type 2) \
         through the firewalls; a lower MTU on the {who}'s interface or Linux's \
         net.ipv4.tcp_mtu_probing=1 works around it on one host",
        ip_of(f, peer)
    );
    ev(&mut fd, "sender", who);
    // largest_acked, largest_acked_frame, smallest_lost, largest_lost, retransmissions,
    // first_lost_frame: the flow's `size_limit` as it is
    ev_fields(&mut fd, sl);
    ev(&mut fd, "lost_frames", lost_frames);
    ev(&mut fd, "mss", mss);
    ev(
        &mut fd,
        "icmp_too_big_frames",
        too_big.iter().map(|i| i.frame).collect::<Vec<_>>(),
    );
    Some(fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testutil::{assert_has, flow, posix, stuck};
    use serde_json::json;

    fn stuck_upload(smallest: u32, retrans: u32) -> serde_json::Value {
        json!({
            "state": "S1", "history": "ShAD", "end": "capture_end",
            "client": {"packets": 12, "bytes": 17443, "retransmissions": retrans,
                       "fin_frame": null,
                       "stuck": stuck(17376, retrans, &[20, 21, 22, 25], &[1.0, 1.4, 2.2, 3.9]),
                       "size_limit": {"largest_acked": 67, "largest_acked_frame": 14,
                                      "smallest_lost": smallest, "largest_lost": smallest,
                                      "retransmissions": retrans, "first_lost_frame": 20}},
            "server": {"packets": 3, "bytes": 0, "fin_frame": null}
        })
    }

    #[test]
    fn full_size_segments_lost_small_ones_passed() {
        let fd = pmtu_blackhole(&flow(stuck_upload(1448, 4))).expect("fires");
        assert_eq!(fd.kind, "pmtu_blackhole");
        assert_eq!(fd.frames, vec![14, 20, 21, 22, 25]);
        assert_has(&fd.summary, "67 bytes");
        assert_has(&fd.summary, "1,448 bytes");
        assert_has(&fd.summary, "MSS 1460");
        assert_eq!(posix(&fd), Some("ETIMEDOUT"));
    }

    #[test]
    fn thresholds() {
        // (smallest lost segment, retransmissions, fires)
        for (smallest, retrans, fires) in [
            // small lost segments (a request dropped by a firewall) are no MTU problem
            (600, 4, false),
            // 75 % of 1460 = 1095
            (1095, 4, true),
            (1094, 4, false),
            // one retransmission is no pattern
            (1448, 1, false),
            (1448, 2, true),
        ] {
            let fd = pmtu_blackhole(&flow(stuck_upload(smallest, retrans)));
            assert_eq!(
                fd.is_some(),
                fires,
                "{smallest} bytes, {retrans} retransmissions"
            );
        }
    }

    #[test]
    fn a_sender_that_ignores_the_icmp_is_named_so() {
        let mut v = stuck_upload(1448, 4);
        v["icmp"] = json!([{"from_ip": "192.0.2.2", "proto": "icmp", "icmp_type": 3,
                            "icmp_code": 4, "description": "fragmentation needed",
                            "frame": 21, "ts": 1.1, "ttl": 63, "quoted": "client"}]);
        let fd = pmtu_blackhole(&flow(v)).expect("fires");
        assert_has(&fd.summary, "yet the sender kept");
    }

    #[test]
    fn a_windows_sender_that_gives_up_with_a_reset() {
        // Windows: no TCP timestamps (1460-byte payload at MSS 1460), 5 retransmissions with a
        // doubling RTO (TcpMaxDataRetransmissions), then its stack resets the connection.
        let mut v = stuck_upload(1460, 5);
        v["state"] = json!("RSTO");
        v["end"] = json!("rst");
        v["client"]["ttl"] = json!({"first": 128, "min": 128, "max": 128});
        v["client"]["size_limit"]["largest_acked"] = json!(517);
        v["rst"] = json!({"from": "client", "frame": 40, "ts": 1010.0, "ttl": 128,
                          "ip_id": 900, "flags": "RA", "seq_ok": true, "count": 1});
        let fd = pmtu_blackhole(&flow(v)).expect("fires");
        assert_has(&fd.summary, "up to 517 bytes");
        assert_has(&fd.summary, "1,460 bytes of payload");
    }

    #[test]
    fn ipv6_packet_too_big_that_the_sender_ignored() {
        let mut v = stuck_upload(1428, 4);
        v["ip_version"] = json!(6);
        v["icmp"] = json!([{"from_ip": "2001:db8::1", "proto": "icmpv6", "icmp_type": 2,
                            "icmp_code": 0, "description": "packet too big",
                            "frame": 21, "ts": 1.1, "ttl": 63, "quoted": "client"}]);
        let fd = pmtu_blackhole(&flow(v)).expect("fires");
        assert!(fd.frames.contains(&21));
        assert_has(&fd.summary, "packet too big");
        assert_has(&fd.next_step, "-s 1452");
        // an ICMPv6 of another type is not a "packet too big"
        assert!(!is_too_big("icmpv6", 1, 4));
        assert!(is_too_big("icmp", 3, 4) && !is_too_big("icmp", 3, 3));
    }

    #[test]
    fn midstream_without_mss_uses_the_byte_floor() {
        let mut v = stuck_upload(1380, 3);
        v["midstream"] = json!(true);
        v["established"] = json!(false);
        v["client"]["mss"] = json!(null);
        v["server"]["mss"] = json!(null);
        assert!(pmtu_blackhole(&flow(v.clone())).is_some());
        v["client"]["size_limit"]["smallest_lost"] = json!(500);
        assert!(pmtu_blackhole(&flow(v)).is_none());
    }
}

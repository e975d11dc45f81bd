//! `retransmission_storm`: repeated retransmissions by one side, then a reset or a timeout.

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{
    Config, add_frames, base, closing, conn, ev, ip_of, peer_of, rst_frames, rst_name, set_error,
    set_frames, side_of,
};
use crate::socket_errors::Sock;
use crate::wording::{bytes, plural, secs};

/// retransmission_storm: retransmissions must be at least this share (%) of the side's packets.
pub const RETRANS_SHARE_PCT: u32 = 20;

/// Repeated retransmissions by one side, then a reset or a timeout.
pub fn retransmission_storm(f: &Flow, cfg: &Config) -> Option<Finding> {
    if !(f.established || f.midstream) {
        return None;
    }
    let (who, s) = [("client", &f.client), ("server", &f.server)]
        .into_iter()
        .max_by_key(|(_, s)| s.retransmissions)?;
    // Enough retransmissions, and a large share of what the side sent: a long healthy transfer
    // with a few early losses, idle afterwards or closed with a RST, is not a storm.
    if s.retransmissions < cfg.min_retrans
        || u64::from(s.retransmissions) * 100
            < s.packets.saturating_mul(u64::from(RETRANS_SHARE_PCT))
    {
        return None;
    }
    let clean_close =
        f.client.fin_frame.is_some() && f.server.fin_frame.is_some() && f.rst.is_none();
    let peer = peer_of(who);
    // The peer never sent a byte of payload while this side kept resending its data: the
    // exchange failed, and a FIN before the RST is the teardown of that failure (a server's
    // late FIN answered by the RST of a client that gave up), not an orderly close.
    let unanswered = side_of(f, peer).bytes == 0 && s.bytes > 0;
    let reset = f.rst.as_ref().filter(|_| !closing(f) || unanswered);
    if clean_close || (reset.is_none() && f.end != "timeout") {
        return None;
    }
    let mut fd = base(f, "retransmission_storm", Severity::Error);
    let mut fr = vec![f.first_frame];
    // The retransmissions left unanswered at the end (the last 16), when tcpflows lists them.
    if let Some(st) = &s.stuck {
        fr.extend(&st.frames);
    }
    fr.extend(rst_frames(f));
    if reset.is_none() {
        fr.push(f.last_frame);
    }
    set_frames(&mut fd, fr);
    let ending = match reset {
        Some(r) if r.from == who => {
            set_error(&mut fd, Sock::Aborted);
            fd.origin = Some("network".into());
            match side_of(f, peer).fin_frame.filter(|&fin| fin < r.frame) {
                Some(fin) => format!(
                    "the {who} gave up: it answered the {peer}'s late FIN (frame {fin}) with a RST (frame {})",
                    r.frame
                ),
                None => format!(
                    "then the {who} gave up and reset the connection (frame {})",
                    r.frame
                ),
            }
        }
        Some(r) => {
            set_error(&mut fd, Sock::Reset);
            fd.origin = Some(r.from.clone());
            format!(
                "then the {} reset the connection ({}, frame {})",
                r.from,
                rst_name(r),
                r.frame
            )
        }
        None => {
            set_error(&mut fd, Sock::Aborted);
            fd.origin = Some("network".into());
            "then the connection went silent until it timed out".to_string()
        }
    };
    let answered = side_of(f, peer).bytes;
    fd.summary = format!(
        "{}: the {who} retransmitted {} ({} sent counting the retransmissions, {} from the {peer}) over {}; {ending}",
        conn(f),
        plural(s.retransmissions as u64, "segment", "segments"),
        bytes(s.bytes),
        bytes(answered),
        secs(f.last_ts - f.first_ts),
    );
    // The server repeating its SYN-ACK after the client ACKed and sent data: the server never got
    // the client's packets, so they are lost on the way to it (the return direction works).
    let synack_repeated = who == "client" && f.synack_count >= 2 && answered == 0;
    if synack_repeated {
        fd.summary.push_str(&format!(
            "; the server sent its SYN-ACK {} times: it never received the client's ACK or data, so \
             the client's packets are lost on the way to the server while the server's answers \
             arrive",
            f.synack_count
        ));
        ev(&mut fd, "synack_count", f.synack_count);
        add_frames(&mut fd, f.synack_frames.iter().copied());
    }
    // ICMP errors about this connection tell where the path broke.
    if let Some(i) = f.icmp.first() {
        let words = if i.description.is_empty() {
            crate::socket_errors::icmp_words(&i.proto, i.icmp_type, i.icmp_code).to_string()
        } else {
            i.description.clone()
        };
        fd.summary.push_str(&format!(
            "; {} {words} from {} (frame {})",
            if i.proto == "icmpv6" {
                "ICMPv6"
            } else {
                "ICMP"
            },
            i.from_ip,
            i.frame
        ));
        add_frames(&mut fd, [i.frame]);
        ev(&mut fd, "icmp_from", i.from_ip.clone());
        ev(&mut fd, "icmp_type", i.icmp_type);
        ev(&mut fd, "icmp_code", i.icmp_code);
    }
    fd.next_step = if synack_repeated {
        format!(
            "the client's packets to {} (port {}) are dropped after the handshake: look for a \
             firewall or ACL on the path from {} that passes SYNs but drops the rest (a stateful \
             firewall that sees only one direction under asymmetric routing, an IPS), compare with \
             a capture on the server, and check `iptables -L -v -n` / Windows Firewall logs there",
            f.server_ip, f.server_port, f.client_ip
        )
    } else {
        format!(
            "packets between {} and {} are being lost: check interface errors and drops on both ends and \
         the path (`ip -s link`, `netstat -s`, switch/router counters), a path-MTU black hole (`ping \
         -M do -s 1472 {}` / `ping -f -l 1472` on Windows) and a firewall dropping the flow mid-way \
         (state-table timeout)",
            f.client_ip,
            f.server_ip,
            ip_of(f, peer)
        )
    };
    ev(&mut fd, "retransmitter", who);
    ev(&mut fd, "retransmissions", s.retransmissions);
    ev(&mut fd, "client_retransmissions", f.client.retransmissions);
    ev(&mut fd, "server_retransmissions", f.server.retransmissions);
    ev(&mut fd, "client_bytes", f.client.bytes);
    ev(&mut fd, "server_bytes", f.server.bytes);
    ev(&mut fd, "reset_by", reset.map(|r| r.from.clone()));
    ev(&mut fd, "end", f.end.clone());
    ev(&mut fd, "duration", f.last_ts - f.first_ts);
    Some(fd)
}

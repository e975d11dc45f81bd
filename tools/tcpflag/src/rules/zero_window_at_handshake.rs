//! `zero_window_at_handshake`: the SYN-ACK (or the SYN) advertised a zero receive window.

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{
    Config, base, conn, ev, ev_origin, rst_frames, rst_origin, set_error, set_frames, zw_evidence,
};
use crate::socket_errors::Sock;
use crate::wording::{frames, plural, secs};

/// The SYN-ACK (or the SYN) advertised a zero receive window (the seed's first case).
pub fn zero_window_at_handshake(f: &Flow, cfg: &Config) -> Option<Finding> {
    let (side, z, peer) = match (&f.server.zero_window, &f.client.zero_window) {
        (Some(z), _) if z.in_handshake => ("server", z, &f.client),
        (_, Some(z)) if z.in_handshake => ("client", z, &f.server),
        _ => return None,
    };
    let (recv_ip, seg) = if side == "server" {
        (&f.server_ip, "SYN-ACK")
    } else {
        (&f.client_ip, "SYN")
    };
    let hs_frame = if side == "server" {
        f.synack_frame.unwrap_or(z.first_frame)
    } else {
        z.first_frame
    };
    let reset_by = f.rst.as_ref().map(|r| r.from.as_str());
    let severity = if !z.reopened {
        Severity::Error
    } else if z.longest_stall >= cfg.stall_warning {
        Severity::Warning
    } else {
        Severity::Info
    };
    let mut fd = base(f, "zero_window_at_handshake", severity);
    fd.attempts = Some(f.attempts.syn_count.max(1));
    let mut fr = vec![hs_frame];
    fr.extend(&z.probe_frames);
    if let Some(r) = z.reopen_frame {
        fr.push(r);
    }
    fr.extend(rst_frames(f));
    set_frames(&mut fd, fr);
    fd.ts = Some(z.first_ts);
    let probes = if z.probes > 0 {
        let pf = frames(&z.probe_frames, 8);
        let style = match z.probe_kind.as_deref() {
            Some("one_byte") => ", 1-byte as Windows sends them",
            Some("zero_byte") => ", 0-byte as Linux sends them",
            _ => "",
        };
        format!(
            "the {} sent {} ({pf}{style})",
            if side == "server" { "client" } else { "server" },
            plural(z.probes as u64, "zero-window probe", "zero-window probes")
        )
    } else if peer.retransmissions > 0 {
        format!(
            "the {} retransmitted {} times",
            if side == "server" { "client" } else { "server" },
            peer.retransmissions
        )
    } else {
        String::new()
    };
    let origin = rst_origin(f);
    let ending = match (z.reopened, reset_by, &f.rst) {
        (true, _, _) => format!(
            "it opened {} later{}",
            secs(z.longest_stall),
            z.reopen_frame
                .map(|r| format!(" (frame {r})"))
                .unwrap_or_default()
        ),
        (false, Some(by), Some(r)) => {
            let who = if origin.is_some_and(|o| o.origin == "middlebox") {
                "a middlebox (with the server's address)".to_string()
            } else {
                format!("the {by}")
            };
            format!(
                "the window never opened and {who} reset the connection (frame {}) after {}",
                r.frame,
                secs(r.ts - f.first_ts)
            )
        }
        _ => format!(
            "the window never opened: the connection stalled for {} ({})",
            secs(z.longest_stall.max(f.last_ts - z.first_ts)),
            if f.end == "capture_end" {
                "still closed at the end of the capture"
            } else {
                "until it timed out"
            }
        ),
    };
    let mid = if probes.is_empty() {
        String::new()
    } else {
        format!("; {probes}")
    };
    fd.summary = format!(
        "{}: the {seg} (frame {hs_frame}) advertised a zero receive window{mid}; {ending}",
        conn(f)
    );
    match (z.reopened, reset_by) {
        (true, _) => {}
        (false, Some(_)) => set_error(&mut fd, Sock::Reset),
        (false, None) => set_error(&mut fd, Sock::TimedOut),
    }
    if let Some(o) = origin {
        fd.origin = Some(
            if o.origin == "middlebox" {
                "middlebox"
            } else {
                side
            }
            .to_string(),
        );
    } else {
        fd.origin = Some(side.to_string());
    }
    fd.next_step = format!(
        "{recv_ip} offers no receive buffer from its very first packet: check that host (and any load \
         balancer, proxy or firewall in front of it, which often rewrites the window) for memory \
         exhaustion or a broken TCP window setting; capture on its side to see whether it really sent \
         window 0; until fixed, take it out of the DNS/load-balancer rotation"
    );
    zw_evidence(&mut fd, side, z);
    ev(&mut fd, "peer_retransmissions", peer.retransmissions);
    ev(&mut fd, "reset_by", reset_by);
    ev_origin(&mut fd, "rst_origin", origin);
    Some(fd)
}

//! slow_path: the handshake's round trip on one side of the capture point took hundreds of
//! milliseconds. SYN -> SYN-ACK times the path from the capture point to the server and back
//! (plus the server's kernel); SYN-ACK -> ACK the path to the client and back.

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{Config, base, conn, ev, set_frames};
use crate::wording::secs;

pub fn slow_path(f: &Flow, cfg: &Config) -> Option<Finding> {
    // A clean handshake only: retried SYNs or SYN-ACKs time a loss, not the path (slow_connect).
    if !f.established || f.midstream || f.attempts.syn_count > 1 || f.synack_count > 1 {
        return None;
    }
    let a = f.rtt.syn_synack.unwrap_or(0.0);
    let b = f.rtt.synack_ack.unwrap_or(0.0);
    let worst = a.max(b);
    if worst < cfg.slow_path || !worst.is_finite() {
        return None;
    }
    let severity = if worst >= cfg.slow_path_warning {
        Severity::Warning
    } else {
        Severity::Info
    };
    let (side, where_) = match (a >= cfg.slow_path, b >= cfg.slow_path) {
        (true, false) => (
            "server",
            format!(
                "the delay sits between the capture point and the server {}: on the path from here \
                 to it and back, or in its network stack",
                f.server_ip
            ),
        ),
        (false, true) => (
            "client",
            format!(
                "the delay sits between the capture point and the client {}: on the path from here \
                 to it and back (this capture was taken near the server)",
                f.client_ip
            ),
        ),
        _ => (
            "both",
            "the delay sits on both sides of the capture point".to_string(),
        ),
    };
    let mut fd = base(f, "slow_path", severity);
    let mut fr = vec![];
    if let Some(s) = f.attempts.frames.last() {
        fr.push(*s);
    }
    if let Some(s) = f.synack_frame {
        fr.push(s);
    }
    set_frames(&mut fd, fr);
    fd.origin = Some("network".into());
    fd.summary = format!(
        "{}: slow path: SYN → SYN-ACK took {}, SYN-ACK → ACK {} (threshold {}); {where_}. Every \
         round trip of this connection pays it: each request/response costs at least that much",
        conn(f),
        secs(a),
        secs(b),
        secs(cfg.slow_path),
    );
    let target = if side == "client" {
        &f.client_ip
    } else {
        &f.server_ip
    };
    fd.next_step = format!(
        "measure the path from the capture point to {target} (`ping`, `mtr`, `traceroute -T -p {}`) \
         and look for a congested or bufferbloated link, a VPN or satellite hop, or an overloaded \
         firewall or proxy; a capture at the other end splits the delay further",
        f.server_port
    );
    ev(&mut fd, "syn_synack", a);
    ev(&mut fd, "synack_ack", b);
    ev(&mut fd, "initial_rtt", f.rtt.initial);
    ev(&mut fd, "delay_side", side);
    ev(&mut fd, "threshold", cfg.slow_path);
    Some(fd)
}

//! `reset_mid_connection`: established, then a RST that was not part of a close.

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{
    base, closing, conn, established_rst, ev, ev_origin, rst_frames, rst_name, rst_origin,
    set_error, set_frames, ttl_text,
};
use crate::socket_errors::Sock;
use crate::wording::{bytes, secs};

/// Established, then a RST from the server (or a middlebox with its address) that was not part
/// of a close. Client resets (RSTO: browsers and pools aborting) are routine and not reported.
pub fn reset_mid_connection(f: &Flow) -> Option<Finding> {
    let r = established_rst(f)?;
    let origin = rst_origin(f);
    let middlebox = origin.is_some_and(|o| o.origin == "middlebox");
    if (r.from != "server" && !middlebox) || closing(f) {
        return None;
    }
    // A capture that picked the connection up at its RST shows nothing it could have broken.
    if f.midstream && f.client.packets + f.server.packets <= u64::from(r.count.max(1)) {
        return None;
    }
    let v6 = f.ip_version == 6;
    // tcpflows' verdict on the RST's sequence number: only an unacceptable one (RFC 5961) makes
    // the reset doubtful; "unknown" (no reference seen, e.g. mid-stream) is not held against it.
    let ignored = match r.seq_check.as_str() {
        "" => !r.seq_ok,
        c => c == "unacceptable",
    };
    // Mid-stream, what came before is unknown: a warning, not an error.
    let severity = if ignored || f.midstream {
        Severity::Warning
    } else {
        Severity::Error
    };
    let mut fd = base(f, "reset_mid_connection", severity);
    let mut fr = vec![f.first_frame];
    fr.extend(rst_frames(f));
    set_frames(&mut fd, fr);
    fd.ts = Some(r.ts);
    set_error(&mut fd, Sock::Reset);
    let after = r.ts - f.first_ts;
    let ttl = ttl_text(origin, r.ttl, v6)
        .map(|t| format!(", {t}"))
        .unwrap_or_default();
    let who = if middlebox {
        fd.origin = Some("middlebox".into());
        let path = origin
            .and_then(|o| o.expected_hops)
            .map(|e| {
                format!(
                    " while the server's own packets show {}",
                    crate::wording::routers_between(e as u64, "the server")
                )
            })
            .unwrap_or_default();
        format!(
            "a middlebox using the {}'s address ({}{ttl}{path}, frame {})",
            r.from,
            rst_name(r),
            r.frame
        )
    } else {
        fd.origin = Some("server".into());
        format!("the server ({}{ttl}, frame {})", rst_name(r), r.frame)
    };
    // Open before the capture began and not a byte either way: the server answered the client's
    // first packets seen (bare ACKs) with a RST — it does not know the connection.
    let unknown_to_server = f.midstream && f.client.bytes == 0 && f.server.bytes == 0;
    let what = match (f.client.bytes, f.server.bytes) {
        _ if unknown_to_server => {
            "at the first packets the capture saw of it, before any data: the connection was open \
             before the capture began, and the server answered the client's ACK with a RST — it \
             no longer knows this connection"
                .to_string()
        }
        (0, 0) => "right after the handshake, before any data".to_string(),
        (c, 0) => format!(
            "{} in, after the client sent {} and before any reply",
            secs(after),
            bytes(c)
        ),
        (c, s) => format!(
            "{} in, after the client sent {} and the server {}",
            secs(after),
            bytes(c),
            bytes(s)
        ),
    };
    let ignored = if ignored {
        "; its sequence number was outside the receive window, so the client stack likely ignored it"
    } else {
        ""
    };
    let mid = if f.midstream && !unknown_to_server {
        " (counted from where the capture picked the connection up)"
    } else {
        ""
    };
    fd.summary = format!("{} reset by {who} {what}{mid}{ignored}", conn(f));
    fd.next_step = if middlebox {
        format!(
            "a firewall/IPS/load balancer on the path injected the reset: check its logs and idle or \
             session timeouts for {}:{}",
            f.server_ip, f.server_port
        )
    } else if unknown_to_server {
        format!(
            "the server lost the connection's state: it restarted or failed over, or a NAT or \
             load balancer in between lost or reassigned the mapping (the client's stack sees the \
             reset at its next send, a keep-alive included): check the server's uptime and the \
             NAT/load-balancer logs for {}:{}. An ACK scan (nmap -sA) looks the same",
            f.server_ip, f.server_port
        )
    } else if f.client.bytes == 0 && f.server.bytes == 0 {
        format!(
            "the server accepted the handshake and reset at once: check its accept queue (`ss -ltn` \
             Recv-Q vs backlog, net.ipv4.tcp_abort_on_overflow), a proxy with no healthy backend, or \
             TLS/ACL policy on {}:{}",
            f.server_ip, f.server_port
        )
    } else {
        format!(
            "check the server application's log at that time for an abort, crash or request limit on \
             {}:{}, and idle timeouts of load balancers/firewalls in between",
            f.server_ip, f.server_port
        )
    };
    ev(&mut fd, "reset_by", r.from.clone());
    ev(&mut fd, "rst_frame", r.frame);
    ev(&mut fd, "rst_flags", r.flags.clone());
    ev(&mut fd, "rst_ttl", r.ttl);
    ev(&mut fd, "rst_seq_ok", r.seq_ok);
    ev(&mut fd, "after", after);
    ev(&mut fd, "client_bytes", f.client.bytes);
    ev(&mut fd, "server_bytes", f.server.bytes);
    ev(&mut fd, "client_retransmissions", f.client.retransmissions);
    ev_origin(&mut fd, "rst_origin", origin);
    Some(fd)
}

//! `handshake_incomplete`: SYN-ACK seen, but the client never sent the final ACK.

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{Config, base, conn, ev, rst_frames, set_error, set_frames, syn_frames};
use crate::socket_errors::Sock;
use crate::wording::{plural, secs};

/// SYN-ACK seen, but the client never sent the final ACK.
pub fn handshake_incomplete(f: &Flow, cfg: &Config) -> Option<Finding> {
    let synack = f.synack_frame?;
    if f.established || f.midstream {
        return None;
    }
    // A client that answers the SYN-ACK with a RST aborted on purpose (half-open scan, or an
    // application that gave up): not a network failure.
    if f.rst.as_ref().is_some_and(|r| r.from == "client") {
        return None;
    }
    let server_rst = f.rst.as_ref().is_some_and(|r| r.from == "server");
    let lasted = f.last_ts - f.first_ts;
    let strong = f.server.retransmissions > 0 || f.attempts.syn_count > 1 || server_rst;
    if !strong && f.end != "timeout" && lasted < cfg.incomplete_grace {
        return None;
    }
    let mut fd = base(f, "handshake_incomplete", Severity::Error);
    fd.attempts = Some(f.attempts.syn_count.max(1));
    let mut fr = syn_frames(f);
    fr.push(synack);
    // Every SYN-ACK the server repeated is evidence that the ACK never reached it.
    fr.extend(&f.synack_frames);
    fr.extend(rst_frames(f));
    set_frames(&mut fd, fr);
    set_error(&mut fd, Sock::TimedOut);
    let mut why = vec![];
    if f.server.retransmissions > 0 {
        why.push(format!(
            "the server retransmitted its SYN-ACK {}",
            plural(f.server.retransmissions as u64, "time", "times")
        ));
    }
    if f.attempts.syn_count > 1 {
        why.push(format!(
            "the client kept sending SYNs ({} in all), so the SYN-ACKs never reached it",
            f.attempts.syn_count
        ));
    }
    if server_rst {
        why.push("the server reset the half-open connection".to_string());
    }
    let why = if why.is_empty() {
        format!("nothing followed for {}", secs(lasted))
    } else {
        why.join("; ")
    };
    fd.summary = format!(
        "{} handshake incomplete: the server answered with SYN-ACK (frame {synack}) but the client never sent the final ACK; {why}",
        conn(f)
    );
    fd.next_step = if f.attempts.syn_count > 1 {
        format!(
            "SYN-ACKs from {} do not reach the client: look for asymmetric routing or a stateful \
             firewall on the return path that drops them (capture on the client itself to confirm)",
            f.server_ip
        )
    } else {
        format!(
            "the client saw no usable SYN-ACK: check a firewall on the client host, SYN-ACK \
             checksum/offload problems, or a stale SYN-ACK (capture on {} to compare)",
            f.client_ip
        )
    };
    ev(&mut fd, "synack_frame", synack);
    ev(&mut fd, "synack_frames", f.synack_frames.clone());
    ev(&mut fd, "syn_count", f.attempts.syn_count);
    ev(&mut fd, "synack_retransmissions", f.server.retransmissions);
    ev(&mut fd, "server_reset", server_rst);
    ev(&mut fd, "duration", lasted);
    Some(fd)
}

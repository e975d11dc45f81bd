//! `no_response`: a single SYN that nothing answered, and its flow timed out.

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{base, conn, ev, set_error, syn_frames, unanswered};
use crate::socket_errors::Sock;
use crate::wording::frames;

/// A single SYN that nothing answered and whose flow timed out (the client gave up before
/// retrying, or the capture missed the retries).
pub fn no_response(f: &Flow) -> Option<Finding> {
    if !unanswered(f) || f.attempts.syn_count != 1 || f.end != "timeout" {
        return None;
    }
    let syns = syn_frames(f);
    let mut fd = base(f, "no_response", Severity::Warning);
    fd.attempts = Some(1);
    fd.frames = syns.clone();
    set_error(&mut fd, Sock::TimedOut);
    fd.summary = format!(
        "{} got no response: one SYN ({}) and nothing back before the flow timed out, with no retry seen",
        conn(f),
        frames(&syns, 8)
    );
    fd.next_step = format!(
        "check that {} is up and that no firewall drops TCP {}; a client that never retries its SYN \
         usually has a very short connect timeout (or the capture filter missed the retries)",
        f.server_ip, f.server_port
    );
    ev(&mut fd, "syn_frames", syns);
    ev(&mut fd, "end", f.end.clone());
    Some(fd)
}

//! reset_after_close: the client sent its request and a FIN (half-close) and kept reading, and
//! the server answered with a RST instead of its own FIN: the client's read fails with
//! ECONNRESET instead of reaching the end of the answer. A RST after FINs is otherwise an
//! abortive close after an orderly one and routine.

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{
    base, before_rst, conn, established_rst, ev, ev_origin, rst_frames, rst_name, rst_origin,
    set_error, set_frames, ttl_text,
};
use crate::socket_errors::Sock;
use crate::wording::{bytes, secs};

pub fn reset_after_close(f: &Flow) -> Option<Finding> {
    let r = established_rst(f)?;
    if r.from != "server" {
        return None;
    }
    let cfin = f.client.fin_frame.filter(|&c| c < r.frame)?;
    // The server had closed in order before: its RST answers late data, routine.
    if before_rst(f.server.fin_frame, f) {
        return None;
    }
    // The client kept reading: it acknowledged the server's data after its own FIN.
    let read_after = f
        .client
        .ack_advance_frame
        .filter(|&a| a > cfin && a < r.frame);
    let read_after = read_after?;
    let origin = rst_origin(f);
    let middlebox = origin.is_some_and(|o| o.origin == "middlebox");
    let mut fd = base(f, "reset_after_close", Severity::Error);
    let mut fr = vec![cfin, read_after];
    fr.extend(rst_frames(f));
    set_frames(&mut fd, fr);
    fd.ts = Some(r.ts);
    fd.origin = Some(if middlebox { "middlebox" } else { "server" }.into());
    set_error(&mut fd, Sock::Reset);
    let ttl = ttl_text(origin, r.ttl, f.ip_version == 6)
        .map(|t| format!(", {t}"))
        .unwrap_or_default();
    let by = if middlebox {
        "a middlebox using the server's address".to_string()
    } else {
        "the server".to_string()
    };
    let after = f
        .client
        .fin_ts
        .map(|t| format!(" {} after the client's FIN", secs(r.ts - t)))
        .unwrap_or_default();
    fd.summary = format!(
        "{}: reset after the client's half-close: the client sent its request ({}) and a FIN (frame \
         {cfin}) and kept reading — it acknowledged the server's data after its FIN (frame \
         {read_after}) — but {by} never sent its own FIN and reset the connection instead ({}{ttl}, \
         frame {}){after}, after {} of answer: the client's read fails with Windows 10054 \
         WSAECONNRESET, POSIX ECONNRESET instead of reaching the end of the answer",
        conn(f),
        bytes(f.client.bytes),
        rst_name(r),
        r.frame,
        bytes(f.server.bytes),
    );
    fd.next_step = format!(
        "the server application on {}:{} aborted instead of closing: it may treat the client's \
         half-close (shutdown of writing) as the end of the connection, close with unread data or \
         SO_LINGER 0, or crash mid-answer — check its log; a proxy in between may not support \
         half-closed connections",
        f.server_ip, f.server_port
    );
    ev(&mut fd, "client_fin_frame", cfin);
    ev(&mut fd, "client_read_frame", read_after);
    ev(&mut fd, "rst_frame", r.frame);
    ev(&mut fd, "rst_flags", r.flags.clone());
    ev(&mut fd, "reset_by", r.from.clone());
    ev(&mut fd, "client_bytes", f.client.bytes);
    ev(&mut fd, "server_bytes", f.server.bytes);
    ev_origin(&mut fd, "rst_origin", origin);
    Some(fd)
}

//! client_gave_up: the client reset the connection seconds after a request the server left
//! unanswered — its application's read timeout fired. A client RST is otherwise routine
//! (browsers and connection pools close that way, after the answer), so only a RST that follows
//! an unanswered request by at least `--gave-up` seconds is reported.

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{Config, base, before_rst, conn, ev, rst_frames, rst_origin, set_error, set_frames};
use crate::socket_errors::Sock;
use crate::wording::{bytes, secs};

pub fn client_gave_up(f: &Flow, cfg: &Config) -> Option<Finding> {
    if !f.established || f.midstream {
        return None;
    }
    let r = f.rst.as_ref()?;
    if r.from != "client" || rst_origin(f).is_some_and(|o| o.origin == "middlebox") {
        return None;
    }
    // The server closed first: not a client waiting for it.
    if before_rst(f.server.fin_frame, f) {
        return None;
    }
    let (req_frame, req_ts) = (f.client.last_data_frame?, f.client.last_data_ts?);
    if req_frame > r.frame {
        return None;
    }
    // Nothing from the server after the request: it was left unanswered.
    if f.server.last_data_ts.is_some_and(|t| t >= req_ts) {
        return None;
    }
    let wait = r.ts - req_ts;
    if wait.is_nan() || wait < cfg.gave_up {
        return None;
    }
    let acked = f
        .server
        .ack_advance_frame
        .zip(f.server.ack_advance_ts)
        .filter(|&(fr, t)| t >= req_ts && fr < r.frame);
    let mut fd = base(f, "client_gave_up", Severity::Error);
    let mut fr = vec![req_frame];
    if let Some((a, _)) = acked {
        fr.push(a);
    }
    fr.extend(rst_frames(f));
    set_frames(&mut fd, fr);
    fd.ts = Some(req_ts);
    fd.origin = Some("server".into());
    set_error(&mut fd, Sock::ReadTimeout);
    let arrived = match acked {
        Some((a, _)) => format!(
            "the server's stack acknowledged it (frame {a}), so it arrived, but the server sent \
             nothing back"
        ),
        None => "the server never acknowledged it or sent anything back".to_string(),
    };
    let earlier = if f.server.bytes > 0 {
        format!(
            " (it had answered earlier: {} before this request)",
            bytes(f.server.bytes)
        )
    } else {
        String::new()
    };
    fd.summary = format!(
        "{}: the client gave up: its request (last data at frame {req_frame}, {} from the client in \
         all) went unanswered — {arrived}{earlier} — and {} later the client reset the connection \
         ({}, frame {}): its application's own timeout fired after waiting about {} and it aborted \
         the connection (a read timeout: Windows 10060 WSAETIMEDOUT from recv() with SO_RCVTIMEO, \
         POSIX EAGAIN; most libraries report their own timeout error)",
        conn(f),
        bytes(f.client.bytes),
        secs(wait),
        super::rst_name(r),
        r.frame,
        secs(wait),
    );
    fd.next_step = format!(
        "the server application on {}:{} did not answer within {}: check its log for that request, \
         slow back-end calls (database, upstream services), a full thread pool or a hung worker; \
         compare its normal response time with the client's timeout",
        f.server_ip,
        f.server_port,
        secs(wait)
    );
    ev(&mut fd, "waited", wait);
    ev(&mut fd, "request_frame", req_frame);
    ev(&mut fd, "request_acked_frame", acked.map(|a| a.0));
    ev(&mut fd, "rst_frame", r.frame);
    ev(&mut fd, "client_bytes", f.client.bytes);
    ev(&mut fd, "server_bytes", f.server.bytes);
    ev(&mut fd, "server_last_data_frame", f.server.last_data_frame);
    Some(fd)
}

//! `keepalive_race`: a request sent on a pooled (keep-alive) connection that the server had
//! just closed: the server's FIN came first or crossed the request (tcpflows' `late_request`),
//! and the server's stack answered the request with a RST. The request fails although nothing
//! is broken: the client's pool kept the connection longer than the server's keep-alive
//! timeout (or past its requests-per-connection limit).

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{base, conn, ev, rst_frames, rst_name, rst_origin, set_error, set_frames};
use crate::socket_errors::Sock;
use crate::wording::{bytes, secs};

/// A FIN after this long without payload closed an idle connection (a keep-alive timeout);
/// sooner, the server closed right after an answer (Connection: close, or its limit of
/// requests per connection).
pub const IDLE_CLOSE: f64 = 0.5;

pub fn keepalive_race(f: &Flow) -> Option<Finding> {
    let l = f.late_request.as_ref()?;
    let r = f.rst.as_ref()?;
    // The server's own stack answers the request; a reset from a middlebox is another story.
    if r.from != "server" || r.frame < l.frame || r.frame < l.fin_frame {
        return None;
    }
    if rst_origin(f).is_some_and(|o| o.origin == "middlebox") {
        return None;
    }
    let mut fd = base(f, "keepalive_race", Severity::Error);
    let mut fr = vec![l.fin_frame, l.frame];
    fr.extend(rst_frames(f));
    set_frames(&mut fd, fr);
    fd.ts = Some(l.ts);
    fd.origin = Some("server".into());
    set_error(&mut fd, Sock::Reset);
    let why = if l.fin_idle >= IDLE_CLOSE {
        format!(
            "after the connection had been idle {} (the server's keep-alive timeout)",
            secs(l.fin_idle)
        )
    } else {
        format!(
            "{} after its last answer (it closes after an answer: `Connection: close`, or its \
             limit of requests per connection)",
            secs(l.fin_idle)
        )
    };
    let when = if l.crossed {
        format!(
            "while the client's next request ({}, frame {}) was already on its way: the FIN \
             crossed it",
            bytes(l.bytes),
            l.frame
        )
    } else {
        format!(
            "and {} later the client sent its next request on it anyway ({}, frame {})",
            secs(l.ts - l.fin_ts),
            bytes(l.bytes),
            l.frame
        )
    };
    fd.summary = format!(
        "{}: keep-alive race: the server closed the pooled connection (FIN, frame {}) {why}, \
         {when}; the server's stack answered it with a {} (frame {}). The request fails without \
         an answer: Windows 10054 WSAECONNRESET, POSIX ECONNRESET (or EOF, then EPIPE, when \
         the FIN was read first); .NET: \"The response ended prematurely\" / \"A connection \
         that was expected to be kept alive was closed by the server\", Python: \
         RemoteDisconnected, Go: \"server closed idle connection\"",
        conn(f),
        l.fin_frame,
        rst_name(r),
        r.frame,
    );
    fd.next_step = format!(
        "make the client's pool drop idle connections before the server does: its idle timeout \
         below the server's keep-alive timeout{} (.NET SocketsHttpHandler \
         PooledConnectionIdleTimeout, Apache HttpClient evictIdleConnections, Go \
         Transport.IdleConnTimeout, Node agent freeSocketTimeout), and retry idempotent requests \
         that fail on a reused connection (most HTTP clients do for GET); nothing is wrong with \
         the network or with {}:{}",
        if l.fin_idle >= IDLE_CLOSE {
            format!(" (here about {})", secs(l.fin_idle))
        } else {
            String::new()
        },
        f.server_ip,
        f.server_port
    );
    ev(&mut fd, "fin_frame", l.fin_frame);
    ev(&mut fd, "request_frame", l.frame);
    ev(&mut fd, "request_bytes", l.bytes);
    ev(&mut fd, "rst_frame", r.frame);
    ev(&mut fd, "crossed", l.crossed);
    ev(&mut fd, "idle_before_fin", l.fin_idle);
    ev(&mut fd, "idle_before_request", l.idle);
    ev(&mut fd, "request_after_fin", l.ts - l.fin_ts);
    Some(fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testutil::{assert_has, flow};
    use serde_json::json;

    /// The lab's shape: answer, 1 s idle, server FIN, request 0.3 s later, RST.
    fn raced(patch: serde_json::Value) -> Flow {
        let mut f = flow(json!({
            "state": "RSTR", "history": "ShADadfr", "end": "rst",
            "client": {"fin_frame": null},
            "server": {"fin_frame": 31, "fin_ts": 1001.5},
            "rst": {"from": "server", "frame": 34, "ts": 1001.8, "ttl": 62, "ip_id": 0,
                    "flags": "R", "seq_ok": true, "count": 1},
            "late_request": {"frame": 33, "ts": 1001.8, "bytes": 62, "fin_frame": 31,
                             "fin_ts": 1001.5, "crossed": false, "idle": 1.3, "fin_idle": 1.0}
        }));
        let mut v = serde_json::to_value(&f).unwrap();
        crate::rules::testutil::merge(&mut v, &patch);
        f = serde_json::from_value(v).unwrap();
        f
    }

    #[test]
    fn fires_on_a_request_after_the_fin() {
        let fd = keepalive_race(&raced(json!({}))).expect("fires");
        assert_eq!(fd.kind, "keepalive_race");
        assert_eq!(fd.frames, vec![31, 33, 34]);
        assert_has(&fd.summary, "idle 1.0 s");
        assert_has(&fd.summary, "300 ms later");
        assert_eq!(fd.socket_error.unwrap().windows_code, Some(10054));
    }

    #[test]
    fn crossing_fin_and_quick_close_are_named() {
        let f = raced(json!({"late_request": {"crossed": true, "frame": 30, "fin_idle": 0.01}}));
        let fd = keepalive_race(&f).expect("fires");
        assert_has(&fd.summary, "crossed");
        assert_has(&fd.summary, "Connection: close");
    }

    #[test]
    fn silent_without_the_servers_rst() {
        assert!(keepalive_race(&raced(json!({"rst": null}))).is_none());
        assert!(keepalive_race(&raced(json!({"rst": {"from": "client"}}))).is_none());
        assert!(keepalive_race(&flow(json!({}))).is_none());
    }
}

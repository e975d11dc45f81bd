//! `backlog_full`: the server's listen (accept) queue is full. The handshake of this connection
//! waited — its SYNs went unanswered, or its handshake ACK was ignored (its request retransmitted
//! while the server repeated its SYN-ACK) — while the same server address and port answered
//! other connections in the same seconds (tcpflows' `others_answered`). Linux drops a SYN when
//! the accept queue is full (`ListenOverflows`, "SYNs to LISTEN sockets dropped") and ignores
//! the ACK of a connection it cannot queue (`tcp_abort_on_overflow=0`, the default): the client
//! thinks it is connected, its data goes unacknowledged until the application accepts.
//!
//! Not a dead host and not a firewall: those answer nobody (`syn_timeout`). A firewall or rate
//! limit that drops only some SYNs looks alike from the client's side; the next step says how
//! to tell (the server's own counters).
//!
//! An ignored handshake ACK counts only when the client sent data: a connection opened ahead of
//! need (a browser's preconnect) that stays idle hurts nobody, and a listener with deferred
//! accept (Linux `TCP_DEFER_ACCEPT`: Apache's default `AcceptFilter http data`, nginx
//! `listen … deferred`) ignores a bare ACK by design, repeating its SYN-ACK when the defer
//! period ends (Practical Packet Analysis' `sessionhijacking.pcapng`: about 30 s).

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{Config, add_frames, base, conn, ev, set_error, set_frames, syn_frames};
use crate::socket_errors::Sock;
use crate::wording::{endpoint, frames, plural, secs};

pub fn backlog_full(f: &Flow, _cfg: &Config) -> Option<Finding> {
    let o = f.others_answered.as_ref()?;
    if f.midstream || o.count == 0 || f.icmp_count > 0 {
        return None;
    }
    // A single lost SYN next to a busy server is routine; two in a row while others are
    // answered, or an ignored handshake ACK, are not.
    // SYNs dropped and the connection answered later: the queue drained. SYNs never answered
    // are syn_timeout's (with the others answered in its summary): a stuck application and a
    // firewall that drops only some clients cannot be told apart from them.
    let dropped_syns = o.unanswered_syns >= 2 && f.synack_frame.is_some();
    let reset = o.reset_after_ack && f.rst.as_ref().is_some_and(|r| r.from == "server");
    let ignored_ack = o.ignored_ack && f.client.bytes > 0;
    if !(dropped_syns || ignored_ack || reset) {
        return None;
    }
    // A RST from the server before it answered: refused, not queued.
    if f.rst.as_ref().is_some_and(|r| r.from == "server") && f.synack_frame.is_none() {
        return None;
    }
    let served = f.established && f.server.bytes > 0;
    let severity = if served {
        Severity::Warning
    } else {
        Severity::Error
    };
    let syns = syn_frames(f);
    let mut fd = base(f, "backlog_full", severity);
    fd.attempts = Some(f.attempts.syn_count);
    let mut fr = syns.clone();
    fr.extend(f.synack_frames.iter().copied());
    fr.extend(o.frames.iter().copied());
    set_frames(&mut fd, fr);
    fd.ts = f.attempts.ts.first().copied().or(Some(f.first_ts));
    fd.origin = Some("server".into());
    if reset {
        set_error(&mut fd, Sock::Reset);
        add_frames(&mut fd, f.rst.as_ref().map(|r| r.frame));
    } else if !served {
        set_error(&mut fd, Sock::TimedOut);
    }
    let client_retrans = f
        .client
        .retransmissions
        .saturating_sub(f.attempts.syn_count.saturating_sub(1));
    let mut what = vec![];
    if o.unanswered_syns >= 1 {
        what.push(format!(
            "{} of its SYNs went unanswered ({})",
            o.unanswered_syns,
            frames(&syns[..syns.len().min(o.unanswered_syns as usize)], 8)
        ));
    }
    if ignored_ack {
        let repeats = if f.synack_count >= 2 {
            format!(
                "; the server repeated its SYN-ACK {}",
                plural(u64::from(f.synack_count - 1), "time", "times")
            )
        } else {
            String::new()
        };
        what.push(format!(
            "the server ignored its handshake ACK: the client thought it was connected and \
             sent its request {} without an acknowledgement{repeats}",
            plural(u64::from(client_retrans + 1), "time", "times")
        ));
    }
    if reset {
        let fr = f.rst.as_ref().map_or(0, |r| r.frame);
        what.push(format!(
            "the server reset it right after the handshake (frame {fr}), before sending anything \
             (a full accept queue with net.ipv4.tcp_abort_on_overflow=1)"
        ));
    }
    let outcome = if reset {
        "the application's first read or write fails with a reset".to_string()
    } else if served {
        format!("it was served only after {}", secs(o.waited))
    } else if f.established {
        "it never got an answer".to_string()
    } else {
        "connect() timed out".to_string()
    };
    let others = match o.frames.as_slice() {
        [] => String::new(),
        fr => format!(" ({})", frames(fr, 4)),
    };
    let ep = endpoint(&f.server_ip, f.server_port);
    fd.summary = format!(
        "{}: {} while {ep} answered {} other {}{others} in the same seconds; {outcome}: the \
         server's listen (accept) queue on port {} is full — the application does not accept() \
         connections as fast as they arrive; not a dead host, not a firewall",
        conn(f),
        what.join("; "),
        o.count,
        if o.count == 1 {
            "connection"
        } else {
            "connections"
        },
        f.server_port,
    );
    fd.next_step = format!(
        "on {srv}: `ss -ltn 'sport = :{port}'` (Recv-Q reaching Send-Q = the accept queue is \
         full) and `netstat -s | grep -i listen` (\"times the listen queue of a socket \
         overflowed\", \"SYNs to LISTEN sockets dropped\" growing); on Windows `netstat -s -p \
         tcp` and the application's own connection metrics. Then find why the application \
         accepts slowly (a blocked or starved accept loop, thread-pool starvation, a single \
         worker) and raise its backlog (the listen() argument: nginx `listen ... backlog=`, \
         Kestrel `ListenOptions.Backlog`, Java `ServerSocket(port, backlog)`; Linux caps it at \
         net.core.somaxconn). If the server's counters stay flat, a firewall or rate limit in \
         front of it drops these SYNs instead",
        srv = f.server_ip,
        port = f.server_port,
    );
    ev(&mut fd, "others_answered", o.count);
    ev(&mut fd, "other_frames", o.frames.clone());
    ev(&mut fd, "unanswered_syns", o.unanswered_syns);
    ev(&mut fd, "ignored_ack", ignored_ack);
    ev(&mut fd, "reset_after_ack", reset);
    ev(&mut fd, "waited", o.waited);
    ev(&mut fd, "synack_count", f.synack_count);
    ev(&mut fd, "client_retransmissions", client_retrans);
    ev(&mut fd, "served", served);
    Some(fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testutil::{assert_has, flow};
    use serde_json::json;

    fn dropped() -> serde_json::Value {
        json!({
            "attempts": {"syn_count": 3, "frames": [21, 28, 37], "ts": [1000.0, 1001.0, 1003.0],
                         "intervals": [1.0, 2.0]},
            "synack_frame": 42, "synack_frames": [42], "synack_count": 1,
            "client": {"retransmissions": 2},
            "others_answered": {"count": 2, "frames": [20, 46], "waited": 3.04,
                                "unanswered_syns": 2, "ignored_ack": false}
        })
    }

    #[test]
    fn dropped_syns_while_others_answered() {
        let cfg = Config::default();
        let fd = backlog_full(&flow(dropped()), &cfg).expect("fires");
        assert_eq!(fd.kind, "backlog_full");
        assert_eq!(fd.severity, Severity::Warning, "served in the end");
        assert_eq!(fd.frames, vec![20, 21, 28, 37, 42, 46]);
        assert_has(&fd.summary, "2 of its SYNs went unanswered (frames 21, 28)");
        assert_has(&fd.summary, "answered 2 other connections");
    }

    #[test]
    fn never_answered_is_left_to_syn_timeout() {
        let mut p = dropped();
        p["established"] = json!(false);
        p["synack_frame"] = json!(null);
        p["synack_frames"] = json!([]);
        p["server"] = json!({"packets": 0, "bytes": 0});
        p["others_answered"]["unanswered_syns"] = json!(3);
        assert!(backlog_full(&flow(p), &Config::default()).is_none());
    }

    #[test]
    fn request_never_answered_is_an_error_with_the_timeout() {
        let mut p = dropped();
        p["server"] = json!({"packets": 3, "bytes": 0});
        p["others_answered"]["ignored_ack"] = json!(true);
        let fd = backlog_full(&flow(p), &Config::default()).expect("fires");
        assert_eq!(fd.severity, Severity::Error);
        assert_eq!(fd.socket_error.unwrap().windows_code, Some(10060));
    }

    #[test]
    fn one_lost_syn_is_not_enough() {
        let mut p = dropped();
        p["others_answered"]["unanswered_syns"] = json!(1);
        assert!(backlog_full(&flow(p), &Config::default()).is_none());
    }

    #[test]
    fn ignored_handshake_ack() {
        let p = json!({
            "synack_frame": 42, "synack_frames": [42, 68, 77], "synack_count": 3,
            "client": {"retransmissions": 5},
            "others_answered": {"count": 1, "frames": [49], "waited": 3.3,
                                "unanswered_syns": 0, "ignored_ack": true}
        });
        let fd = backlog_full(&flow(p), &Config::default()).expect("fires");
        assert_has(&fd.summary, "ignored its handshake ACK");
        assert_has(&fd.summary, "6 times");
        assert_has(&fd.summary, "repeated its SYN-ACK 2 times");
    }

    #[test]
    fn an_idle_connection_whose_bare_ack_was_ignored_is_no_failure() {
        // A preconnected browser connection to a deferred-accept listener: the client sends
        // nothing, the server repeats its SYN-ACK after its defer period (~30 s).
        let p = json!({
            "state": "S1", "history": "ShAa", "end": "capture_end",
            "synack_frame": 10, "synack_frames": [10, 90], "synack_count": 2,
            "client": {"packets": 4, "bytes": 0, "retransmissions": 0},
            "server": {"packets": 4, "bytes": 0},
            "others_answered": {"count": 21, "frames": [8, 132], "waited": 76.5,
                                "unanswered_syns": 0, "ignored_ack": true,
                                "synacks_after_ack": 1}
        });
        assert!(backlog_full(&flow(p), &Config::default()).is_none());
    }

    #[test]
    fn reset_after_the_handshake_with_abort_on_overflow() {
        let p = json!({
            "synack_frame": 48, "synack_frames": [48], "synack_count": 1,
            "attempts": {"syn_count": 3, "frames": [23, 36, 44], "ts": [1000.0, 1001.0, 1003.0],
                         "intervals": [1.0, 2.0]},
            "server": {"bytes": 0},
            "rst": {"from": "server", "frame": 52, "ts": 1003.01, "ttl": 62, "ip_id": 0,
                    "flags": "R", "seq_ok": true, "count": 1},
            "others_answered": {"count": 3, "frames": [21, 46], "waited": 3.01,
                                "unanswered_syns": 2, "ignored_ack": false,
                                "reset_after_ack": true}
        });
        let fd = backlog_full(&flow(p), &Config::default()).expect("fires");
        assert_eq!(fd.severity, Severity::Error);
        assert_eq!(fd.socket_error.unwrap().windows_code, Some(10054));
        assert!(fd.frames.contains(&52));
        assert_has(&fd.summary, "tcp_abort_on_overflow=1");
    }

    #[test]
    fn silent_without_others() {
        let mut p = dropped();
        p["others_answered"] = json!(null);
        assert!(backlog_full(&flow(p), &Config::default()).is_none());
    }
}

//! `timewait_reuse`: the client's SYN on a 4-tuple the server still holds (in TIME_WAIT) is
//! answered by a bare ACK for the old connection (tcpflows' `challenge_ack`); the client's
//! stack resets that and retries its SYN: after ~10 ms on Linux, after its SYN retransmission
//! timeout (1 s, 3 s) on Windows. Wireshark calls the SYN "TCP Port numbers reused", Zeek
//! `SYN_after_close`. The cause is on the client: it reused a source port towards the same
//! server within the server's TIME_WAIT (a fixed source port, or a port range cycled through
//! by very many short connections: `port_exhaustion`).

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{base, conn, ev, set_error, set_frames};
use crate::socket_errors::Sock;
use crate::wording::secs;

/// A retry that connected this long (s) after the first SYN or later is a warning (a Windows
/// client waits a SYN retransmission timeout, 1-3 s); a quicker one (Linux retries ~10 ms after
/// its RST) is info.
pub const SLOW_RETRY: f64 = 0.5;

pub fn timewait_reuse(f: &Flow) -> Option<Finding> {
    let ch = f.challenge_ack.as_ref()?;
    if f.midstream {
        return None;
    }
    // When the connection came up: the SYN-ACK after the last SYN.
    let connected = if f.established {
        f.attempts
            .ts
            .last()
            .map(|t| t + f.rtt.syn_synack.unwrap_or(0.0))
    } else {
        None
    };
    let delay = connected.map(|t| (t - ch.syn_ts).max(0.0));
    let severity = match delay {
        None => Severity::Error,
        Some(d) if d >= SLOW_RETRY => Severity::Warning,
        Some(_) => Severity::Info,
    };
    let mut fd = base(f, "timewait_reuse", severity);
    let mut fr = vec![ch.syn_frame, ch.frame];
    fr.extend(ch.client_rst_frame);
    fr.extend(ch.retry_frame);
    fr.extend(f.synack_frame.filter(|&s| s > ch.frame));
    set_frames(&mut fd, fr);
    fd.ts = Some(ch.syn_ts);
    fd.origin = Some("client".into());
    if delay.is_none() {
        set_error(&mut fd, Sock::TimedOut);
    }
    // How far below the old connection's next sequence number the new ISN is (the server
    // accepts a SYN in TIME_WAIT above it, or with a newer TCP timestamp).
    let below = ch.ack.wrapping_sub(ch.expected) as i32;
    let isn = if below > 0 {
        format!(
            "; the new ISN is {below} below what the old connection expects next, and the SYN \
             carried no newer TCP timestamp, so the server could not take it for a new \
             connection"
        )
    } else {
        String::new()
    };
    let rst = ch
        .client_rst_frame
        .map(|r| format!("; the client's stack reset it (RST, frame {r})"))
        .unwrap_or_default();
    let outcome = match (delay, ch.retry_frame, ch.retry_ts) {
        (Some(d), Some(rf), Some(rt)) => format!(
            " and retried its SYN {} later (frame {rf}), which the server accepted: connect() \
             took {} instead of one round trip",
            secs(rt - ch.ts),
            secs(d)
        ),
        (Some(d), _, _) => format!(": the connection came up after {}", secs(d)),
        (None, Some(rf), _) => format!(
            " and retried (frame {rf}) without getting a connection: connect() fails with \
             Windows 10060 WSAETIMEDOUT, POSIX ETIMEDOUT"
        ),
        (None, None, _) => ", and no retry was seen: connect() fails (Windows 10060 \
                            WSAETIMEDOUT, POSIX ETIMEDOUT) unless it retried after the capture"
            .to_string(),
    };
    fd.summary = format!(
        "{}: TIME_WAIT collision: the client's SYN (frame {}) reused a 4-tuple the server still \
         held from an earlier connection, and the server answered with a bare ACK for that one \
         (frame {}, ack {} where a SYN-ACK would acknowledge {}){isn}{rst}{outcome}. The client \
         reused source port {} towards {}:{} within the server's TIME_WAIT (60 s on Linux, \
         120 s on Windows){}",
        conn(f),
        ch.syn_frame,
        ch.frame,
        ch.ack,
        ch.expected,
        f.client_port,
        f.server_ip,
        f.server_port,
        if ch.count > 1 {
            format!("; {} such ACKs", ch.count)
        } else {
            String::new()
        },
    );
    fd.next_step = format!(
        "find out why the client reuses port {}: an application that binds a fixed source port \
         (let the OS choose it), or one that opens so many short connections that it cycles \
         through its ephemeral port range (see port_exhaustion: reuse connections instead); \
         enabling TCP timestamps on the client (Windows: `netsh int tcp set global \
         timestamps=enabled`) lets the server accept a reused 4-tuple at once",
        f.client_port
    );
    ev(&mut fd, "syn_frame", ch.syn_frame);
    ev(&mut fd, "challenge_ack_frame", ch.frame);
    ev(&mut fd, "challenge_ack", ch.ack);
    ev(&mut fd, "expected_ack", ch.expected);
    ev(&mut fd, "isn_below_old", below.max(0));
    ev(&mut fd, "challenge_acks", ch.count);
    ev(&mut fd, "client_rst_frame", ch.client_rst_frame);
    ev(&mut fd, "retry_frame", ch.retry_frame);
    ev(
        &mut fd,
        "retry_after",
        ch.retry_ts
            .map(|t| serde_json::json!(t - ch.ts))
            .unwrap_or(serde_json::Value::Null),
    );
    ev(
        &mut fd,
        "delay",
        delay
            .map(|d| serde_json::json!(d))
            .unwrap_or(serde_json::Value::Null),
    );
    Some(fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testutil::{assert_has, flow};
    use serde_json::json;

    /// SYN (10), challenge ACK (11), client RST (12), retried SYN `retry` s later (13), SYN-ACK.
    fn collided(retry: f64, established: bool) -> Flow {
        let syns = json!([10, 13]);
        flow(json!({
            "first_frame": 10, "first_ts": 1000.0, "established": established,
            "state": if established { "SF" } else { "RSTO" },
            "attempts": {"syn_count": 2, "frames": syns, "ts": [1000.0, 1000.0 + retry],
                         "intervals": [retry]},
            "synack_frame": if established { json!(14) } else { json!(null) },
            "rtt": {"syn_synack": 0.001, "synack_ack": 0.0001},
            "rst": {"from": "client", "frame": 12, "ts": 1000.0002, "ttl": 128, "ip_id": 1,
                    "flags": "R", "seq_ok": true, "count": 1},
            "challenge_ack": {"frame": 11, "ts": 1000.0001, "ack": 3132587025u32,
                              "expected": 3128709117u32, "syn_frame": 10, "syn_ts": 1000.0,
                              "count": 1, "client_rst_frame": 12, "retry_frame": 13,
                              "retry_ts": 1000.0 + retry}
        }))
    }

    #[test]
    fn linux_quick_retry_is_info() {
        let fd = timewait_reuse(&collided(0.009, true)).expect("fires");
        assert_eq!(fd.kind, "timewait_reuse");
        assert_eq!(fd.severity, Severity::Info);
        assert_eq!(fd.frames, vec![10, 11, 12, 13, 14]);
        assert_has(&fd.summary, "3877908 below");
    }

    #[test]
    fn windows_retry_after_its_rto_is_a_warning_naming_the_delay() {
        // Windows resends the SYN after its retransmission timeout: 1 s (3 s on older ones).
        for retry in [1.0, 3.0] {
            let fd = timewait_reuse(&collided(retry, true)).expect("fires");
            assert_eq!(fd.severity, Severity::Warning);
            let d = fd.evidence["delay"].as_f64().unwrap();
            assert!((d - (retry + 0.001)).abs() < 1e-6, "{d}");
            assert_has(&fd.summary, &secs(retry + 0.001));
        }
    }

    #[test]
    fn never_connected_is_an_error() {
        let fd = timewait_reuse(&collided(1.0, false)).expect("fires");
        assert_eq!(fd.severity, Severity::Error);
        assert_eq!(fd.socket_error.unwrap().windows_code, Some(10060));
    }

    #[test]
    fn silent_without_a_challenge_ack() {
        assert!(timewait_reuse(&flow(json!({}))).is_none());
    }
}

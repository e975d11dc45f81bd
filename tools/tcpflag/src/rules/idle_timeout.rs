//! `idle_timeout`: a connection sat idle (nothing outstanding, no packet either way), then the
//! data that ended the silence went unanswered (retransmitted, nothing from the peer) or drew
//! only a RST that the peer did not send — a firewall, NAT or load balancer had dropped the idle
//! connection's state. Read from tcpflows' `idle` (docs/schema.md) and ttlhops' RST origin.

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{
    base, conn, ev, ip_of, origin_value, peer_of, rst_frames, rst_name, rst_origin, set_error,
    set_frames, side_of, ttl_text,
};
use crate::socket_errors::Sock;
use crate::wording::{frames_of, plural, secs};

/// The silence must last this long (s): a pause of a second or two is an application thinking;
/// middleboxes expire state after minutes (the lab shortens it to 3 s).
pub const MIN_IDLE: f64 = 2.0;
/// Retransmissions of the unanswered data needed (the original and two more tries).
pub const MIN_RETRANS: u32 = 2;

/// What middleboxes commonly allow, for the summaries.
const DEFAULTS: &str = "stateful firewalls commonly expire idle connections after 30-60 min, \
                        Azure's load balancer and NAT gateway after 4 min, AWS NLB after 350 s, \
                        Linux conntrack after 5 days";

pub fn idle_timeout(f: &Flow) -> Option<Finding> {
    let idle = f.idle.as_ref()?;
    if !f.established || idle.seconds < MIN_IDLE {
        return None;
    }
    let who = idle.by.as_str();
    let peer = peer_of(who);
    let me = side_of(f, who);
    let mut fd = base(f, "idle_timeout", Severity::Error);
    fd.ts = Some(f.first_ts);
    let mut fr = vec![idle.from_frame, idle.frame];
    let idle_words = format!(
        "the connection sat idle for {} (frames {} to {}, nothing outstanding either way; \
         {DEFAULTS})",
        secs(idle.seconds),
        idle.from_frame,
        idle.frame
    );
    let ending = match idle.outcome.as_str() {
        "unanswered" => {
            let st = me.stuck.as_ref()?;
            if st.retransmissions < MIN_RETRANS {
                return None;
            }
            fr.extend(&st.frames);
            set_error(&mut fd, Sock::TimedOut);
            fd.origin = Some("network".into());
            ev(&mut fd, "retransmissions", st.retransmissions);
            ev(&mut fd, "retransmission_frames", st.frames.clone());
            format!(
                "then the {who}'s data (frame {}) was retransmitted {} ({}) and nothing at all \
                 came back from the {peer}: a firewall or NAT on the path had dropped the idle \
                 connection's state and now drops its packets silently (or the {peer} went away \
                 while the connection was idle). The application waits, then times out: Windows \
                 10060 WSAETIMEDOUT, POSIX ETIMEDOUT",
                idle.frame,
                plural(u64::from(st.retransmissions), "time", "times"),
                frames_of(&st.frames, st.retransmissions as usize),
            )
        }
        "reset" => {
            let r = f.rst.as_ref().filter(|r| r.from == peer)?;
            let o = rst_origin(f);
            // The peer's own stack reset it (ttlhops proved it): a restarted server or its own
            // idle timeout, which reset_mid_connection explains.
            if o.is_some_and(|o| o.origin == "endpoint") {
                return None;
            }
            let forged = o.is_some_and(|o| o.origin == "middlebox")
                || matches!((r.ttl, r.sender_ttl), (Some(a), Some(b)) if a != b);
            fr.extend(rst_frames(f));
            set_error(&mut fd, Sock::Reset);
            fd.origin = Some(if forged { "middlebox" } else { "unknown" }.into());
            if let Some(o) = o {
                ev(&mut fd, "rst_origin", origin_value(o));
            }
            let v6 = f.ip_version == 6;
            let ttl = ttl_text(o, r.ttl, v6).unwrap_or_else(|| "TTL unknown".into());
            let own = r.sender_ttl.map_or(String::new(), |t| {
                format!(
                    "; the {peer}'s own packets arrive with {} {t}",
                    if v6 { "hop limit" } else { "TTL" }
                )
            });
            let own = match (r.ip_id, r.sender_ip_id) {
                (Some(id), Some(sid)) if id != sid && !v6 => {
                    format!("{own}; IP ID {id} where the {peer}'s last packet carried {sid}")
                }
                _ => own,
            };
            let by = if forged {
                format!(
                    "a device on the path answered in the {peer}'s name ({ttl}{own}): a firewall \
                     or NAT that had dropped the idle connection's state rejected the packet"
                )
            } else {
                format!(
                    "the capture cannot prove who sent it ({ttl}{own}); after a silence that long \
                     it is most likely a firewall, NAT or load balancer that had dropped the idle \
                     connection's state"
                )
            };
            format!(
                "then the {who}'s data (frame {}) was answered by a {} (frame {}) and nothing else \
                 — {by}. The application gets Windows 10054 WSAECONNRESET, POSIX ECONNRESET (.NET: \
                 \"An existing connection was forcibly closed by the remote host\")",
                idle.frame,
                rst_name(r),
                r.frame
            )
        }
        _ => return None,
    };
    set_frames(&mut fd, fr);
    fd.summary = format!(
        "{}: idle {}, then {} — {idle_words}; {ending}",
        conn(f),
        secs(idle.seconds),
        if idle.outcome == "reset" {
            "reset"
        } else {
            "no answer"
        },
    );
    fd.next_step = format!(
        "keep pooled connections from idling longer than the shortest state timeout on the path \
         to {}: TCP keep-alives below it (Windows KeepAliveTime, Linux net.ipv4.tcp_keepalive_time \
         or SO_KEEPALIVE with TCP_KEEPIDLE; .NET SocketsHttpHandler.KeepAlivePingDelay) or a pool \
         idle timeout below it (.NET PooledConnectionIdleTimeout, HikariCP idleTimeout / \
         keepaliveTime); or raise the device's idle timeout for this service; retry idempotent \
         requests once on a fresh connection",
        ip_of(f, peer)
    );
    ev(&mut fd, "idle_seconds", idle.seconds);
    ev(&mut fd, "idle_from_frame", idle.from_frame);
    ev(&mut fd, "idle_frame", idle.frame);
    ev(&mut fd, "resumed_by", who);
    ev(&mut fd, "outcome", idle.outcome.clone());
    Some(fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testutil::{assert_has, flow, posix, stuck};
    use serde_json::json;

    /// Client data after `seconds` of silence, sent again `retrans` times and never answered.
    fn silent_drop(seconds: f64, retrans: u32) -> Flow {
        flow(json!({
            "state": "S1", "history": "ShADad", "end": "capture_end",
            "idle": {"seconds": seconds, "from_frame": 22, "frame": 23, "by": "client",
                     "outcome": "unanswered"},
            "client": {"retransmissions": retrans, "fin_frame": null,
                       "stuck": stuck(38, retrans, &[24, 25, 26, 27, 28],
                                      &[1.0, 1.2, 1.4, 1.8, 2.6])},
            "server": {"fin_frame": null}
        }))
    }

    #[test]
    fn silent_drop_after_idle() {
        let fd = idle_timeout(&silent_drop(3660.0, 5)).expect("fires");
        assert_eq!(fd.kind, "idle_timeout");
        assert_eq!(fd.frames, vec![22, 23, 24, 25, 26, 27, 28]);
        assert_has(&fd.summary, "idle 61.0 min, then no answer");
        assert_eq!(posix(&fd), Some("ETIMEDOUT"));
    }

    #[test]
    fn thresholds() {
        for (seconds, retrans, fires) in [(1.9, 5, false), (2.0, 5, true), (300.0, 1, false)] {
            let fd = idle_timeout(&silent_drop(seconds, retrans));
            assert_eq!(
                fd.is_some(),
                fires,
                "idle {seconds} s, {retrans} retransmissions"
            );
        }
    }

    fn reset(ttl: u8, origin: Option<&str>) -> serde_json::Value {
        let mut v = json!({
            "state": "RSTR", "history": "ShADadR", "end": "rst",
            "idle": {"seconds": 300.0, "from_frame": 20, "frame": 21, "by": "client",
                     "outcome": "reset"},
            "client": {"fin_frame": null}, "server": {"fin_frame": null},
            "rst": {"from": "server", "frame": 22, "ts": 1300.0, "ttl": ttl, "ip_id": 0,
                    "flags": "R", "seq_ok": true, "count": 1, "sender_ttl": 62}
        });
        if let Some(o) = origin {
            v["ttlhops"] = json!({"client": null, "server": null,
                                  "rst": {"origin": o, "frame": 22, "observed_ttl": ttl,
                                          "initial_ttl": 64, "hops": 64 - ttl,
                                          "expected_hops": 2, "reason": "test"}});
        }
        v
    }

    #[test]
    fn forged_reset_after_idle() {
        let fd = idle_timeout(&flow(reset(64, Some("middlebox")))).expect("fires");
        assert_eq!(fd.frames, vec![20, 21, 22]);
        assert_eq!(fd.origin.as_deref(), Some("middlebox"));
        assert_has(&fd.summary, "in the server's name");
        // without ttlhops: the TTL differs from the server's own
        let fd = idle_timeout(&flow(reset(64, None))).expect("fires");
        assert_eq!(fd.origin.as_deref(), Some("middlebox"));
        // the same TTL and no ttlhops: unproven, still named
        let fd = idle_timeout(&flow(reset(62, None))).expect("fires");
        assert_eq!(fd.origin.as_deref(), Some("unknown"));
        // ttlhops proved the server itself reset it: not this rule's
        assert!(idle_timeout(&flow(reset(62, Some("endpoint")))).is_none());
    }
}

//! connection_dying: one side's data went unacknowledged in spite of retransmissions with
//! back-off, and the capture ended while it was still retransmitting — the peer or the path to
//! it died, and the application will fail once its stack gives up.

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{
    Config, backoff, base, conn, ev, ip_of, peer_of, set_error, set_frames, side_of, sides_with,
};
use crate::socket_errors::Sock;
use crate::wording::{bytes, frames, intervals, plural, secs};

/// The unanswered retransmissions must spread over at least this long (s): a burst of fast
/// retransmissions cut off by the end of the capture is loss recovery in progress, not a death.
pub const MIN_SPAN: f64 = 1.0;

/// Windows' default TcpMaxDataRetransmissions.
pub const WINDOWS_MAX_RETRANS: u32 = 5;

pub fn connection_dying(f: &Flow, cfg: &Config) -> Option<Finding> {
    // Still retransmitting when the capture ended, or gone silent until tcpflows' idle timeout
    // (a long transfer whose few final retransmissions are too small a share of its packets for
    // a retransmission_storm).
    let open = f.end == "capture_end";
    if !(open || f.end == "timeout") || f.rst.is_some() || !(f.established || f.midstream) {
        return None;
    }
    let (who, st) = sides_with(f, |s| s.stuck.as_ref())
        .filter(|(_, s)| s.unacked_bytes > 0 && s.retransmissions >= cfg.min_retrans)
        .max_by_key(|(_, s)| s.retransmissions)?;
    let peer = peer_of(who);
    let p = side_of(f, peer);
    // A peer the capture never saw is a one-sided capture, not a silent peer.
    if p.packets == 0 {
        return None;
    }
    let (first, last) = (st.ts.first()?, st.ts.last()?);
    if last - first < MIN_SPAN {
        return None;
    }
    let (iv, doubling) = backoff(&st.ts);
    let mut fd = base(f, "connection_dying", Severity::Error);
    let mut fr: Vec<u64> = st.frames.clone();
    if let Some(a) = p.ack_advance_frame {
        fr.push(a);
    }
    set_frames(&mut fd, fr);
    fd.ts = Some(*first);
    fd.origin = Some("network".into());
    set_error(&mut fd, Sock::Aborted);
    let until = if open {
        "the capture ended"
    } else {
        "the connection's last packet"
    };
    let stopped = match (p.ack_advance_frame, p.ack_advance_ts) {
        (Some(fr), Some(t)) => format!(
            "the {peer} last acknowledged new data at frame {fr}, {} before {until}",
            secs(f.last_ts - t)
        ),
        _ => format!("the {peer} never acknowledged any of its data"),
    };
    let heard = match (p.last_frame, p.last_ts) {
        (Some(fr), Some(t)) if p.ack_advance_frame != Some(fr) => format!(
            " (its last packet: frame {fr}, {} before the end)",
            secs(f.last_ts - t)
        ),
        _ => String::new(),
    };
    let pace = if doubling {
        format!(
            "with exponential back-off ({} between them)",
            intervals(&iv)
        )
    } else {
        format!("{} apart", intervals(&iv))
    };
    let more = if st.retransmissions as usize > st.frames.len() {
        format!(", the last {}", st.frames.len())
    } else {
        String::new()
    };
    let windows = if st.retransmissions >= WINDOWS_MAX_RETRANS {
        format!(
            "a Windows sender would already have given up ({WINDOWS_MAX_RETRANS} retransmissions, TcpMaxDataRetransmissions)"
        )
    } else {
        format!(
            "Windows gives up after {WINDOWS_MAX_RETRANS} retransmissions (TcpMaxDataRetransmissions)"
        )
    };
    let state = if open {
        "the connection was dying when the capture ended"
    } else {
        "the connection died"
    };
    let fate = if open {
        format!(
            "The {peer} or the path to it is gone: unless it comes back, the {who}'s application \
             fails when its stack gives up — {windows} with 10053 WSAECONNABORTED, Linux after \
             net.ipv4.tcp_retries2 (15, about 15 minutes) with ETIMEDOUT"
        )
    } else {
        format!(
            "Then the {who} went silent until the capture's idle timeout: its stack gave up (no RST \
             in the capture) and its application got Windows 10053 WSAECONNABORTED, POSIX \
             ETIMEDOUT — {windows}, Linux after net.ipv4.tcp_retries2 or the application's \
             TCP_USER_TIMEOUT"
        )
    };
    fd.summary = format!(
        "{}: {state}: {stopped}{heard}; since then the {who} ({}) retransmitted {} of \
         unacknowledged data {} over {} ({}{more}) {pace}, and nothing came back. {fate}",
        conn(f),
        ip_of(f, who),
        bytes(st.unacked_bytes),
        plural(u64::from(st.retransmissions), "time", "times"),
        secs(last - first),
        frames(&st.frames, 16),
    );
    fd.next_step = format!(
        "check whether {} is still up and reachable (ping it, open a new connection to port {}), and \
         whether a firewall or NAT on the path dropped the connection's state (state-table timeout, \
         failover); capture on the {peer}'s side to see whether the retransmissions arrive. To fail \
         faster than the stack's retries, give the application a timeout (TCP_USER_TIMEOUT on \
         Linux)",
        ip_of(f, peer),
        if peer == "server" {
            f.server_port
        } else {
            f.client_port
        }
    );
    ev(&mut fd, "sender", who);
    ev(&mut fd, "retransmissions", st.retransmissions);
    ev(&mut fd, "retransmission_frames", st.frames.clone());
    ev(&mut fd, "retransmission_intervals", iv);
    ev(&mut fd, "backoff", doubling);
    ev(&mut fd, "span", last - first);
    ev(&mut fd, "unacked_bytes", st.unacked_bytes);
    ev(&mut fd, "peer_last_ack_frame", p.ack_advance_frame);
    ev(&mut fd, "peer_last_ack_ts", p.ack_advance_ts);
    ev(&mut fd, "peer_last_frame", p.last_frame);
    ev(&mut fd, "peer_last_ts", p.last_ts);
    ev(&mut fd, "end", f.end.clone());
    Some(fd)
}

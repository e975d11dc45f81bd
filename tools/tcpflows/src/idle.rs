//! The idle-timeout signal (`Flow::idle`): a connection that sat silent (no packet either way,
//! nothing outstanding) and then, when one side sent data again, got no answer at all or only a
//! RST in the peer's name — what a firewall or NAT does after it dropped the idle connection's
//! state. Allocated only when a silence of [`MIN_IDLE_NS`] ends with new data.

use tcpwhy_common::records::flow::IdleGap;

use crate::conn::{FlowState, Seg};
use crate::scan::Ts;
use crate::scan::flags::{FIN, RST, SYN};

/// Silences shorter than this are not recorded (1 s: far above any LAN round trip, far below
/// any middlebox's state timeout).
pub const MIN_IDLE_NS: i64 = 1_000_000_000;

/// The latest silence ended by new data, and what came from the peer after it.
#[derive(Debug, Clone, Default)]
pub struct Idle {
    gap_ns: i64,
    from_frame: u64,
    frame: u64,
    by: usize,
    /// Packets other than RSTs the peer sent after the silence.
    peer_after: u32,
    /// RSTs the peer sent after the silence.
    peer_rsts: u32,
}

/// Called at the end of `FlowState::packet` for segment `s` from `from`; `prev`: the flow's last
/// frame and time before `s`; `plain`: `analyze` counted it neither a retransmission nor a
/// keep-alive.
pub fn packet(f: &mut FlowState, from: usize, s: &Seg, prev: (u64, Ts), plain: bool) {
    let rst = s.flags & RST != 0;
    if let Some(i) = f.idle.as_deref_mut() {
        if from != i.by {
            if rst {
                i.peer_rsts = i.peer_rsts.saturating_add(1);
            } else {
                i.peer_after = i.peer_after.saturating_add(1);
            }
        }
    }
    let gap = s.ts.ns - prev.1.ns;
    if gap < MIN_IDLE_NS || !plain || !f.established || s.len == 0 || s.flags & (SYN | RST) != 0 {
        return;
    }
    // Nothing was outstanding during the silence: the peer's data all acknowledged (by this very
    // segment at the latest) and this side's only unacknowledged bytes the ones it just sent.
    let (me, peer) = (&f.half[from], &f.half[1 - from]);
    // A probe of the peer's closed window (Windows' 1-byte zero-window probe) is no new request.
    if peer.last_window() == Some(0) {
        return;
    }
    // Nor is a sender that waited for the peer's window to open: left less than one full
    // segment, a sender holds its data (RFC 1122's sender-side silly-window avoidance) until the
    // window opens or its override timer fires (Windows waits about 5 s), then fills what is
    // left — a receiver falling behind (Practical Packet Analysis' inconsistent_printer.pcapng),
    // not an idle connection.
    if f.window_bytes(1 - from)
        .is_some_and(|w| w < u64::from(peer.mss.unwrap_or(536)))
    {
        return;
    }
    let mine = u64::from(s.len) + u64::from(s.flags & FIN != 0);
    if peer.unacked(me).unwrap_or(0) != 0 || me.unacked(peer).unwrap_or(0) > mine {
        return;
    }
    let i = f.idle.get_or_insert_with(Default::default);
    **i = Idle {
        gap_ns: gap,
        from_frame: prev.0,
        frame: s.frame,
        by: from,
        peer_after: 0,
        peer_rsts: 0,
    };
}

/// The `idle` field: the silence, when what ended it went unanswered or drew only RSTs.
pub fn field(f: &FlowState) -> Option<IdleGap> {
    let i = f.idle.as_deref()?;
    if i.peer_after != 0 {
        return None;
    }
    let me = &f.half[i.by];
    let peer = &f.half[1 - i.by];
    let then = if i.peer_rsts > 0 {
        "reset"
    } else if me.unacked(peer).unwrap_or(0) > 0
        && me.track.as_ref().is_some_and(|t| t.stuck_retrans.count > 0)
    {
        "unanswered"
    } else {
        return None;
    };
    Some(IdleGap {
        seconds: i.gap_ns as f64 / 1e9,
        from_frame: i.from_frame,
        frame: i.frame,
        by: if i.by == f.client() {
            "client"
        } else {
            "server"
        }
        .into(),
        outcome: then.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::field;
    use crate::testflow::Conn;

    /// A request and its answer, then `idle` seconds of silence and another request.
    fn pooled(idle: f64) -> (Conn, u64, u64) {
        let mut k = Conn::new();
        let (c, s) = (k.c, k.s);
        k.data(c, 0.01, 38);
        k.data(s, 0.02, 67);
        let end = k.next[s];
        let before = k.ack(c, 0.03, end);
        let after = k.data(c, 0.03 + idle, 38);
        (k, before, after)
    }

    #[test]
    fn unanswered_after_a_silence() {
        let (mut k, before, after) = pooled(5.0);
        let (c, req) = (k.c, k.next[k.c] - 38);
        for t in [5.3, 5.7, 6.5] {
            k.again(c, t, req, 38);
        }
        let i = field(&k.f).expect("idle");
        assert_eq!((i.from_frame, i.frame), (before, after));
        assert!((i.seconds - 5.0).abs() < 1e-6);
        assert_eq!(i.by, "client");
        assert_eq!(i.outcome, "unanswered");
    }

    #[test]
    fn reset_after_a_silence() {
        let (mut k, _, _) = pooled(5.0);
        let s = k.s;
        k.rst(s, 5.04);
        assert_eq!(field(&k.f).expect("idle").outcome, "reset");
    }

    #[test]
    fn answered_or_short_silences_are_nothing() {
        // answered: the peer sent something after the silence
        let (mut k, _, _) = pooled(5.0);
        let (c, s) = (k.c, k.s);
        let end = k.next[c];
        k.ack(s, 5.04, end);
        assert!(field(&k.f).is_none());
        // a silence under 1 s is not recorded
        let (mut k, _, _) = pooled(0.5);
        let req = k.next[c] - 38;
        for t in [0.8, 1.2, 2.0] {
            k.again(c, t, req, 38);
        }
        assert!(field(&k.f).is_none());
        // nothing after it yet: no retransmission, no RST
        let (k, _, _) = pooled(5.0);
        assert!(field(&k.f).is_none());
    }

    #[test]
    fn a_sender_waiting_for_the_window_is_not_idle() {
        // The receiver's window shrank below one segment (1,092 bytes, MSS 1,460): the sender
        // waits ~5 s, fills the window, and the receiver never answers again.
        let mut k = Conn::new();
        let (c, s) = (k.c, k.s);
        k.data(c, 0.01, 1460);
        let end = k.next[c];
        k.window[s] = 1092;
        k.ack(s, 0.2, end);
        k.data(c, 5.0, 1092);
        let req = k.next[c] - 1092;
        for t in [10.5, 16.1] {
            k.again(c, t, req, 1092);
        }
        assert!(field(&k.f).is_none());
        // the same silence with the window open is an idle gap
        let mut k = Conn::new();
        k.data(c, 0.01, 1460);
        let end = k.next[c];
        k.ack(s, 0.2, end);
        k.data(c, 5.0, 1092);
        for t in [10.5, 16.1] {
            k.again(c, t, req, 1092);
        }
        assert_eq!(field(&k.f).expect("idle").outcome, "unanswered");
    }

    #[test]
    fn a_silence_with_data_outstanding_is_no_idle_connection() {
        let mut k = Conn::new();
        let c = k.c;
        k.data(c, 0.01, 38); // never acknowledged: the server is slow or gone, not idle
        k.data(c, 5.0, 38);
        let req = k.next[c] - 38;
        for t in [5.3, 5.7, 6.5] {
            k.again(c, t, req, 38);
        }
        assert!(field(&k.f).is_none());
    }
}

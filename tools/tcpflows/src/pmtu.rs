//! The Path-MTU black-hole signal (`Side::size_limit`): which segment sizes of one side got
//! through (the largest the peer acknowledged) and which were retransmitted without an answer.
//! A path whose MTU is smaller than the endpoints' and whose ICMP "fragmentation needed" /
//! ICMPv6 "packet too big" is filtered lets the handshake and small segments pass and drops
//! every full-size segment, again and again.
//!
//! Per side, allocated at its first payload segment: the largest acknowledged payload and two
//! candidates still in flight (an ACK is cumulative: when it covers a segment it covers every
//! smaller one before it, so the largest in flight is the one to remember; the second slot keeps
//! an earlier, smaller one that the peer may acknowledge alone, as a small request head before
//! the lost body). Constant memory, nothing per packet.

use tcpwhy_common::records::flow::SizeLimit;

use crate::conn::{FlowState, Half, Seg};
use crate::scan::flags::{ACK, RST, SYN};

/// A segment in flight: sequence number of its end, payload bytes, frame.
#[derive(Debug, Clone, Copy, Default)]
struct Cand {
    end: u32,
    len: u32,
    frame: u64,
}

/// What one side's segment sizes did (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Sizes {
    acked_max: u32,
    acked_frame: Option<u64>,
    a: Option<Cand>,
    b: Option<Cand>,
    /// Retransmissions since the peer last acknowledged new data.
    lost_count: u32,
    lost_min: u32,
    lost_max: u32,
    lost_first: u64,
    /// The side's first payload segment in the capture began right after its SYN: every size
    /// that got through was seen. False when the capture began mid-stream or lost the start:
    /// the peer acknowledged segments nobody saw, of unknown sizes.
    from_start: bool,
}

#[inline]
fn le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

impl Sizes {
    fn sent(&mut self, s: &Seg, retrans: bool) {
        if retrans {
            if self.lost_count == 0 {
                self.lost_min = s.len;
                self.lost_max = s.len;
                self.lost_first = s.frame;
            }
            self.lost_count = self.lost_count.saturating_add(1);
            self.lost_min = self.lost_min.min(s.len);
            self.lost_max = self.lost_max.max(s.len);
            return;
        }
        if s.len <= self.acked_max {
            return;
        }
        let c = Cand {
            end: s.seq.wrapping_add(s.len),
            len: s.len,
            frame: s.frame,
        };
        match (self.a, self.b) {
            (None, _) => self.a = Some(c),
            (Some(a), b) if c.len > a.len && b.is_none_or(|b| c.len > b.len) => self.b = Some(c),
            _ => {}
        }
    }

    fn acked(&mut self, ack: u32, advanced: bool) {
        while let Some(a) = self.a.filter(|a| le(a.end, ack)) {
            if a.len > self.acked_max {
                self.acked_max = a.len;
                self.acked_frame = Some(a.frame);
            }
            self.a = self.b.take();
        }
        if advanced {
            self.lost_count = 0;
        }
    }
}

/// Updates the sizes after segment `s` from `from` (called at the end of `FlowState::packet`):
/// `retrans`: `analyze` counted it a retransmission; `acked_before`: `from`'s ACK before it.
pub fn packet(f: &mut FlowState, from: usize, s: &Seg, retrans: bool, acked_before: Option<u32>) {
    if s.flags & RST != 0 {
        return;
    }
    if s.len > 0 && s.flags & SYN == 0 {
        let h = &mut f.half[from];
        let isn = h.isn;
        h.pmtu
            .get_or_insert_with(|| {
                Box::new(Sizes {
                    from_start: isn.is_some_and(|i| i.wrapping_add(1) == s.seq),
                    ..Sizes::default()
                })
            })
            .sent(s, retrans);
    }
    if s.flags & ACK != 0 {
        if let Some(p) = f.half[1 - from].pmtu.as_deref_mut() {
            let advanced = acked_before.is_some_and(|a| (s.ack.wrapping_sub(a) as i32) > 0);
            p.acked(s.ack, advanced);
        }
    }
}

/// The `size_limit` of side `h` (stuck with retransmissions, all larger than anything `peer`
/// acknowledged), or None; None too when the capture did not see the side's data from its
/// first byte (what got through before is unknown).
pub fn size_limit(h: &Half, peer: &Half) -> Option<SizeLimit> {
    let p = h.pmtu.as_deref()?;
    if !p.from_start
        || p.lost_count == 0
        || p.lost_min <= p.acked_max
        || h.unacked(peer).unwrap_or(0) == 0
    {
        return None;
    }
    Some(SizeLimit {
        largest_acked: p.acked_max,
        largest_acked_frame: p.acked_frame,
        smallest_lost: p.lost_min,
        largest_lost: p.lost_max,
        retransmissions: p.lost_count,
        // the original of the earliest segment still unacknowledged, when it is a large one
        first_lost_frame: p
            .a
            .filter(|a| a.len > p.acked_max)
            .map_or(p.lost_first, |a| a.frame.min(p.lost_first)),
    })
}

#[cfg(test)]
mod tests {
    use super::size_limit;
    use crate::testflow::Conn;

    #[test]
    fn small_segments_pass_full_size_ones_are_lost() {
        let mut k = Conn::new();
        let (c, s) = (k.c, k.s);
        let head = k.data(c, 0.01, 67);
        let body = k.next[c];
        // the body goes out before the head's ACK comes back: the head is acknowledged alone
        let first = k.data(c, 0.011, 1448);
        k.data(c, 0.011, 1448);
        k.ack(s, 0.012, body);
        for t in [0.2, 0.6, 1.4, 3.0] {
            k.again(c, t, body, 1448);
        }
        let sl = size_limit(&k.f.half[c], &k.f.half[s]).expect("size_limit");
        assert_eq!(sl.largest_acked, 67);
        assert_eq!(sl.largest_acked_frame, Some(head));
        assert_eq!((sl.smallest_lost, sl.largest_lost), (1448, 1448));
        assert_eq!(sl.retransmissions, 4);
        assert_eq!(sl.first_lost_frame, first);
        assert!(size_limit(&k.f.half[s], &k.f.half[c]).is_none());
    }

    #[test]
    fn losses_no_larger_than_what_passed_are_not_a_size_limit() {
        let mut k = Conn::new();
        let (c, s) = (k.c, k.s);
        k.data(c, 0.01, 1448);
        let next = k.next[c];
        k.ack(s, 0.02, next);
        k.data(c, 0.03, 1448);
        for t in [0.2, 0.6, 1.4] {
            k.again(c, t, next, 1448);
        }
        assert!(size_limit(&k.f.half[c], &k.f.half[s]).is_none());
    }

    #[test]
    fn segments_the_capture_never_saw_leave_it_unknown() {
        // Practical Packet Analysis' tcp-con-lost.pcap: the capture starts after 5,840 bytes of
        // full-size segments got through; the next segment (648 bytes) is never acknowledged.
        let mut k = Conn::new();
        let (c, s) = (k.c, k.s);
        k.next[s] += 5840;
        let lost = k.next[s];
        k.data(s, 0.01, 648);
        k.ack(c, 0.01, lost);
        for t in [0.2, 0.8, 2.0, 4.4, 9.2] {
            k.again(s, t, lost, 648);
        }
        assert!(size_limit(&k.f.half[s], &k.f.half[c]).is_none());
    }

    #[test]
    fn an_acknowledged_retransmission_clears_it() {
        let mut k = Conn::new();
        let (c, s) = (k.c, k.s);
        k.data(c, 0.01, 67);
        let body = k.next[c];
        k.ack(s, 0.012, body);
        k.data(c, 0.02, 1448);
        k.again(c, 0.2, body, 1448);
        k.again(c, 0.6, body, 1448);
        assert!(size_limit(&k.f.half[c], &k.f.half[s]).is_some());
        // the sender adapted (an ICMP arrived): the peer acknowledges the data after all
        let end = k.next[c];
        k.ack(s, 0.7, end);
        assert!(size_limit(&k.f.half[c], &k.f.half[s]).is_none());
    }
}

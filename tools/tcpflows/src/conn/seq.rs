//! The per-side sequence analysis tshark does on a connection's segments: retransmissions,
//! out-of-order segments, keep-alives, duplicate ACKs, and the zero windows a side advertises
//! with the probes its peer sends into them; what `Half` answers about its sequence state; and
//! whether a RST's sequence number was acceptable to its receiver.

use super::{FlowState, Half, Seg, Track};
use crate::scan::Ts;
use crate::scan::flags::{ACK, FIN, RST, SYN};

impl Half {
    /// The window this side advertised last (raw), if any segment was seen.
    pub fn last_window(&self) -> Option<u16> {
        self.window_set.then_some(self.window)
    }

    pub(super) fn track(&mut self) -> &mut Track {
        self.track.get_or_insert_with(Default::default)
    }

    /// Forgets the sequence analysis, as tshark does when a SYN-ACK starts a new session on the
    /// same ports (after a challenge ACK: [`crate::reuse`]).
    pub(crate) fn restart_seq_analysis(&mut self) {
        self.nextseq = 0;
        self.nextseq_set = false;
        self.nextseq_ts = Ts::default();
        self.lastack = 0;
        self.lastack_ts = Ts::default();
        self.dupacknum = 0;
        self.window = 0;
        self.window_set = false;
        self.last_keep_alive = false;
        self.first_ack = None;
        self.max_ack = None;
    }

    /// Sequence space this side sent that `peer` has not acknowledged (None when unknown).
    pub fn unacked(&self, peer: &Half) -> Option<u64> {
        match (self.nextseq_set, peer.acked) {
            (true, Some(a)) if gt(self.nextseq, a) => Some(self.nextseq.wrapping_sub(a) as u64),
            (true, Some(_)) => Some(0),
            _ => None,
        }
    }

    /// Sequence space of `peer` this side acknowledged beyond what the capture showed of it
    /// (the peer's direction is missing from the capture). When the capture shows nothing of the
    /// peer, the advance of this side's ACKs, plus 1 for the peer's SYN this side's own SYN or
    /// SYN-ACK implies.
    pub fn acked_unseen(&self, peer: &Half) -> u64 {
        let Some(max) = self.max_ack else { return 0 };
        if peer.packets == 0 || !peer.nextseq_set {
            let first = self.first_ack.unwrap_or(max);
            return u64::from(max.wrapping_sub(first)) + u64::from(self.syn_seen);
        }
        let d = max.wrapping_sub(peer.nextseq) as i32;
        if d > 0 { d as u64 } else { 0 }
    }
}

#[inline]
fn lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
#[inline]
pub(super) fn gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}
#[inline]
fn le(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) <= 0
}

impl FlowState {
    /// Whether the RST's sequence number is acceptable to its receiver (RFC 793 / RFC 5961):
    /// `exact` (= RCV.NXT), `in_window`, `unacceptable`, or `unknown` (no reference seen).
    pub(super) fn rst_check(&self, from: usize, s: &Seg) -> &'static str {
        let r = 1 - from;
        let rcv = &self.half[r];
        if r == self.z.orig && self.synack.frame().is_none() {
            // the receiver is in SYN-SENT: acceptable iff it ACKs the SYN
            return match rcv.isn {
                None => "unknown",
                Some(isn) if s.flags & ACK != 0 && s.ack == isn.wrapping_add(1) => "exact",
                Some(_) => "unacceptable",
            };
        }
        let snd = &self.half[from];
        let rcv_nxt = match (rcv.acked, snd.nextseq_set) {
            (Some(a), _) => a,
            (None, true) => snd.nextseq,
            (None, false) => return "unknown",
        };
        let scale = match (rcv.wscale, snd.wscale) {
            (Some(a), Some(_)) => a.min(14) as u32,
            _ => 0,
        };
        let wnd = ((rcv.window as u64) << scale).max(1);
        let d = s.seq.wrapping_sub(rcv_nxt) as u64;
        if d == 0 {
            "exact"
        } else if d < wnd {
            "in_window"
        } else {
            "unacceptable"
        }
    }

    /// tshark's `tcp_analyze_sequence_number` (4.x), reduced to what sets
    /// `tcp.analysis.retransmission` (retransmission, fast and spurious retransmission),
    /// `tcp.analysis.out_of_order`, `tcp.analysis.keep_alive` and `tcp.analysis.duplicate_ack`.
    pub(super) fn analyze(&mut self, from: usize, s: &Seg) {
        let to = 1 - from;
        let (fwd, rev) = if from == 0 {
            let (a, b) = self.half.split_at_mut(1);
            (&mut a[0], &mut b[0])
        } else {
            let (a, b) = self.half.split_at_mut(1);
            (&mut b[0], &mut a[0])
        };
        let _ = to;
        let fl = s.flags;
        let seq = s.seq;
        let seglen = s.len;
        let ctl = fl & (SYN | FIN | RST) != 0;

        let mut zwp = false;
        let mut keep_alive = false;
        if seglen == 1 && fwd.nextseq_set && seq == fwd.nextseq && rev.window_set && rev.window == 0
        {
            zwp = true;
        } else {
            if (seglen == 0 || seglen == 1)
                && fwd.nextseq_set
                && seq == fwd.nextseq.wrapping_sub(1)
                && !ctl
            {
                keep_alive = true;
                fwd.keep_alives += 1;
            }
            // duplicate ACK (keep-alive ACK and zero-window-probe ACK take precedence in tshark:
            // the answer to a keep-alive — the peer's last segment was one — is a keep-alive
            // ACK; a zero-window-probe ACK is excluded through `window != 0`)
            if seglen == 0
                && s.window != 0
                && fwd.window_set
                && s.window == fwd.window
                && fwd.nextseq_set
                && seq == fwd.nextseq
                && s.ack == fwd.lastack
                && !ctl
                && !rev.last_keep_alive
            {
                fwd.dupacknum += 1;
                fwd.dup_acks += 1;
            }
        }
        if s.ack != fwd.lastack {
            fwd.dupacknum = 0;
        }

        if (seglen > 0 || fl & (SYN | FIN) != 0) && !keep_alive {
            let mut not_adv = fwd.nextseq_set && lt(seq, fwd.nextseq);
            if seglen > 1 && fwd.nextseq_set && fwd.nextseq.wrapping_sub(1) == seq {
                not_adv = false;
            }
            let mut kind = 0u8; // 1 retrans, 2 ooo
            if seglen > 0 && rev.lastack != 0 && le(seq.wrapping_add(seglen), rev.lastack) {
                kind = 1; // spurious retransmission
            } else if not_adv
                && rev.dupacknum >= 2
                && rev.lastack == seq
                && s.ts.ns - rev.lastack_ts.ns < 20_000_000
            {
                kind = 1; // fast retransmission
            } else {
                let t = s.ts.ns - fwd.nextseq_ts.ns;
                let thres = self.rtt.initial.filter(|&r| r > 0).unwrap_or(3_000_000);
                let end = seq
                    .wrapping_add(seglen)
                    .wrapping_add((fl & (SYN | FIN) != 0) as u32);
                if not_adv && t < thres && fwd.nextseq != end {
                    kind = 2;
                } else if not_adv {
                    kind = 1;
                }
            }
            match kind {
                1 => fwd.retransmissions += 1,
                2 => fwd.out_of_order += 1,
                _ => {}
            }
        }

        let mut nextseq = seq.wrapping_add(seglen);
        if fl & (SYN | FIN) != 0 {
            nextseq = nextseq.wrapping_add(1);
        }
        if (!fwd.nextseq_set || gt(nextseq, fwd.nextseq)) && !zwp {
            fwd.nextseq = nextseq;
            fwd.nextseq_set = true;
            fwd.nextseq_ts = s.ts;
        }
        fwd.last_keep_alive = keep_alive;
        fwd.window = s.window;
        fwd.window_set = true;
        fwd.lastack = s.ack;
        fwd.lastack_ts = s.ts;
        self.probe(from, s, zwp);
    }

    /// Counts zero-window probes sent by `from` against the peer's closed window: tshark's
    /// 1-byte `ZeroWindowProbe` (Windows) and Linux's 0-byte probe at SND.UNA-1 (which tshark
    /// calls a keep-alive).
    fn probe(&mut self, from: usize, s: &Seg, one_byte: bool) {
        let to = 1 - from;
        if s.flags & (SYN | FIN | RST) != 0 {
            return;
        }
        let closed = self.half[to].window_set
            && self.half[to].window == 0
            && self.half[to]
                .zw
                .as_ref()
                .is_some_and(|z| z.closed_since.is_some());
        if !closed {
            return;
        }
        let zero_byte = s.len == 0 && {
            let f = &self.half[from];
            f.nextseq_set && s.seq == f.nextseq.wrapping_sub(1)
        };
        if !(one_byte || zero_byte) {
            return;
        }
        if zero_byte {
            // counted as a keep-alive by `analyze`, as tshark does; it is a probe
            let f = &mut self.half[from];
            f.keep_alives = f.keep_alives.saturating_sub(1);
        }
        let Some(zw) = self.half[to].zw.as_deref_mut() else {
            return;
        };
        zw.probes.push(s.frame);
        if one_byte {
            zw.one_byte += 1;
        } else {
            zw.zero_byte += 1;
        }
    }

    /// Zero-window episodes advertised by `from` (RSTs excluded, as Zeek and tshark do).
    pub(super) fn zero_window(&mut self, from: usize, s: &Seg) {
        if s.flags & RST != 0 {
            return;
        }
        if s.window == 0 {
            if s.flags & FIN != 0 && s.flags & SYN == 0 {
                // tshark does not flag FIN segments; the side is closing anyway
                return;
            }
            let zw = self.half[from].zw.get_or_insert_with(Box::default);
            zw.count += 1;
            if zw.count == 1 {
                zw.first_frame = s.frame;
                zw.first_ts = s.ts;
            }
            if s.flags & SYN != 0 {
                zw.in_handshake = true;
                zw.handshake_count += 1;
            }
            if zw.closed_since.is_none() {
                zw.closed_since = Some(s.ts);
                zw.episodes += 1;
            }
        } else if let Some(zw) = self.half[from].zw.as_deref_mut()
            && let Some(t0) = zw.closed_since.take()
        {
            zw.longest_ns = zw.longest_ns.max(s.ts.ns - t0.ns);
            if zw.reopen_frame.is_none() {
                zw.reopen_frame = Some(s.frame);
            }
        }
    }
}

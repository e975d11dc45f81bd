//! What each side is left waiting for: retransmissions and keep-alives the peer has not
//! answered (`stuck`), and segments that filled the peer's advertised window (`window_full`).

use super::seq::gt;
use super::{FlowState, MAX_STUCK_LISTED, Recent, Seg};
use crate::scan::Ts;
use crate::scan::flags::{ACK, RST, SYN};

impl Recent {
    fn push(&mut self, frame: u64, ts: Ts) {
        self.count = self.count.saturating_add(1);
        if self.frames.len() == MAX_STUCK_LISTED {
            self.frames.remove(0);
            self.ts.remove(0);
        }
        self.frames.push(frame);
        self.ts.push(ts);
    }

    fn clear(&mut self) {
        self.count = 0;
        self.frames.clear();
        self.ts.clear();
    }
}

impl FlowState {
    /// The scale factor (shift) of the windows `from` advertises, when the handshake showed it:
    /// both SYNs seen, and 0 unless both offered window scaling.
    fn scale_of(&self, from: usize) -> Option<u32> {
        let (a, b) = (&self.half[from], &self.half[1 - from]);
        if !(a.syn_seen && b.syn_seen) {
            return None;
        }
        Some(match (a.wscale, b.wscale) {
            (Some(x), Some(_)) => x.min(14) as u32,
            _ => 0,
        })
    }

    /// The window side `i` last advertised, in bytes; None when the handshake did not show its
    /// scale (a window written as 500 may be 500 bytes or 64,000).
    pub(crate) fn window_bytes(&self, i: usize) -> Option<u64> {
        let w = self.half[i].last_window()?;
        Some(u64::from(w) << self.scale_of(i)?)
    }

    /// Per-side progress after segment `s` from `from`: last packet and data, ACK progress,
    /// retransmissions and keep-alives left unanswered, window-limited sending.
    pub(super) fn progress(
        &mut self,
        from: usize,
        s: &Seg,
        retrans_before: u32,
        ka_before: u32,
        acked_before: Option<u32>,
    ) {
        let to = 1 - from;
        let syn = s.flags & SYN != 0;
        let rst = s.flags & RST != 0;
        let scale_from = self.scale_of(from);
        let scale_to = self.scale_of(to);
        {
            let h = &mut self.half[from];
            h.last = Some((s.frame, s.ts));
            if s.len > 0 {
                h.last_data = Some((s.frame, s.ts));
            }
            if h.retransmissions > retrans_before {
                h.track().stuck_retrans.push(s.frame, s.ts);
            }
            if h.keep_alives > ka_before {
                h.track().stuck_ka.push(s.frame, s.ts);
            }
        }
        // Any packet answers the peer's keep-alives.
        if let Some(t) = self.half[to].track.as_mut() {
            t.stuck_ka.clear();
        }
        if s.flags & ACK != 0 && !rst {
            let advanced = match acked_before {
                Some(a) => gt(s.ack, a),
                // The first ACK (a SYN-ACK, or the first segment of a mid-stream side): it
                // answers whatever the peer repeated so far (a retried SYN), not new data.
                None => {
                    if let Some(t) = self.half[to].track.as_mut() {
                        t.stuck_retrans.clear();
                    }
                    false
                }
            };
            if advanced {
                self.half[from].ack_advance = Some((s.frame, s.ts));
                if let Some(t) = self.half[to].track.as_mut() {
                    t.stuck_retrans.clear();
                }
            }
            // The window `from` advertises: does it open room for the peer waiting on it?
            if let (Some(sc), false) = (scale_from, syn) {
                let win = (s.window as u64) << sc;
                let mss = self.half[from].mss.unwrap_or(536) as u64;
                if win > 0 && win < mss {
                    self.half[from].small_windows += 1;
                }
                let p = &mut self.half[to];
                let (set, next) = (p.nextseq_set, p.nextseq);
                if let Some(wf) = p.track.as_mut().map(|t| &mut t.wf) {
                    if let Some(t0) = wf.since {
                        let edge = s.ack.wrapping_add(win.min(1 << 30) as u32);
                        if set && gt(edge, next) {
                            let d = s.ts.ns - t0.ns;
                            wf.waited_ns = wf.waited_ns.saturating_add(d.max(0));
                            wf.longest_ns = wf.longest_ns.max(d);
                            wf.since = None;
                        }
                    }
                }
            }
        }
        // Did this data segment fill the peer's window?
        if s.len > 0 && !syn && !rst && self.half[from].retransmissions == retrans_before {
            if let (Some(sc), Some(a)) = (scale_to, self.half[to].acked) {
                let p = &self.half[to];
                let win = (p.window as u64) << sc;
                let end = s.seq.wrapping_add(s.len);
                let inflight = end.wrapping_sub(a);
                if p.window_set && win > 0 && (inflight as i32) > 0 && inflight as u64 >= win {
                    let wf = &mut self.half[from].track().wf;
                    if wf.segments.count == 0 {
                        wf.min_window = win;
                    }
                    wf.segments.push(s.frame);
                    wf.min_window = wf.min_window.min(win);
                    wf.max_window = wf.max_window.max(win);
                    if wf.since.is_none() {
                        wf.since = Some(s.ts);
                        wf.episodes += 1;
                    }
                }
            }
        }
    }
}

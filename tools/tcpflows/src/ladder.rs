//! The `ladder` field of a flow record: a bounded summary of the flow's packets for drawing it
//! as a ladder (sequence) diagram — tcpflag's text and markdown output draw one per finding.
//!
//! Kept per flow: the first [`HEAD`] packets, the last [`TAIL`], and up to [`MARKED`] notable
//! packets from between them (a RST, a zero window, a SYN) — never one entry per packet. Each
//! entry costs 40 bytes, allocated as packets arrive: a lone SYN costs 80 bytes of heap (room for
//! two), a long connection at most 18 entries (720 bytes); 80 bytes in the flow state itself.

use tcpwhy_common::records::Raw;

use crate::conn::{FlowState, Seg};
use crate::scan::flags::{ACK, RST, SYN};

/// Which flow records carry the field (`--ladder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Which {
    /// Every flow but the plainly healthy ones ([`plain`]).
    #[default]
    Notable,
    All,
    None,
}

impl Which {
    /// True when flow `f`'s record should carry its ladder.
    pub fn wants(self, f: &FlowState) -> bool {
        match self {
            Which::All => true,
            Which::None => false,
            Which::Notable => !plain(f),
        }
    }
}

/// A handshake round trip (either half) at or above this is kept: tcpflag's slow_path starts at
/// 0.5 s by default.
const PLAIN_RTT_NS: i64 = 100_000_000;

/// A plainly healthy connection, of no use to any finding: one SYN, one SYN-ACK, a quick
/// handshake, FIN both ways, and nothing notable from either side (no RST, retransmission,
/// reordering, duplicate ACK, keep-alive, zero or small window, ICMP error, TLS). Most of the
/// flows of a busy capture; leaving their ladder out shrinks what every later stage reads.
pub fn plain(f: &FlowState) -> bool {
    f.established
        && f.end == Some("fin")
        && f.syn.sent.count == 1
        && f.synack.frames.count == 1
        && f.rsts.count == 0
        && f.icmp.count == 0
        && f.tls.is_none()
        && f.rtt.syn_synack.is_some_and(|r| r < PLAIN_RTT_NS)
        && f.rtt.synack_ack.is_some_and(|r| r < PLAIN_RTT_NS)
        && f.half.iter().all(|h| {
            h.fin_frame.is_some()
                && h.retransmissions == 0
                && h.out_of_order == 0
                && h.dup_acks == 0
                && h.keep_alives == 0
                && h.small_windows == 0
                && h.zw.is_none()
        })
}

/// Packets kept from the start of the flow.
pub const HEAD: usize = 8;
/// Packets kept from the end.
pub const TAIL: usize = 6;
/// Notable packets kept from the middle.
pub const MARKED: usize = 4;

#[derive(Debug, Clone, Copy)]
struct Step {
    frame: u64,
    ns: i64,
    seq: u32,
    ack: u32,
    len: u32,
    win: u16,
    flags: u8,
    from: u8,
    ttl: Option<u8>,
}

impl Step {
    fn notable(&self) -> bool {
        self.flags & (RST | SYN) != 0 || (self.win == 0 && self.flags & RST == 0)
    }
}

/// The packets kept for one flow.
#[derive(Debug, Clone, Default)]
pub struct Ladder {
    head: Vec<Step>,
    /// A ring of the last packets after the head; `pos` is the oldest once full.
    tail: Vec<Step>,
    pos: u32,
    /// Packets in none of the lists.
    omitted: u32,
    marked: Vec<Step>,
}

impl Ladder {
    /// One more segment, sent by side `from` (0 = key.lo, 1 = key.hi).
    pub fn push(&mut self, from: usize, s: &Seg) {
        let step = Step {
            frame: s.frame,
            ns: s.ts.ns,
            seq: s.seq,
            ack: s.ack,
            len: s.len,
            win: s.window,
            flags: s.flags,
            from: from as u8,
            ttl: s.ttl,
        };
        if self.head.len() < HEAD {
            if self.head.capacity() == 0 {
                self.head.reserve_exact(2);
            } else if self.head.len() == self.head.capacity() {
                self.head
                    .reserve_exact((self.head.len() * 2).min(HEAD) - self.head.len());
            }
            self.head.push(step);
            return;
        }
        if self.tail.len() < TAIL {
            if self.tail.capacity() == 0 {
                self.tail.reserve_exact(TAIL);
            }
            self.tail.push(step);
            return;
        }
        let pos = self.pos as usize;
        let old = std::mem::replace(&mut self.tail[pos], step);
        self.pos = ((pos + 1) % TAIL) as u32;
        if old.notable() && self.marked.len() < MARKED {
            if self.marked.capacity() == 0 {
                self.marked.reserve_exact(MARKED);
            }
            self.marked.push(old);
        } else {
            self.omitted = self.omitted.saturating_add(1);
        }
    }

    fn steps(&self) -> Vec<Step> {
        let mut v: Vec<Step> = self.head.clone();
        v.extend(self.marked.iter().copied());
        let pos = self.pos as usize;
        v.extend(self.tail[pos..].iter().copied());
        v.extend(self.tail[..pos].iter().copied());
        v
    }
}

/// The field: `{"steps": [[frame, us, dir, flags, seq, ack, len, win, ttl], …], "omitted": N}`
/// (docs/schema.md). `us` is microseconds since the flow's first packet, `dir` "c" (client to server)
/// or "s", `seq` relative to the sender's ISN and `ack` to the receiver's (raw when the ISN was
/// not seen; 0 without the ACK flag), `win` scaled when both SYNs offered window scaling.
pub fn field(f: &FlowState) -> Option<Raw> {
    let client = f.client();
    let scaled = f.half[0].wscale.is_some() && f.half[1].wscale.is_some();
    let steps = f.ladder.steps();
    // Written by hand: every flow carries one, and a `json!` tree per packet cost more than the
    // rest of the record.
    let mut out = String::with_capacity(24 + steps.len() * 48);
    let mut num = itoa::Buffer::new();
    let mut letters = Vec::with_capacity(8);
    out.push_str("{\"steps\":[");
    for (i, s) in steps.iter().enumerate() {
        let from = s.from as usize;
        let h = &f.half[from];
        let peer = &f.half[1 - from];
        let seq = h.isn.map_or(s.seq, |i| s.seq.wrapping_sub(i));
        let ack = if s.flags & ACK == 0 {
            0
        } else {
            peer.isn.map_or(s.ack, |i| s.ack.wrapping_sub(i))
        };
        let win = if scaled && s.flags & SYN == 0 {
            u64::from(s.win) << h.wscale.unwrap_or(0).min(14)
        } else {
            u64::from(s.win)
        };
        let us = (s.ns - f.first_ts.ns).div_euclid(1000);
        out.push_str(if i == 0 { "[" } else { ",[" });
        out.push_str(num.format(s.frame));
        out.push(',');
        out.push_str(num.format(us));
        out.push_str(if from == client {
            ",\"c\",\""
        } else {
            ",\"s\",\""
        });
        letters.clear();
        tcpwhy_common::tcp_flags::write_letters(&mut letters, s.flags);
        out.extend(letters.iter().map(|&b| char::from(b)));
        out.push_str("\",");
        for n in [u64::from(seq), u64::from(ack), u64::from(s.len), win] {
            out.push_str(num.format(n));
            out.push(',');
        }
        match s.ttl {
            Some(t) => out.push_str(num.format(t)),
            None => out.push_str("null"),
        }
        out.push(']');
    }
    out.push_str("],\"omitted\":");
    out.push_str(num.format(f.ladder.omitted));
    out.push('}');
    // Numbers and flag letters only: always one JSON value.
    Raw::new(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_with_the_notable_packets_kept() {
        let mut l = Ladder::default();
        for i in 1..=1000u64 {
            let s = Seg {
                frame: i,
                flags: if i == 500 { RST } else { ACK },
                window: 100,
                ..Seg::default()
            };
            l.push((i % 2) as usize, &s);
        }
        let steps = l.steps();
        assert_eq!(steps.len(), HEAD + TAIL + 1);
        assert!(steps.iter().any(|s| s.frame == 500), "the RST is kept");
        assert_eq!(steps.last().unwrap().frame, 1000);
        assert_eq!(l.omitted as usize, 1000 - HEAD - TAIL - 1);
        assert!(l.head.capacity() <= HEAD && l.tail.capacity() <= TAIL);
        let mut one = Ladder::default();
        one.push(0, &Seg::default());
        assert_eq!(one.head.capacity(), 2, "a lone SYN costs two entries");
    }
}

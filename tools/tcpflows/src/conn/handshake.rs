//! The handshake as the tracker sees it: the client's SYNs (retries included), the server's
//! SYN-ACKs, the client's handshake ACK that establishes the connection, and the round-trip
//! times between them.

use super::{FirstN, FlowState, MAX_ATTEMPTS_LISTED, Seg};
use crate::scan::Ts;
use crate::scan::flags::{ACK, RST, SYN};

/// The client's SYNs, retries included: the frame and time of each (the first
/// `MAX_ATTEMPTS_LISTED`), the gaps between them, the latest one's time.
#[derive(Debug, Clone, Default)]
pub struct Syns {
    pub sent: FirstN<(u64, Ts), MAX_ATTEMPTS_LISTED>,
    pub intervals: Vec<i64>,
    pub last_ts: Option<Ts>,
}

/// The server's SYN-ACKs: their frames (the first is the handshake's) and the first one's time.
#[derive(Debug, Clone, Default)]
pub struct SynAcks {
    pub frames: FirstN<u64, MAX_ATTEMPTS_LISTED>,
    pub ts: Option<Ts>,
}

impl Syns {
    fn push(&mut self, frame: u64, ts: Ts) {
        self.sent.push((frame, ts));
        if let Some(prev) = self.last_ts {
            if self.intervals.len() < MAX_ATTEMPTS_LISTED - 1 {
                self.intervals.push(ts.ns - prev.ns);
            }
        }
        self.last_ts = Some(ts);
    }

    /// The first SYN's time.
    pub fn first_ts(&self) -> Option<Ts> {
        self.sent.first().map(|(_, t)| t)
    }
}

impl SynAcks {
    /// The first SYN-ACK's frame.
    pub fn frame(&self) -> Option<u64> {
        self.frames.first()
    }

    /// Counts a SYN-ACK; true when it is the first.
    fn push(&mut self, frame: u64, ts: Ts) -> bool {
        self.frames.push(frame);
        if self.ts.is_some() {
            return false;
        }
        self.ts = Some(ts);
        true
    }
}

/// The handshake's round-trip times (ns): SYN to SYN-ACK (the server side), SYN-ACK to the
/// client's ACK (the client side), first SYN to that ACK (tshark's `tcp.analysis.initial_rtt`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Rtts {
    pub syn_synack: Option<i64>,
    pub synack_ack: Option<i64>,
    pub initial: Option<i64>,
}

impl FlowState {
    /// Handshake bookkeeping for segment `s` sent by `from`.
    pub(super) fn handshake(&mut self, from: usize, s: &Seg) {
        let syn = s.flags & SYN != 0;
        let ackf = s.flags & ACK != 0;
        if syn && !ackf {
            self.syn.push(s.frame, s.ts);
        }
        if syn && ackf && self.synack.push(s.frame, s.ts) {
            if let Some(t) = self.syn.last_ts {
                self.rtt.syn_synack = Some(s.ts.ns - t.ns);
            }
        }
        if !syn && ackf && s.flags & RST == 0 && !self.established && from == self.z.orig {
            if let (Some(t), Some(isn)) = (self.synack.ts, self.half[1 - from].isn) {
                if s.ack == isn.wrapping_add(1) {
                    self.established = true;
                    self.rtt.synack_ack = Some(s.ts.ns - t.ns);
                    if let Some(first) = self.syn.first_ts() {
                        self.rtt.initial = Some(s.ts.ns - first.ns);
                    }
                }
            }
        }
    }
}

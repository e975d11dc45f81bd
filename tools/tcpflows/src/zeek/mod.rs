//! Zeek's TCP endpoint state machine, history letters and `conn_state`, reproduced from
//! Zeek's `src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc`, `TCP_Endpoint.cc`,
//! `session/Session.{h,cc}` and `scripts/base/protocols/conn/main.zeek` (function `conn_state`).
//!
//! Only what decides `state` and `history` is kept: endpoint states, the sequence bookkeeping
//! behind the `S`/`H`/`F`/`R` repeat rule and the `T` (retransmission) test, the zero-window `W`
//! test, and the role flip (`^`). Checksums (`C`) and content gaps (`G`) are not reproduced:
//! `pcap2jsonl` does not verify checksums and tcpflows does not reassemble.
//!
//! Over 600 lines on purpose: it is one concept, a port of one state machine whose parts (endpoint
//! states, the history's repeat rule, `conn_state`) read each other's state; kept in one file in
//! Zeek's order so it can be checked against Zeek's source. Its tests are in `tests.rs`.

use crate::scan::flags::{ACK, FIN, RST, SYN};

/// Zeek's `TCP_ENDPOINT_*` states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EpState {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

/// The longest history kept (Zeek keeps no limit; repeats are rare after the log scale, so this
/// only bounds pathological inputs).
pub const MAX_HISTORY: usize = 64;

const TOO_LARGE_SEQ_DELTA: i32 = 1_048_576;

// Zeek's HIST_* masks.
const HIST_SYN: u16 = 0x1;
const HIST_FIN: u16 = 0x2;
const HIST_RST: u16 = 0x4;
const HIST_FIN_RST: u16 = 0x8;
const HIST_DATA: u16 = 0x10;
const HIST_ACK: u16 = 0x20;
const HIST_MULTI_FLAG: u16 = 0x40;

/// One endpoint, as Zeek's `TCP_Endpoint` tracks it.
#[derive(Debug, Clone, Default)]
pub struct ZEndpoint {
    pub state: EpState,
    pub prev_state: EpState,
    start_seq: u32,
    last_seq: u32,
    ack_seq: u32,
    hist_last_syn: u32,
    hist_last_fin: u32,
    hist_last_rst: u32,
    hist_seen: u16,
    pub did_close: bool,
    pub fin_cnt: u32,
    rxmt_cnt: u32,
    rxmt_thresh: u32,
    win0_cnt: u32,
    win0_thresh: u32,
}

impl ZEndpoint {
    pub fn new() -> Self {
        ZEndpoint {
            rxmt_thresh: 1,
            win0_thresh: 1,
            ..Default::default()
        }
    }

    fn set_state(&mut self, s: EpState) {
        self.prev_state = self.state;
        self.state = s;
    }

    /// Whether any SYN (or SYN-ACK) has been seen from this endpoint.
    pub fn saw_syn(&self) -> bool {
        self.hist_seen & HIST_SYN != 0
    }
}

/// Zeek's per-connection state: the two endpoints (indexed 0/1 by the caller's fixed order) and
/// which one is the originator, plus the history string.
#[derive(Debug, Clone)]
pub struct ZConn {
    pub ep: [ZEndpoint; 2],
    /// Index of the originator (the client) in `ep`.
    pub orig: usize,
    pub history: String,
    pub history_truncated: bool,
}

#[inline]
fn seq_delta(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// Ports Zeek's `likely_server_ports` would contain for common services: the well-known range and
/// the registered ports of frequent servers.
pub fn likely_server_port(p: u16) -> bool {
    p < 1024
        || matches!(
            p,
            1080 | 1194
                | 1433
                | 1434
                | 1521
                | 1723
                | 1883
                | 2049
                | 2181
                | 2375
                | 2376
                | 2379
                | 2380
                | 2383
                | 2725
                | 3128
                | 3268
                | 3269
                | 3306
                | 3389
                | 3478
                | 4369
                | 5060
                | 5061
                | 5222
                | 5432
                | 5671
                | 5672
                | 5900
                | 5938
                | 5985
                | 5986
                | 6379
                | 6443
                | 6667
                | 8000
                | 8008
                | 8080
                | 8081
                | 8088
                | 8443
                | 8888
                | 9000
                | 9092
                | 9200
                | 9300
                | 9418
                | 11211
                | 27017
        )
}

/// Zeek's `TCPAnalyzer::WantConnection` flip decision for the first packet of a connection, sent
/// from `src_port` to `dst_port`: true when the receiver should be the originator.
pub fn flip_first(flags: u8, src_port: u16, dst_port: u16) -> bool {
    if (flags & SYN == 0 || flags & ACK != 0) && likely_server_port(src_port) {
        if likely_server_port(dst_port) {
            // both plausible: flip only if this is not a SYN-ACK (stealth scans) and the
            // destination port is the higher one
            return flags & SYN == 0 && src_port < dst_port;
        }
        return true;
    }
    false
}

/// What the state machine decided for one packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct Step {
    /// Zeek counted a retransmission (`T`) for the sender.
    pub rxmit: bool,
    /// Zeek counted a zero window (`W`) for the sender.
    pub zero_window: bool,
    /// Roles were flipped while processing this packet.
    pub flipped: bool,
}

impl ZConn {
    /// A new connection whose originator is endpoint `orig`; `flipped` when Zeek's port
    /// heuristic chose the receiver of the first packet (history starts with `^`).
    pub fn new(orig: usize, flipped: bool) -> Self {
        ZConn {
            ep: [ZEndpoint::new(), ZEndpoint::new()],
            orig,
            history: if flipped {
                "^".to_string()
            } else {
                String::new()
            },
            history_truncated: false,
        }
    }

    fn add_history(&mut self, code: u8) {
        if self.history.len() < MAX_HISTORY {
            self.history.push(code as char);
        } else {
            self.history_truncated = true;
        }
    }

    fn letter(&self, who: usize, code: u8) -> u8 {
        if who == self.orig {
            code.to_ascii_uppercase()
        } else {
            code.to_ascii_lowercase()
        }
    }

    /// Zeek's `TCP_Endpoint::CheckHistory` (+ `Session::CheckHistory`): adds the letter the first
    /// time the mask is seen for this endpoint; returns true when it had been seen before.
    fn check_history(&mut self, who: usize, mask: u16, code: u8, step: &mut Step) -> bool {
        if (code == b'A' || code == b'D') && self.history == "H" {
            // Began with a SYN-ACK; productive traffic now: flip and pretend we saw the SYN.
            self.flip();
            self.history = "^h".to_string();
            step.flipped = true;
        }
        let c = self.letter(who, code);
        let e = &mut self.ep[who];
        if e.hist_seen & mask == 0 {
            e.hist_seen |= mask;
            self.add_history(c);
            false
        } else {
            true
        }
    }

    fn scaled(&mut self, who: usize, code: u8, rxmt: bool) -> bool {
        let c = self.letter(who, code);
        let e = &mut self.ep[who];
        let (cnt, thr) = if rxmt {
            (&mut e.rxmt_cnt, &mut e.rxmt_thresh)
        } else {
            (&mut e.win0_cnt, &mut e.win0_thresh)
        };
        *cnt += 1;
        if *cnt == *thr {
            match thr.checked_mul(10) {
                Some(n) => *thr = n,
                None => *cnt = 0,
            }
            self.add_history(c);
            true
        } else {
            false
        }
    }

    /// Swaps originator and responder (Zeek's `FlipRoles`), adding `^`.
    pub fn flip(&mut self) {
        self.orig = 1 - self.orig;
        self.add_history(b'^');
    }

    /// One segment from endpoint `who` (Zeek's `TCPSessionAdapter::Process`, state part).
    #[allow(clippy::too_many_arguments)]
    pub fn process(
        &mut self,
        who: usize,
        fl: u8,
        seq: u32,
        ack: u32,
        len: u32,
        window: u16,
    ) -> Step {
        let mut step = Step::default();
        let peer = 1 - who;
        let syn = fl & SYN != 0;
        let fin = fl & FIN != 0;
        let rst = fl & RST != 0;
        let ackf = fl & ACK != 0;

        // get_segment_len
        let mut seg_len = len;
        if syn {
            seg_len += 1;
        }
        if fin {
            seg_len += 1;
        }
        if rst {
            seg_len -= len;
        }
        let past = seq.wrapping_add(seg_len);

        // init_endpoint
        {
            let e = &mut self.ep[who];
            match e.state {
                EpState::Inactive => {
                    let mut last = past;
                    if syn {
                        e.ack_seq = seq;
                        e.start_seq = seq;
                    } else {
                        e.ack_seq = seq.wrapping_sub(1);
                        e.start_seq = seq.wrapping_sub(1);
                        last = seq;
                    }
                    e.last_seq = last;
                }
                EpState::SynSent | EpState::SynAckSent => {
                    if syn && seq != e.start_seq {
                        e.start_seq = seq;
                        e.ack_seq = seq;
                        e.last_seq = past;
                    }
                }
                EpState::Established | EpState::Partial => {
                    if syn {
                        e.start_seq = seq;
                        e.ack_seq = seq;
                        e.last_seq = past;
                    }
                }
                EpState::Reset => {
                    if syn && e.prev_state == EpState::Inactive {
                        e.start_seq = seq;
                        e.ack_seq = seq;
                        e.last_seq = past;
                    }
                }
                EpState::Closed => {}
            }
        }
        let rel_seq = seq.wrapping_sub(self.ep[who].start_seq);

        // update_history
        let bits = syn as u8 + fin as u8 + rst as u8;
        if bits > 1 {
            if fin && rst {
                self.check_history(who, HIST_FIN_RST, b'I', &mut step);
            } else {
                self.check_history(who, HIST_MULTI_FLAG, b'Q', &mut step);
            }
        } else if bits == 1 {
            if syn {
                let code = if ackf { b'H' } else { b'S' };
                if self.check_history(who, HIST_SYN, code, &mut step)
                    && rel_seq != self.ep[who].hist_last_syn
                {
                    let c = self.letter(who, code);
                    self.add_history(c);
                }
                self.ep[who].hist_last_syn = rel_seq;
            }
            if fin {
                let v = rel_seq.wrapping_add(len);
                if self.check_history(who, HIST_FIN, b'F', &mut step)
                    && v != self.ep[who].hist_last_fin
                {
                    let c = self.letter(who, b'F');
                    self.add_history(c);
                }
                self.ep[who].hist_last_fin = v;
            }
            if rst {
                if self.check_history(who, HIST_RST, b'R', &mut step)
                    && rel_seq != self.ep[who].hist_last_rst
                {
                    let c = self.letter(who, b'R');
                    self.add_history(c);
                }
                self.ep[who].hist_last_rst = rel_seq;
            }
        } else if len > 0 {
            self.check_history(who, HIST_DATA, b'D', &mut step);
        } else if ackf {
            self.check_history(who, HIST_ACK, b'A', &mut step);
        }

        // update_window: the zero-window part (0 << scale is 0 whatever the scale)
        if window == 0
            && !rst
            && self.ep[peer].state != EpState::Closed
            && self.ep[who].state != EpState::Reset
        {
            step.zero_window = true;
            self.scaled(who, b'W', false);
        }

        // FIN / RST counters
        if fin {
            self.ep[who].fin_cnt += 1;
        }

        // ACK: init_peer / update_ack_seq
        if ackf {
            let p = &mut self.ep[peer];
            if p.state == EpState::Inactive {
                p.start_seq = ack.wrapping_sub(1);
                p.ack_seq = ack.wrapping_sub(1);
                p.last_seq = ack.wrapping_sub(1);
            } else if !rst {
                let d = seq_delta(ack, p.ack_seq);
                if !(ack == 0 && d > TOO_LARGE_SEQ_DELTA) && d > 0 {
                    p.ack_seq = ack;
                }
            }
        }

        // update_last_seq
        let delta_last = {
            let e = &mut self.ep[who];
            let d = seq_delta(past, e.last_seq);
            if (syn || rst) && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&d) {
            } else if fin && e.last_seq == e.start_seq.wrapping_add(1) {
                e.last_seq = past;
            } else if e.state == EpState::Reset {
            } else if d > 0 {
                e.last_seq = past;
            } else if len > 0 {
                step.rxmit = true;
            }
            d
        };
        if step.rxmit {
            self.scaled(who, b'T', true);
        }

        // UpdateStateMachine
        let mut do_close = false;
        match self.ep[who].state {
            EpState::Inactive => self.inactive(who, fl, seq, len, &mut do_close, &mut step),
            EpState::SynSent | EpState::SynAckSent => {
                if fin {
                    self.ep[who].set_state(EpState::Closed);
                    do_close = true;
                }
                if rst {
                    self.ep[who].set_state(EpState::Reset);
                    do_close = true;
                }
            }
            EpState::Established | EpState::Partial => {
                if syn
                    && self.ep[who].state == EpState::Partial
                    && self.ep[peer].state == EpState::Inactive
                    && !ackf
                {
                    self.ep[who].set_state(EpState::SynSent);
                }
                if fin && !rst {
                    self.ep[who].set_state(EpState::Closed);
                    if self.ep[peer].state == EpState::Reset
                        && self.ep[peer].prev_state == EpState::Closed
                    {
                        self.ep[peer].set_state(EpState::Closed);
                    }
                    do_close = true;
                }
                if rst {
                    self.ep[who].set_state(EpState::Reset);
                    do_close = true;
                }
            }
            EpState::Closed => {
                let _ = delta_last;
                if rst && self.ep[peer].state != EpState::Closed {
                    self.ep[who].set_state(EpState::Reset);
                    if !self.ep[who].did_close {
                        do_close = true;
                    }
                }
            }
            EpState::Reset => {}
        }
        if do_close {
            self.ep[who].did_close = true;
        }
        step
    }

    fn inactive(
        &mut self,
        who: usize,
        fl: u8,
        seq: u32,
        len: u32,
        do_close: &mut bool,
        step: &mut Step,
    ) {
        let peer = 1 - who;
        let is_orig = who == self.orig;
        let syn = fl & SYN != 0;
        let ackf = fl & ACK != 0;
        if syn {
            if is_orig {
                if ackf {
                    self.ep[who].set_state(EpState::SynAckSent);
                } else {
                    self.ep[who].set_state(EpState::SynSent);
                }
            } else {
                if !ackf
                    && self.ep[peer].state == EpState::SynAckSent
                    && seq == self.ep[who].start_seq
                {
                    // SYN/SYN-ACK reversal (two interfaces, interrupt coalescence): flip and
                    // establish.
                    self.flip();
                    step.flipped = true;
                    self.ep[peer].set_state(EpState::Established);
                }
                if self.ep[peer].state == EpState::SynSent {
                    self.ep[peer].set_state(EpState::Established);
                }
                self.ep[who].set_state(EpState::Established);
            }
        }
        if fl & FIN != 0 {
            self.ep[who].set_state(EpState::Closed);
            *do_close = true;
        }
        if fl & RST != 0 {
            self.ep[who].set_state(EpState::Reset);
            *do_close = true;
        }
        if self.ep[who].state == EpState::Inactive {
            let is_orig = who == self.orig;
            if !is_orig && len == 0 && self.ep[self.orig].state == EpState::SynSent {
                // an ACK of the SYN before the SYN-ACK: not a partial connection
            } else if ackf && self.ep[peer].state == EpState::Established {
                self.ep[who].set_state(EpState::Established);
            } else {
                self.ep[who].set_state(EpState::Partial);
            }
        }
    }

    /// Zeek's `conn_state()` for TCP. `sizes_zero`: neither side sent payload.
    pub fn conn_state(&self, sizes_zero: bool) -> &'static str {
        use EpState::*;
        let os = self.ep[self.orig].state;
        let rs = self.ep[1 - self.orig].state;
        let o_inactive = matches!(os, Inactive | Partial);
        let r_inactive = matches!(rs, Inactive | Partial);
        if rs == Reset {
            if os == SynSent || os == SynAckSent || (os == Reset && sizes_zero) {
                "REJ"
            } else if o_inactive {
                "RSTRH"
            } else {
                "RSTR"
            }
        } else if os == Reset {
            if r_inactive {
                if rstos0_history(&self.history) {
                    "RSTOS0"
                } else {
                    "OTH"
                }
            } else {
                "RSTO"
            }
        } else if rs == Closed && os == Closed {
            "SF"
        } else if os == Closed {
            if r_inactive { "SH" } else { "S2" }
        } else if rs == Closed {
            if o_inactive { "SHR" } else { "S3" }
        } else if os == SynSent && rs == Inactive {
            "S0"
        } else if os == Established && rs == Established {
            "S1"
        } else {
            "OTH"
        }
    }

    /// Both endpoints closed with FIN, or one reset: the connection is over.
    pub fn finished(&self) -> Option<&'static str> {
        let a = &self.ep[0];
        let b = &self.ep[1];
        if a.state == EpState::Reset || b.state == EpState::Reset {
            Some("rst")
        } else if a.state == EpState::Closed && b.state == EpState::Closed {
            Some("fin")
        } else {
            None
        }
    }

    /// A client SYN with the same ISN after a rejection: start the handshake over.
    pub fn restart_attempt(&mut self) {
        let o = self.orig;
        self.ep[o].set_state(EpState::SynSent);
        self.ep[o].did_close = false;
        let r = 1 - o;
        self.ep[r].state = EpState::Inactive;
        self.ep[r].prev_state = EpState::Inactive;
        self.ep[r].did_close = false;
    }
}

/// Zeek's `/\^?S[^HAFGIQ]*R.*/` (an anchored, case-sensitive pattern match).
fn rstos0_history(h: &str) -> bool {
    let b = h.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'^') {
        i = 1;
    }
    if b.get(i) != Some(&b'S') {
        return false;
    }
    i += 1;
    while i < b.len() {
        match b[i] {
            b'R' => return true,
            b'H' | b'A' | b'F' | b'G' | b'I' | b'Q' => return false,
            _ => i += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests;

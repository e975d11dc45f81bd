//! A connection driven segment by segment, for the unit tests of the signal modules
//! ([`crate::pmtu`], [`crate::idle`]).

use crate::conn::{FlowState, Seg};
use crate::key::{Endpoint, IpText, Key};
use crate::scan::Ts;
use crate::scan::flags::{ACK, SYN};

/// Client 10.0.0.1:40000 → server 10.0.0.2:80; `c`/`s` the index of each side in the flow.
pub struct Conn {
    pub f: FlowState,
    pub c: usize,
    pub s: usize,
    frame: u64,
    /// Next sequence number of each side (index like `f.half`).
    pub next: [u32; 2],
    /// The window each side advertises from now on (64,000 unless a test sets it).
    pub window: [u16; 2],
}

fn ep(ip: &str, port: u16) -> Endpoint {
    Endpoint {
        ip: IpText::new(ip).unwrap(),
        port,
    }
}

impl Conn {
    /// A handshake at t = 0 (client MSS 1460, server MSS 1460).
    pub fn new() -> Self {
        let (key, client_lo) = Key::of(ep("10.0.0.1", 40000), ep("10.0.0.2", 80));
        let c = if client_lo { 0 } else { 1 };
        let syn = Seg {
            frame: 1,
            flags: SYN,
            seq: 1000,
            window: 64240,
            mss: Some(1460),
            ..Seg::default()
        };
        let mut f = FlowState::new(key, 4, c, &syn);
        f.packet(c, &syn);
        let mut conn = Conn {
            f,
            c,
            s: 1 - c,
            frame: 1,
            next: [0; 2],
            window: [64000; 2],
        };
        conn.next[c] = 1001;
        conn.next[1 - c] = 5001;
        conn.raw(1 - c, 0.001, SYN | ACK, 5000, 0, Some(1460));
        conn.raw(c, 0.002, ACK, 1001, 0, None);
        conn
    }

    fn raw(&mut self, from: usize, t: f64, flags: u8, seq: u32, len: u32, mss: Option<u16>) -> u64 {
        self.frame += 1;
        let s = Seg {
            frame: self.frame,
            ts: Ts {
                ns: (t * 1e9) as i64,
                digits: 6,
            },
            flags,
            seq,
            ack: self.next[1 - from],
            len,
            window: self.window[from],
            mss,
            ..Seg::default()
        };
        self.f.packet(from, &s);
        self.frame
    }

    /// New data of `len` bytes from side `from` at time `t`; returns its frame.
    pub fn data(&mut self, from: usize, t: f64, len: u32) -> u64 {
        let seq = self.next[from];
        self.next[from] = seq.wrapping_add(len);
        self.raw(from, t, ACK, seq, len, None)
    }

    /// The segment at `seq` sent again.
    pub fn again(&mut self, from: usize, t: f64, seq: u32, len: u32) -> u64 {
        self.raw(from, t, ACK, seq, len, None)
    }

    /// A pure ACK from `from` acknowledging everything of the peer up to `upto`.
    pub fn ack(&mut self, from: usize, t: f64, upto: u32) -> u64 {
        let keep = self.next[1 - from];
        self.next[1 - from] = upto;
        let fr = self.raw(from, t, ACK, self.next[from], 0, None);
        self.next[1 - from] = keep;
        fr
    }

    /// A RST from `from`.
    pub fn rst(&mut self, from: usize, t: f64) -> u64 {
        self.raw(from, t, crate::scan::flags::RST, self.next[from], 0, None)
    }
}

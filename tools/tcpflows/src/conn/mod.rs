//! One tracked connection: what it holds (`FlowState`, each side's `Half`), per-direction
//! statistics, RST and ICMP evidence, and Zeek's state and history. Three parts of the
//! per-packet work have their own files: the handshake (SYN attempts, SYN-ACKs, RTTs) in
//! `handshake`, each side's tshark-style sequence analysis (retransmissions, out-of-order,
//! keep-alives, zero windows and probes, a RST's sequence check) in `seq`, and what a side is
//! left waiting for (`stuck`, `window_full`) in `progress`.

mod handshake;
mod progress;
mod seq;

pub use handshake::{Rtts, SynAcks, Syns};

use seq::gt;

use crate::key::{Endpoint, Key};
use crate::scan::Ts;
use crate::scan::flags::{ACK, FIN, RST, SYN};
use crate::tls::{TlsSeg, TlsState};
use crate::zeek::ZConn;

/// Bounds on the per-flow lists (never one entry per packet).
pub const MAX_ATTEMPTS_LISTED: usize = 16;
pub const MAX_PROBES_LISTED: usize = 8;
pub const MAX_ICMP_LISTED: usize = 8;
pub const MAX_RST_LISTED: usize = 16;
/// Retransmissions and keep-alives kept for `stuck` (the last ones).
pub const MAX_STUCK_LISTED: usize = 16;
pub const MAX_WINDOW_FULL_LISTED: usize = 8;

/// Frames and times of the latest events of one kind (the last `MAX_STUCK_LISTED`).
#[derive(Debug, Clone, Default)]
pub struct Recent {
    pub count: u32,
    pub frames: Vec<u64>,
    pub ts: Vec<Ts>,
}

/// What only some connections need, allocated on first use (a retransmission, a keep-alive, a
/// window-full segment) so the flow table of a healthy capture stays small.
#[derive(Debug, Clone, Default)]
pub struct Track {
    /// Retransmissions since the peer last acknowledged new data.
    pub stuck_retrans: Recent,
    /// Keep-alives since the peer's last packet.
    pub stuck_ka: Recent,
    pub wf: Wf,
}

/// Events of one kind: how many there were, and the first `N` of them (the bounded lists of the
/// record: `attempts.frames`, `rst.frames`, `icmp` …).
#[derive(Debug, Clone)]
pub struct FirstN<T, const N: usize> {
    pub count: u32,
    pub items: Vec<T>,
}

impl<T, const N: usize> Default for FirstN<T, N> {
    fn default() -> Self {
        FirstN {
            count: 0,
            items: Vec::new(),
        }
    }
}

impl<T, const N: usize> FirstN<T, N> {
    #[inline]
    pub fn push(&mut self, x: T) {
        self.count += 1;
        if self.items.len() < N {
            self.items.push(x);
        }
    }
}

impl<T: Copy, const N: usize> FirstN<T, N> {
    pub fn first(&self) -> Option<T> {
        self.items.first().copied()
    }
}

/// Window-limited sending by one side (see `WindowFull` in the record).
#[derive(Debug, Clone, Default)]
pub struct Wf {
    /// The segments that filled the peer's window.
    pub segments: FirstN<u64, MAX_WINDOW_FULL_LISTED>,
    pub episodes: u32,
    pub since: Option<Ts>,
    pub waited_ns: i64,
    pub longest_ns: i64,
    pub min_window: u64,
    pub max_window: u64,
}

/// The longest linger a FIN retransmission extends a flow to (Linux's FIN back-off reaches
/// 25.6 s gaps after 7 retransmissions).
pub const MAX_FIN_LINGER_NS: i64 = 60_000_000_000;

/// One TCP segment, as the tracker needs it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Seg {
    pub frame: u64,
    pub ts: Ts,
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    pub len: u32,
    pub window: u16,
    pub wire_len: u32,
    pub ttl: Option<u8>,
    pub ip_id: Option<u32>,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_perm: bool,
    /// The tunnel identity (`crate::tunnel::id`), 0 when the packet came through none.
    pub tun: u64,
    /// A hash of the packet's `tunnel` text (`Tracker::tunnel`).
    pub tun_text: u64,
}

/// Zero windows advertised by one side.
#[derive(Debug, Clone, Default)]
pub struct Zw {
    pub count: u32,
    pub first_frame: u64,
    pub first_ts: Ts,
    pub in_handshake: bool,
    pub handshake_count: u32,
    pub probes: FirstN<u64, MAX_PROBES_LISTED>,
    pub one_byte: u32,
    pub zero_byte: u32,
    pub closed_since: Option<Ts>,
    pub longest_ns: i64,
    pub reopen_frame: Option<u64>,
    pub episodes: u32,
}

/// What one side sent, and the sequence state tshark keeps for it. `Default`: nothing seen yet.
#[derive(Debug, Clone, Default)]
pub struct Half {
    pub packets: u64,
    pub bytes: u64,
    pub wire_bytes: u64,
    pub initial_window: Option<u16>,
    pub wscale: Option<u8>,
    pub mss: Option<u16>,
    pub sack_perm: bool,
    pub syn_seen: bool,
    pub ttl: Option<(u8, u8, u8)>,
    pub first_ip_id: Option<u32>,
    pub last_ip_id: Option<u32>,
    pub isn: Option<u32>,
    pub retransmissions: u32,
    pub out_of_order: u32,
    pub keep_alives: u32,
    pub dup_acks: u32,
    pub fin_frame: Option<u64>,
    pub fin_ts: Option<Ts>,
    /// This side's last packet, last payload, last ACK that acknowledged new data.
    pub last: Option<(u64, Ts)>,
    pub last_data: Option<(u64, Ts)>,
    pub ack_advance: Option<(u64, Ts)>,
    pub track: Option<Box<Track>>,
    /// Non-zero windows this side advertised after the handshake below its own MSS.
    pub small_windows: u32,
    // tshark's tcp_analyze_seq_info
    pub(crate) nextseq: u32,
    pub(crate) nextseq_set: bool,
    nextseq_ts: Ts,
    lastack: u32,
    lastack_ts: Ts,
    dupacknum: u32,
    window: u16,
    window_set: bool,
    /// The last ACK value this side sent with the ACK flag (what it expects next).
    pub(crate) acked: Option<u32>,
    /// This side's last segment was a keep-alive (tshark's `lastsegmentflags` keep-alive bit:
    /// the peer's answer to it is a keep-alive ACK, not a duplicate ACK).
    last_keep_alive: bool,
    /// The first and the highest ACK value it sent (RSTs aside).
    first_ack: Option<u32>,
    max_ack: Option<u32>,
    /// TTL of its last packet other than a RST.
    last_ttl: Option<u8>,
    /// Zero-window state, allocated at the first zero window this side advertises (rare: a
    /// flow without one costs 8 bytes here, not 128).
    pub zw: Option<Box<Zw>>,
    /// Segment sizes that passed and that were lost ([`crate::pmtu`]), from its first payload.
    pub pmtu: Option<Box<crate::pmtu::Sizes>>,
}

/// The first RST seen.
#[derive(Debug, Clone)]
pub struct RstInfo {
    pub from: usize,
    pub frame: u64,
    pub ts: Ts,
    pub ttl: Option<u8>,
    pub ip_id: Option<u32>,
    pub flags: u8,
    pub seq: u32,
    pub ack: Option<u32>,
    pub check: &'static str,
    /// The claimed sender's last non-RST TTL and last IP ID before it, the receiver's last IP ID.
    pub sender_ttl: Option<u8>,
    pub sender_ip_id: Option<u32>,
    pub receiver_ip_id: Option<u32>,
    /// Non-RST packets after it from the claimed sender and from the receiver.
    pub sender_after: u32,
    pub receiver_after: u32,
}

/// An ICMP error quoting the connection.
#[derive(Debug, Clone)]
pub struct IcmpInfo {
    pub from_ip: String,
    pub v6: bool,
    pub icmp_type: u8,
    pub icmp_code: u8,
    pub frame: u64,
    pub ts: Ts,
    pub ttl: Option<u8>,
    /// Which endpoint's packet was quoted (0/1 as in `FlowState::half`).
    pub quoted: usize,
}

/// One tracked connection.
#[derive(Debug, Clone)]
pub struct FlowState {
    pub key: Key,
    pub ip_version: u8,
    pub z: ZConn,
    /// Indexed like the key: 0 = `key.lo`, 1 = `key.hi`.
    pub half: [Half; 2],
    pub first_frame: u64,
    pub last_frame: u64,
    pub first_ts: Ts,
    pub last_ts: Ts,
    pub syn: Syns,
    pub synack: SynAcks,
    pub rtt: Rtts,
    pub established: bool,
    pub rst: Option<RstInfo>,
    /// Every RST of the flow (`rst` is the first's evidence).
    pub rsts: FirstN<u64, MAX_RST_LISTED>,
    pub icmp: FirstN<IcmpInfo, MAX_ICMP_LISTED>,
    /// Set when the connection is over (`fin`, `rst`); the record waits for the linger time.
    pub end: Option<&'static str>,
    pub end_ts: Option<Ts>,
    /// TLS seen on the connection (None until a TLS record or a first plaintext payload).
    pub tls: Option<Box<TlsState>>,
    /// The last FIN each side sent (indexed like `half`), to time FIN retransmissions.
    pub fin_ts: [Option<Ts>; 2],
    /// How long this flow lingers once over, when longer than `--linger`: 2.5 times the longest
    /// gap between a side's FIN and its retransmission (the next one comes after twice the gap,
    /// RTO back-off), at most [`MAX_FIN_LINGER_NS`]. 0 = `--linger`.
    pub linger_ns: i64,
    /// The hash of the first packet's `tunnel` text (`Tracker::tunnel`), for the record.
    pub tun_text: u64,
    // LRU links (slab indices; u32::MAX = none) and which list the flow is on.
    pub prev: u32,
    pub next: u32,
    pub list: crate::track::Lru,
    /// The packets kept for the `ladder` field ([`crate::ladder`]).
    pub ladder: crate::ladder::Ladder,
    /// Connection-setup signals ([`crate::setup`]).
    pub setup: crate::setup::FlowSetup,
    /// The last silence ended by new data ([`crate::idle`]), allocated when there is one.
    pub idle: Option<Box<crate::idle::Idle>>,
    /// A late request or a challenge ACK ([`crate::reuse`]), allocated when one is seen.
    pub reuse: Option<Box<crate::reuse::Reuse>>,
}

impl FlowState {
    /// The endpoint of side `i` (0 = key.lo, 1 = key.hi).
    pub fn ep(&self, i: usize) -> Endpoint {
        if i == 0 { self.key.lo } else { self.key.hi }
    }

    /// A new flow whose first segment `s` goes from `from` (0 = key.lo, 1 = key.hi).
    pub fn new(key: Key, ip_version: u8, from: usize, s: &Seg) -> Self {
        let (src_port, dst_port) = if from == 0 {
            (key.lo.port, key.hi.port)
        } else {
            (key.hi.port, key.lo.port)
        };
        let flip = crate::zeek::flip_first(s.flags, src_port, dst_port);
        let orig = if flip { 1 - from } else { from };
        FlowState {
            key,
            ip_version,
            z: ZConn::new(orig, flip),
            half: Default::default(),
            first_frame: s.frame,
            last_frame: s.frame,
            first_ts: s.ts,
            last_ts: s.ts,
            syn: Syns::default(),
            synack: SynAcks::default(),
            rtt: Rtts::default(),
            established: false,
            rst: None,
            rsts: FirstN::default(),
            icmp: FirstN::default(),
            end: None,
            end_ts: None,
            tls: None,
            fin_ts: [None; 2],
            linger_ns: 0,
            tun_text: s.tun_text,
            prev: u32::MAX,
            next: u32::MAX,
            list: crate::track::Lru::Attempt,
            ladder: crate::ladder::Ladder::default(),
            setup: Default::default(),
            idle: None,
            reuse: None,
        }
    }

    pub fn client(&self) -> usize {
        self.z.orig
    }

    /// True while only SYNs from the client have been seen (an unanswered attempt).
    pub fn is_attempt(&self) -> bool {
        let c = self.z.orig;
        self.half[1 - c].packets == 0 && self.half[c].syn_seen && self.end.is_none()
    }

    /// Whether a pure SYN (no ACK) from `from` with sequence `seq` continues this flow (same
    /// connection: a retransmitted SYN or a retry after a rejection) rather than starting a new
    /// one on the same 4-tuple (port reuse).
    pub fn syn_continues(&self, from: usize, seq: u32) -> bool {
        let h = &self.half[from];
        let same = match h.isn {
            Some(isn) => isn == seq,
            None => {
                let peer = &self.half[1 - from];
                // SYN-ACK seen before its SYN (two capture interfaces), or nothing yet from the
                // SYN's sender on an open flow.
                (peer.syn_seen && peer.acked == Some(seq.wrapping_add(1)))
                    || (h.packets == 0 && self.end.is_none())
            }
        };
        if !same {
            return false;
        }
        // An established connection that is over does not come back with the same ISN.
        !(self.end.is_some() && self.established)
    }

    /// Reopens a flow rejected by RST when the client tries again with the same ISN.
    pub fn restart_if_ended(&mut self) {
        if self.end.is_some() {
            self.end = None;
            self.end_ts = None;
            self.z.restart_attempt();
        }
    }

    /// Adds what segment `s` from `from` carried of TLS (after [`Self::packet`]);
    /// `first_payload`: its sender had sent no payload before.
    pub fn tls_segment(
        &mut self,
        from: usize,
        s: &Seg,
        tls: Option<Box<TlsSeg>>,
        first_payload: bool,
    ) {
        let from_client = from == self.client();
        if let Some(seg) = tls {
            // plaintext matters only as a side's first payload
            if seg.text.is_none() || first_payload {
                self.tls.get_or_insert_with(Default::default).segment(
                    *seg,
                    from_client,
                    first_payload,
                    s.frame,
                    s.ts,
                );
            }
        }
        if s.flags & (FIN | RST) != 0 {
            if let Some(t) = &mut self.tls {
                t.end(s.flags & RST != 0, from_client, s.frame, s.ts);
            }
        }
    }

    /// Updates the flow with segment `s` sent by `from`.
    pub fn packet(&mut self, from: usize, s: &Seg) {
        let to = 1 - from;
        let prev = (self.last_frame, self.last_ts);
        if s.frame < self.first_frame {
            self.first_frame = s.frame;
        }
        if s.frame > self.last_frame {
            self.last_frame = s.frame;
        }
        if s.ts < self.first_ts {
            self.first_ts = s.ts;
        }
        if s.ts > self.last_ts {
            self.last_ts = s.ts;
        }
        let syn = s.flags & SYN != 0;
        let ackf = s.flags & ACK != 0;
        let fin = s.flags & FIN != 0;
        let rst = s.flags & RST != 0;
        if fin && !syn {
            if let Some(prev) = self.fin_ts[from] {
                let gap = s.ts.ns - prev.ns;
                if gap > 0 {
                    let want = gap.saturating_mul(5) / 2;
                    self.linger_ns = self.linger_ns.max(want.min(MAX_FIN_LINGER_NS));
                }
            }
            self.fin_ts[from] = Some(s.ts);
        }

        let retrans_before = self.half[from].retransmissions;
        let ka_before = self.half[from].keep_alives;
        let acked_before = self.half[from].acked;
        // What the RST's context needs, before this packet updates the sides.
        let (pre_ttl, pre_id, peer_id) = (
            self.half[from].last_ttl,
            self.half[from].last_ip_id,
            self.half[to].last_ip_id,
        );
        if let (Some(r), false) = (self.rst.as_mut(), rst) {
            if r.from == from {
                r.sender_after = r.sender_after.saturating_add(1);
                // A RST before anything else from its sender (a forged refusal before the real
                // SYN-ACK): the sender's own TTL is that of what it sent next.
                if r.sender_ttl.is_none() {
                    r.sender_ttl = s.ttl;
                }
            } else {
                r.receiver_after = r.receiver_after.saturating_add(1);
            }
        }

        crate::reuse::before(self, from, s);
        self.ladder.push(from, s);
        self.analyze(from, s);
        self.zero_window(from, s);

        // Zeek: state and history
        self.z.process(from, s.flags, s.seq, s.ack, s.len, s.window);

        self.handshake(from, s);

        // per-side statistics
        let h = &mut self.half[from];
        h.packets += 1;
        h.bytes += s.len as u64;
        h.wire_bytes += s.wire_len as u64;
        if let Some(t) = s.ttl {
            h.ttl = Some(match h.ttl {
                None => (t, t, t),
                Some((f, lo, hi)) => (f, lo.min(t), hi.max(t)),
            });
        }
        if s.ip_id.is_some() {
            if h.first_ip_id.is_none() {
                h.first_ip_id = s.ip_id;
            }
            h.last_ip_id = s.ip_id;
        }
        if syn {
            if !h.syn_seen || h.isn != Some(s.seq) {
                h.initial_window = Some(s.window);
                h.wscale = s.wscale;
                h.mss = s.mss;
                h.sack_perm = s.sack_perm;
            }
            h.syn_seen = true;
            h.isn = Some(s.seq);
        }
        if fin && h.fin_frame.is_none() {
            h.fin_frame = Some(s.frame);
            h.fin_ts = Some(s.ts);
        }
        if !rst && s.ttl.is_some() {
            h.last_ttl = s.ttl;
        }
        if ackf && !rst {
            h.acked = Some(s.ack);
            if h.first_ack.is_none() {
                h.first_ack = Some(s.ack);
            }
            if h.max_ack.is_none_or(|m| gt(s.ack, m)) {
                h.max_ack = Some(s.ack);
            }
        }

        self.progress(from, s, retrans_before, ka_before, acked_before);
        let retrans = self.half[from].retransmissions > retrans_before;
        crate::pmtu::packet(self, from, s, retrans, acked_before);
        let ka = self.half[from].keep_alives > ka_before;
        crate::idle::packet(self, from, s, prev, !retrans && !ka);

        if rst {
            self.rsts.push(s.frame);
            if self.rst.is_none() {
                let check = self.rst_check(from, s);
                self.rst = Some(RstInfo {
                    from,
                    frame: s.frame,
                    ts: s.ts,
                    ttl: s.ttl,
                    ip_id: s.ip_id,
                    flags: s.flags,
                    seq: s.seq,
                    ack: ackf.then_some(s.ack),
                    check,
                    sender_ttl: pre_ttl,
                    sender_ip_id: pre_id,
                    receiver_ip_id: peer_id,
                    sender_after: 0,
                    receiver_after: 0,
                });
            }
        }

        if self.end.is_none() {
            if let Some(e) = self.z.finished() {
                self.end = Some(e);
                self.end_ts = Some(s.ts);
            }
        }
    }

    /// Attaches an ICMP error quoting a packet sent by `quoted`.
    pub fn add_icmp(&mut self, info: IcmpInfo) {
        self.icmp.push(info);
    }
}

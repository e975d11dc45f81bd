//! The flow table: finds the connection of each segment, decides when a connection is over,
//! and writes its record.
//!
//! Flows live in a slab indexed by a hash map on the direction-free 4-tuple. Every flow is on one
//! of three LRU lists, each with one timeout, so the oldest flow of a list is always at its head
//! and expiry only ever looks at three heads:
//! - `attempt`: only client SYNs so far (`--attempt-timeout`);
//! - `active`: anything else still open (`--idle-timeout`);
//! - `closed`: over (FIN both ways, or RST) and lingering (`--linger`) to collect the last ACK,
//!   retransmitted FINs/RSTs and a client's retry of a refused SYN (same ISN).

use std::io::{self, Write};

use tcpwhy_common::jsonl::JsonlWriter;

use crate::conn::{FlowState, IcmpInfo, Seg};
use crate::key::{Endpoint, FxHashMap, Key};
use crate::output;
use crate::scan::Ts;
use crate::scan::flags::{ACK, SYN};
use crate::tls::TlsSeg;

const NONE: u32 = u32::MAX;

/// The three LRU lists of the flow table: SYN-only attempts, open connections, closed flows
/// lingering for late packets. Each has its own timeout and eviction order (`make_room`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lru {
    #[default]
    Attempt,
    Active,
    Closed,
}

impl Lru {
    const ALL: [Lru; 3] = [Lru::Attempt, Lru::Active, Lru::Closed];
}

/// Timeouts and limits (nanoseconds where times).
#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub idle_timeout: i64,
    pub attempt_timeout: i64,
    pub linger: i64,
    pub max_flows: usize,
    /// Most SYN-only flows (the `attempt` list) at once; they are evicted first.
    pub max_attempts: usize,
    pub reorder_window: i64,
    /// Which flows carry the `ladder` field.
    pub ladder: crate::ladder::Which,
}

#[derive(Debug, Clone, Copy, Default)]
struct List {
    head: u32,
    tail: u32,
    len: usize,
}

/// Counters reported on stderr at the end.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub flows: u64,
    pub evicted: u64,
    pub segments: u64,
}

pub struct Tracker {
    cfg: Config,
    map: FxHashMap<Key, u32>,
    slab: Vec<Option<FlowState>>,
    free: Vec<u32>,
    lists: [List; 3],
    clock: Option<Ts>,
    pub stats: Stats,
    /// `tunnel` texts seen (by a hash of the text): the tunnel identity, and the text for the
    /// flow records (at most `MAX_TUNNEL_TEXTS`; each text is parsed once).
    tunnel_texts: FxHashMap<u64, (u64, Box<str>)>,
    /// What each listener answered ([`crate::setup`]).
    listeners: crate::setup::Listeners,
}

/// Most distinct `tunnel` texts kept (one per tunnel and direction of a flow, about). Past it,
/// a text is parsed for each packet and a flow record may lack `tunnel`.
const MAX_TUNNEL_TEXTS: usize = 65_536;

impl Tracker {
    pub fn new(cfg: Config) -> Self {
        Tracker {
            cfg,
            map: FxHashMap::default(),
            slab: Vec::new(),
            free: Vec::new(),
            lists: [List {
                head: NONE,
                tail: NONE,
                len: 0,
            }; 3],
            clock: None,
            stats: Stats::default(),
            tunnel_texts: FxHashMap::default(),
            listeners: Default::default(),
        }
    }

    /// The tunnel identity of a packet's `tunnel` text, and the text's hash (which the flow
    /// keeps to write the `tunnel` of its first packet).
    pub fn tunnel(&mut self, text: &str) -> (u64, u64) {
        let mut h = crate::key::FxHasher::default();
        std::hash::Hasher::write(&mut h, text.as_bytes());
        let th = std::hash::Hasher::finish(&h);
        if let Some((id, _)) = self.tunnel_texts.get(&th) {
            return (*id, th);
        }
        let id = crate::tunnel::id(text);
        if self.tunnel_texts.len() < MAX_TUNNEL_TEXTS {
            self.tunnel_texts.insert(th, (id, text.into()));
        }
        (id, th)
    }

    /// Open flows (including closed ones still lingering).
    pub fn open_flows(&self) -> usize {
        self.map.len()
    }

    fn flow(&self, i: u32) -> &FlowState {
        self.slab[i as usize].as_ref().expect("live slab entry")
    }

    fn flow_mut(&mut self, i: u32) -> &mut FlowState {
        self.slab[i as usize].as_mut().expect("live slab entry")
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next, l) = {
            let f = self.flow(i);
            (f.prev, f.next, f.list as usize)
        };
        if prev == NONE {
            self.lists[l].head = next;
        } else {
            self.flow_mut(prev).next = next;
        }
        if next == NONE {
            self.lists[l].tail = prev;
        } else {
            self.flow_mut(next).prev = prev;
        }
        self.lists[l].len -= 1;
    }

    fn push_tail(&mut self, i: u32, list: Lru) {
        let l = list as usize;
        let tail = self.lists[l].tail;
        {
            let f = self.flow_mut(i);
            f.prev = tail;
            f.next = NONE;
            f.list = list;
        }
        if tail == NONE {
            self.lists[l].head = i;
        } else {
            self.flow_mut(tail).next = i;
        }
        self.lists[l].tail = i;
        self.lists[l].len += 1;
    }

    fn list_for(f: &FlowState) -> Lru {
        if f.end.is_some() {
            Lru::Closed
        } else if f.is_attempt() {
            Lru::Attempt
        } else {
            Lru::Active
        }
    }

    fn timeout(&self, l: Lru) -> i64 {
        match l {
            Lru::Attempt => self.cfg.attempt_timeout,
            Lru::Active => self.cfg.idle_timeout,
            Lru::Closed => self.cfg.linger,
        }
    }

    /// Removes flow `i` and writes its record.
    fn emit<W: Write>(&mut self, i: u32, end: &str, out: &mut JsonlWriter<W>) -> io::Result<()> {
        self.unlink(i);
        let f = self.slab[i as usize].take().expect("live slab entry");
        if self.map.get(&f.key) == Some(&i) {
            self.map.remove(&f.key);
        }
        self.free.push(i);
        let mut rec = output::record(&f, end, self.cfg.ladder.wants(&f));
        if f.key.tun != 0 {
            if let Some((_, t)) = self.tunnel_texts.get(&f.tun_text) {
                rec.tunnel = tcpwhy_common::records::Raw::new(t.to_string()).ok();
            }
        }
        out.write_record(&rec)
    }

    fn end_of(&self, i: u32, l: Lru) -> &'static str {
        if l == Lru::Closed {
            self.flow(i).end.unwrap_or("timeout")
        } else {
            "timeout"
        }
    }

    /// Writes every flow idle for longer than its list's timeout at time `now`, oldest deadline
    /// first.
    fn expire<W: Write>(&mut self, now: Ts, out: &mut JsonlWriter<W>) -> io::Result<()> {
        let now = now.ns;
        loop {
            let mut best: Option<(i64, u64, Lru)> = None;
            for l in Lru::ALL {
                let h = self.lists[l as usize].head;
                if h == NONE {
                    continue;
                }
                let f = self.flow(h);
                let mut t = self.timeout(l);
                if l == Lru::Closed {
                    t = t.max(f.linger_ns);
                }
                let deadline = f.last_ts.ns.saturating_add(t);
                if deadline < now {
                    let cand = (deadline, f.first_frame, l);
                    if best.is_none_or(|b| (cand.0, cand.1) < (b.0, b.1)) {
                        best = Some(cand);
                    }
                }
            }
            let Some((_, _, l)) = best else {
                return Ok(());
            };
            let h = self.lists[l as usize].head;
            let end = self.end_of(h, l);
            self.emit(h, end, out)?;
        }
    }

    /// Makes room for one more flow under `--max-flows` (and, when the new flow is a SYN-only
    /// attempt, under `--max-attempts`). What goes first: a lingering closed flow (its record is
    /// complete anyway), then the least recently active SYN-only attempt (a SYN flood evicts its
    /// own half-open flows, never the established connections), then the least recently active
    /// open connection. Evicted flows are written at once with `"end":"evicted"`.
    fn make_room<W: Write>(&mut self, attempt: bool, out: &mut JsonlWriter<W>) -> io::Result<()> {
        if attempt {
            while self.lists[Lru::Attempt as usize].len >= self.cfg.max_attempts.max(1) {
                let h = self.lists[Lru::Attempt as usize].head;
                self.evict(h, out)?;
            }
        }
        while self.map.len() >= self.cfg.max_flows.max(1) {
            let c = self.lists[Lru::Closed as usize].head;
            if c != NONE {
                let end = self.end_of(c, Lru::Closed);
                self.emit(c, end, out)?;
                continue;
            }
            let h = match self.lists[Lru::Attempt as usize].head {
                NONE => self.lists[Lru::Active as usize].head,
                h => h,
            };
            if h == NONE {
                break;
            }
            self.evict(h, out)?;
        }
        Ok(())
    }

    fn evict<W: Write>(&mut self, i: u32, out: &mut JsonlWriter<W>) -> io::Result<()> {
        if self.stats.evicted == 0 {
            tcpwhy_common::cli::warn(format!(
                "more than {} open connections or {} unanswered SYN-only attempts: evicting the \
                 least recently active ones, attempts first (their records say \
                 \"end\":\"evicted\"; raise --max-flows or --max-attempts to keep them)",
                self.cfg.max_flows, self.cfg.max_attempts
            ));
        }
        self.stats.evicted += 1;
        self.emit(i, "evicted", out)
    }

    fn insert(&mut self, f: FlowState) -> u32 {
        let key = f.key;
        let i = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some(f);
                i
            }
            None => {
                if self.slab.len() == self.slab.capacity() {
                    // Grow by doubling, but never past --max-flows: a full table holds no
                    // unused slots (1,000 bytes each).
                    let room = self.cfg.max_flows.max(1).saturating_sub(self.slab.len());
                    self.slab
                        .reserve_exact(self.slab.len().max(64).min(room.max(1)));
                }
                self.slab.push(Some(f));
                (self.slab.len() - 1) as u32
            }
        };
        self.map.insert(key, i);
        self.stats.flows += 1;
        i
    }

    /// The oldest `last_ts` of the closed connections still lingering (their records, final, are
    /// written when the linger ends): a live `tick` passed on is never later than it.
    pub fn oldest_lingering(&self) -> Option<Ts> {
        let h = self.lists[Lru::Closed as usize].head;
        (h != NONE).then(|| self.flow(h).last_ts)
    }

    /// Advances the clock to `ts` and writes the flows that timed out.
    pub fn advance<W: Write>(&mut self, ts: Ts, out: &mut JsonlWriter<W>) -> io::Result<()> {
        let now = match self.clock {
            Some(c) if c >= ts => return Ok(()),
            _ => ts,
        };
        self.clock = Some(now);
        self.expire(now, out)
    }

    /// One TCP segment from `src` to `dst`.
    pub fn segment<W: Write>(
        &mut self,
        src: Endpoint,
        dst: Endpoint,
        ip_version: u8,
        s: &Seg,
        tls: Option<Box<TlsSeg>>,
        out: &mut JsonlWriter<W>,
    ) -> io::Result<()> {
        self.stats.segments += 1;
        self.advance(s.ts, out)?;
        let (mut key, src_is_lo) = Key::of(src, dst);
        key.tun = s.tun;
        let from = if src_is_lo { 0 } else { 1 };
        let pure_syn = s.flags & (SYN | ACK) == SYN;

        let mut idx = self.map.get(&key).copied();
        if let Some(i) = idx {
            let f = self.flow(i);
            let new_conn = if pure_syn {
                !f.syn_continues(from, s.seq)
            } else {
                // Anything but a SYN after a finished, lingering connection is its tail.
                false
            };
            if new_conn {
                let end = self.flow(i).end.unwrap_or("reuse");
                self.emit(i, end, out)?;
                idx = None;
            } else if pure_syn {
                self.flow_mut(i).restart_if_ended();
            }
        }
        let i = match idx {
            Some(i) => {
                self.unlink(i);
                i
            }
            None => {
                self.make_room(pure_syn, out)?;
                self.insert(FlowState::new(key, ip_version, from, s))
            }
        };
        let f = self.slab[i as usize].as_mut().expect("live slab entry");
        let first_payload = s.len > 0 && f.half[from].bytes == 0;
        f.packet(from, s);
        crate::setup::after_packet(&mut self.listeners, f, from, s);
        f.tls_segment(from, s, tls, first_payload);
        let l = Self::list_for(f);
        self.push_tail(i, l);
        Ok(())
    }

    /// Whether the tracked connection `src` -> `dst` already has payload from `src` (then a
    /// plaintext segment from it cannot be its first payload: `tls::parse_seg` is skipped).
    pub fn has_sent_payload(&self, src: Endpoint, dst: Endpoint) -> bool {
        let (key, src_is_lo) = Key::of(src, dst);
        self.map
            .get(&key)
            .is_some_and(|&i| self.flow(i).half[if src_is_lo { 0 } else { 1 }].bytes > 0)
    }

    /// An ICMP error quoting a TCP segment from `q_src` to `q_dst`.
    pub fn icmp(&mut self, q_src: Endpoint, q_dst: Endpoint, tun: u64, mut info: IcmpInfo) {
        let (mut key, src_is_lo) = Key::of(q_src, q_dst);
        key.tun = tun;
        if let Some(&i) = self.map.get(&key) {
            info.quoted = if src_is_lo { 0 } else { 1 };
            self.flow_mut(i).add_icmp(info);
        }
    }

    /// End of input: writes every remaining flow, in order of first frame.
    pub fn finish<W: Write>(&mut self, out: &mut JsonlWriter<W>) -> io::Result<()> {
        let mut live: Vec<(u64, u32)> = self
            .slab
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.as_ref().map(|f| (f.first_frame, i as u32)))
            .collect();
        live.sort_unstable();
        for (_, i) in live {
            let end = self.flow(i).end.unwrap_or("capture_end");
            self.emit(i, end, out)?;
        }
        Ok(())
    }
}

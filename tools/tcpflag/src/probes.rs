//! Scans and SYN floods: patterns across many flows, each one finding instead of one per
//! connection (docs/rules.md, `port_scan` and `syn_flood`).
//!
//! A *probe* is a connection attempt that carried no data from the client: refused, unanswered,
//! unreachable, half-open (SYN-ACK, then the client's RST or nothing), or connected and closed
//! without a byte. Probes are held here for `window` seconds of capture time after their record
//! arrives, counted per (source, target host) — distinct ports —, per (source, port) — distinct
//! hosts — and per target (host, port) — single unanswered SYNs. When a count reaches its
//! threshold, the held probes of that key and every later one within the window join one
//! aggregate (a scan or a flood), whose finding is written when no probe came for `window`
//! seconds (or at the end of the input); the per-connection findings they would have had
//! (`refused`, `syn_timeout`, `no_response`…) are folded into it. Probes that joined nothing are
//! released to the per-flow rules unchanged.
//!
//! Memory is bounded: at most [`MAX_HELD`] probes are held (the oldest are released first) and
//! [`MAX_AGGREGATES`] aggregates are open; each keeps counts and at most [`MAX_LISTED`] frames.

use std::collections::{HashMap, HashSet, VecDeque};

use tcpwhy_common::records::Finding;
use tcpwhy_common::records::flow::Flow;

use crate::rules;

/// Seconds after its last SYN that tcpflows writes an unanswered attempt (its default
/// `--attempt-timeout`): a scan stays open that long, so its unanswered probes (filtered ports),
/// which arrive that late, still join it.
pub const LATE: f64 = 60.0;
/// Probes held at once.
pub const MAX_HELD: usize = 50_000;
/// Open aggregates at once.
pub const MAX_AGGREGATES: usize = 10_000;
/// Frames and uids listed per aggregate.
pub const MAX_LISTED: usize = 32;
/// Distinct source addresses counted per flood (beyond it: "at least").
pub const MAX_SOURCES: usize = 65_536;

/// Thresholds (command-line flags; defaults in `crate::Args`).
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    /// Seconds a probe is held, and the longest gap within one scan or flood.
    pub window: f64,
    /// Distinct ports of one host (or hosts on one port) probed by one source for a port scan.
    pub scan_min: usize,
    /// Single unanswered SYNs to one host and port for a SYN flood...
    pub flood_min: usize,
    /// ...arriving at this many SYNs/s or more.
    pub flood_rate: f64,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            window: 10.0,
            scan_min: 20,
            flood_min: 100,
            flood_rate: 100.0,
        }
    }
}

/// What a probe came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// RST/ACK answering the SYN.
    Refused,
    /// No answer at all.
    Unanswered,
    /// An ICMP error answered it.
    Unreachable,
    /// SYN-ACK, then the client reset (a SYN scan) or never answered.
    HalfOpen,
    /// Established, closed without data from the client (a connect scan).
    Connected,
}

/// The probe a flow is, if it is one.
pub fn probe(f: &Flow) -> Option<Outcome> {
    if f.midstream || f.client.bytes > 0 || f.attempts.syn_count == 0 {
        return None;
    }
    Some(if rules::is_refused(f) {
        Outcome::Refused
    } else if f.established {
        Outcome::Connected
    } else if f.synack_frame.is_some() {
        Outcome::HalfOpen
    } else if f.icmp_count > 0 {
        Outcome::Unreachable
    } else if f.server.packets == 0 {
        Outcome::Unanswered
    } else {
        return None;
    })
}

/// A flood candidate: one SYN, never retried, never completed (spoofed or raw SYNs; real stacks
/// retry theirs).
fn flood_candidate(f: &Flow, o: Outcome) -> bool {
    f.attempts.syn_count == 1
        && match o {
            Outcome::Unanswered => true,
            // SYN-RECV: the server answered, nobody acknowledged nor reset.
            Outcome::HalfOpen => f.rst.as_ref().is_none_or(|r| r.from != "client"),
            _ => false,
        }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// (source, target host): distinct ports.
    Scan(String, String),
    /// (source, port): distinct hosts.
    Sweep(String, u16),
    /// (target host, port): single SYNs.
    Flood(String, u16),
}

struct Held {
    f: Flow,
    frames: Option<Vec<u64>>,
    outcome: Outcome,
    arrived: f64,
}

/// One scan or flood.
#[derive(Debug, Clone)]
pub struct Aggregate {
    pub key: Key,
    pub first_ts: f64,
    pub last_ts: f64,
    /// The latest first SYN: `last_syn - first_ts` is how long the probing lasted.
    pub last_syn: f64,
    /// Input time (the engine's clock) when a probe last joined: records of unanswered attempts
    /// arrive a timeout after their SYN, so the end of a scan or flood is judged on arrivals.
    touched: f64,
    pub probes: u64,
    pub outcomes: HashMap<Outcome, u64>,
    /// Ports (scan) or hosts (sweep) probed, or sources (flood).
    pub ports: HashSet<u16>,
    pub hosts: HashSet<String>,
    pub sources: HashSet<String>,
    /// Ports that answered with a SYN-ACK (scans).
    pub open: HashSet<u16>,
    /// Probes whose SYN came with the scanner's reset after the SYN-ACK (`nmap -sS`).
    pub scanner_resets: u64,
    pub frames: Vec<u64>,
    pub uids: Vec<String>,
    /// SYNs per second: the busiest second.
    pub peak: u64,
    bucket: (i64, u64),
    /// The source and target ports/hosts of the first probe (for the finding's endpoints).
    pub client_ip: String,
    pub server_ip: Option<String>,
    pub server_port: Option<u16>,
}

impl Aggregate {
    fn new(key: Key, f: &Flow) -> Self {
        let (client_ip, server_ip, server_port) = match &key {
            Key::Scan(s, d) => (s.clone(), Some(d.clone()), None),
            Key::Sweep(s, p) => (s.clone(), None, Some(*p)),
            Key::Flood(d, p) => (String::new(), Some(d.clone()), Some(*p)),
        };
        Aggregate {
            key,
            first_ts: f.first_ts,
            last_ts: f.last_ts,
            last_syn: f.first_ts,
            touched: f64::MIN,
            probes: 0,
            outcomes: HashMap::new(),
            ports: HashSet::new(),
            hosts: HashSet::new(),
            sources: HashSet::new(),
            open: HashSet::new(),
            scanner_resets: 0,
            frames: vec![],
            uids: vec![],
            peak: 0,
            bucket: (i64::MIN, 0),
            client_ip,
            server_ip,
            server_port,
        }
    }

    fn add(&mut self, f: &Flow, o: Outcome) {
        self.probes += 1;
        *self.outcomes.entry(o).or_default() += 1;
        self.first_ts = self.first_ts.min(f.first_ts);
        self.last_ts = self.last_ts.max(f.last_ts);
        self.last_syn = self.last_syn.max(f.first_ts);
        match &self.key {
            Key::Scan(..) => {
                self.ports.insert(f.server_port);
            }
            Key::Sweep(..) => {
                if self.hosts.len() < MAX_SOURCES {
                    self.hosts.insert(f.server_ip.clone());
                }
            }
            Key::Flood(..) => {
                if self.sources.len() < MAX_SOURCES {
                    self.sources.insert(f.client_ip.clone());
                }
            }
        }
        if matches!(o, Outcome::HalfOpen | Outcome::Connected) {
            self.open.insert(f.server_port);
            if f.rst.as_ref().is_some_and(|r| r.from == "client") && !f.established {
                self.scanner_resets += 1;
            }
        }
        if self.frames.len() < MAX_LISTED {
            self.frames.push(f.first_frame);
        }
        if self.uids.len() < MAX_LISTED {
            self.uids.push(f.uid.clone());
        }
        let sec = f.first_ts.floor() as i64;
        if self.bucket.0 == sec {
            self.bucket.1 += 1;
        } else if sec > self.bucket.0 {
            self.bucket = (sec, 1);
        }
        self.peak = self.peak.max(self.bucket.1);
    }

    /// Outcome count.
    pub fn n(&self, o: Outcome) -> u64 {
        self.outcomes.get(&o).copied().unwrap_or(0)
    }
}

/// The held probes of one key.
#[derive(Debug, Default)]
struct Count {
    /// Distinct ports / hosts / (source, port) pairs, with multiplicity.
    items: HashMap<String, u32>,
    /// Source addresses, with multiplicity.
    sources: HashMap<String, u32>,
    all: u64,
    failed: u64,
    /// First SYN times of the probes counted (bounds).
    lo: f64,
    hi: f64,
}

fn dec(m: &mut HashMap<String, u32>, k: &str) {
    if let Some(c) = m.get_mut(k) {
        *c -= 1;
        if *c == 0 {
            m.remove(k);
        }
    }
}

/// The holding stage in front of the per-flow rules.
pub struct Probes {
    cfg: ProbeConfig,
    held: VecDeque<Option<Held>>,
    live: usize,
    /// Per key: distinct ports / hosts / (source, port) pairs of the held probes.
    counts: HashMap<Key, Count>,
    active: HashMap<Key, Aggregate>,
    /// Held probes per connection (client address and port, server address and port): a
    /// refused attempt waiting for its retries is not written while a later retry is held here.
    conns: HashMap<(String, u16, String, u16), u32>,
}

impl Probes {
    pub fn new(cfg: ProbeConfig) -> Self {
        Probes {
            cfg,
            held: VecDeque::new(),
            live: 0,
            counts: HashMap::new(),
            active: HashMap::new(),
            conns: HashMap::new(),
        }
    }

    fn keys(f: &Flow, o: Outcome) -> Vec<(Key, String)> {
        let mut v = vec![
            (
                Key::Scan(f.client_ip.clone(), f.server_ip.clone()),
                f.server_port.to_string(),
            ),
            (
                Key::Sweep(f.client_ip.clone(), f.server_port),
                f.server_ip.clone(),
            ),
        ];
        if flood_candidate(f, o) {
            v.push((
                Key::Flood(f.server_ip.clone(), f.server_port),
                format!("{}:{}", f.client_ip, f.client_port),
            ));
        }
        v
    }

    /// True when a probe of this connection (client address and port, server address and
    /// port) is held.
    pub fn holds(&self, conn: &(String, u16, String, u16)) -> bool {
        self.conns.contains_key(conn)
    }

    fn count(&mut self, f: &Flow, o: Outcome, add: bool) {
        let conn = (
            f.client_ip.clone(),
            f.client_port,
            f.server_ip.clone(),
            f.server_port,
        );
        if add {
            *self.conns.entry(conn).or_default() += 1;
        } else if let Some(n) = self.conns.get_mut(&conn) {
            *n -= 1;
            if *n == 0 {
                self.conns.remove(&conn);
            }
        }
        for (k, item) in Self::keys(f, o) {
            let c = self.counts.entry(k.clone()).or_default();
            let failed = u64::from(o != Outcome::Connected);
            if add {
                *c.items.entry(item).or_default() += 1;
                *c.sources.entry(f.client_ip.clone()).or_default() += 1;
                c.all += 1;
                c.failed += failed;
                c.lo = if c.all == 1 {
                    f.first_ts
                } else {
                    c.lo.min(f.first_ts)
                };
                c.hi = if c.all == 1 {
                    f.first_ts
                } else {
                    c.hi.max(f.first_ts)
                };
            } else {
                dec(&mut c.items, &item);
                dec(&mut c.sources, &f.client_ip);
                c.all = c.all.saturating_sub(1);
                c.failed = c.failed.saturating_sub(failed);
                if c.items.is_empty() {
                    self.counts.remove(&k);
                }
            }
        }
    }

    /// Offers a flow. `Some` gives it back (not a probe, or held nowhere); `None`: held or
    /// absorbed. Findings of aggregates that closed, and flows released, go to `out`/`released`.
    pub fn offer(
        &mut self,
        f: Flow,
        frames: Option<Vec<u64>>,
        now: f64,
        out: &mut Vec<Finding>,
        released: &mut Vec<(Flow, Option<Vec<u64>>)>,
    ) -> Option<(Flow, Option<Vec<u64>>)> {
        let Some(o) = probe(&f) else {
            return Some((f, frames));
        };
        // An open aggregate takes it (a scan before a sweep; a flood only its candidates).
        for (k, _) in Self::keys(&f, o) {
            if let Some(a) = self.active.get_mut(&k) {
                if f.first_ts <= a.last_ts + self.cfg.window {
                    a.add(&f, o);
                    a.touched = now;
                    return None;
                }
                let a = self.active.remove(&k).expect("present");
                out.extend(self.finding(&a));
            }
        }
        self.count(&f, o, true);
        let keys = Self::keys(&f, o);
        self.held.push_back(Some(Held {
            f,
            frames,
            outcome: o,
            arrived: now,
        }));
        self.live += 1;
        for (k, _) in keys {
            if self.reached(&k) {
                self.open(k, now, out);
                break;
            }
        }
        while self.live > MAX_HELD {
            self.release_front(released);
        }
        None
    }

    fn reached(&self, k: &Key) -> bool {
        let Some(c) = self.counts.get(k) else {
            return false;
        };
        match k {
            // Enough distinct ports (hosts), and most of the probes failed.
            Key::Scan(..) | Key::Sweep(..) => {
                c.items.len() >= self.cfg.scan_min && c.failed * 2 > c.all
            }
            Key::Flood(..) => {
                // Enough, and fast: real clients that lose their SYNs retry them, and a capture
                // that ends early leaves single SYNs of many clients, but not 100 a second. The
                // span is that of the probes held since the count began (an upper bound).
                if c.items.len() < self.cfg.flood_min {
                    return false;
                }
                let span = (c.hi - c.lo).max(1e-3);
                c.items.len() as f64 / span >= self.cfg.flood_rate
            }
        }
    }

    /// A key reached its threshold: its held probes form an aggregate.
    fn open(&mut self, k: Key, now: f64, out: &mut Vec<Finding>) {
        if self.active.len() >= MAX_AGGREGATES {
            if let Some(oldest) = self
                .active
                .iter()
                .min_by(|a, b| a.1.last_ts.total_cmp(&b.1.last_ts))
                .map(|(k, _)| k.clone())
            {
                let a = self.active.remove(&oldest).expect("present");
                out.extend(self.finding(&a));
            }
        }
        let mut agg: Option<Aggregate> = None;
        let mut taken = vec![];
        for slot in &mut self.held {
            let hit = slot
                .as_ref()
                .is_some_and(|h| Self::keys(&h.f, h.outcome).iter().any(|(x, _)| *x == k));
            if hit {
                let h = slot.take().expect("present");
                let a = agg.get_or_insert_with(|| Aggregate::new(k.clone(), &h.f));
                a.add(&h.f, h.outcome);
                taken.push(h);
            }
        }
        for h in &taken {
            self.count(&h.f, h.outcome, false);
        }
        self.live -= taken.len();
        if let Some(mut a) = agg {
            a.touched = now;
            self.active.insert(k, a);
        }
        while matches!(self.held.front(), Some(None)) {
            self.held.pop_front();
        }
    }

    fn release_front(&mut self, released: &mut Vec<(Flow, Option<Vec<u64>>)>) {
        while let Some(slot) = self.held.pop_front() {
            if let Some(h) = slot {
                self.count(&h.f, h.outcome, false);
                self.live -= 1;
                released.push((h.f, h.frames));
                return;
            }
        }
    }

    /// Time passed: probes held longer than the window are released, aggregates with no probe
    /// for a window are written.
    pub fn due(
        &mut self,
        now: f64,
        out: &mut Vec<Finding>,
        released: &mut Vec<(Flow, Option<Vec<u64>>)>,
    ) {
        loop {
            match self.held.front() {
                Some(None) => {
                    self.held.pop_front();
                }
                Some(Some(h)) if h.arrived + self.cfg.window < now => {
                    self.release_front(released);
                }
                _ => break,
            }
        }
        if !self.active.is_empty() {
            let w = self.cfg.window;
            let mut closed: Vec<Key> = self
                .active
                .iter()
                .filter(|(_, a)| a.touched + w < now && a.last_ts + LATE + w < now)
                .map(|(k, _)| k.clone())
                .collect();
            closed.sort_by(|a, b| self.active[a].first_ts.total_cmp(&self.active[b].first_ts));
            for k in closed {
                let a = self.active.remove(&k).expect("present");
                out.extend(self.finding(&a));
            }
        }
    }

    /// End of input: every aggregate's finding; every held probe released.
    pub(crate) fn finish(
        &mut self,
        out: &mut Vec<Finding>,
        released: &mut Vec<(Flow, Option<Vec<u64>>)>,
    ) {
        while self.live > 0 {
            self.release_front(released);
        }
        self.held.clear();
        self.conns.clear();
        let mut all: Vec<Aggregate> = self.active.drain().map(|(_, a)| a).collect();
        all.sort_by(|a, b| a.first_ts.total_cmp(&b.first_ts));
        for a in all {
            out.extend(self.finding(&a));
        }
    }

    fn finding(&self, a: &Aggregate) -> Option<Finding> {
        match a.key {
            Key::Flood(..) => Some(rules::syn_flood::finding(a)),
            _ => Some(rules::port_scan::finding(a)),
        }
    }
}

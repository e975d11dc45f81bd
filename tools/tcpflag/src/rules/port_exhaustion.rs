//! `port_exhaustion`: the signs of a client running out of ephemeral ports towards one
//! destination — very many short connections from one address to one server address and port,
//! its source ports cycling through its range so fast that it reuses 4-tuples whose previous
//! connection closed seconds before, while the server (which closed first) still holds them in
//! TIME_WAIT. One finding per client and destination, judged across flows: fed every flow by the
//! engine (`engine.rs`), written when the destination saw no new connection for [`TIME_WAIT`]
//! seconds of capture time, or at the end of the input. docs/rules.md documents it.
//!
//! Memory is bounded: at most [`MAX_DESTS`] destinations and [`MAX_ENTRIES`] remembered
//! source ports in all (the least recently active destinations are judged and dropped first).

use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::json;
use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use crate::socket_errors::Sock;
use crate::wording::{endpoint, secs, thousands};

/// Seconds a server holds a closed connection's 4-tuple (Linux TCP_TIMEWAIT_LEN; Windows'
/// TcpTimedWaitDelay is 120 s): a SYN on the same 4-tuple sooner is a collision.
pub const TIME_WAIT: f64 = 60.0;
/// Collisions needed for a finding...
pub const MIN_COLLISIONS: u64 = 20;
/// ...and distinct source ports (a client that binds one fixed port is `timewait_reuse`).
pub const MIN_PORTS: usize = 8;
/// Windows' TIME_WAIT (TcpTimedWaitDelay, 120 s): a client that closes first holds each
/// connection's source port this long.
pub const CLIENT_TIME_WAIT: f64 = 120.0;
/// Connections the client closed first within [`CLIENT_TIME_WAIT`] — source ports its stack
/// holds in TIME_WAIT at once towards one destination — for a finding: half of Windows' range
/// of 16,384 ports (about 30 % of Linux' 28,232).
pub const MIN_HELD: u64 = 8192;
/// Destinations (client address, server address and port) followed at once.
pub const MAX_DESTS: usize = 50_000;
/// Source ports (and client-closed connection times) remembered in all.
pub const MAX_ENTRIES: usize = 2_000_000;
/// Frames and uids listed per finding.
pub const MAX_LISTED: usize = 32;
/// Client-closed connections remembered per destination (more than a port range holds).
const MAX_HELD_LISTED: usize = 70_000;
/// Capture seconds between sweeps for quiet destinations.
const SWEEP: f64 = 5.0;
/// The end of the summary: what the application sees.
const RANGE_RUNS_OUT: &str = "When the range runs out, connect() and bind() fail: Windows 10055 \
    WSAENOBUFS or 10048 WSAEADDRINUSE, POSIX EADDRNOTAVAIL (\"Cannot assign requested \
    address\") — failures that never reach the wire";

#[derive(Debug)]
struct Dest {
    client_ip: String,
    server_ip: String,
    server_port: u16,
    first_ts: f64,
    /// The latest connection start and record end.
    last_start: f64,
    last_ts: f64,
    flows: u64,
    /// Source port -> when its last connection ended.
    ports: HashMap<u16, f64>,
    port_lo: u16,
    port_hi: u16,
    collisions: u64,
    /// Collisions the server answered with a challenge ACK (tcpflows' `challenge_ack`).
    challenged: u64,
    min_gap: f64,
    /// Start times of the connections the client closed first within the last
    /// [`CLIENT_TIME_WAIT`] seconds, and the most there were at once.
    held: VecDeque<f64>,
    peak_held: u64,
    peak_at: f64,
    /// The earliest collisions' SYN frames, with their flows' uids (records arrive in the order
    /// their connections ended, not started).
    listed: Vec<(u64, String)>,
}

/// The destinations followed.
#[derive(Debug, Default)]
pub struct Tracker {
    dests: HashMap<u64, Dest>,
    entries: usize,
    last_sweep: f64,
}

/// The client ended the connection first (its FIN before the server's, or its RST before any
/// FIN of the server): its stack, not the server's, holds the 4-tuple in TIME_WAIT (after a
/// FIN) or frees it (after a RST).
fn client_closed_first(f: &Flow) -> bool {
    match (f.client.fin_frame, f.server.fin_frame) {
        (Some(c), Some(s)) => c < s,
        (Some(_), None) => true,
        _ => false,
    }
}

fn key(f: &Flow) -> u64 {
    let mut h = DefaultHasher::new();
    f.client_ip.hash(&mut h);
    f.server_ip.hash(&mut h);
    f.server_port.hash(&mut h);
    h.finish()
}

impl Tracker {
    /// One flow record.
    pub fn observe(&mut self, f: &Flow) {
        if f.midstream || f.attempts.syn_count == 0 {
            return;
        }
        let start = f.attempts.ts.first().copied().unwrap_or(f.first_ts);
        let k = key(f);
        let d = self.dests.entry(k).or_insert_with(|| Dest {
            client_ip: f.client_ip.clone(),
            server_ip: f.server_ip.clone(),
            server_port: f.server_port,
            first_ts: start,
            last_start: start,
            last_ts: f.last_ts,
            flows: 0,
            ports: HashMap::new(),
            port_lo: f.client_port,
            port_hi: f.client_port,
            collisions: 0,
            challenged: 0,
            min_gap: f64::INFINITY,
            held: VecDeque::new(),
            peak_held: 0,
            peak_at: start,
            listed: vec![],
        });
        // Another destination with the same hash: not followed (vanishingly rare).
        if d.client_ip != f.client_ip || d.server_ip != f.server_ip {
            return;
        }
        d.flows += 1;
        d.first_ts = d.first_ts.min(start);
        d.last_start = d.last_start.max(start);
        d.last_ts = d.last_ts.max(f.last_ts);
        d.port_lo = d.port_lo.min(f.client_port);
        d.port_hi = d.port_hi.max(f.client_port);
        let gap = d.ports.get(&f.client_port).map(|&end| start - end);
        let reused = gap.is_some_and(|g| (0.0..TIME_WAIT).contains(&g));
        if reused || f.challenge_ack.is_some() {
            d.collisions += 1;
            d.challenged += u64::from(f.challenge_ack.is_some());
            if let Some(g) = gap.filter(|_| reused) {
                d.min_gap = d.min_gap.min(g);
            }
            let syn = f.attempts.frames.first().copied().unwrap_or(f.first_frame);
            if d.listed.len() < MAX_LISTED || d.listed.last().is_some_and(|l| syn < l.0) {
                let at = d.listed.partition_point(|l| l.0 < syn);
                d.listed.insert(at, (syn, f.uid.clone()));
                d.listed.truncate(MAX_LISTED);
            }
        }
        let held_before = d.held.len();
        if client_closed_first(f) {
            // Its source port stays in the client's TIME_WAIT: the window of them held at once.
            while d
                .held
                .front()
                .is_some_and(|&t| t < start - CLIENT_TIME_WAIT)
            {
                d.held.pop_front();
            }
            if d.held.len() >= MAX_HELD_LISTED {
                d.held.pop_front();
            }
            d.held.push_back(start);
            if d.held.len() as u64 > d.peak_held {
                d.peak_held = d.held.len() as u64;
                d.peak_at = start;
            }
            if d.listed.len() < MAX_LISTED && d.collisions == 0 {
                let syn = f.attempts.frames.first().copied().unwrap_or(f.first_frame);
                let at = d.listed.partition_point(|l| l.0 < syn);
                d.listed.insert(at, (syn, f.uid.clone()));
            }
        }
        self.entries = (self.entries + d.held.len()).saturating_sub(held_before);
        if d.ports.insert(f.client_port, f.last_ts).is_none() {
            self.entries += 1;
        }
    }

    /// Capture time is `now`: the destinations quiet for [`TIME_WAIT`] are judged.
    pub fn due(&mut self, now: f64) -> Vec<Finding> {
        let crowded = self.dests.len() > MAX_DESTS || self.entries > MAX_ENTRIES;
        if !crowded && now < self.last_sweep + SWEEP {
            return vec![];
        }
        self.last_sweep = now;
        let mut out = self.close(|d| d.last_ts + TIME_WAIT < now);
        if self.dests.len() > MAX_DESTS || self.entries > MAX_ENTRIES {
            // Still too many: the least recently active half goes.
            let mut ts: Vec<f64> = self.dests.values().map(|d| d.last_ts).collect();
            ts.sort_by(f64::total_cmp);
            let cut = ts[ts.len() / 2];
            out.extend(self.close(|d| d.last_ts <= cut));
        }
        out
    }

    /// End of input: every destination judged.
    pub fn finish(&mut self) -> Vec<Finding> {
        self.close(|_| true)
    }

    fn close(&mut self, done: impl Fn(&Dest) -> bool) -> Vec<Finding> {
        let keys: Vec<u64> = self
            .dests
            .iter()
            .filter(|(_, d)| done(d))
            .map(|(k, _)| *k)
            .collect();
        let mut closed: Vec<Dest> = keys
            .into_iter()
            .filter_map(|k| self.dests.remove(&k))
            .collect();
        self.entries = self
            .entries
            .saturating_sub(closed.iter().map(|d| d.ports.len() + d.held.len()).sum());
        closed.sort_by(|a, b| a.first_ts.total_cmp(&b.first_ts));
        closed.iter().filter_map(finding).collect()
    }
}

fn finding(d: &Dest) -> Option<Finding> {
    let cycled = d.collisions >= MIN_COLLISIONS && d.ports.len() >= MIN_PORTS;
    let held = d.peak_held >= MIN_HELD;
    if !cycled && !held {
        return None;
    }
    let span = (d.last_start - d.first_ts).max(0.0);
    let rate = if span > 0.0 {
        d.flows as f64 / span
    } else {
        d.flows as f64
    };
    let mut fd = Finding {
        r#type: "finding".into(),
        kind: "port_exhaustion".into(),
        severity: Severity::Warning,
        uids: d.listed.iter().map(|l| l.1.clone()).collect(),
        client_ip: Some(d.client_ip.clone()),
        client_port: None,
        server_ip: Some(d.server_ip.clone()),
        server_port: Some(d.server_port),
        frames: d.listed.iter().map(|l| l.0).collect(),
        ts: Some(d.first_ts),
        summary: String::new(),
        socket_error: Some(Sock::NoBuffers.error()),
        next_step: String::new(),
        origin: Some("client".into()),
        attempts: Some(d.flows.min(u64::from(u32::MAX)) as u32),
        evidence: Default::default(),
        portmap: None,
        extra: Default::default(),
    };
    let quickest = if d.min_gap.is_finite() {
        format!(
            ", the quickest {} after the previous one closed",
            secs(d.min_gap)
        )
    } else {
        String::new()
    };
    let challenged = match d.challenged {
        0 => String::new(),
        n => format!(
            "; {} of them answered by a bare ACK for the old connection (timewait_reuse)",
            thousands(n)
        ),
    };
    // Both readings start with what the client did and end with what its application sees.
    let opened = format!(
        "ephemeral port exhaustion (signs): {} opened {} connections to {} in {} ({:.0}/s), \
         from {} source ports ({}-{}), and",
        d.client_ip,
        thousands(d.flows),
        endpoint(&d.server_ip, d.server_port),
        secs(span),
        rate,
        thousands(d.ports.len() as u64),
        d.port_lo,
        d.port_hi,
    );
    fd.summary = if cycled {
        format!(
            "{opened} {} of them reused a 4-tuple whose previous connection had closed less \
             than {} before{quickest}{challenged}: the client cycles through its ephemeral ports \
             faster than TIME_WAIT frees them (Windows 49152-65535, 16,384 ports and 120 s of \
             TIME_WAIT: about 135 connections/s to one destination; Linux 32768-60999, 28,232 \
             ports and 60 s: about 470/s). {RANGE_RUNS_OUT}",
            thousands(d.collisions),
            secs(TIME_WAIT),
        )
    } else {
        format!(
            "{opened} closed them first itself: its stack holds each source port in TIME_WAIT \
             (120 s on Windows, 60 s on Linux) — up to {} connections to this destination \
             within 120 s (reached {} after the first), {:.0} % of Windows' 16,384-port range \
             (49152-65535; {:.0} % of Linux' 28,232). {RANGE_RUNS_OUT}",
            thousands(d.peak_held),
            secs(d.peak_at - d.first_ts),
            d.peak_held as f64 * 100.0 / 16384.0,
            d.peak_held as f64 * 100.0 / 28232.0,
        )
    };
    fd.next_step = format!(
        "reuse connections instead of opening one per request: HTTP keep-alive / a connection \
         pool (.NET: one shared HttpClient or IHttpClientFactory, not a new HttpClient per \
         request; database drivers: pooling on). On {} count the sockets in TIME_WAIT (`netstat \
         -ano | find /c \"TIME_WAIT\"`, `ss -tan state time-wait | wc -l`) and see the port \
         range (`netsh int ipv4 show dynamicport tcp`, `sysctl net.ipv4.ip_local_port_range`); \
         widening it only buys time. Behind a NAT, the NAT's port pool towards {} is the one \
         running out",
        d.client_ip,
        endpoint(&d.server_ip, d.server_port),
    );
    let ev = &mut fd.evidence;
    ev.insert("connections".into(), json!(d.flows));
    ev.insert("duration".into(), json!(span));
    ev.insert("rate".into(), json!(rate));
    ev.insert("source_ports".into(), json!(d.ports.len()));
    ev.insert("port_low".into(), json!(d.port_lo));
    ev.insert("port_high".into(), json!(d.port_hi));
    ev.insert("collisions".into(), json!(d.collisions));
    ev.insert("client_closed_within_120s".into(), json!(d.peak_held));
    ev.insert("challenge_acks".into(), json!(d.challenged));
    ev.insert(
        "quickest_reuse".into(),
        if d.min_gap.is_finite() {
            json!(d.min_gap)
        } else {
            serde_json::Value::Null
        },
    );
    let (code, name, _, posix) = Sock::AddrInUse.parts();
    ev.insert(
        "other_socket_errors".into(),
        json!([{"windows_code": code, "windows_name": name, "posix": posix}]),
    );
    Some(fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testutil::{assert_has, flow, windows_code};

    /// Connection `i` from `port`, starting at `t`, 5 ms long.
    fn conn(i: u64, port: u16, t: f64) -> Flow {
        flow(json!({
            "uid": format!("P{i}"), "client_port": port, "first_frame": 10 * i + 1,
            "last_frame": 10 * i + 9, "first_ts": t, "last_ts": t + 0.005,
            "attempts": {"syn_count": 1, "frames": [10 * i + 1], "ts": [t], "intervals": []}
        }))
    }

    fn run(n: u64, ports: u16, every: f64) -> Vec<Finding> {
        let mut tr = Tracker::default();
        let mut out = vec![];
        for i in 0..n {
            let t = 1000.0 + i as f64 * every;
            tr.observe(&conn(i, 40000 + (i % u64::from(ports)) as u16, t));
            out.extend(tr.due(t));
        }
        out.extend(tr.finish());
        out
    }

    #[test]
    fn cycling_a_narrow_range_fires_once() {
        let out = run(300, 64, 0.001);
        assert_eq!(out.len(), 1, "{out:?}");
        let fd = &out[0];
        assert_eq!(fd.kind, "port_exhaustion");
        assert_eq!(fd.evidence["collisions"], json!(236));
        assert_eq!(fd.evidence["source_ports"], json!(64));
        assert_eq!(fd.frames.len(), MAX_LISTED);
        assert_eq!(windows_code(fd), Some(10055));
    }

    #[test]
    fn busy_but_healthy_clients_are_silent() {
        // 5000 connections at 50/s over a real range: ports come back after 60 s or more.
        assert!(run(5000, 16384, 0.02).is_empty());
        // A port range cycled, but each port back only after TIME_WAIT.
        assert!(run(3000, 100, 0.7).is_empty());
        // One fixed source port reconnecting: timewait_reuse's case, not exhaustion.
        assert!(run(100, 1, 0.01).is_empty());
        // A few ports reused: below the port threshold.
        assert!(run(100, MIN_PORTS as u16 - 1, 0.01).is_empty());
        // Too few collisions.
        assert!(run(MIN_COLLISIONS + 31, 32, 0.01).is_empty());
    }

    /// `n` connections every `every` s from sequential ports, closed first by the client
    /// (`client_first`) or by the server.
    fn closed(n: u64, every: f64, client_first: bool) -> Vec<Finding> {
        let mut tr = Tracker::default();
        let mut out = vec![];
        for i in 0..n {
            let t = 1000.0 + i as f64 * every;
            let mut f = conn(i, 49152 + (i % 16384) as u16, t);
            if client_first {
                f.client.fin_frame = Some(10 * i + 5);
                f.server.fin_frame = Some(10 * i + 6);
            } else {
                f.client.fin_frame = Some(10 * i + 6);
                f.server.fin_frame = Some(10 * i + 5);
            }
            tr.observe(&f);
            out.extend(tr.due(t));
        }
        out.extend(tr.finish());
        out
    }

    #[test]
    fn a_client_closing_first_holds_its_ports_in_time_wait() {
        // 100 connections a second for 2 minutes, each closed by the client: 12,000 source ports
        // in the client's TIME_WAIT at once (Windows' 120 s), no 4-tuple reused yet.
        let out = closed(12_000, 0.01, true);
        assert_eq!(out.len(), 1, "{out:?}");
        let fd = &out[0];
        assert_eq!(fd.evidence["collisions"], json!(0));
        assert_eq!(fd.evidence["client_closed_within_120s"], json!(12_000));
        assert_has(&fd.summary, "closed them first itself");
        assert_has(&fd.summary, "73 % of Windows");
        assert_eq!(fd.frames.len(), MAX_LISTED);
        // The same with the server closing first: its TIME_WAIT, the client's ports free (and
        // not yet cycled through 16,384 of them).
        assert!(closed(12_000, 0.01, false).is_empty());
        // 50 a second: at most 6,000 within 120 s.
        assert!(closed(12_000, 0.02, true).is_empty());
    }

    #[test]
    fn the_labs_narrow_range_fires() {
        // 60 connections over 16 ports (the lab's 32-port range, every other port).
        let out = run(60, 16, 0.0007);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].evidence["collisions"], json!(44));
        let fr = &out[0].frames;
        assert!(fr.windows(2).all(|w| w[0] < w[1]), "earliest first: {fr:?}");
    }

    #[test]
    fn memory_stays_bounded() {
        let mut tr = Tracker::default();
        for i in 0..(MAX_DESTS as u64 + 10) {
            let mut f = conn(i, 40000, 1000.0);
            f.server_ip = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            tr.observe(&f);
            let _ = tr.due(1000.0);
        }
        assert!(tr.dests.len() <= MAX_DESTS + 1, "{}", tr.dests.len());
    }
}

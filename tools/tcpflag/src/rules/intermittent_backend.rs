//! `intermittent_backend`: an aggregate over all flows, emitted at the end of the input.
//!
//! Each connection's outcome is counted per server address and port. DNS answers seen in the
//! input (`packet` records with `dns`, which tcpflows passes through) map addresses to the names
//! that resolved to them. When connections to one name and port succeed on some addresses and
//! fail on another, the failing address is a bad backend and round-robin DNS explains why the
//! failure comes and goes. Without DNS answers, addresses in one /24 (IPv4) or /64 (IPv6) serving
//! the same port are grouped instead (a weaker hint, reported as a warning).
//!
//! Memory is bounded: at most [`MAX_ENDPOINTS`] server endpoints, [`MAX_ADDRESSES`] DNS
//! addresses and [`MAX_NAMES`] DNS names (each with at most 256 addresses) are tracked; one
//! warning says when a capture has more. (3 million names answered with one address took 1.1 GB
//! before names were capped: about 300 bytes a name.)

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use serde_json::{Value, json};
use tcpwhy_common::records::packet::Dns;
use tcpwhy_common::records::{Finding, Severity, SocketError};

use crate::wording::{endpoint, frames, plural};

/// Server endpoints (address, port) tracked for intermittent_backend.
pub const MAX_ENDPOINTS: usize = 1_000_000;
/// Addresses remembered from DNS answers.
pub const MAX_ADDRESSES: usize = 1_000_000;
/// Names remembered from DNS answers (about 270 bytes each with their address list: 70 MB).
pub const MAX_NAMES: usize = 250_000;
/// Addresses remembered per DNS name.
const MAX_PER_NAME: usize = 256;
/// intermittent_backend's "concentrated" pattern fires only when failures spread evenly over
/// the name's connections would all land on one address less often than this.
const CONCENTRATION_P: f64 = 0.01;
/// Failing flow uids kept per endpoint.
const MAX_UIDS: usize = 32;

/// Thresholds of the intermittent_backend rule.
#[derive(Debug, Clone)]
pub struct BackendConfig {
    /// Failed connections an address needs before it is called a bad backend.
    pub min_failures: u32,
    /// Share of an address's connections that its failures must exceed (0..1) for it to be a
    /// bad backend; good addresses fail less often than that.
    pub fail_ratio: f64,
    /// Failures of one kind that make an address a bad backend even when it mostly works, when
    /// no other address of the name ever failed that way.
    pub min_concentrated: u32,
}

impl Default for BackendConfig {
    fn default() -> Self {
        BackendConfig {
            min_failures: 2,
            fail_ratio: 0.5,
            min_concentrated: 3,
        }
    }
}

/// One connection's outcome, as the per-flow rules judged it.
#[derive(Debug, Clone)]
pub enum Outcome {
    Ok,
    Failed {
        kind: String,
        uids: Vec<String>,
        frames: Vec<u64>,
        ts: Option<f64>,
        client: Option<String>,
        socket_error: Option<SocketError>,
    },
}

#[derive(Debug, Default)]
struct Stats {
    ok: u32,
    failed: u32,
    kinds: BTreeMap<String, u32>,
    uids: Vec<String>,
    frames: Vec<u64>,
    first_ts: Option<f64>,
    clients: BTreeSet<String>,
    socket_error: Option<SocketError>,
}

impl Stats {
    fn total(&self) -> u32 {
        self.ok.saturating_add(self.failed)
    }
    fn ratio(&self) -> f64 {
        if self.total() == 0 {
            0.0
        } else {
            self.failed as f64 / self.total() as f64
        }
    }
}

/// The aggregator.
#[derive(Debug, Default)]
pub struct Backend {
    cfg: BackendConfig,
    /// Addresses some DNS answer resolved a name to (grouping by subnet skips them).
    dns_addrs: HashSet<String>,
    /// name → addresses in the order first answered.
    addrs_of: BTreeMap<String, Vec<String>>,
    endpoints: HashMap<(String, u16), Stats>,
    warned: bool,
    /// The bounds: [`MAX_ADDRESSES`] and [`MAX_NAMES`] (smaller in tests).
    max_addresses: usize,
    max_names: usize,
}

impl Backend {
    pub fn new(cfg: BackendConfig) -> Self {
        Self::with_limits(cfg, MAX_ADDRESSES, MAX_NAMES)
    }

    /// As [`new`](Self::new) with other bounds on DNS addresses and names (for tests).
    pub fn with_limits(cfg: BackendConfig, max_addresses: usize, max_names: usize) -> Self {
        Backend {
            cfg,
            max_addresses,
            max_names,
            ..Default::default()
        }
    }

    /// Learns name → address pairs from a DNS response.
    pub fn add_dns(&mut self, dns: &Dns<'_>) {
        if !dns.response || dns.rcode.is_some_and(|r| r != 0) {
            return;
        }
        let qname = dns.qname.as_deref().map(normalize);
        for a in &dns.answers {
            if a.rtype != "A" && a.rtype != "AAAA" {
                continue;
            }
            let Some(data) = a.data.as_deref() else {
                continue;
            };
            let Ok(ip) = data.parse::<IpAddr>() else {
                continue;
            };
            let ip = ip.to_string();
            let owner = normalize(&a.name);
            if !self.dns_addrs.contains(&ip) {
                if self.dns_addrs.len() >= self.max_addresses {
                    self.warn_full();
                    return;
                }
                self.dns_addrs.insert(ip.clone());
            }
            for name in qname.iter().chain(std::iter::once(&owner)) {
                if self.addrs_of.len() >= self.max_names && !self.addrs_of.contains_key(name) {
                    self.warn_full();
                    continue;
                }
                let v = self.addrs_of.entry(name.clone()).or_default();
                if !v.contains(&ip) && v.len() < MAX_PER_NAME {
                    v.push(ip.clone());
                }
            }
        }
    }

    fn warn_full(&mut self) {
        if !self.warned {
            self.warned = true;
            tcpwhy_common::cli::warn(
                "intermittent_backend: too many servers or DNS answers to track; later ones are ignored",
            );
        }
    }

    /// Counts one connection to `server_ip:port`.
    pub fn record(&mut self, server_ip: &str, port: u16, outcome: Outcome) {
        let key = (server_ip.to_string(), port);
        if self.endpoints.len() >= MAX_ENDPOINTS && !self.endpoints.contains_key(&key) {
            self.warn_full();
            return;
        }
        let s = self.endpoints.entry(key).or_default();
        match outcome {
            Outcome::Ok => s.ok = s.ok.saturating_add(1),
            Outcome::Failed {
                kind,
                uids,
                frames,
                ts,
                client,
                socket_error,
            } => {
                s.failed = s.failed.saturating_add(1);
                let n = s.kinds.entry(kind).or_default();
                *n = n.saturating_add(1);
                for u in uids {
                    if s.uids.len() < MAX_UIDS {
                        s.uids.push(u);
                    }
                }
                // The earliest failure (findings may come out of time order: retries and stray
                // RSTs are waited for).
                let earlier = match (ts, s.first_ts) {
                    (Some(a), Some(b)) => a < b,
                    (_, None) => true,
                    (None, Some(_)) => false,
                };
                if earlier || s.frames.is_empty() {
                    s.frames = frames.into_iter().take(8).collect();
                    s.first_ts = ts.or(s.first_ts);
                }
                if let Some(c) = client {
                    if s.clients.len() < 2 {
                        s.clients.insert(c);
                    }
                }
                if s.socket_error.is_none() || earlier {
                    s.socket_error = socket_error;
                }
            }
        }
    }

    fn is_bad(&self, s: &Stats, min_failures: u32) -> bool {
        s.failed >= min_failures.max(1) && s.ratio() > self.cfg.fail_ratio
    }

    fn is_good(&self, s: &Stats) -> bool {
        s.ok > 0 && s.ratio() < self.cfg.fail_ratio
    }

    /// The findings, at the end of the input.
    pub fn finish(&self) -> Vec<Finding> {
        let mut out = vec![];
        let mut covered: HashSet<(String, u16)> = HashSet::new();
        // The ports each server address was connected to (one pass: looking them up per name
        // was names × endpoints).
        let mut ports_of: HashMap<&str, BTreeSet<u16>> = HashMap::new();
        for (ip, port) in self.endpoints.keys() {
            ports_of.entry(ip.as_str()).or_default().insert(*port);
        }
        // 1. By DNS name.
        for (name, addrs) in &self.addrs_of {
            if addrs.len() < 2 {
                continue;
            }
            let mut ports: BTreeSet<u16> = BTreeSet::new();
            for a in addrs {
                if let Some(p) = ports_of.get(a.as_str()) {
                    ports.extend(p);
                }
            }
            // A and AAAA answers rotate separately and a client uses one family: compare each
            // address with the name's other addresses of its family.
            let fams = [false, true]
                .into_iter()
                .flat_map(|v6| ports.iter().map(move |p| (v6, *p)));
            for (v6, port) in fams {
                let members: Vec<(&String, &Stats)> = addrs
                    .iter()
                    .filter(|a| a.contains(':') == v6)
                    .filter_map(|a| self.endpoints.get(&(a.clone(), port)).map(|s| (a, s)))
                    .collect();
                if members.len() < 2 {
                    continue;
                }
                let good: Vec<_> = members.iter().filter(|(_, s)| self.is_good(s)).collect();
                if good.is_empty() {
                    continue;
                }
                for (addr, s) in &members {
                    let mode = if self.is_bad(s, self.cfg.min_failures) {
                        None
                    } else if let Some(k) = self.concentrated(addr, s, &members) {
                        Some(k)
                    } else {
                        continue;
                    };
                    if !covered.insert(((*addr).clone(), port)) {
                        continue;
                    }
                    out.push(self.finding(Some(name), addrs, addr, port, s, &members, mode));
                }
            }
        }
        // 2. Without DNS: same port, same /24 or /64, at least three addresses.
        let mut groups: BTreeMap<(u16, String), Vec<&String>> = BTreeMap::new();
        for (ip, port) in self.endpoints.keys() {
            if self.dns_addrs.contains(ip) {
                continue;
            }
            if let Some(p) = prefix(ip) {
                groups.entry((*port, p)).or_default().push(ip);
            }
        }
        for ((port, pfx), mut ips) in groups {
            if ips.len() < 3 {
                continue;
            }
            ips.sort_by_key(|a| a.parse::<IpAddr>().ok());
            let members: Vec<(&String, &Stats)> = ips
                .iter()
                .filter_map(|a| self.endpoints.get(&((*a).clone(), port)).map(|s| (*a, s)))
                .collect();
            let good = members.iter().filter(|(_, s)| self.is_good(s)).count();
            if good < 2 {
                continue;
            }
            for (addr, s) in &members {
                if !self.is_bad(s, self.cfg.min_failures.max(2))
                    || covered.contains(&((*addr).clone(), port))
                {
                    continue;
                }
                let mut fd = self.finding(None, &[], addr, port, s, &members, None);
                fd.evidence
                    .insert("subnet".into(), Value::from(pfx.clone()));
                out.push(fd);
            }
        }
        out.sort_by(|a, b| {
            a.ts.unwrap_or(0.0)
                .total_cmp(&b.ts.unwrap_or(0.0))
                .then_with(|| a.server_ip.cmp(&b.server_ip))
        });
        out
    }

    /// The failure kind that happened at least `min_concentrated` times on `addr` and never on
    /// the name's other addresses (which did answer), when there is one.
    fn concentrated(&self, addr: &str, s: &Stats, members: &[(&String, &Stats)]) -> Option<String> {
        let others: Vec<&Stats> = members
            .iter()
            .filter(|(a, _)| a.as_str() != addr)
            .map(|(_, s)| *s)
            .collect();
        let other_ok: u64 = others.iter().map(|s| u64::from(s.ok)).sum();
        if other_ok < u64::from(self.cfg.min_concentrated) {
            return None;
        }
        // Were failures spread evenly over the connections, all `n` of them would land on this
        // address with probability share^n: fire only when that is below 1 %, so a busy address
        // collecting a few random failures is not blamed.
        let total: u64 =
            u64::from(s.total()) + others.iter().map(|o| u64::from(o.total())).sum::<u64>();
        let share = s.total() as f64 / total.max(1) as f64;
        s.kinds
            .iter()
            .filter(|(_, n)| **n >= self.cfg.min_concentrated.max(1))
            .filter(|(_, n)| share.powi(**n as i32) < CONCENTRATION_P)
            .find(|(k, _)| others.iter().all(|o| !o.kinds.contains_key(*k)))
            .map(|(k, _)| k.clone())
    }

    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        name: Option<&String>,
        dns_addrs: &[String],
        addr: &str,
        port: u16,
        s: &Stats,
        members: &[(&String, &Stats)],
        concentrated: Option<String>,
    ) -> Finding {
        let others: Vec<&(&String, &Stats)> =
            members.iter().filter(|(a, _)| a.as_str() != addr).collect();
        let other_ok: u64 = others.iter().map(|(_, s)| u64::from(s.ok)).sum();
        let other_total: u64 = others.iter().map(|(_, s)| u64::from(s.total())).sum();
        let other_good = others.iter().filter(|(_, s)| self.is_good(s)).count();
        let kinds: Vec<String> = s.kinds.keys().cloned().collect();
        let kind_words = kinds.join(", ");
        let severity = if name.is_some() && s.failed >= 2 && s.ok == 0 && concentrated.is_none() {
            Severity::Error
        } else {
            Severity::Warning
        };
        let good_example = others
            .iter()
            .find(|(_, s)| self.is_good(s))
            .map(|(a, _)| a.as_str())
            .unwrap_or("another address");
        let (service, summary, next) = match name {
            Some(n) if concentrated.is_some() => {
                let k = concentrated.clone().unwrap_or_default();
                let nk = s.kinds.get(&k).copied().unwrap_or(0);
                (
                    format!("{n}:{port}"),
                    format!(
                        "{n}:{port} fails intermittently on one address: {nk} of {} to {addr} failed ({k}) and none of the {} other addresses of the name ever failed that way ({other_ok} of {other_total} answered); round-robin DNS sends only some connections to {addr}, which is why the failure comes and goes",
                        plural(s.total() as u64, "connection", "connections"),
                        others.len(),
                    ),
                    format!(
                        "check {addr} behind {n} (and the firewall or load balancer in front of it): \
                         its {k} failures never happen on the other addresses; test it directly \
                         (`curl -v --resolve {n}:{port}:{addr} http://{n}:{port}/`, \
                         `Test-NetConnection {addr} -Port {port}`) and compare with {good_example}"
                    ),
                )
            }
            Some(n) => (
                format!("{n}:{port}"),
                format!(
                    "{n}:{port} fails intermittently: {} of {} to {} failed ({kind_words}) while {} of the name answered {} of {}; round-robin DNS hands out {} only some of the time, which is why the failure is intermittent",
                    s.failed,
                    plural(s.total() as u64, "connection", "connections"),
                    addr,
                    plural(other_good as u64, "other address", "other addresses"),
                    other_ok,
                    other_total,
                    addr
                ),
                format!(
                    "take {addr} out of the rotation for {n} and check that server (and the firewall or \
                     load balancer in front of it) directly: `curl -v --resolve {n}:{port}:{addr} \
                     http://{n}:{port}/` or `Test-NetConnection {addr} -Port {port}`, compared with a \
                     working address such as {good_example}; the per-connection findings on {addr} say \
                     what fails"
                ),
            ),
            None => (
                format!("port {port}"),
                format!(
                    "{} fails on one of {} addresses serving port {port}: {} of {} to {} failed ({kind_words}) while the other addresses answered {} of {}; if they are one service behind round-robin DNS or a load balancer, {} is a bad backend and the failure looks intermittent",
                    endpoint(addr, port),
                    members.len(),
                    s.failed,
                    plural(s.total() as u64, "connection", "connections"),
                    addr,
                    other_ok,
                    other_total,
                    addr
                ),
                format!(
                    "check whether these addresses are one service (DNS round robin, load-balancer pool); \
                     if so take {addr} out of the pool and test it directly (`Test-NetConnection {addr} \
                     -Port {port}`, `nc -vz {addr} {port}`) against a working one such as {good_example}"
                ),
            ),
        };
        let client = if s.clients.len() == 1 {
            s.clients.iter().next().cloned()
        } else {
            None
        };
        let mut ev = serde_json::Map::new();
        ev.insert(
            "grouped_by".into(),
            Value::from(if name.is_some() { "dns" } else { "subnet" }),
        );
        ev.insert(
            "pattern".into(),
            Value::from(if concentrated.is_some() {
                "concentrated"
            } else {
                "mostly_fails"
            }),
        );
        ev.insert("concentrated_kind".into(), json!(concentrated));
        ev.insert("name".into(), json!(name));
        ev.insert("service".into(), Value::from(service));
        ev.insert("port".into(), Value::from(port));
        ev.insert("address".into(), Value::from(addr));
        ev.insert("failed".into(), Value::from(s.failed));
        ev.insert("connections".into(), Value::from(s.total()));
        ev.insert("failure_kinds".into(), json!(s.kinds));
        ev.insert(
            "other_addresses".into(),
            Value::Array(
                others
                    .iter()
                    .map(|(a, s)| json!({"address": a, "ok": s.ok, "failed": s.failed}))
                    .collect(),
            ),
        );
        ev.insert("dns_addresses".into(), json!(dns_addrs));
        Finding {
            uids: s.uids.clone(),
            client_ip: client,
            server_ip: Some(addr.to_string()),
            server_port: Some(port),
            frames: s.frames.clone(),
            ts: s.first_ts,
            summary: format!("{summary} (first failure: {})", frames(&s.frames, 8)),
            socket_error: s.socket_error.clone(),
            next_step: next,
            origin: Some("server".into()),
            attempts: Some(s.total()),
            evidence: ev,
            ..Finding::new("intermittent_backend", severity)
        }
    }
}

/// DNS names compare case-insensitively and without the root dot.
fn normalize(n: &str) -> String {
    n.trim_end_matches('.').to_ascii_lowercase()
}

/// "192.168.0.0/24" or "2001:db8:0:1::/64".
fn prefix(ip: &str) -> Option<String> {
    match ip.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => {
            let o = a.octets();
            Some(format!("{}.{}.{}.0/24", o[0], o[1], o[2]))
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            let p = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            Some(format!("{p}/64"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(b: &mut Backend, name: &str, ip: &str) {
        let rec = format!(
            r#"{{"id":1,"response":true,"rcode":0,"qname":"{name}","qtype":"A","answers":[{{"name":"{name}","type":"A","ttl":5,"data":"{ip}"}}]}}"#
        );
        let d: Dns = serde_json::from_str(&rec).unwrap();
        b.add_dns(&d);
    }

    /// Issue 16, reproducer 5: many names answered with one address (3M took 1.1 GB) stop at
    /// the name bound with the table-full warning; names already known still learn addresses.
    #[test]
    fn dns_names_are_capped_like_addresses() {
        let mut b = Backend::with_limits(BackendConfig::default(), 10, 100);
        for i in 0..1000 {
            answer(&mut b, &format!("host{i}.example.com"), "203.0.113.7");
        }
        assert_eq!(b.addrs_of.len(), 100);
        assert_eq!(b.dns_addrs.len(), 1);
        assert!(b.warned);
        // A known name still gets a second address; a new address past the bound does not.
        answer(&mut b, "host5.example.com", "203.0.113.8");
        assert_eq!(
            b.addrs_of["host5.example.com"],
            ["203.0.113.7", "203.0.113.8"]
        );
        for i in 0..50 {
            answer(&mut b, "host6.example.com", &format!("198.51.100.{i}"));
        }
        assert_eq!(b.dns_addrs.len(), 10);
        assert_eq!(b.addrs_of["host6.example.com"].len(), 9);
    }

    #[test]
    fn under_the_bounds_nothing_is_dropped() {
        let mut b = Backend::new(BackendConfig::default());
        for i in 0..1000 {
            answer(&mut b, &format!("host{i}.example.com"), "203.0.113.7");
        }
        assert_eq!(b.addrs_of.len(), 1000);
        assert!(!b.warned);
    }
}

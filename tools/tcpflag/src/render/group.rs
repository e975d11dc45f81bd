//! Findings grouped for people: one group per finding kind, server address and port, whatever
//! the kind (kinds added later group the same way). A group keeps its count, time span, clients,
//! and two examples — the first finding and the worst one — so memory stays bounded however
//! many findings a capture makes.

use std::collections::{BTreeSet, HashMap};

use tcpwhy_common::records::{Finding, Severity};

/// At most this many groups are kept; findings beyond it are only counted.
pub const MAX_GROUPS: usize = 10_000;
/// Distinct client addresses remembered per group (the rest are counted as "more").
const MAX_CLIENTS: usize = 64;

/// (kind, server address, server port).
/// kind, server, port, and the subject of findings that are not about one connection (the
/// name of a `dns_failure` with its outcome): two names a resolver failed are two problems.
pub type Key = (String, Option<String>, Option<u16>, Option<String>);

/// The drawn ladder of a group's first example, if it has one (what the reports print under
/// each group).
pub type LadderOf<'a> = dyn FnMut(&Group) -> Option<String> + 'a;

/// Findings of one kind about one server and port.
#[derive(Debug, Clone)]
pub struct Group {
    pub(crate) kind: String,
    server_ip: Option<String>,
    server_port: Option<u16>,
    /// The highest severity among its findings.
    pub(crate) severity: Severity,
    /// Findings in the group.
    pub(crate) findings: u64,
    /// Connections behind them (the flows each finding names; at least 1 per finding).
    pub(crate) connections: u64,
    /// The first finding, as written.
    pub(crate) first: Finding,
    /// The worst one (highest severity, then most attempts, then most evidence frames) when it
    /// is not the first.
    pub(crate) worst: Option<Finding>,
    pub(crate) first_ts: Option<f64>,
    pub(crate) last_ts: Option<f64>,
    clients: BTreeSet<String>,
    /// True when more clients than [`MAX_CLIENTS`] were seen.
    more_clients: bool,
    /// Input order of the group's first finding.
    pub(crate) order: usize,
}

fn rank(f: &Finding) -> (Severity, u32, usize) {
    (f.severity, f.attempts.unwrap_or(0), f.frames.len())
}

impl Group {
    fn new(fd: Finding, order: usize) -> Self {
        let mut clients = BTreeSet::new();
        if let Some(c) = &fd.client_ip {
            clients.insert(c.clone());
        }
        Group {
            kind: fd.kind.clone(),
            server_ip: fd.server_ip.clone(),
            server_port: fd.server_port,
            severity: fd.severity,
            findings: 1,
            connections: fd.uids.len().max(1) as u64,
            first_ts: fd.ts,
            last_ts: fd.ts,
            first: fd,
            worst: None,
            clients,
            more_clients: false,
            order,
        }
    }

    fn add(&mut self, fd: Finding) {
        self.findings += 1;
        self.connections += fd.uids.len().max(1) as u64;
        if fd.severity > self.severity {
            self.severity = fd.severity;
        }
        if let Some(t) = fd.ts {
            self.first_ts = Some(self.first_ts.map_or(t, |x| x.min(t)));
            self.last_ts = Some(self.last_ts.map_or(t, |x| x.max(t)));
        }
        if let Some(c) = &fd.client_ip {
            if !self.clients.contains(c) {
                if self.clients.len() < MAX_CLIENTS {
                    self.clients.insert(c.clone());
                } else {
                    self.more_clients = true;
                }
            }
        }
        let best = self.worst.as_ref().unwrap_or(&self.first);
        if rank(&fd) > rank(best) {
            self.worst = Some(fd);
        }
    }

    /// True for warnings and errors ("problems"); info findings are notes.
    pub fn is_problem(&self) -> bool {
        self.severity > Severity::Info
    }
}

/// Every finding written, grouped.
#[derive(Debug, Default)]
pub struct Groups {
    index: HashMap<Key, usize>,
    groups: Vec<Group>,
    /// Findings that found the group table full (counted, not shown).
    pub dropped: u64,
}

impl Groups {
    /// Adds a finding; returns the new group's `order` when it starts one.
    pub fn add(&mut self, fd: Finding) -> Option<usize> {
        let subject = fd.evidence.get("name").and_then(|n| n.as_str()).map(|n| {
            let rcode = fd
                .evidence
                .get("rcode")
                .and_then(|r| r.as_str())
                .unwrap_or("");
            format!("{n} {rcode}")
        });
        let key = (
            fd.kind.clone(),
            fd.server_ip.clone(),
            fd.server_port,
            subject,
        );
        if let Some(&i) = self.index.get(&key) {
            self.groups[i].add(fd);
            None
        } else if self.groups.len() < MAX_GROUPS {
            let i = self.groups.len();
            self.index.insert(key, i);
            self.groups.push(Group::new(fd, i));
            Some(i)
        } else {
            self.dropped += 1;
            None
        }
    }

    /// The groups, most severe first, then the most connections, then input order.
    pub fn sorted(&self) -> Vec<&Group> {
        let mut v: Vec<&Group> = self.groups.iter().collect();
        v.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.connections.cmp(&a.connections))
                .then(a.order.cmp(&b.order))
        });
        v
    }
}

/// What happened to the connections of a kind, as a verb phrase ("timed out"); None for kinds
/// that are not about single connections (their summary says it). `origin` is the finding's
/// (who sent the RST): a refusal is said to come from the server only when ttlhops proved it.
pub fn verb(kind: &str, origin: Option<&str>) -> Option<&'static str> {
    Some(match kind {
        "refused" if origin == Some("server") => "were refused by the server",
        "refused" => "were refused: a RST from the server's address answered the SYN",
        "refused_by_middlebox" => "were refused by a device on the path",
        "syn_timeout" => "timed out: no answer to the SYNs",
        "no_response" => "got no answer after the handshake",
        "icmp_unreachable" => "were rejected by an ICMP unreachable",
        "zero_window_at_handshake" => "got a zero window in the SYN-ACK",
        "zero_window_stall" => "stalled on a zero window",
        "reset_mid_connection" => "were reset mid-connection",
        "handshake_incomplete" => "never completed the handshake",
        "retransmission_storm" => "retransmitted without an answer",
        "slow_connect" => "connected only after SYN retries",
        _ => return None,
    })
}

/// "198.51.100.10", "3 clients (198.51.100.10, …)".
pub fn clients(g: &Group) -> Option<String> {
    let n = g.clients.len();
    match n {
        0 => None,
        1 if !g.more_clients => g.clients.iter().next().cloned(),
        _ => {
            let shown: Vec<&str> = g.clients.iter().take(3).map(String::as_str).collect();
            let more = if n > 3 || g.more_clients { ", …" } else { "" };
            let count = if g.more_clients {
                format!("more than {n}")
            } else {
                n.to_string()
            };
            Some(format!("{count} clients ({}{more})", shown.join(", ")))
        }
    }
}

/// The server as written in headlines: "203.0.113.13:80", "203.0.113.13", or "?".
pub fn server(g: &Group) -> String {
    match (&g.server_ip, g.server_port) {
        (Some(ip), Some(p)) => crate::wording::endpoint(ip, p),
        (Some(ip), None) => ip.clone(),
        (None, Some(p)) => format!("port {p}"),
        (None, None) => "an unnamed server".to_string(),
    }
}

/// A time of day in UTC, "11:02:13".
pub fn clock(ts: f64) -> String {
    if !ts.is_finite() {
        return "?".to_string();
    }
    let s = ts.rem_euclid(86_400.0) as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// ", 11:02:13-11:02:40 UTC" (or ", at 11:02:13 UTC"), empty without times.
pub fn span(g: &Group) -> String {
    match (g.first_ts, g.last_ts) {
        (Some(a), Some(b)) if clock(a) != clock(b) => {
            let days = (b - a) >= 86_400.0;
            let len = if days {
                format!(" ({})", crate::wording::secs(b - a))
            } else {
                String::new()
            };
            format!(", {}-{} UTC{len}", clock(a), clock(b))
        }
        (Some(a), _) => format!(", at {} UTC", clock(a)),
        _ => String::new(),
    }
}

/// The group in one sentence: "9 connections from 10.0.0.5 to 203.0.113.94:80 timed out:
/// no answer to the SYNs, 11:02:13-11:02:40 UTC". A single finding of a kind without a verb
/// gives its summary's first clause.
pub fn headline(g: &Group) -> String {
    let conns = crate::wording::plural(g.connections, "connection", "connections");
    let from = clients(g).map(|c| format!(" from {c}")).unwrap_or_default();
    match verb(&g.kind, g.first.origin.as_deref()) {
        Some(v) => {
            let v = if g.connections == 1 {
                v.replacen("were ", "was ", 1)
            } else {
                v.to_string()
            };
            format!("{conns}{from} to {} {v}{}", server(g), span(g))
        }
        None if g.findings == 1 => first_clause(&g.first.summary),
        None => format!(
            "{}{from} about {}{}",
            crate::wording::plural(g.findings, "finding", "findings"),
            server(g),
            span(g)
        ),
    }
}

/// A summary up to its first ": " or "; " (at most 160 characters).
fn first_clause(s: &str) -> String {
    let cut = [": ", "; "]
        .iter()
        .filter_map(|p| s.find(p))
        .min()
        .unwrap_or(s.len());
    let c = &s[..cut];
    if c.chars().count() > 160 {
        let t: String = c.chars().take(159).collect();
        format!("{t}…")
    } else {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fd(kind: &str, server: &str, port: u16, client: &str, ts: f64) -> Finding {
        serde_json::from_value(serde_json::json!({
            "type": "finding", "kind": kind, "severity": "error", "uids": ["C1"],
            "client_ip": client, "client_port": 40000, "server_ip": server, "server_port": port,
            "frames": [1, 2], "ts": ts, "summary": "s: t", "socket_error": null, "next_step": "n"
        }))
        .unwrap()
    }

    #[test]
    fn groups_by_kind_server_and_port() {
        let mut g = Groups::default();
        for i in 0..9 {
            g.add(fd(
                "syn_timeout",
                "203.0.113.94",
                80,
                "10.0.0.5",
                39733.0 + i as f64 * 3.0,
            ));
        }
        g.add(fd("syn_timeout", "203.0.113.94", 443, "10.0.0.5", 1.0));
        g.add(fd("brand_new_kind", "203.0.113.94", 80, "10.0.0.6", 1.0));
        g.add(fd("brand_new_kind", "203.0.113.94", 80, "10.0.0.7", 2.0));
        let s = g.sorted();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].findings, 9);
        assert_eq!(
            headline(s[0]),
            "9 connections from 10.0.0.5 to 203.0.113.94:80 timed out: no answer to the SYNs, \
             11:02:13-11:02:37 UTC"
        );
        assert_eq!(
            headline(s[1]),
            "2 findings from 2 clients (10.0.0.6, 10.0.0.7) about 203.0.113.94:80, \
             00:00:01-00:00:02 UTC"
        );
        assert_eq!(
            headline(s[2]),
            "1 connection from 10.0.0.5 to 203.0.113.94:443 timed out: no answer to the SYNs, at 00:00:01 UTC"
        );
    }
}

//! `portmap` on flows and findings: the server port's service, what listens there, and the
//! conclusion in one sentence.

use std::net::IpAddr;

use tcpwhy_common::records::listener::RelatedPort;
use tcpwhy_common::records::{Listener, PortInfo};

use crate::hosts::{Host, Known, ip, is_loopback};
use crate::services::{Proto, Services};

/// What portmap needs from a flow or finding; the whole of it keys the cache of answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Target {
    pub server_ip: Option<String>,
    pub server_port: u16,
    pub client_ip: Option<String>,
    pub proto: Option<Proto>,
    /// The connection was refused (finding kind `refused*`, flow state REJ).
    pub refused: bool,
    /// SYNs unanswered or ICMP unreachable (finding kinds `*timeout*`, `*unreachable*`, flow S0).
    pub unanswered: bool,
    /// The reset came from a device on the path (finding kind `refused_by_middlebox` or
    /// `origin: middlebox`; flow `ttlhops.rst.origin`).
    pub middlebox: bool,
    /// The handshake completed (flows).
    pub established: bool,
    pub is_finding: bool,
}

/// Processes too generic to say "the same product listens elsewhere" from the name alone.
const GENERIC: &[&str] = &[
    "system",
    "svchost.exe",
    "java",
    "java.exe",
    "javaw.exe",
    "python",
    "python3",
    "python.exe",
    "node",
    "node.exe",
    "dotnet",
    "dotnet.exe",
    "beam.smp",
    "erl.exe",
    "ruby",
    "perl",
    "lsass.exe",
    "docker-proxy",
    "containerd",
    "kubelet",
];

fn who(l: &Listener) -> String {
    match (&l.process, l.pid) {
        (Some(p), Some(pid)) => format!("{p} PID {pid}"),
        (Some(p), None) => p.clone(),
        (None, Some(pid)) => format!("PID {pid}"),
        (None, None) => "something".to_string(),
    }
}

fn endpoint(addr: &str, port: u16) -> String {
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

/// Whether a listener bound to `addr` accepts connections to `server` (same address, or a
/// wildcard of the right family; `::` takes IPv4 too except on Windows).
fn accepts(addr: &str, server: IpAddr, windows: bool) -> bool {
    if addr == "*" {
        return true;
    }
    match ip(addr) {
        Some(a) if a.is_unspecified() => match (a, server) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => true,
            (IpAddr::V6(_), IpAddr::V4(_)) => !windows,
            _ => false,
        },
        Some(a) => a == server,
        None => false,
    }
}

fn join_limited(items: &[String], max: usize) -> String {
    let mut s = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        s.push_str(&format!(" and {} more", items.len() - max));
    }
    s
}

/// The context the enricher works in.
pub struct Enricher<'a> {
    pub services: &'a Services,
    pub hosts: &'a [Host],
}

impl Enricher<'_> {
    /// "2383 (SSAS 2005+)" or "2383".
    fn port_name(&self, proto: Proto, port: u16) -> String {
        match self.services.short(proto, port) {
            Some(l) => format!("{port} ({l})"),
            None => port.to_string(),
        }
    }

    /// The host whose listings apply to this server, and how it was matched.
    fn host_for(&self, server: Option<IpAddr>) -> Option<(&Host, &'static str)> {
        if let Some(sip) = server {
            if let Some(h) = self.hosts.iter().find(|h| h.addrs.contains(&sip)) {
                let how = if h.known == Known::Given {
                    "host"
                } else {
                    "address"
                };
                return Some((h, how));
            }
        }
        // Only when no listing's host is known: one known host says the listings are not
        // all from an unknown server.
        if self.hosts.len() == 1 && self.hosts[0].known == Known::Unknown {
            return Some((&self.hosts[0], "assumed"));
        }
        None
    }

    pub fn port_info(&self, t: &Target) -> PortInfo {
        let proto = t.proto.unwrap_or(Proto::Tcp);
        let p = t.server_port;
        let mut info = PortInfo {
            port: p,
            proto: proto.as_str().to_string(),
            ..Default::default()
        };
        if let Some(e) = self.services.get(proto, p) {
            info.service = Some(e.service.clone()).filter(|s| !s.is_empty());
            info.label = Some(e.label.clone()).filter(|s| !s.is_empty());
            info.products = e.products.clone();
            info.related = e.related.clone();
        } else {
            // A port in no table entry: the dynamic / ephemeral ranges that contain it.
            let ranges: Vec<_> = self.services.ranges(proto, p).collect();
            if let Some(r) = ranges.first() {
                info.service = Some(r.service.clone()).filter(|s| !s.is_empty());
                let labels: Vec<String> = ranges.iter().map(|r| r.label.clone()).collect();
                info.label = Some(labels.join(" / "));
                info.products = ranges.iter().flat_map(|r| r.products.clone()).collect();
                info.related = ranges.iter().flat_map(|r| r.related.clone()).collect();
            }
        }
        let server = t.server_ip.as_deref().and_then(ip);
        let Some((host, how)) = self.host_for(server) else {
            if t.is_finding && !self.hosts.is_empty() {
                if let Some(sip) = &t.server_ip {
                    let covered: Vec<String> =
                        self.hosts.iter().filter_map(|h| h.name.clone()).collect();
                    info.hint = Some(format!(
                        "no listing for {sip} (the listings given are from {}); add --host {sip} if one of them is from this server",
                        if covered.is_empty() {
                            "unknown hosts".to_string()
                        } else {
                            join_limited(&covered, 3)
                        }
                    ));
                }
            }
            return info;
        };
        let on_port = |l: &&Listener| l.proto == proto.as_str() && l.port == t.server_port;
        if how == "assumed" && t.established && !host.listeners.iter().any(|l| on_port(&l)) {
            // An assumed listing where nothing listens on a port this server accepted a
            // connection on is not this server's listing.
            return info;
        }
        info.host = host.name.clone().or_else(|| t.server_ip.clone());
        info.matched_by = Some(how.to_string());
        let assumed = if how == "assumed" {
            format!(
                " (assuming {} lists {}: its host is not known; say so with --host)",
                host.files.join(" + "),
                t.server_ip.as_deref().unwrap_or("the server")
            )
        } else {
            String::new()
        };
        let here: Vec<&Listener> = host
            .listeners
            .iter()
            .filter(|l| l.proto == proto.as_str() && l.port == p)
            .collect();
        let pname = self.port_name(proto, p);
        if !here.is_empty() {
            info.listening = Some(true);
            info.listeners = here.iter().map(|l| (*l).clone()).collect();
            info.hint = Some(self.listening_hint(t, host, how, &here, &pname) + &assumed);
            return info;
        }
        info.listening = Some(false);
        let alts = self.alternatives(proto, p, host);
        let hint = if alts.is_empty() {
            let mut ports: Vec<u16> = host
                .listeners
                .iter()
                .filter(|l| l.proto == proto.as_str())
                .map(|l| l.port)
                .collect();
            ports.sort_unstable();
            ports.dedup();
            let on = host
                .name
                .as_deref()
                .map(|n| format!(" on {n}"))
                .unwrap_or_default();
            if ports.is_empty() {
                format!(
                    "nothing listens on {pname}{on}; the listing shows no {} listeners at all",
                    proto.as_str().to_uppercase()
                )
            } else {
                let list: Vec<String> = ports.iter().map(|x| self.port_name(proto, *x)).collect();
                format!(
                    "nothing listens on {pname}{on}; {} ports that listen there: {}",
                    proto.as_str().to_uppercase(),
                    join_limited(&list, 12)
                )
            }
        } else {
            // One clause per process: "sqlservr.exe PID 1580 listens on 1435, 5022 (…)".
            let mut parts: Vec<String> = vec![];
            let mut last_who: Option<String> = None;
            for (l, note) in &alts {
                let loopback = if is_loopback(&l.address) {
                    " on 127.0.0.1 only"
                } else {
                    ""
                };
                let inferred = if l.inferred {
                    " (seen in its established connections)"
                } else {
                    ""
                };
                let port = match note {
                    Some(n) => format!("{}{loopback} ({n}){inferred}", l.port),
                    None => format!("{}{loopback}{inferred}", l.port),
                };
                let w = who(l);
                match (&last_who, parts.last_mut()) {
                    (Some(prev), Some(part)) if *prev == w && l.pid.is_some() => {
                        part.push_str(", ");
                        part.push_str(&port);
                    }
                    _ => {
                        parts.push(format!("{w} listens on {port}"));
                        last_who = Some(w);
                    }
                }
            }
            format!("nothing listens on {pname}; {}", join_limited(&parts, 3))
        };
        info.listeners = alts.into_iter().map(|(l, _)| l).collect();
        if t.established && !t.is_finding {
            info.hint = Some(
                format!(
                    "{hint}; yet this connection was established: the listing is from another time or another host"
                ) + &assumed,
            );
        } else {
            info.hint = Some(hint + &assumed);
        }
        info
    }

    /// Listeners of the same product elsewhere: on the port's related ports (with their notes),
    /// then processes of the products that default to the port. One per (PID, port).
    fn alternatives(&self, proto: Proto, p: u16, host: &Host) -> Vec<(Listener, Option<String>)> {
        let mut out: Vec<(Listener, Option<String>)> = vec![];
        let push =
            |out: &mut Vec<(Listener, Option<String>)>, l: &Listener, note: Option<String>| {
                if !out
                    .iter()
                    .any(|(x, _)| x.pid == l.pid && x.port == l.port && x.proto == l.proto)
                {
                    out.push((l.clone(), note));
                }
            };
        let entry = self.services.get(proto, p);
        let related: Vec<RelatedPort> = entry.map(|e| e.related.clone()).unwrap_or_default();
        let mine: Vec<String> = entry.map(|e| e.processes.clone()).unwrap_or_default();
        let same =
            |a: &str, b: &str| a == b || a.trim_end_matches(".exe") == b.trim_end_matches(".exe");
        let of_product = |name: &str| mine.iter().any(|m| same(m, name));
        for r in &related {
            // A companion (the database engine next to SSAS, a management UI next to a broker) is
            // not where the client meant to go; a wide range (RPC dynamic ports, FTP passive
            // ports) says nothing about one listener.
            if r.proto != proto.as_str() || u32::from(r.last) - u32::from(r.port) > 1000 {
                continue;
            }
            let mut ls: Vec<&Listener> = host
                .listeners
                .iter()
                .filter(|l| {
                    l.proto == r.proto && l.port >= r.port && l.port <= r.last && l.port != p
                })
                .collect();
            ls.sort_by_key(|l| l.port);
            for l in ls {
                // One port: only the same service on another port (`*` in the table), not a
                // companion (the database engine next to SSAS, a management UI). A range (further
                // instances): when the listener is one of the product's processes.
                let same_product = if r.port == r.last {
                    entry.is_some_and(|e| e.same_service.contains(&(r.port, r.last)))
                } else {
                    l.process
                        .as_deref()
                        .is_none_or(|n| of_product(&n.to_ascii_lowercase()))
                };
                if !same_product {
                    continue;
                }
                let note = if r.port == r.last {
                    Some(r.note.clone())
                } else {
                    self.services
                        .short(proto, l.port)
                        .or_else(|| Some(r.note.clone()))
                };
                push(&mut out, l, note);
            }
        }
        let named_by_related: Vec<Option<u32>> = out.iter().map(|(l, _)| l.pid).collect();
        if let Some(e) = entry {
            for l in &host.listeners {
                let Some(name) = &l.process else { continue };
                let n = name.to_ascii_lowercase();
                if l.proto != proto.as_str() || l.port == p || GENERIC.contains(&n.as_str()) {
                    continue;
                }
                // A process already named for a related port: its other ports add nothing.
                if l.pid.is_some() && named_by_related.contains(&l.pid) {
                    continue;
                }
                let bare = n.trim_end_matches(".exe");
                if e.processes
                    .iter()
                    .any(|x| x == &n || x.trim_end_matches(".exe") == bare)
                {
                    let note = self.services.short(proto, l.port);
                    push(&mut out, l, note);
                }
            }
        }
        out
    }

    fn listening_hint(
        &self,
        t: &Target,
        host: &Host,
        how: &str,
        here: &[&Listener],
        pname: &str,
    ) -> String {
        let mut owners: Vec<String> = vec![];
        for l in here {
            let w = who(l);
            if !owners.contains(&w) {
                owners.push(w);
            }
        }
        let owners = join_limited(&owners, 3);
        let mut addrs: Vec<String> = vec![];
        for l in here {
            let e = endpoint(&l.address, l.port);
            if !addrs.contains(&e) {
                addrs.push(e);
            }
        }
        let addrs_s = join_limited(&addrs, 4);
        let client_remote = t
            .client_ip
            .as_deref()
            .and_then(ip)
            .is_some_and(|c| !c.is_loopback());
        if client_remote && here.iter().all(|l| is_loopback(&l.address)) {
            return format!(
                "{owners} listens on {pname} on loopback only ({addrs_s}): connections from {} cannot reach it",
                t.client_ip.as_deref().unwrap_or("other hosts")
            );
        }
        let server = t.server_ip.as_deref().and_then(ip);
        if let Some(sip) = server {
            // `::` may be dual-stack (Linux default; Windows when the program asks): not a
            // family mismatch by itself (the Windows case is told below).
            let fam_ok = |l: &&&Listener| match ip(&l.address) {
                _ if l.address == "*" => true,
                Some(a) if a.is_unspecified() && a.is_ipv6() => true,
                Some(a) => a.is_ipv4() == sip.is_ipv4(),
                None => true,
            };
            if !here.iter().any(|l| fam_ok(&l)) {
                let (has, used) = if sip.is_ipv6() {
                    ("IPv4", "IPv6")
                } else {
                    ("IPv6", "IPv4")
                };
                return format!(
                    "{owners} listens on {pname} over {has} only ({addrs_s}); the client used {used} ({sip})"
                );
            }
            if sip.is_ipv4()
                && host.windows
                && here
                    .iter()
                    .all(|l| ip(&l.address).is_some_and(|a| a.is_ipv6() && a.is_unspecified()))
            {
                return format!(
                    "{owners} listens on {pname} on [::] only: on Windows that takes IPv6 only unless the program made a dual-stack socket; the client used IPv4 ({sip})"
                );
            }
            // Bound to specific addresses, none of them the one the client called.
            if how != "assumed"
                && !here
                    .iter()
                    .any(|l| accepts(&l.address, sip, host.windows) || ip(&l.address).is_none())
            {
                return format!("{owners} listens on {pname} only on {addrs_s}, not on {sip}");
            }
        }
        let mut s = format!("{owners} listens on {pname}");
        if here.iter().all(|l| l.inferred) {
            s.push_str(" (seen in its established connections)");
        }
        if t.middlebox {
            s.push_str("; the reset came from a device on the path, not from this server: look at the firewall or filter there");
        } else if t.refused {
            s.push_str("; yet the connection was refused: the reset came from a firewall or filter, or the service was down or its backlog full when the capture was taken");
        } else if t.unanswered {
            s.push_str("; the SYNs went unanswered: a firewall dropping them is more likely than the service");
        }
        s
    }
}

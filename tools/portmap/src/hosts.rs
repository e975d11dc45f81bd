//! From listings to hosts and their listeners.
//!
//! Which host a listing comes from:
//! 1. `--host ADDR` (repeatable: every address of the server, e.g. its NAT address too): every
//!    listing given is from that host.
//! 2. Otherwise the listing's own addresses: every local IP address of its sockets that is not a
//!    wildcard (0.0.0.0, ::, *) and not loopback. Listings sharing an address are one host. The
//!    host's name is its most frequent such address (link-local ones last).
//! 3. A listing with none (only wildcard or loopback sockets, or host names as in `netstat -b`
//!    without -n) has an unknown host. When it is the only listing, records are matched to it
//!    anyway and the hint says the listing was assumed to be the server's.
//!
//! PIDs join to process names across every file given (`netstat -ano` + `tasklist`).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use tcpwhy_common::records::Listener;

use crate::parse::{Listing, Socket};
use crate::services::{Proto, Services};

/// An IP address parsed leniently: brackets and zone removed, IPv4-mapped IPv6 as IPv4.
pub fn ip(s: &str) -> Option<IpAddr> {
    let s = s.trim_start_matches('[').trim_end_matches(']');
    let s = s.split('%').next().unwrap_or(s);
    let a: IpAddr = s.parse().ok()?;
    Some(match a {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => a,
        },
        a => a,
    })
}

pub fn is_loopback(a: &str) -> bool {
    ip(a).is_some_and(|i| i.is_loopback())
}

fn is_link_local(i: &IpAddr) -> bool {
    match i {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// How the listings were tied to a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// `--host`.
    Given,
    /// From the listing's own addresses.
    Inferred,
    /// Not known (only wildcard/loopback addresses, or host names).
    Unknown,
}

/// A server and what listens on it.
#[derive(Debug, Clone)]
pub struct Host {
    /// Display name: the `--host` value, the main inferred address, a host name, or None.
    pub name: Option<String>,
    pub addrs: Vec<IpAddr>,
    pub known: Known,
    pub files: Vec<String>,
    /// True when every listing of this host is a Windows one.
    pub windows: bool,
    pub listeners: Vec<Listener>,
}

/// The states of a live accepted connection, still owned by its process (TIME_WAIT is not:
/// it belongs to no process any more, and outlives a stopped service).
fn is_connection_state(s: &str) -> bool {
    matches!(
        s,
        "ESTABLISHED"
            | "CLOSE_WAIT"
            | "SYN_RECV"
            | "FIN_WAIT1"
            | "FIN_WAIT2"
            | "LAST_ACK"
            | "CLOSING"
    )
}
/// The listeners a listing shows: LISTEN sockets, unconnected UDP sockets, and ports inferred
/// from accepted connections when no LISTEN line covers them (as in the seed's `netstat -b`,
/// which showed only ESTABLISHED lines on 2725).
///
/// A connection's local port is taken as a server port when it has connections from at least
/// two different peers, or when it is a well-known port (in the service table) below its
/// peer's port.
fn listeners_of(
    l: &Listing,
    services: &Services,
    procs: &HashMap<u32, (String, Vec<String>)>,
) -> Vec<(Socket, bool)> {
    let mut out: Vec<(Socket, bool)> = vec![];
    for s in &l.sockets {
        let listening = s.state == "LISTEN"
            || (s.proto == Some(Proto::Udp) && (s.state == "UNCONN" || s.remote_port.is_none()));
        if listening {
            out.push((s.clone(), false));
        }
    }
    // Accepted connections grouped by local (proto, port).
    let mut groups: BTreeMap<(Proto, u16), Vec<&Socket>> = BTreeMap::new();
    for s in &l.sockets {
        if s.proto == Some(Proto::Tcp) && is_connection_state(&s.state) {
            groups
                .entry((Proto::Tcp, s.local_port))
                .or_default()
                .push(s);
        }
    }
    for ((proto, port), conns) in groups {
        if out
            .iter()
            .any(|(s, _)| s.proto == Some(proto) && s.local_port == port)
        {
            continue;
        }
        let mut peers: Vec<(Option<&str>, Option<u16>)> = conns
            .iter()
            .map(|s| (s.remote_addr.as_deref(), s.remote_port))
            .collect();
        peers.sort();
        peers.dedup();
        let well_known_below = conns.iter().any(|s| {
            services.get(proto, port).is_some() && s.remote_port.is_some_and(|rp| rp > port)
        });
        if peers.len() >= 2 || well_known_below {
            // One listener per local address, with the owning PID of a live connection.
            let mut seen: Vec<&str> = vec![];
            for s in &conns {
                if seen.contains(&s.local_addr.as_str()) {
                    continue;
                }
                seen.push(&s.local_addr);
                let owner = conns
                    .iter()
                    .filter(|c| c.local_addr == s.local_addr)
                    .find(|c| c.pid.is_some_and(|p| p != 0))
                    .unwrap_or(s);
                let mut sock = (*owner).clone();
                sock.state = "ESTABLISHED".to_string();
                if sock.process.is_none() {
                    if let Some(pid) = sock.pid {
                        sock.process = procs.get(&pid).map(|p| p.0.clone());
                    }
                }
                out.push((sock, true));
            }
        }
    }
    out
}

/// The host key of a listing: its non-wildcard, non-loopback IP addresses (most frequent first,
/// link-local last) and a host name when its addresses are names.
fn addresses_of(l: &Listing) -> (Vec<IpAddr>, Option<String>) {
    let mut count: HashMap<IpAddr, usize> = HashMap::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    for s in &l.sockets {
        match ip(&s.local_addr) {
            Some(i) if !i.is_unspecified() && !i.is_loopback() => *count.entry(i).or_default() += 1,
            Some(_) => {}
            None if s.local_addr != "*" && !s.local_addr.is_empty() => {
                *names.entry(s.local_addr.clone()).or_default() += 1;
            }
            None => {}
        }
    }
    let mut v: Vec<(IpAddr, usize)> = count.into_iter().collect();
    v.sort_by(|a, b| {
        is_link_local(&a.0)
            .cmp(&is_link_local(&b.0))
            .then(b.1.cmp(&a.1))
            .then(a.0.cmp(&b.0))
    });
    let mut n: Vec<(String, usize)> = names.into_iter().collect();
    n.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    (
        v.into_iter().map(|x| x.0).collect(),
        n.into_iter().next().map(|x| x.0),
    )
}

/// Builds the hosts from every listing.
pub fn build(
    listings: &[Listing],
    given: &[String],
    services: &Services,
) -> anyhow::Result<Vec<Host>> {
    // PID → (name, services) from process lists first, then from the socket listings.
    let mut procs: HashMap<u32, (String, Vec<String>)> = HashMap::new();
    for l in listings {
        for p in &l.processes {
            procs.insert(p.pid, (p.name.clone(), p.services.clone()));
        }
    }
    for l in listings {
        for s in &l.sockets {
            if let (Some(pid), Some(name)) = (s.pid, &s.process) {
                procs
                    .entry(pid)
                    .or_insert_with(|| (name.clone(), s.components.clone()));
            }
        }
    }
    let mut given_addrs = vec![];
    for g in given {
        given_addrs.push(ip(g).ok_or_else(|| anyhow::anyhow!("--host {g:?}: not an IP address"))?);
    }
    let mut hosts: Vec<Host> = vec![];
    for l in listings.iter().filter(|l| l.format.lists_sockets()) {
        let (addrs, hostname) = addresses_of(l);
        let (known, addrs, name) = if !given.is_empty() {
            (Known::Given, given_addrs.clone(), Some(given[0].clone()))
        } else if !addrs.is_empty() {
            let name = addrs[0].to_string();
            (Known::Inferred, addrs, Some(name))
        } else {
            (Known::Unknown, vec![], hostname)
        };
        let listeners: Vec<Listener> = listeners_of(l, services, &procs)
            .into_iter()
            .map(|(s, inferred)| to_listener(&s, inferred, l, name.as_deref(), services, &procs))
            .collect();
        // Merge with a host that shares an address (or every listing under --host).
        // Every listing under --host is one host; listings sharing an address are one host;
        // listings of unknown host are taken as one (the files given together for a server,
        // such as its ss and its lsof output).
        let merge_into = hosts.iter().position(|h| {
            h.known == known
                && match known {
                    Known::Given | Known::Unknown => true,
                    Known::Inferred => h.addrs.iter().any(|a| addrs.contains(a)),
                }
        });
        match merge_into {
            Some(i) => {
                let h = &mut hosts[i];
                for a in addrs {
                    if !h.addrs.contains(&a) {
                        h.addrs.push(a);
                    }
                }
                h.files.push(l.file.clone());
                if h.name.is_none() {
                    h.name = name.clone();
                }
                h.windows &= l.format.is_windows();
                for mut li in listeners {
                    let dup = h.listeners.iter().any(|x| {
                        x.proto == li.proto
                            && x.address == li.address
                            && x.port == li.port
                            && x.pid == li.pid
                    });
                    if !dup {
                        li.host = h.name.clone();
                        h.listeners.push(li);
                    }
                }
            }
            None => hosts.push(Host {
                name,
                addrs,
                known,
                files: vec![l.file.clone()],
                windows: l.format.is_windows(),
                listeners,
            }),
        }
    }
    Ok(hosts)
}

fn to_listener(
    s: &Socket,
    inferred: bool,
    l: &Listing,
    host: Option<&str>,
    services: &Services,
    procs: &HashMap<u32, (String, Vec<String>)>,
) -> Listener {
    let proto = s.proto.unwrap_or(Proto::Tcp);
    let joined = s.pid.and_then(|p| procs.get(&p));
    let process = s.process.clone().or_else(|| joined.map(|p| p.0.clone()));
    let mut components = s.components.clone();
    if components.is_empty() {
        if let Some(p) = joined {
            if Some(&p.0) == process.as_ref() {
                components = p.1.clone();
            }
        }
    }
    let service = services
        .get(proto, s.local_port)
        .map(|e| e.service.clone())
        .filter(|x| !x.is_empty());
    Listener {
        r#type: "listener".to_string(),
        host: host.map(str::to_string),
        proto: proto.as_str().to_string(),
        address: s.local_addr.clone(),
        port: s.local_port,
        state: s.state.clone(),
        inferred,
        pid: s.pid,
        process,
        components,
        service,
        source: l.format.name().to_string(),
        file: l.file.clone(),
        line: s.line,
        extra: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Format;

    fn sock(local: &str, lport: u16, remote: &str, rport: u16, state: &str, pid: u32) -> Socket {
        Socket {
            proto: Some(Proto::Tcp),
            local_addr: local.into(),
            local_port: lport,
            remote_addr: Some(remote.into()),
            remote_port: Some(rport),
            state: state.into(),
            pid: Some(pid),
            ..Default::default()
        }
    }

    /// A listening socket, its remote end the wildcard of its family.
    fn listen(local: &str, lport: u16, pid: u32) -> Socket {
        let any = if local.contains(':') { "::" } else { "0.0.0.0" };
        sock(local, lport, any, 0, "LISTEN", pid)
    }

    fn listing(sockets: Vec<Socket>) -> Listing {
        Listing {
            file: "t".into(),
            format: Format::NetstatWindows,
            sockets,
            processes: vec![],
        }
    }

    fn inferred(l: &Listing) -> Vec<u16> {
        listeners_of(l, &Services::builtin(), &HashMap::new())
            .into_iter()
            .filter(|(_, inf)| *inf)
            .map(|(s, _)| s.local_port)
            .collect()
    }

    #[test]
    fn server_ports_are_inferred_from_accepted_connections_only() {
        // Two peers on 2725: served. A well-known port below its peer's: served.
        let l = listing(vec![
            sock("10.0.0.5", 2725, "10.0.0.1", 42802, "ESTABLISHED", 2344),
            sock("10.0.0.5", 2725, "10.0.0.2", 58478, "ESTABLISHED", 2344),
            sock("10.0.0.5", 1433, "10.0.0.9", 50000, "ESTABLISHED", 1580),
            // The client side of connections: ephemeral local port, one peer each.
            sock("10.0.0.5", 50001, "10.0.0.7", 443, "ESTABLISHED", 700),
            sock("10.0.0.5", 50002, "10.0.0.7", 443, "CLOSE_WAIT", 700),
            // TIME_WAIT belongs to no process: never inferred (a stopped service leaves these).
            sock("10.0.0.5", 80, "10.0.0.3", 51000, "TIME_WAIT", 0),
            sock("10.0.0.5", 80, "10.0.0.4", 51001, "TIME_WAIT", 0),
        ]);
        assert_eq!(inferred(&l), vec![1433, 2725]);
        // A LISTEN line for the port makes inference unnecessary.
        let mut with_listen = l.clone();
        with_listen.sockets.push(listen("0.0.0.0", 2725, 2344));
        assert_eq!(inferred(&with_listen), vec![1433]);
    }

    #[test]
    fn host_addresses_skip_wildcards_and_loopback() {
        let l = listing(vec![
            listen("0.0.0.0", 135, 1),
            listen("127.0.0.1", 1434, 1),
            listen("fe80::1%4", 546, 1),
            listen("10.0.0.5", 139, 4),
            sock("10.0.0.5", 2725, "10.0.0.1", 1, "ESTABLISHED", 4),
            listen("10.0.0.6", 139, 4),
        ]);
        let (addrs, name) = addresses_of(&l);
        let s: Vec<String> = addrs.iter().map(std::string::ToString::to_string).collect();
        assert_eq!(s, vec!["10.0.0.5", "10.0.0.6", "fe80::1"]);
        assert_eq!(name, None);
        assert!(ip("::ffff:10.0.0.5").is_some_and(|a| a.is_ipv4()));
    }
}

//! Per-address state across the whole input: the TTLs each address's own (non-RST) packets
//! arrived with, the RSTs carrying it, the routers that answered for it. It is the cross-flow
//! evidence (a successful connection to another port gives the server's distance) and the source
//! of the `host` records. Bounded: at most `cap` addresses, least recently used evicted first
//! (its `host` record is written at that moment).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use tcpwhy_common::records::Host;

use crate::infer::{self, Basis, Expect};

/// Distinct TTL values remembered per address (the `host` record lists at most this many).
pub const MAX_TTLS: usize = 16;

#[derive(Debug, Default, Clone)]
pub struct Entry {
    /// Non-RST TTL value -> times seen (at most MAX_TTLS values).
    pub ttls: Vec<(u8, u64)>,
    /// RSTs carrying this address: TTL value -> times seen.
    pub rst_ttls: Vec<(u8, u64)>,
    pub pkt_packets: u64,
    pub flow_packets: u64,
    pub flows: u64,
    /// ICMP errors it sent, counted from `packet` records.
    pub icmp_errors: u64,
    /// The same counted from flows (used when no `packet` record of it was seen: tcpflows passes
    /// ICMP packets through, so both can reach ttlhops).
    pub flow_icmp_errors: u64,
    pub middlebox_rsts: u64,
    /// The farthest router (hops, address) that sent an ICMP error about packets to this address.
    pub router_hops: Option<(u8, String)>,
    last_used: u64,
}

fn bump(v: &mut Vec<(u8, u64)>, ttl: u8, n: u64) {
    if let Some(e) = v.iter_mut().find(|e| e.0 == ttl) {
        e.1 += n;
    } else if v.len() < MAX_TTLS {
        v.push((ttl, n));
    }
}

/// The most common value (ties: the one seen first).
fn modal(v: &[(u8, u64)]) -> Option<u8> {
    let mut best: Option<(u8, u64)> = None;
    for &(t, n) in v {
        if best.is_none_or(|b| n > b.1) {
            best = Some((t, n));
        }
    }
    best.map(|b| b.0)
}

impl Entry {
    /// This address's distance as its own packets show it.
    pub fn distance(&self) -> Option<Expect> {
        let t = modal(&self.ttls)?;
        let mut others: Vec<(u8, u8)> = self
            .ttls
            .iter()
            .filter(|e| e.0 != t)
            .map(|e| (infer::initial_ttl(e.0), infer::hops(e.0)))
            .collect();
        others.sort_unstable();
        others.dedup();
        Some(Expect {
            basis: Basis::OtherFlows,
            ttl: Some(t),
            initial: Some(infer::initial_ttl(t)),
            hops: infer::hops(t),
            others,
            count: self.ttls.iter().map(|e| e.1).sum(),
        })
    }
}

/// Addresses are keys in their parsed form (no allocation per address); a string that is not
/// an IP address (never written by tcpflows or pcap2jsonl) is not remembered.
pub struct Table {
    map: HashMap<IpAddr, Entry>,
    lru: BTreeMap<u64, IpAddr>,
    /// One address with a known distance per /24 (IPv4) or /64 (IPv6): its neighbours' hint.
    prefixes: HashMap<IpAddr, IpAddr>,
    tick: u64,
    cap: usize,
}

/// The /24 (IPv4) or /64 (IPv6) network of an address.
pub fn prefix(ip: &IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(a) => IpAddr::V4((u32::from(*a) & 0xffff_ff00).into()),
        IpAddr::V6(a) => IpAddr::V6((u128::from(*a) & !((1u128 << 64) - 1)).into()),
    }
}

impl Table {
    pub fn new(cap: usize) -> Self {
        Table {
            map: HashMap::new(),
            lru: BTreeMap::new(),
            prefixes: HashMap::new(),
            tick: 0,
            cap: cap.max(1),
        }
    }

    pub fn get(&self, ip: &str) -> Option<&Entry> {
        self.map.get(&ip.parse::<IpAddr>().ok()?)
    }

    pub fn has_distance(&self, ip: &str) -> bool {
        self.get(ip).is_some_and(|e| !e.ttls.is_empty())
    }

    /// The entry for `ip`, created if new and marked most recently used (None when `ip` is not
    /// an address). An address pushed out to make room is returned as a `host` record (to be
    /// written at once).
    pub fn entry(&mut self, ip: &str, evicted: &mut Vec<Host>) -> Option<&mut Entry> {
        let ip: IpAddr = ip.parse().ok()?;
        self.tick += 1;
        let tick = self.tick;
        if let Some(e) = self.map.get_mut(&ip) {
            self.lru.remove(&e.last_used);
            e.last_used = tick;
            self.lru.insert(tick, ip);
        } else {
            while self.map.len() >= self.cap {
                let Some((_, old)) = self.lru.pop_first() else {
                    break;
                };
                if let Some(e) = self.map.remove(&old).filter(Entry::sent_something) {
                    let mut h = host_record(&old, &e);
                    h.note.push_str(
                        " Written before the end of the input: more addresses than --max-hosts.",
                    );
                    evicted.push(h);
                }
            }
            self.map.insert(
                ip,
                Entry {
                    last_used: tick,
                    ..Default::default()
                },
            );
            self.lru.insert(tick, ip);
        }
        self.map.get_mut(&ip)
    }

    /// Remembers `ip` (whose own packets were just seen) as its network's example address.
    pub fn note_member(&mut self, ip: &str) {
        let Ok(ip) = ip.parse::<IpAddr>() else { return };
        let p = prefix(&ip);
        if let Some(m) = self.prefixes.get_mut(&p) {
            if !self.map.contains_key(m) {
                *m = ip; // the old example was dropped from the table
            }
        } else if self.prefixes.len() < self.cap {
            self.prefixes.insert(p, ip);
        }
    }

    /// Another address of `ip`'s /24 or /64 whose distance is known, with that distance.
    pub fn neighbour(&self, ip: &str) -> Option<(IpAddr, Expect)> {
        let ip: IpAddr = ip.parse().ok()?;
        let m = self.prefixes.get(&prefix(&ip))?;
        if *m == ip {
            return None;
        }
        Some((*m, self.map.get(m)?.distance()?))
    }

    /// The addresses, ordered by version then address (the order of the `host` records).
    pub fn addresses(&self) -> Vec<IpAddr> {
        let mut keys: Vec<IpAddr> = self.map.keys().copied().collect();
        keys.sort_by_key(|a| (a.is_ipv6(), *a));
        keys
    }

    /// The `host` record of one address (None when nothing came from it or in its name: an
    /// address only ever sent to is remembered for its routers but gets no record).
    pub fn host(&self, ip: &IpAddr) -> Option<Host> {
        self.map
            .get(ip)
            .filter(|e| e.sent_something())
            .map(|e| host_record(ip, e))
    }

    /// `host` records for every address, ordered by version then address.
    #[cfg(test)]
    pub fn hosts(&self) -> Vec<Host> {
        self.addresses()
            .iter()
            .filter_map(|a| self.host(a))
            .collect()
    }
}

impl Entry {
    /// Packets came from this address, or RSTs / ICMP errors in its name.
    pub fn sent_something(&self) -> bool {
        self.pkt_packets > 0
            || self.flow_packets > 0
            || self.icmp_errors > 0
            || self.flow_icmp_errors > 0
            || !self.rst_ttls.is_empty()
    }

    pub fn add_ttl(&mut self, ttl: u8) {
        bump(&mut self.ttls, ttl, 1);
    }
    pub fn add_rst_ttl(&mut self, ttl: u8) {
        bump(&mut self.rst_ttls, ttl, 1);
    }
}

fn sorted(v: &[(u8, u64)]) -> Vec<u8> {
    let mut s: Vec<u8> = v.iter().map(|e| e.0).collect();
    s.sort_unstable();
    s
}

/// The `host` record of one address.
pub fn host_record(ip: &IpAddr, e: &Entry) -> Host {
    let ip_version = if ip.is_ipv6() { 6 } else { 4 };
    let word = infer::ttl_word(ip_version);
    let only_rsts = e.ttls.is_empty() && !e.rst_ttls.is_empty();
    let basis = if only_rsts { &e.rst_ttls } else { &e.ttls };
    let t = modal(basis);
    let initial = t.map(infer::initial_ttl);
    let hops = t.map(infer::hops);
    let os = initial.and_then(infer::os_hint);
    let mut note = String::new();
    match (t, initial, hops) {
        (Some(t), Some(i), Some(h)) => {
            note.push_str(&format!(
                "Most packets arrived with {word} {t}: initial {i}, {} between it and the capture \
                 point.",
                infer::routers(h)
            ));
            let caveat = match i {
                128 => " 128 is the Windows default.",
                64 => {
                    " 64 is the default of Linux, macOS, the BSDs and much network gear built on them."
                }
                255 => {
                    " 255 is typical of routers and firewalls (Cisco, Juniper) and some Unix ICMP."
                }
                _ => " 32 is rare (old or embedded stacks): no OS hint.",
            };
            note.push_str(caveat);
            if os.is_some() {
                note.push_str(
                    " The OS hint comes from the initial TTL only: a default any system can \
                     change, and NAT, load balancers or proxies may answer for the address.",
                );
            }
        }
        _ => note.push_str(&format!("No {word} was seen from this address.")),
    }
    if only_rsts {
        note.push_str(&format!(
            " This address sent nothing but RSTs: the {word}s above are theirs, and a middlebox \
             may have sent them in its name (see the flows' ttlhops.rst)."
        ));
    }
    let distinct: Vec<u8> = {
        let mut v: Vec<(u8, u8)> = basis
            .iter()
            .map(|x| (infer::initial_ttl(x.0), infer::hops(x.0)))
            .collect();
        v.sort_unstable();
        v.dedup();
        v.into_iter().map(|x| x.1).collect()
    };
    if distinct.len() > 1 {
        note.push_str(&format!(
            " Its {word}s vary ({}): a route change, or several hosts behind one address (NAT, \
             load balancer).",
            sorted(basis)
                .iter()
                .map(std::string::ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if e.middlebox_rsts > 0 {
        note.push_str(&format!(
            " {} RST(s) or ICMP error(s) carrying this address came from a middlebox, not from \
             it; their {word}s are in rst_ttls only.",
            e.middlebox_rsts
        ));
    }
    let (packets, icmp_errors, source) = if e.pkt_packets > 0 {
        (e.pkt_packets, e.icmp_errors, "packets")
    } else {
        (e.flow_packets, e.flow_icmp_errors, "flows")
    };
    Host {
        r#type: "host".into(),
        ip: ip.to_string(),
        ip_version,
        packets,
        ttls: sorted(basis),
        rst_ttls: sorted(&e.rst_ttls),
        initial_ttl: initial,
        hops,
        os_hint: os.map(str::to_string),
        flows: e.flows,
        icmp_errors,
        middlebox_rsts: e.middlebox_rsts,
        source: source.into(),
        note,
        extra: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet from `ip` with `ttl`.
    fn seen(t: &mut Table, ip: &str, ttl: u8, ev: &mut Vec<Host>) {
        let e = t.entry(ip, ev).unwrap();
        e.add_ttl(ttl);
        e.pkt_packets += 1;
    }

    #[test]
    fn lru_evicts_the_least_recently_used_and_reports_it() {
        let mut t = Table::new(2);
        let mut ev = vec![];
        seen(&mut t, "10.0.0.1", 64, &mut ev);
        seen(&mut t, "10.0.0.2", 126, &mut ev);
        seen(&mut t, "10.0.0.1", 64, &mut ev);
        seen(&mut t, "10.0.0.3", 255, &mut ev);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].ip, "10.0.0.2");
        assert!(ev[0].note.contains("--max-hosts"));
        assert!(t.has_distance("10.0.0.1") && !t.has_distance("10.0.0.2"));
        let hosts = t.hosts();
        assert_eq!(
            hosts.iter().map(|h| h.ip.as_str()).collect::<Vec<_>>(),
            ["10.0.0.1", "10.0.0.3"]
        );
        assert_eq!(hosts[1].os_hint.as_deref(), Some("network device"));
    }

    #[test]
    fn hosts_sort_by_version_then_address() {
        let mut t = Table::new(10);
        let mut ev = vec![];
        for ip in ["10.0.0.10", "fd00::1", "10.0.0.9", "2001:db8::1"] {
            seen(&mut t, ip, 64, &mut ev);
        }
        let ips: Vec<String> = t.hosts().into_iter().map(|h| h.ip).collect();
        assert_eq!(ips, ["10.0.0.9", "10.0.0.10", "2001:db8::1", "fd00::1"]);
    }

    #[test]
    fn distance_is_the_modal_ttl_with_the_others_listed() {
        let mut e = Entry::default();
        for t in [126, 126, 62] {
            e.add_ttl(t);
        }
        let d = e.distance().unwrap();
        assert_eq!((d.ttl, d.initial, d.hops), (Some(126), Some(128), 2));
        assert_eq!(d.others, vec![(64, 2)]);
        let h = host_record(&"172.16.0.1".parse().unwrap(), &e);
        assert_eq!(h.ttls, vec![62, 126]);
        assert!(h.note.contains("vary"), "{}", h.note);
        assert_eq!(h.os_hint.as_deref(), Some("windows"));
    }

    #[test]
    fn neighbours_share_a_prefix() {
        let mut t = Table::new(10);
        let mut ev = vec![];
        seen(&mut t, "203.0.113.30", 62, &mut ev);
        t.note_member("203.0.113.30");
        let (m, d) = t.neighbour("203.0.113.20").unwrap();
        assert_eq!((m.to_string().as_str(), d.hops), ("203.0.113.30", 2));
        assert!(
            t.neighbour("203.0.113.30").is_none(),
            "not its own neighbour"
        );
        assert!(t.neighbour("203.0.114.20").is_none());
        assert_eq!(
            prefix(&"2001:db8:20::20".parse().unwrap()).to_string(),
            "2001:db8:20::"
        );
    }

    #[test]
    fn only_rsts_say_so() {
        let mut e = Entry::default();
        e.add_rst_ttl(126);
        let h = host_record(&"172.16.0.1".parse().unwrap(), &e);
        assert_eq!(h.ttls, vec![126]);
        assert_eq!(h.rst_ttls, vec![126]);
        assert_eq!(h.hops, Some(2));
        assert!(h.note.contains("nothing but RSTs"));
    }
}

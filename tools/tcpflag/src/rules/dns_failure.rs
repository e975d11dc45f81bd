//! `dns_failure`: a name the client could not resolve, judged per name across its queries and
//! retries (DNS `packet` records, which tcpflows passes through).
//!
//! Only address lookups (A, AAAA) count. A client's lookups of related names — the same name
//! with or without a search suffix (`app.corp.example` / `app`) — form one group, so a
//! search-suffix walk that ends in an answer stays silent, and so does an empty AAAA answer
//! beside a good A. A group is judged once nothing happened to it for `window` seconds of
//! capture time (the resolver's retries are over), or at the end of the input:
//!
//! * NXDOMAIN → Windows 11001 WSAHOST_NOT_FOUND / POSIX EAI_NONAME;
//! * SERVFAIL → 11002 WSATRY_AGAIN / EAI_AGAIN;
//! * REFUSED, NOTIMP → 11003 WSANO_RECOVERY / EAI_AGAIN (glibc asks the next server, then says
//!   "Temporary failure"), FORMERR → 11003 / EAI_FAIL;
//! * NOERROR without an address while no other address type answered → 11004 WSANO_DATA /
//!   EAI_NODATA;
//! * no answer at all although the client asked at least twice → 11002 / EAI_AGAIN, with the
//!   resolver asked, how often, over how long and whether it answered anything else.
//!
//! Memory is bounded: at most [`MAX_GROUPS`] groups wait at once (the oldest are judged early
//! when more come) and [`MAX_RESOLVERS`] resolvers are counted.

mod errors;
mod finding;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};

use tcpwhy_common::records::Finding;
use tcpwhy_common::records::packet::Packet;

/// Lookup groups waiting at once.
pub const MAX_GROUPS: usize = 100_000;
/// Resolvers whose answers are counted.
pub const MAX_RESOLVERS: usize = 10_000;
/// Names kept per group.
const MAX_NAMES: usize = 16;
/// Frames kept per name.
const MAX_FRAMES: usize = 16;
/// Outstanding queries kept per name.
const MAX_OUTSTANDING: usize = 64;

/// What one name's answers said.
#[derive(Debug, Default, Clone)]
struct Name {
    name: String,
    first_ts: f64,
    queries: u32,
    query_frames: Vec<u64>,
    first_query_ts: Option<f64>,
    last_query_ts: Option<f64>,
    qtypes: BTreeSet<String>,
    /// Resolvers asked (at most 4).
    resolvers: Vec<String>,
    /// (resolver, client port, id) of queries not answered yet.
    outstanding: Vec<(String, u16, u16)>,
    responses: u32,
    response_frames: Vec<u64>,
    /// Some answer carried an address.
    address: Option<String>,
    nxdomain: Option<u64>,
    servfail: Option<u64>,
    /// REFUSED / FORMERR / NOTIMP: (rcode, frame).
    refused: Option<(u8, u64)>,
    /// Other rcodes (YXDOMAIN, NOTAUTH…): (rcode, frame).
    other: Option<(u8, u64)>,
    /// NOERROR without an address: (qtype, frame).
    nodata: Vec<(String, u64)>,
}

#[derive(Debug, Default)]
struct Group {
    client: String,
    last_ts: f64,
    names: Vec<Name>,
}

/// The dns_failure aggregator.
#[derive(Debug)]
pub struct DnsFailures {
    window: f64,
    /// (client, first label) → the client's lookups of names starting with that label.
    groups: HashMap<(String, String), Group>,
    /// Resolver → responses seen from it.
    answered: HashMap<String, u32>,
    warned: bool,
    now: f64,
    /// No group is due before this capture time (a lower bound: groups only get later).
    next_due: f64,
    /// Groups waiting at most ([`MAX_GROUPS`]; smaller in tests).
    max_groups: usize,
}

/// The outcome of a failed group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    NxDomain,
    ServFail,
    Refused(u8),
    NoData,
    Timeout,
}

impl DnsFailures {
    /// `window`: seconds of capture time without activity after which a lookup is judged.
    pub fn new(window: f64) -> Self {
        DnsFailures {
            window,
            groups: HashMap::new(),
            answered: HashMap::new(),
            warned: false,
            now: f64::MIN,
            next_due: f64::MAX,
            max_groups: MAX_GROUPS,
        }
    }

    /// One DNS packet; returns the findings of the lookups that are now over.
    pub fn packet(&mut self, p: &Packet<'_>) -> Vec<Finding> {
        let mut out = self.advance(p.ts);
        let Some(d) = &p.dns else {
            return out;
        };
        let (Some(src), Some(dst)) = (p.src_ip.as_deref(), p.dst_ip.as_deref()) else {
            return out;
        };
        // Unicast DNS only: multicast DNS (5353) asks the whole link and expects silence.
        if p.src_port != Some(53) && p.dst_port != Some(53) {
            return out;
        }
        let qtype = d.qtype.as_deref().unwrap_or("");
        if qtype != "A" && qtype != "AAAA" {
            return out;
        }
        let Some(qname) = d.qname.as_deref() else {
            return out;
        };
        let name = normalize(qname);
        if name.is_empty() || ignored(&name) {
            return out;
        }
        let (client, resolver, cport) = if d.response {
            (dst, src, p.dst_port.unwrap_or(0))
        } else {
            (src, dst, p.src_port.unwrap_or(0))
        };
        if d.response
            && (self.answered.len() < MAX_RESOLVERS || self.answered.contains_key(resolver))
        {
            *self.answered.entry(resolver.to_string()).or_default() += 1;
        }
        let key = (client.to_string(), first_label(&name).to_string());
        if !self.groups.contains_key(&key) && self.groups.len() >= self.max_groups {
            if !self.warned {
                self.warned = true;
                tcpwhy_common::cli::warn(
                    "dns_failure: too many names being looked up at once; the oldest are judged early",
                );
            }
            out.extend(self.flush_oldest(self.max_groups / 10));
        }
        let g = self.groups.entry(key).or_insert_with(|| Group {
            client: client.to_string(),
            last_ts: p.ts,
            names: vec![],
        });
        g.last_ts = g.last_ts.max(p.ts);
        self.next_due = self.next_due.min(g.last_ts + self.window);
        let idx = match g.names.iter().position(|n| n.name == name) {
            Some(i) => i,
            None if g.names.len() < MAX_NAMES => {
                g.names.push(Name {
                    name: name.clone(),
                    first_ts: p.ts,
                    ..Default::default()
                });
                g.names.len() - 1
            }
            None => return out,
        };
        let n = &mut g.names[idx];
        if d.response {
            n.responses += 1;
            push_capped(&mut n.response_frames, p.frame);
            n.outstanding
                .retain(|(r, port, id)| !(r == resolver && *port == cport && *id == d.id));
            let addr = d
                .answers
                .iter()
                .filter(|a| a.rtype == "A" || a.rtype == "AAAA")
                .find_map(|a| a.data.as_deref());
            match d.rcode.unwrap_or(0) {
                0 => match addr {
                    Some(a) => {
                        if n.address.is_none() {
                            n.address = Some(a.to_string());
                        }
                    }
                    None => {
                        if n.nodata.len() < 4 {
                            n.nodata.push((qtype.to_string(), p.frame));
                        }
                    }
                },
                3 => {
                    n.nxdomain.get_or_insert(p.frame);
                }
                2 => {
                    n.servfail.get_or_insert(p.frame);
                }
                r @ (1 | 4 | 5) => {
                    n.refused.get_or_insert((r, p.frame));
                }
                r => {
                    n.other.get_or_insert((r, p.frame));
                }
            }
        } else {
            n.queries += 1;
            push_capped(&mut n.query_frames, p.frame);
            n.first_query_ts.get_or_insert(p.ts);
            n.last_query_ts = Some(p.ts);
            if n.qtypes.len() < 4 {
                n.qtypes.insert(qtype.to_string());
            }
            if n.resolvers.len() < 4 && !n.resolvers.iter().any(|r| r == resolver) {
                n.resolvers.push(resolver.to_string());
            }
            if n.outstanding.len() < MAX_OUTSTANDING {
                n.outstanding.push((resolver.to_string(), cport, d.id));
            }
        }
        out
    }

    /// Capture time moved on (a flow ended at `ts`): the lookups idle for `window` are judged.
    pub fn advance(&mut self, ts: f64) -> Vec<Finding> {
        if ts > self.now {
            self.now = ts;
        }
        if self.groups.is_empty() || self.now <= self.next_due {
            return vec![];
        }
        let horizon = self.now - self.window;
        let mut next = f64::MAX;
        let mut due: Vec<(String, String)> = vec![];
        for (k, g) in &self.groups {
            if g.last_ts < horizon {
                due.push(k.clone());
            } else {
                next = next.min(g.last_ts + self.window);
            }
        }
        self.next_due = next;
        self.judge_keys(due)
    }

    /// End of input: every lookup still waiting.
    pub fn finish(&mut self) -> Vec<Finding> {
        let keys: Vec<(String, String)> = self.groups.keys().cloned().collect();
        self.judge_keys(keys)
    }

    fn flush_oldest(&mut self, n: usize) -> Vec<Finding> {
        let mut v: Vec<(f64, (String, String))> = self
            .groups
            .iter()
            .map(|(k, g)| (g.last_ts, k.clone()))
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        self.judge_keys(v.into_iter().take(n.max(1)).map(|(_, k)| k).collect())
    }

    fn judge_keys(&mut self, keys: Vec<(String, String)>) -> Vec<Finding> {
        if keys.is_empty() {
            return vec![];
        }
        let mut groups: Vec<Group> = keys
            .into_iter()
            .filter_map(|k| self.groups.remove(&k))
            .collect();
        groups.sort_by(|a, b| {
            let fa = a.names.first().map_or(0.0, |n| n.first_ts);
            let fb = b.names.first().map_or(0.0, |n| n.first_ts);
            fa.total_cmp(&fb)
        });
        let mut out = vec![];
        for g in groups {
            out.extend(self.judge(g));
        }
        out.sort_by(|a, b| a.ts.unwrap_or(0.0).total_cmp(&b.ts.unwrap_or(0.0)));
        out
    }

    /// The findings of one group: each failed name with the failed names of its search walk.
    fn judge(&self, g: Group) -> Vec<Finding> {
        let mut names = g.names;
        names.sort_by_key(|n| n.name.len());
        // Clusters: each name joins the first shorter name it extends (or that extends it).
        let mut cluster_of: Vec<usize> = (0..names.len()).collect();
        for i in 0..names.len() {
            for j in 0..i {
                if related(&names[i].name, &names[j].name) {
                    cluster_of[i] = cluster_of[j];
                    break;
                }
            }
        }
        let mut out = vec![];
        for root in 0..names.len() {
            if cluster_of[root] != root {
                continue;
            }
            let members: Vec<&Name> = (0..names.len())
                .filter(|&i| cluster_of[i] == root)
                .map(|i| &names[i])
                .collect();
            if members.iter().any(|n| n.address.is_some()) {
                continue;
            }
            if let Some(fd) = self.finding(&g.client, &members) {
                out.push(fd);
            }
        }
        out
    }
}

fn push_capped(v: &mut Vec<u64>, f: u64) {
    if v.len() < MAX_FRAMES {
        v.push(f);
    }
}

/// DNS names compare case-insensitively and without the root dot.
fn normalize(n: &str) -> String {
    n.trim_end_matches('.').to_ascii_lowercase()
}

fn first_label(n: &str) -> &str {
    n.split('.').next().unwrap_or(n)
}

/// Names whose failure is expected background noise: proxy and ISATAP auto-discovery, reverse
/// and multicast-DNS names.
fn ignored(n: &str) -> bool {
    let l = first_label(n);
    l == "wpad"
        || l == "isatap"
        || l.starts_with('_')
        || n.ends_with(".arpa")
        || n.ends_with(".local")
        || n == "localhost"
}

/// `a` is `b` with a search suffix appended, or the other way round.
fn related(a: &str, b: &str) -> bool {
    let ext = |long: &str, short: &str| {
        long.len() > short.len() + 1
            && long.starts_with(short)
            && long.as_bytes()[short.len()] == b'.'
    };
    ext(a, b) || ext(b, a)
}

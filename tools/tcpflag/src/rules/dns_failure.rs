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

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value, json};
use tcpwhy_common::records::packet::Packet;
use tcpwhy_common::records::{Finding, Severity, SocketError};

use crate::wording::{frames, plural, secs};

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

    fn finding(&self, client: &str, members: &[&Name]) -> Option<Finding> {
        let root = members[0];
        let queries: u32 = members.iter().map(|n| n.queries).sum();
        let responses: u32 = members.iter().map(|n| n.responses).sum();
        let servfail = members.iter().find_map(|n| n.servfail);
        let refused = members.iter().find_map(|n| n.refused);
        let nxdomain = members.iter().find_map(|n| n.nxdomain);
        let nodata = members.iter().find_map(|n| n.nodata.first().map(|x| x.1));
        // glibc's order (res_search): a name that exists without an address wins over a
        // server failure, which wins over "no such name".
        let failure = if nodata.is_some() {
            Failure::NoData
        } else if servfail.is_some() {
            Failure::ServFail
        } else if let Some((r, _)) = refused {
            Failure::Refused(r)
        } else if nxdomain.is_some() {
            Failure::NxDomain
        } else if responses == 0 && queries >= 2 {
            Failure::Timeout
        } else {
            return None;
        };
        let mut resolvers: Vec<String> = vec![];
        for n in members {
            for r in &n.resolvers {
                if !resolvers.contains(r) && resolvers.len() < 4 {
                    resolvers.push(r.clone());
                }
            }
        }
        let mut qtypes: BTreeSet<String> = BTreeSet::new();
        for n in members {
            qtypes.extend(n.qtypes.iter().cloned());
        }
        let qtypes: Vec<String> = qtypes.into_iter().collect();
        let first_q = members
            .iter()
            .filter_map(|n| n.first_query_ts)
            .min_by(f64::total_cmp);
        let last_q = members
            .iter()
            .filter_map(|n| n.last_query_ts)
            .max_by(f64::total_cmp);
        let span = match (first_q, last_q) {
            (Some(a), Some(b)) => b - a,
            _ => 0.0,
        };
        let ts = first_q.or(Some(root.first_ts));
        let name = root.name.as_str();
        let tried: Vec<&str> = members.iter().skip(1).map(|n| n.name.as_str()).collect();
        let mut fr: Vec<u64> = vec![];
        for n in members {
            fr.extend(&n.query_frames);
            fr.extend(&n.response_frames);
        }
        fr.sort_unstable();
        fr.dedup();
        fr.truncate(MAX_FRAMES);
        let resolver_words = match resolvers.len() {
            0 => "the resolver".to_string(),
            1 => format!("the resolver {}", resolvers[0]),
            _ => format!("the resolvers {}", resolvers.join(", ")),
        };
        let over = if span >= 0.001 {
            format!(" over {}", secs(span))
        } else {
            String::new()
        };
        let qwords = format!(
            "{} ({}) from {client}{over}",
            plural(u64::from(queries), "query", "queries"),
            qtypes.join(", "),
        );
        let walk = if tried.is_empty() {
            String::new()
        } else {
            format!(
                "; the search-suffix {} {} failed too",
                if tried.len() == 1 {
                    "candidate"
                } else {
                    "candidates"
                },
                tried.join(", ")
            )
        };
        let resolver = resolvers.first().cloned();
        let server_dns = |r: &str| {
            format!(
                "`nslookup {name} {r}` (Windows: `Resolve-DnsName {name} -Server {r}`, Linux: `dig {name} @{r}`)"
            )
        };
        let r0 = resolver.clone().unwrap_or_else(|| "RESOLVER".into());
        let (rcode_name, first_answer, summary, next, sock, origin) = match failure {
            Failure::NxDomain => (
                "NXDOMAIN",
                nxdomain,
                format!(
                    "{name} does not exist: {resolver_words} answered NXDOMAIN (no such name) to {qwords}{walk}; the application gets \"No such host is known\" / \"Name or service not known\""
                ),
                format!(
                    "check the name's spelling and the zone it belongs to: {}; if the name should exist, add it to the DNS zone (or fix the client's search suffixes, its hosts file or the connection string)",
                    server_dns(&r0)
                ),
                Dns::HostNotFound,
                Some("server"),
            ),
            Failure::ServFail => (
                "SERVFAIL",
                servfail,
                format!(
                    "{name} could not be resolved: {resolver_words} answered SERVFAIL (server failure: it could not get an answer from the name's authoritative servers or its forwarder) to {qwords}{walk}; the application gets \"Temporary failure in name resolution\""
                ),
                format!(
                    "the resolver, not the client, is failing: check {r0}'s forwarders / upstream servers and whether they can be reached from it (its event or query log), and whether DNSSEC validation fails for the zone; compare with another resolver: {}",
                    server_dns(&r0)
                ),
                Dns::TryAgain,
                Some("server"),
            ),
            Failure::Refused(r) => {
                let rn = rcode_str(r);
                (
                    rn,
                    refused.map(|x| x.1),
                    format!(
                        "{name} could not be resolved: {resolver_words} answered {rn} ({}) to {qwords}{walk}; the application gets {}",
                        rcode_words(r),
                        if r == 1 {
                            "\"A non-recoverable error occurred during a database lookup\" / \"Non-recoverable failure in name resolution\""
                        } else {
                            "\"A non-recoverable error occurred during a database lookup\" (Windows) / \"Temporary failure in name resolution\" (glibc, after asking every configured server)"
                        }
                    ),
                    if r == 5 {
                        format!(
                            "{r0} refuses to answer this client: it is not a recursive resolver for it (an authoritative-only server, an ACL allowing recursion only for other subnets, or the wrong DNS server configured on the client); point the client at its proper resolver (`ipconfig /all`, `resolvectl status`, /etc/resolv.conf) or allow the client's subnet on {r0}; then {}",
                            server_dns(&r0)
                        )
                    } else {
                        format!(
                            "the resolver {r0} does not understand the query ({rn}): check the client's DNS stack and any DNS proxy or firewall rewriting the query; compare with {}",
                            server_dns(&r0)
                        )
                    },
                    if r == 1 {
                        Dns::NoRecovery
                    } else {
                        Dns::Refused
                    },
                    Some("server"),
                )
            }
            Failure::NoData => (
                "NOERROR",
                nodata,
                format!(
                    "{name} exists but has no address: {resolver_words} answered NOERROR with no {} record to {qwords}{walk}; the application gets \"The requested name is valid, but no data of the requested type was found\"",
                    qtypes.join(" or ")
                ),
                format!(
                    "the name has records of other types only (or a CNAME to nothing): add the A (IPv4) or AAAA (IPv6) record the client needs, or make the client use the address family the name has; {}",
                    server_dns(&r0)
                ),
                Dns::NoData,
                Some("server"),
            ),
            Failure::Timeout => {
                let others: u32 = resolvers
                    .iter()
                    .map(|r| self.answered.get(r).copied().unwrap_or(0))
                    .sum();
                let other_words = if others == 0 {
                    format!(
                        "{} answered nothing at all in this capture: a wrong or unreachable resolver (a DNS server address that is down, not a resolver, or blocked by a firewall on UDP/TCP port 53)",
                        if resolvers.len() > 1 { "they" } else { "it" }
                    )
                } else {
                    format!(
                        "{} other queries in this capture, so it is up but lost or ignored these (a slow upstream, rate limiting, or a firewall dropping some queries)",
                        if resolvers.len() > 1 {
                            format!("they answered {others}")
                        } else {
                            format!("it answered {others}")
                        }
                    )
                };
                (
                    "no answer",
                    None,
                    format!(
                        "{name} could not be resolved: {resolver_words} never answered {qwords}{walk}; {other_words}; the application gets \"Temporary failure in name resolution\" after the resolver timeout"
                    ),
                    format!(
                        "check that {r0} is the right DNS server for this client and that it answers: `nslookup {name} {r0}`, `Test-NetConnection {r0} -Port 53` (TCP only), `dig {name} @{r0}`; look for a firewall dropping UDP port 53 between the client and {r0}; if the client was handed a wrong resolver (DHCP, VPN, static configuration), fix it"
                    ),
                    Dns::TryAgain,
                    None,
                )
            }
        };
        let mut ev = Map::new();
        ev.insert("name".into(), Value::from(name));
        ev.insert("names_tried".into(), json!(tried));
        ev.insert("qtypes".into(), json!(qtypes));
        ev.insert("rcode".into(), Value::from(rcode_name));
        ev.insert("queries".into(), Value::from(queries));
        ev.insert("responses".into(), Value::from(responses));
        ev.insert("resolvers".into(), json!(resolvers));
        ev.insert("span".into(), json!((span * 1e6).round() / 1e6));
        ev.insert(
            "resolver_answered_other".into(),
            Value::from(
                resolvers
                    .iter()
                    .map(|r| {
                        let own: u32 = members
                            .iter()
                            .filter(|n| n.resolvers.contains(r))
                            .map(|n| n.responses)
                            .sum();
                        self.answered
                            .get(r)
                            .copied()
                            .unwrap_or(0)
                            .saturating_sub(own)
                    })
                    .sum::<u32>(),
            ),
        );
        ev.insert("messages".into(), sock.messages(name));
        let first = first_answer
            .map(|f| format!("first answer: frame {f}"))
            .unwrap_or_else(|| format!("queries: {}", frames(&fr, 8)));
        Some(Finding {
            client_ip: Some(client.to_string()),
            server_ip: resolver,
            server_port: Some(53),
            frames: fr,
            ts,
            summary: format!("{summary} ({first})"),
            socket_error: Some(sock.error()),
            next_step: next,
            origin: origin.map(str::to_string),
            attempts: Some(queries),
            evidence: ev,
            ..Finding::new("dns_failure", Severity::Error)
        })
    }
}

/// The name-resolution errors applications report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dns {
    HostNotFound,
    TryAgain,
    /// FORMERR: glibc gives up (EAI_FAIL).
    NoRecovery,
    /// REFUSED / NOTIMP: Windows WSANO_RECOVERY, glibc tries the next server and reports
    /// EAI_AGAIN (seen in the lab's dns-refused capture).
    Refused,
    NoData,
}

impl Dns {
    /// Windows code, name, message; POSIX EAI name, gai_strerror text.
    pub fn parts(self) -> (u32, &'static str, &'static str, &'static str, &'static str) {
        match self {
            Dns::HostNotFound => (
                11001,
                "WSAHOST_NOT_FOUND",
                "No such host is known.",
                "EAI_NONAME",
                "Name or service not known",
            ),
            Dns::TryAgain => (
                11002,
                "WSATRY_AGAIN",
                "This is usually a temporary error during hostname resolution and means that the local server did not receive a response from an authoritative server.",
                "EAI_AGAIN",
                "Temporary failure in name resolution",
            ),
            Dns::NoRecovery => (
                11003,
                "WSANO_RECOVERY",
                "A non-recoverable error occurred during a database lookup.",
                "EAI_FAIL",
                "Non-recoverable failure in name resolution",
            ),
            Dns::Refused => (
                11003,
                "WSANO_RECOVERY",
                "A non-recoverable error occurred during a database lookup.",
                "EAI_AGAIN",
                "Temporary failure in name resolution",
            ),
            Dns::NoData => (
                11004,
                "WSANO_DATA",
                "The requested name is valid, but no data of the requested type was found.",
                "EAI_NODATA",
                "No address associated with hostname",
            ),
        }
    }

    /// The record form.
    pub fn error(self) -> SocketError {
        let (code, name, msg, posix, _) = self.parts();
        SocketError {
            windows_code: Some(code),
            windows_name: Some(name.to_string()),
            posix: Some(posix.to_string()),
            windows_message: Some(msg.to_string()),
        }
    }

    /// What .NET, Java, curl, Python and getaddrinfo print for `name`.
    pub fn messages(self, name: &str) -> Value {
        let (code, _, msg, _, text) = self.parts();
        let java = match self {
            Dns::HostNotFound | Dns::NoData => format!("java.net.UnknownHostException: {name}"),
            Dns::TryAgain | Dns::NoRecovery | Dns::Refused => {
                format!("java.net.UnknownHostException: {name}: {text}")
            }
        };
        let py_code = match self {
            Dns::HostNotFound => -2,
            Dns::TryAgain | Dns::Refused => -3,
            Dns::NoRecovery => -4,
            Dns::NoData => -5,
        };
        json!({
            "dotnet": format!("System.Net.Sockets.SocketException ({code}): {msg}"),
            "dotnet_http": format!("System.Net.Http.HttpRequestException: {msg} ({name}:443)"),
            "java": java,
            "curl": format!("curl: (6) Could not resolve host: {name}"),
            "python": format!("socket.gaierror: [Errno {py_code}] {text}"),
            "getaddrinfo": text,
        })
    }
}

fn rcode_str(r: u8) -> &'static str {
    match r {
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        _ => "an error",
    }
}

fn rcode_words(r: u8) -> &'static str {
    match r {
        1 => "format error: it could not parse the query",
        4 => "not implemented: it does not support this kind of query",
        5 => "query refused: it will not resolve names for this client",
        _ => "an error",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testutil::{assert_has, windows_code};
    use tcpwhy_common::records::packet::{Dns as D, DnsAnswer};

    #[allow(clippy::too_many_arguments)]
    pub(super) fn pkt(
        frame: u64,
        ts: f64,
        response: bool,
        id: u16,
        rcode: Option<u8>,
        name: &str,
        qtype: &str,
        answer: Option<&str>,
    ) -> Packet<'static> {
        let (src, dst, sp, dp) = if response {
            ("10.0.0.53", "10.0.0.1", 53, 40000 + id)
        } else {
            ("10.0.0.1", "10.0.0.53", 40000 + id, 53)
        };
        Packet {
            frame,
            ts,
            src_ip: Some(src.into()),
            dst_ip: Some(dst.into()),
            src_port: Some(sp),
            dst_port: Some(dp),
            dns: Some(D {
                id,
                response,
                rcode: if response { rcode.or(Some(0)) } else { None },
                qname: Some(name.to_string().into()),
                qtype: Some(qtype.to_string().into()),
                answers: answer
                    .map(|a| {
                        vec![DnsAnswer {
                            name: name.to_string().into(),
                            rtype: qtype.to_string().into(),
                            ttl: 60,
                            data: Some(a.to_string().into()),
                        }]
                    })
                    .unwrap_or_default(),
            }),
            ..Default::default()
        }
    }

    /// Lookups of `name`'s A (frame 1) and AAAA (2), answered with `rcode` and no address (3,
    /// 4).
    fn both_types(name: &str, rcode: u8) -> [Packet<'static>; 4] {
        [
            pkt(1, 1.0, false, 1, None, name, "A", None),
            pkt(2, 1.0, false, 2, None, name, "AAAA", None),
            pkt(3, 1.01, true, 1, Some(rcode), name, "A", None),
            pkt(4, 1.01, true, 2, Some(rcode), name, "AAAA", None),
        ]
    }

    fn run(pkts: &[Packet<'static>]) -> Vec<Finding> {
        let mut d = DnsFailures::new(10.0);
        let mut out = vec![];
        for p in pkts {
            out.extend(d.packet(p));
        }
        out.extend(d.finish());
        out
    }

    #[test]
    fn nxdomain_fires_with_11001() {
        let f = run(&both_types("nope.lab.test", 3));
        assert_eq!(f.len(), 1, "{f:#?}");
        let fd = &f[0];
        assert_eq!(fd.kind, "dns_failure");
        assert_eq!(fd.evidence["rcode"], "NXDOMAIN");
        assert_eq!(windows_code(fd), Some(11001));
        assert_eq!(
            fd.socket_error.as_ref().unwrap().posix.as_deref(),
            Some("EAI_NONAME")
        );
        assert_eq!(fd.frames, vec![1, 2, 3, 4]);
        assert_has(&fd.summary, "nope.lab.test does not exist");
        assert!(fd.summary.contains("10.0.0.53"));
        assert_eq!(
            fd.evidence["messages"]["curl"],
            "curl: (6) Could not resolve host: nope.lab.test"
        );
    }

    #[test]
    fn search_walk_ending_in_an_answer_is_silent() {
        let f = run(&[
            pkt(
                1,
                1.0,
                false,
                1,
                None,
                "app.lab.test.corp.example",
                "A",
                None,
            ),
            pkt(
                2,
                1.01,
                true,
                1,
                Some(3),
                "app.lab.test.corp.example",
                "A",
                None,
            ),
            pkt(3, 1.02, false, 2, None, "app.lab.test", "A", None),
            pkt(
                4,
                1.03,
                true,
                2,
                Some(0),
                "app.lab.test",
                "A",
                Some("10.1.1.1"),
            ),
        ]);
        assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn failed_search_walk_is_one_finding() {
        let f = run(&[
            pkt(1, 1.0, false, 1, None, "app", "A", None),
            pkt(2, 1.01, true, 1, Some(3), "app", "A", None),
            pkt(3, 1.02, false, 2, None, "app.corp.example", "A", None),
            pkt(4, 1.03, true, 2, Some(3), "app.corp.example", "A", None),
        ]);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].evidence["name"], "app");
        assert_eq!(f[0].evidence["names_tried"], json!(["app.corp.example"]));
    }

    #[test]
    fn empty_aaaa_beside_good_a_is_silent() {
        let f = run(&[
            pkt(1, 1.0, false, 1, None, "www.lab.test", "A", None),
            pkt(2, 1.0, false, 2, None, "www.lab.test", "AAAA", None),
            pkt(
                3,
                1.01,
                true,
                1,
                Some(0),
                "www.lab.test",
                "A",
                Some("10.1.1.1"),
            ),
            pkt(4, 1.01, true, 2, Some(0), "www.lab.test", "AAAA", None),
        ]);
        assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn nodata_for_every_type_is_11004() {
        let f = run(&both_types("mail.lab.test", 0));
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(windows_code(&f[0]), Some(11004));
    }

    #[test]
    fn servfail_and_refused() {
        for (rcode, word, code) in [(2, "SERVFAIL", 11002), (5, "REFUSED", 11003)] {
            let f = run(&[
                pkt(1, 1.0, false, 1, None, "x.example", "A", None),
                pkt(2, 1.01, true, 1, Some(rcode), "x.example", "A", None),
            ]);
            assert_eq!(f.len(), 1);
            assert_eq!(f[0].evidence["rcode"], word);
            assert_eq!(windows_code(&f[0]), Some(code));
        }
    }

    #[test]
    fn retry_that_succeeds_is_silent() {
        let f = run(&[
            pkt(1, 1.0, false, 1, None, "x.example", "A", None),
            pkt(2, 1.01, true, 1, Some(2), "x.example", "A", None),
            pkt(3, 2.0, false, 2, None, "x.example", "A", None),
            pkt(4, 2.01, true, 2, Some(0), "x.example", "A", Some("1.2.3.4")),
        ]);
        assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn unanswered_retries_are_a_timeout_single_query_is_not() {
        let f = run(&[
            pkt(1, 1.0, false, 1, None, "x.example", "A", None),
            pkt(2, 6.0, false, 2, None, "x.example", "A", None),
        ]);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].evidence["rcode"], "no answer");
        assert_eq!(f[0].attempts, Some(2));
        assert_has(&f[0].summary, "answered nothing at all");
        assert_has(&f[0].summary, "over 5.0 s");
        // One query without an answer (a capture of one direction only): silent.
        let f = run(&[pkt(1, 1.0, false, 1, None, "x.example", "A", None)]);
        assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn a_lookup_is_judged_after_the_window() {
        let mut d = DnsFailures::new(10.0);
        assert!(
            d.packet(&pkt(1, 1.0, false, 1, None, "n.example", "A", None))
                .is_empty()
        );
        assert!(
            d.packet(&pkt(2, 1.01, true, 1, Some(3), "n.example", "A", None))
                .is_empty()
        );
        assert!(d.advance(5.0).is_empty());
        let f = d.advance(11.5);
        assert_eq!(f.len(), 1);
        assert!(d.finish().is_empty());
    }

    #[test]
    fn memory_is_bounded() {
        // More names in flight than MAX_GROUPS: the oldest are judged early, nothing grows past it.
        let mut d = DnsFailures::new(10.0);
        d.max_groups = 1_000;
        let mut out = 0;
        for i in 0..1_500u64 {
            let name = format!("n{i}.example");
            let ts = 1.0 + i as f64 * 1e-6;
            out += d
                .packet(&pkt(2 * i, ts, false, 1, None, &name, "A", None))
                .len();
            out += d
                .packet(&pkt(2 * i + 1, ts, true, 1, Some(3), &name, "A", None))
                .len();
            assert!(d.groups.len() <= 1_000);
        }
        out += d.finish().len();
        assert_eq!(out, 1_500, "every NXDOMAIN reported once");
    }

    #[test]
    fn noise_names_are_ignored() {
        let f = run(&[
            pkt(1, 1.0, false, 1, None, "wpad.corp.example", "A", None),
            pkt(2, 1.01, true, 1, Some(3), "wpad.corp.example", "A", None),
            pkt(3, 1.0, false, 2, None, "4.3.2.1.in-addr.arpa", "A", None),
            pkt(4, 1.01, true, 2, Some(3), "4.3.2.1.in-addr.arpa", "A", None),
            pkt(5, 1.0, false, 3, None, "x.example", "MX", None),
            pkt(6, 1.01, true, 3, Some(3), "x.example", "MX", None),
        ]);
        assert!(f.is_empty(), "{f:#?}");
        // Multicast DNS: queries nobody answers are normal.
        let mut q1 = pkt(1, 1.0, false, 1, None, "printer.example", "A", None);
        let mut q2 = pkt(2, 2.0, false, 2, None, "printer.example", "A", None);
        for q in [&mut q1, &mut q2] {
            q.src_port = Some(5353);
            q.dst_port = Some(5353);
        }
        assert!(run(&[q1, q2]).is_empty());
    }
}

//! A failed lookup in words: which failure (glibc's order), what each platform reports, the
//! resolver and the next step, with the evidence (names tried, resolvers, frames).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};
use tcpwhy_common::records::{Finding, Severity};

use super::errors::{Dns, rcode_str, rcode_words};
use super::{DnsFailures, Failure, MAX_FRAMES, Name};
use crate::wording::{frames, plural, secs};

impl DnsFailures {
    pub(super) fn finding(&self, client: &str, members: &[&Name]) -> Option<Finding> {
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

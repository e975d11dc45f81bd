//! `ipv6_fallback`: a name with IPv6 and IPv4 addresses, the client tries IPv6 first, its SYNs go
//! unanswered (a broken IPv6 path), and only later does it connect over IPv4 — or its own
//! timeout fires before it tries IPv4 at all. Judged across records (fed by the engine): the DNS
//! answers (`packet` records with `dns`) link the IPv6 address of an unanswered attempt to the
//! IPv4 addresses of the same name, and the IPv4 connection that followed from the same client.
//!
//! * fell back: warning, with the time lost (IPv4 SYN − first IPv6 SYN), and whether the stack
//!   gave up (the IPv4 SYN came after the next SYN retry would have) or the application's own
//!   per-address timeout ended the IPv6 attempt;
//! * never fell back (no IPv4 attempt to the name within [`LINK`] s): error, the connect
//!   timeout, instead of `syn_timeout`;
//! * Happy Eyeballs (RFC 8305: IPv4 started less than [`SLOW`] s after IPv6, curl 200 ms,
//!   browsers 250-300 ms): silent, and the abandoned IPv6 SYN is no `no_response` either.
//!
//! Memory is bounded: [`MAX_NAMES`] addresses, [`MAX_HELD`] attempts held, [`MAX_RECENT`]
//! IPv4 connections remembered.

#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::packet::Packet;
use tcpwhy_common::records::{Finding, Severity};

use super::{base, conn, ev, set_frames, syn_frames, unanswered};
use crate::wording::{endpoint, frames, plural, secs};

/// Seconds after an IPv6 attempt's last SYN within which its IPv4 connection must start
/// (Linux's default SYN retries give up about 64 s after the last SYN).
pub const LINK: f64 = 75.0;
/// A fallback this much later than the first IPv6 SYN (s) is reported; earlier is Happy Eyeballs.
pub const SLOW: f64 = 1.0;
pub const MAX_NAMES: usize = 10_000;
pub const MAX_HELD: usize = 10_000;
/// An attempt follows its lookup by at most this long (s): getaddrinfo, then connect().
pub const LOOKUP: f64 = 0.5;
/// DNS answers remembered per name (the latest).
pub const MAX_ANSWERS: usize = 64;
pub const MAX_RECENT: usize = 4_096;

#[derive(Debug, Default, Clone)]
struct Name {
    name: String,
    a: Vec<String>,
    aaaa: Vec<String>,
    /// The latest answers: (time, frame, AAAA, the client asking).
    answers: Vec<(f64, u64, bool, String)>,
}

#[derive(Debug, Clone)]
struct V4 {
    client_ip: String,
    client_port: u16,
    server_ip: String,
    server_port: u16,
    first_ts: f64,
    syn_frame: u64,
    established: bool,
    uid: String,
}

struct Held {
    f: Flow,
    frames: Option<Vec<u64>>,
    due: f64,
}

/// Flows the rule gives back to the per-flow rules.
pub type Released = Vec<(Flow, Option<Vec<u64>>)>;

/// The aggregator.
#[derive(Default)]
pub struct Fallback {
    /// Address (A or AAAA data) → the name.
    by_addr: HashMap<String, String>,
    /// Name → both address lists.
    names: HashMap<String, Name>,
    held: Vec<Held>,
    /// IPv4 and IPv6 connections to such names, the latest.
    recent: VecDeque<V4>,
    recent6: VecDeque<V4>,
    /// Notes for the per-flow finding of attempts that never fell back, by flow uid.
    notes: HashMap<String, NoteOf>,
}

impl Fallback {
    /// A DNS answer: remembers the addresses of names that have both kinds.
    pub fn dns(&mut self, p: &Packet<'_>) {
        let Some(d) = &p.dns else { return };
        if !d.response || d.rcode.unwrap_or(0) != 0 || d.answers.is_empty() {
            return;
        }
        let (Some(qname), Some(client)) = (d.qname.as_deref(), p.dst_ip.as_deref()) else {
            return;
        };
        let qname = qname.trim_end_matches('.').to_ascii_lowercase();
        if self.by_addr.len() >= MAX_NAMES || self.names.len() >= MAX_NAMES {
            self.by_addr.clear();
            self.names.clear();
        }
        let nm = self.names.entry(qname.clone()).or_insert_with(|| Name {
            name: qname.clone(),
            ..Default::default()
        });
        if nm.answers.len() >= MAX_ANSWERS {
            nm.answers.remove(0);
        }
        nm.answers.push((
            p.ts,
            p.frame,
            d.qtype.as_deref() == Some("AAAA"),
            client.to_string(),
        ));
        for a in &d.answers {
            let Some(data) = a.data.as_deref() else {
                continue;
            };
            let list = match a.rtype.as_ref() {
                "A" => &mut nm.a,
                "AAAA" => &mut nm.aaaa,
                _ => continue,
            };
            if list.len() < 16 && !list.iter().any(|x| x == data) {
                list.push(data.to_string());
            }
        }
        for addr in nm.a.iter().chain(nm.aaaa.iter()) {
            self.by_addr.insert(addr.clone(), qname.clone());
        }
    }

    fn name_of(&self, addr: &str) -> Option<Name> {
        self.by_addr
            .get(addr)
            .and_then(|q| self.names.get(q))
            .cloned()
    }

    /// One flow on its way to the per-flow rules: `Some` gives it back, `None` holds it (an
    /// unanswered IPv6 attempt to a name that also has IPv4 addresses). Attempts pushed out of
    /// a full table go to `released`.
    pub fn offer(
        &mut self,
        f: Flow,
        frames: Option<Vec<u64>>,
        released: &mut Released,
    ) -> Option<(Flow, Option<Vec<u64>>)> {
        if self.by_addr.is_empty() || f.midstream || f.attempts.syn_count == 0 {
            return Some((f, frames));
        }
        // Borrowed, not cloned: every flow to an answered address comes through here.
        let both = self
            .by_addr
            .get(f.server_ip.as_str())
            .and_then(|q| self.names.get(q))
            .is_some_and(|n| !n.a.is_empty() && !n.aaaa.is_empty());
        if !both {
            return Some((f, frames));
        }
        let v = V4 {
            client_ip: f.client_ip.clone(),
            client_port: f.client_port,
            server_ip: f.server_ip.clone(),
            server_port: f.server_port,
            first_ts: f.attempts.ts.first().copied().unwrap_or(f.first_ts),
            syn_frame: syn_frames(&f)[0],
            established: f.established,
            uid: f.uid.clone(),
        };
        let list = if f.ip_version == 4 {
            &mut self.recent
        } else {
            &mut self.recent6
        };
        if list.len() >= MAX_RECENT {
            list.pop_front();
        }
        list.push_back(v);
        if f.ip_version != 6 || !unanswered(&f) || f.icmp_count > 0 || f.rst.is_some() {
            return Some((f, frames));
        }
        if self.held.len() >= MAX_HELD {
            // The oldest goes to the per-flow rules.
            let h = self.held.remove(0);
            released.push((h.f, h.frames));
        }
        let last_syn = f.attempts.ts.last().copied().unwrap_or(f.last_ts);
        self.held.push(Held {
            f,
            frames,
            due: last_syn + LINK,
        });
        None
    }

    /// Capture time `now`: the attempts held for [`LINK`] s after their last SYN are judged.
    pub fn due(
        &mut self,
        now: f64,
        min_syns: u32,
        out: &mut Vec<Finding>,
        released: &mut Released,
    ) {
        if self.held.is_empty() {
            return;
        }
        let mut i = 0;
        while i < self.held.len() {
            if self.held[i].due < now {
                let h = self.held.remove(i);
                self.judge(h, min_syns, out, released);
            } else {
                i += 1;
            }
        }
    }

    /// End of input: every attempt still held.
    pub(crate) fn finish(
        &mut self,
        min_syns: u32,
        out: &mut Vec<Finding>,
        released: &mut Released,
    ) {
        let mut all: Vec<Held> = std::mem::take(&mut self.held);
        all.sort_by(|a, b| a.f.first_ts.total_cmp(&b.f.first_ts));
        for h in all {
            self.judge(h, min_syns, out, released);
        }
    }

    /// An attempt held long enough: the IPv4 connection that followed it, if any.
    fn judge(&mut self, h: Held, min_syns: u32, out: &mut Vec<Finding>, released: &mut Released) {
        let Some(n) = self.name_of(&h.f.server_ip) else {
            released.push((h.f, h.frames));
            return;
        };
        let v = self
            .recent
            .iter()
            .filter(|v| links(&h.f, &n, v) && !self.superseded(&h.f, &n, v))
            .min_by(|a, b| a.first_ts.total_cmp(&b.first_ts));
        // An IPv4 connection to the name raced the IPv6 attempt (Happy Eyeballs with IPv6 SYN
        // retries, or unrelated): no fallback to judge; the per-flow rules speak.
        if v.is_none() && self.recent.iter().any(|v| parallel(&h.f, &n, v)) {
            released.push((h.f, h.frames));
            return;
        }
        match finding(&h.f, &n, v, min_syns) {
            Verdict::Finding(fd) => out.push(*fd),
            Verdict::Silent => {}
            Verdict::Rules => released.push((h.f, h.frames)),
            Verdict::Note(n) => {
                if self.notes.len() >= MAX_HELD {
                    self.notes.clear();
                }
                self.notes.insert(h.f.uid.clone(), *n);
                released.push((h.f, h.frames));
            }
        }
    }

    /// Adds the note of a judged attempt (no fallback to IPv4) to the per-flow finding about it
    /// (`syn_timeout`), once the engine has run the rules on the flow.
    pub fn annotate(&mut self, uid: &str, findings: &mut [Finding]) {
        let Some((note, next, value)) = self.notes.remove(uid) else {
            return;
        };
        if let Some(fd) = findings
            .iter_mut()
            .find(|f| f.uids.first().is_some_and(|u| u == uid))
        {
            fd.summary.push_str(&note);
            fd.next_step.push_str(&next);
            fd.evidence.insert("ipv6_fallback".into(), value);
        }
    }

    /// Another IPv6 attempt of the same client to the name and port started between `f` and
    /// `v`: `v` follows that one (a new request), not `f`.
    fn superseded(&self, f: &Flow, n: &Name, v: &V4) -> bool {
        let first = f.attempts.ts.first().copied().unwrap_or(f.first_ts);
        self.recent6.iter().any(|e| {
            e.client_ip == f.client_ip
                && e.server_port == f.server_port
                && e.uid != f.uid
                && n.aaaa.contains(&e.server_ip)
                && e.first_ts > first
                && e.first_ts < v.first_ts
        })
    }
}

impl Name {
    /// `client` got an A and an AAAA answer for the name after `from` and up to `to` (one
    /// getaddrinfo for both families, as a dual-stack client's).
    fn asked_both(&self, client: &str, from: f64, to: f64) -> bool {
        let got = |six: bool| {
            self.answers
                .iter()
                .any(|(ts, _, v6, c)| *v6 == six && c == client && *ts > from && *ts <= to)
        };
        got(false) && got(true)
    }

    /// `client` got an answer for the name after `from` and up to `to`.
    fn asked_between(&self, client: &str, from: f64, to: f64) -> bool {
        self.answers
            .iter()
            .any(|(ts, _, _, c)| c == client && *ts > from && *ts <= to)
    }
}

/// The IPv4 connection `v` is the fallback of the IPv6 attempt `f` to name `n`.
fn links(f: &Flow, n: &Name, v: &V4) -> bool {
    let first = f.attempts.ts.first().copied().unwrap_or(f.first_ts);
    let last = f.attempts.ts.last().copied().unwrap_or(f.last_ts);
    // An IPv4 connection that failed too is not a fallback that worked: the per-flow rules
    // judge both.
    v.established
        && v.server_port == f.server_port
        && n.a.contains(&v.server_ip)
        && n.aaaa.contains(&f.server_ip)
        // The lookup was for this attempt (within LOOKUP), by the address that then connected over IPv4 (the
        // only tie between a host's two addresses)...
        && n.asked_both(&v.client_ip, first - LOOKUP, first)
        // ...and the IPv4 connection followed no new lookup of its own (a new request).
        && !n.asked_between(&v.client_ip, first, v.first_ts)
        // After the IPv6 attempt's last SYN: a fallback, not a parallel attempt (an IPv4
        // connection that starts while IPv6 SYNs are still being retried is something else).
        && v.first_ts >= last
        && v.first_ts >= first
        && v.first_ts <= last + LINK
}

/// An IPv4 connection to the name that started while the IPv6 attempt was still retrying.
fn parallel(f: &Flow, n: &Name, v: &V4) -> bool {
    let first = f.attempts.ts.first().copied().unwrap_or(f.first_ts);
    let last = f.attempts.ts.last().copied().unwrap_or(f.last_ts);
    v.server_port == f.server_port
        && n.a.contains(&v.server_ip)
        && n.asked_both(&v.client_ip, first - LOOKUP, first)
        && v.first_ts >= first
        && v.first_ts < last
}

/// What the gave-up case adds to the per-flow finding: summary, next step, evidence.
type NoteOf = (String, String, serde_json::Value);

enum Verdict {
    /// Not fallen back: the per-flow rules judge it, this is added to their finding.
    Note(Box<NoteOf>),
    Finding(Box<Finding>),
    /// Happy Eyeballs: nothing to report.
    Silent,
    /// Not this rule's: the per-flow rules judge it.
    Rules,
}

fn finding(f: &Flow, n: &Name, v: Option<&V4>, min_syns: u32) -> Verdict {
    // Only an IPv6 attempt to one of the name's IPv6 addresses, that follows the name's AAAA
    // answer at once (within LOOKUP: the lookup was for this connection), from the client that
    // asked when it asked over IPv6.
    let first0 = f.attempts.ts.first().copied().unwrap_or(f.first_ts);
    let looked_up = n.answers.iter().any(|(ts, _, six, c)| {
        *six && *ts <= first0
            && first0 - ts <= LOOKUP
            && (*c == f.client_ip || v.is_some_and(|v| v.client_ip == *c) || !c.contains(':'))
    });
    if !n.aaaa.contains(&f.server_ip) || !looked_up {
        return Verdict::Rules;
    }
    let first = f.attempts.ts.first().copied().unwrap_or(f.first_ts);
    let last = f.attempts.ts.last().copied().unwrap_or(f.last_ts);
    let syns = syn_frames(f);
    let count = f.attempts.syn_count;
    let v6 = endpoint(&f.server_ip, f.server_port);
    let list = |v: &[String]| {
        if v.len() > 3 {
            format!("{} and {} more", v[..3].join(", "), v.len() - 3)
        } else {
            v.join(", ")
        }
    };
    let names = format!(
        "{} has IPv6 {} and IPv4 {}",
        n.name,
        list(&n.aaaa),
        list(&n.a)
    );
    let tried = format!(
        "the client tried IPv6 first: {} to {v6} over {} ({}) went unanswered",
        plural(u64::from(count), "SYN", "SYNs"),
        secs(last - first),
        frames(&syns, 8)
    );
    let mut fd = base(f, "ipv6_fallback", Severity::Warning);
    fd.attempts = Some(count);
    fd.ts = Some(first);
    fd.origin = Some("network".into());
    ev(&mut fd, "name", n.name.clone());
    ev(&mut fd, "ipv6_addresses", n.aaaa.clone());
    ev(&mut fd, "ipv4_addresses", n.a.clone());
    // The last A and AAAA answers before the first SYN.
    let mut dns: Vec<u64> = [false, true]
        .iter()
        .filter_map(|&six| {
            n.answers
                .iter()
                .rev()
                .find(|(ts, _, v6, _)| *v6 == six && *ts <= first)
                .map(|a| a.1)
        })
        .collect();
    dns.sort_unstable();
    ev(&mut fd, "dns_frames", dns.clone());
    ev(&mut fd, "ipv6_syn_frames", syns.clone());
    let no_he = "clients without Happy Eyeballs (RFC 8305) try one address at a time: .NET's \
                 SocketsHttpHandler, Java, Python's socket.create_connection, many native \
                 clients; the IPv6 attempt ends only when the stack gives up (Windows 21 s, Linux \
                 about 2 min with its default 6 SYN retries) or the application's own connect \
                 timeout fires";
    match v {
        Some(v) => {
            let lost = v.first_ts - first;
            if lost < SLOW {
                return Verdict::Silent;
            }
            // Did the stack give up (the IPv4 SYN after the next retry would have been due) or
            // the application's own timeout?
            let last_iv = f.attempts.intervals.last().copied().unwrap_or(1.0).max(0.2);
            let next_retry = last + 2.0 * last_iv;
            let stack = count >= 2 && v.first_ts >= next_retry - 0.2 * last_iv;
            let why = if stack {
                format!(
                    "the stack gave up on IPv6 after {} and only then tried IPv4",
                    plural(u64::from(count), "SYN", "SYNs")
                )
            } else {
                format!(
                    "the application's own connect timeout (about {}) ended the IPv6 attempt",
                    secs(lost)
                )
            };
            let mut fr = syns.clone();
            fr.push(v.syn_frame);
            fr.extend(dns.iter().copied());
            set_frames(&mut fd, fr);
            fd.uids.push(v.uid.clone());
            fd.summary = format!(
                "{}: {names}; {tried}; {} after the first IPv6 SYN it connected over IPv4 ({} → \
                 {}, frame {}{}): {why}. {} lost on this connection, and on every new one while \
                 the IPv6 path is broken",
                conn(f),
                secs(lost),
                endpoint(&v.client_ip, v.client_port),
                endpoint(&v.server_ip, v.server_port),
                v.syn_frame,
                if v.established {
                    ""
                } else {
                    ", not established"
                },
                secs(lost),
            );
            fd.next_step = format!(
                "fix or stop advertising the IPv6 path to {}: check the IPv6 route and firewall \
                 between the client and {v6} (`Test-NetConnection {} -Port {}` on Windows, \
                 `nc -6 -vz {} {}`, `traceroute -6 -T -p {} {}`); until then remove the AAAA \
                 record, or prefer IPv4 on the client (Windows: prefix policy, `netsh interface \
                 ipv6 set prefixpolicy`; Linux: `precedence ::ffff:0:0/96 100` in \
                 /etc/gai.conf); {no_he} — .NET: `SocketsHttpHandler.ConnectCallback` with a \
                 parallel IPv4 attempt or a short per-address timeout",
                n.name,
                f.server_ip,
                f.server_port,
                f.server_ip,
                f.server_port,
                f.server_port,
                f.server_ip,
            );
            ev(&mut fd, "fell_back", true);
            ev(&mut fd, "time_lost", lost);
            ev(
                &mut fd,
                "ended_by",
                if stack { "stack" } else { "application" },
            );
            ev(&mut fd, "ipv4_syn_frame", v.syn_frame);
            ev(&mut fd, "ipv4_uid", v.uid.clone());
            ev(&mut fd, "ipv4_established", v.established);
        }
        None => {
            if count < min_syns {
                return Verdict::Rules;
            }
            // The attempt stays the per-flow rules' (syn_timeout: the connect timed out), with
            // a note that the name offered IPv4 and the application never tried it.
            let note = format!(
                "; {names}, and no IPv4 attempt followed: the application's own timeout fired \
                 (or it has no fallback) before it tried IPv4"
            );
            let next = format!(
                "; the name also has IPv4 addresses: fix the IPv6 path or remove the AAAA record \
                 of {}, and give the client a fallback to IPv4 within its timeout ({})",
                n.name, "Happy Eyeballs, RFC 8305, or a short per-address connect timeout"
            );
            let value = serde_json::json!({
                "name": n.name,
                "ipv6_addresses": n.aaaa,
                "ipv4_addresses": n.a,
                "dns_frames": dns,
                "fell_back": false,
                "ipv6_wait": last - first,
            });
            return Verdict::Note(Box::new((note, next, value)));
        }
    }
    Verdict::Finding(Box::new(fd))
}

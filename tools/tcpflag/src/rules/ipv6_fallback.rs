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

use std::collections::{HashMap, VecDeque};

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::packet::Packet;
use tcpwhy_common::records::{Finding, Severity};

use super::{base, conn, ev, set_error, syn_frames, unanswered};
use crate::socket_errors::Sock;
use crate::wording::{endpoint, frames, plural, secs};

/// Seconds after an IPv6 attempt's last SYN within which its IPv4 connection must start
/// (Linux's default SYN retries give up about 64 s after the last SYN).
pub const LINK: f64 = 75.0;
/// A fallback this much later than the first IPv6 SYN (s) is reported; earlier is Happy Eyeballs.
pub const SLOW: f64 = 1.0;
pub const MAX_NAMES: usize = 20_000;
pub const MAX_HELD: usize = 10_000;
pub const MAX_RECENT: usize = 4_096;

#[derive(Debug, Default, Clone)]
struct Name {
    name: String,
    /// The client that asked.
    client: String,
    a: Vec<String>,
    aaaa: Vec<String>,
    /// The latest answers: (time, frame, AAAA).
    answers: Vec<(f64, u64, bool)>,
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
        nm.client = client.to_string();
        if nm.answers.len() >= 16 {
            nm.answers.remove(0);
        }
        nm.answers
            .push((p.ts, p.frame, d.qtype.as_deref() == Some("AAAA")));
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
        let Some(n) = self.name_of(&f.server_ip) else {
            return Some((f, frames));
        };
        if n.a.is_empty() || n.aaaa.is_empty() {
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
    pub fn finish(&mut self, min_syns: u32, out: &mut Vec<Finding>, released: &mut Released) {
        let mut all: Vec<Held> = std::mem::take(&mut self.held);
        all.sort_by(|a, b| a.f.first_ts.total_cmp(&b.f.first_ts));
        for h in all {
            self.judge(h, min_syns, out, released);
        }
    }

    /// An attempt held long enough: the IPv4 connection that followed it, if any.
    fn judge(&self, h: Held, min_syns: u32, out: &mut Vec<Finding>, released: &mut Released) {
        let Some(n) = self.name_of(&h.f.server_ip) else {
            released.push((h.f, h.frames));
            return;
        };
        let v = self
            .recent
            .iter()
            .filter(|v| links(&h.f, &n, v) && !self.superseded(&h.f, &n, v))
            .min_by(|a, b| a.first_ts.total_cmp(&b.first_ts));
        match finding(&h.f, &n, v, min_syns) {
            Verdict::Finding(fd) => out.push(*fd),
            Verdict::Silent => {}
            Verdict::Rules => released.push((h.f, h.frames)),
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
                && n.aaaa.iter().any(|a| *a == e.server_ip)
                && e.first_ts > first
                && e.first_ts < v.first_ts
        })
    }
}

/// The IPv4 connection `v` is the fallback of the IPv6 attempt `f` to name `n`.
fn links(f: &Flow, n: &Name, v: &V4) -> bool {
    let first = f.attempts.ts.first().copied().unwrap_or(f.first_ts);
    let last = f.attempts.ts.last().copied().unwrap_or(f.last_ts);
    v.server_port == f.server_port
        && n.a.iter().any(|a| *a == v.server_ip)
        && n.aaaa.iter().any(|a| *a == f.server_ip)
        && (n.client == v.client_ip || n.client == f.client_ip)
        && v.first_ts >= first
        && v.first_ts <= last + LINK
}

enum Verdict {
    Finding(Box<Finding>),
    /// Happy Eyeballs: nothing to report.
    Silent,
    /// Not this rule's: the per-flow rules judge it.
    Rules,
}

fn finding(f: &Flow, n: &Name, v: Option<&V4>, min_syns: u32) -> Verdict {
    // Only an IPv6 attempt to one of the name's IPv6 addresses.
    if !n.aaaa.iter().any(|a| *a == f.server_ip) {
        return Verdict::Rules;
    }
    let first = f.attempts.ts.first().copied().unwrap_or(f.first_ts);
    let last = f.attempts.ts.last().copied().unwrap_or(f.last_ts);
    let syns = syn_frames(f);
    let count = f.attempts.syn_count;
    let v6 = endpoint(&f.server_ip, f.server_port);
    let names = format!(
        "{} has IPv6 {} and IPv4 {}",
        n.name,
        n.aaaa.join(", "),
        n.a.join(", ")
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
                .find(|(ts, _, v6)| *v6 == six && *ts <= first)
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
            fr.sort_unstable();
            fr.dedup();
            fd.frames = fr;
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
            fd.severity = Severity::Error;
            set_error(&mut fd, Sock::TimedOut);
            let mut fr = syns.clone();
            fr.extend(dns.iter().copied());
            fr.sort_unstable();
            fr.dedup();
            fd.frames = fr;
            fd.summary = format!(
                "{}: {names}; {tried}, and no IPv4 attempt followed: the application's own \
                 timeout fired (or it has no fallback) before it tried IPv4, which the name \
                 offers",
                conn(f),
            );
            fd.next_step = format!(
                "fix the IPv6 path to {v6} (route, firewall: `traceroute -6 -T -p {} {}`), or \
                 remove the AAAA record of {}; give the client a fallback to IPv4 within its \
                 timeout: {no_he}",
                f.server_port, f.server_ip, n.name,
            );
            ev(&mut fd, "fell_back", false);
            ev(&mut fd, "ipv6_wait", last - first);
        }
    }
    Verdict::Finding(Box::new(fd))
}

//! syn_flood: many single, never-retried SYNs to one port, left unanswered or half-open (the
//! server's SYN-ACKs never acknowledged), from many sources — one finding with the rates, the
//! per-connection `no_response` / `handshake_incomplete` folded in. The aggregation is in
//! `crate::probes`; docs/rules.md documents it.

use serde_json::json;
use tcpwhy_common::records::{Finding, Severity};

use crate::probes::{Aggregate, MAX_SOURCES, Outcome};
use crate::wording::thousands;
use crate::wording::{endpoint, secs};

pub fn finding(a: &Aggregate) -> Finding {
    let span = (a.last_syn - a.first_ts).max(0.0);
    let ip = a.server_ip.clone().unwrap_or_default();
    let port = a.server_port.unwrap_or(0);
    let rate = if span > 0.0 {
        a.probes as f64 / span
    } else {
        a.probes as f64
    };
    let unanswered = a.n(Outcome::Unanswered);
    let half = a.n(Outcome::HalfOpen);
    let sources = a.sources.len();
    let at_least = if sources >= MAX_SOURCES {
        "at least "
    } else {
        ""
    };
    let mut fd = Finding {
        uids: a.uids.clone(),
        server_ip: Some(ip.clone()),
        server_port: Some(port),
        frames: a.frames.clone(),
        ts: Some(a.first_ts),
        attempts: Some(a.probes.min(u64::from(u32::MAX)) as u32),
        ..Finding::new("syn_flood", Severity::Warning)
    };
    let fate = match (unanswered, half) {
        (_, 0) => "none answered (the SYNs are dropped before the server, or the capture \
                   point sees no answers)"
            .to_string(),
        (0, h) => format!(
            "the server answered {} with SYN-ACKs that nobody acknowledged (half-open \
             connections filling its SYN backlog: the sources are spoofed or do not answer)",
            thousands(h)
        ),
        (u, h) => format!(
            "{} unanswered, {} answered with SYN-ACKs nobody acknowledged (half-open)",
            thousands(u),
            thousands(h)
        ),
    };
    fd.summary = format!(
        "SYN flood against {}: {} SYNs from {at_least}{} source addresses in {} ({:.0} SYN/s, \
         busiest second {}), each a single SYN never retried; {fate}",
        endpoint(&ip, port),
        thousands(a.probes),
        thousands(sources as u64),
        secs(span),
        rate,
        thousands(a.peak),
    );
    fd.next_step = format!(
        "turn on SYN flood protection in front of {}: SYN cookies (Linux \
         net.ipv4.tcp_syncookies=1, the default), the firewall's or provider's SYN-flood \
         protection, a SYN rate limit to port {port}; with {} source addresses, each sending one \
         SYN, the sources are spoofed: blocking addresses does not help. Real clients' \
         connections to the port in the same minutes may time out because of it",
        ip,
        thousands(sources as u64),
    );
    fd.evidence.insert("syns".into(), json!(a.probes));
    fd.evidence.insert("sources".into(), json!(sources));
    fd.evidence.insert("duration".into(), json!(span));
    fd.evidence.insert("rate".into(), json!(rate));
    fd.evidence.insert("peak_per_second".into(), json!(a.peak));
    fd.evidence.insert("unanswered".into(), json!(unanswered));
    fd.evidence.insert("half_open".into(), json!(half));
    fd
}

//! The per-flow rules. Each rule reads one `flow` record (plus what ttlhops added to it) and
//! either explains the connection's failure or stays silent; `evaluate` tries them in priority
//! order so each flow gets the one finding that explains it best (a recovered zero-window stall
//! is the only rule that can add a second, informational, finding). docs/rules.md documents each.

mod handshake;
mod transfer;

use serde_json::{Map, Value};
use tcpwhy_common::records::flow::{Flow, Rst};
use tcpwhy_common::records::hops::Origin;
use tcpwhy_common::records::{Finding, Severity};

use crate::errors::Sock;
use crate::util::endpoint;

pub use handshake::{is_refused, refused};

/// Rule thresholds (each a command-line flag; defaults in `crate::Args`).
#[derive(Debug, Clone)]
pub struct Config {
    /// REJ flows on the same 4-tuple starting within this many seconds of the previous one's
    /// end are retries of one connect() (Windows retries a refused SYN twice, 0.5 s apart).
    pub retry_window: f64,
    /// Unanswered SYNs needed for syn_timeout.
    pub min_syns: u32,
    /// A mid-transfer zero window must last this long (s) to be reported.
    pub min_stall: f64,
    /// A recovered stall this long (s) or longer is a warning, shorter ones are info.
    pub stall_warning: f64,
    /// Retransmissions by one side before a reset/timeout make a retransmission_storm.
    pub min_retrans: u32,
    /// handshake_incomplete is not reported when the capture ended less than this many seconds
    /// after the SYN (the ACK may simply not have been captured yet).
    pub incomplete_grace: f64,
    /// slow_connect: a connect that needed SYN retries and took this long (s) or longer is a
    /// warning, shorter ones info.
    pub slow_connect: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            retry_window: 3.0,
            min_syns: 2,
            min_stall: 0.2,
            stall_warning: 1.0,
            min_retrans: 3,
            incomplete_grace: 3.0,
            slow_connect: 3.0,
        }
    }
}

/// What the rules make of one flow.
#[derive(Debug)]
pub enum Verdict {
    /// A refused attempt: grouped with retries of the same connect() before it becomes a finding.
    Refused,
    /// Findings (possibly none).
    Findings(Vec<Finding>),
}

/// Runs the rules on one flow, in priority order.
pub fn evaluate(f: &Flow, cfg: &Config) -> Verdict {
    if handshake::is_refused(f) {
        return Verdict::Refused;
    }
    let mut out = vec![];
    let primary = handshake::zero_window_at_handshake(f, cfg)
        .or_else(|| handshake::icmp_unreachable(f))
        .or_else(|| handshake::syn_timeout(f, cfg))
        .or_else(|| handshake::handshake_incomplete(f, cfg))
        .or_else(|| transfer::zero_window_stall(f, cfg, true))
        .or_else(|| transfer::retransmission_storm(f, cfg))
        .or_else(|| transfer::reset_mid_connection(f))
        .or_else(|| handshake::no_response(f))
        .or_else(|| handshake::slow_connect(f, cfg));
    let explained_zw = primary
        .as_ref()
        .is_some_and(|p| p.kind.starts_with("zero_window"));
    if let Some(p) = primary {
        out.push(p);
    }
    if !explained_zw {
        // A stall that recovered is worth knowing even when something else ended the flow.
        if let Some(z) = transfer::zero_window_stall(f, cfg, false) {
            out.push(z);
        }
    }
    Verdict::Findings(out)
}

/// A finding about one flow with the common fields filled in.
pub(crate) fn base(f: &Flow, kind: &str, severity: Severity) -> Finding {
    Finding {
        r#type: "finding".to_string(),
        kind: kind.to_string(),
        severity,
        uids: vec![f.uid.clone()],
        client_ip: Some(f.client_ip.clone()),
        client_port: Some(f.client_port),
        server_ip: Some(f.server_ip.clone()),
        server_port: Some(f.server_port),
        frames: vec![],
        ts: Some(f.first_ts),
        summary: String::new(),
        socket_error: None,
        next_step: String::new(),
        origin: None,
        attempts: None,
        evidence: Map::new(),
        portmap: None,
        extra: Map::new(),
    }
}

/// "10.0.0.1:20531 → 172.16.0.1:2383".
pub(crate) fn conn(f: &Flow) -> String {
    format!(
        "{} → {}",
        endpoint(&f.client_ip, f.client_port),
        endpoint(&f.server_ip, f.server_port)
    )
}

/// "RST/ACK" or "RST".
pub(crate) fn rst_name(r: &Rst) -> &'static str {
    if r.flags.contains('A') {
        "RST/ACK"
    } else {
        "RST"
    }
}

/// "TTL 126 = 128 − 2: 2 routers between the capture point and the sender" from ttlhops, or "TTL 126" from the flow alone.
pub(crate) fn ttl_text(origin: Option<&Origin>, ttl: Option<u8>, v6: bool) -> Option<String> {
    let word = if v6 { "hop limit" } else { "TTL" };
    if let Some(o) = origin {
        if let (Some(obs), Some(init), Some(h)) = (o.observed_ttl, o.initial_ttl, o.hops) {
            let between = crate::util::routers_between(u64::from(h), "the sender");
            if h == 0 {
                return Some(format!("{word} {obs}, its initial value: {between}"));
            }
            return Some(format!("{word} {obs} = {init} − {h}: {between}"));
        }
        if let Some(obs) = o.observed_ttl {
            return Some(format!("{word} {obs}"));
        }
    }
    ttl.map(|t| format!("{word} {t}"))
}

/// ttlhops' verdict on the flow's RST, when present.
pub(crate) fn rst_origin(f: &Flow) -> Option<&Origin> {
    f.ttlhops.as_ref().and_then(|h| h.rst.as_ref())
}

/// ttlhops' verdict on the ICMP error in `frame`, when present.
pub(crate) fn icmp_origin(f: &Flow, frame: u64) -> Option<&Origin> {
    f.ttlhops
        .as_ref()
        .and_then(|h| h.icmp.iter().find(|o| o.frame == frame))
}

/// Sets the socket error.
pub(crate) fn set_error(fd: &mut Finding, s: Sock) {
    fd.socket_error = Some(s.error());
}

/// Inserts into the evidence object.
pub(crate) fn ev(fd: &mut Finding, k: &str, v: impl Into<Value>) {
    fd.evidence.insert(k.to_string(), v.into());
}

/// The evidence object for a ttlhops origin verdict.
pub(crate) fn origin_value(o: &Origin) -> Value {
    serde_json::json!({
        "origin": o.origin,
        "observed_ttl": o.observed_ttl,
        "initial_ttl": o.initial_ttl,
        "hops": o.hops,
        "at_hop": o.at_hop,
        "expected_hops": o.expected_hops,
        "basis": o.basis,
        "confidence": o.confidence,
        "reason": o.reason,
        "settle": o.settle,
        "lean": o.lean,
    })
}

/// The RST's frame and, when it is a different packet, the flow's last frame (a later RST).
pub(crate) fn rst_frames(f: &Flow) -> Vec<u64> {
    let mut v = vec![];
    if let Some(r) = &f.rst {
        v.push(r.frame);
        if r.count > 1 && f.last_frame != r.frame {
            v.push(f.last_frame);
        }
    }
    v
}

/// True when `a` happened before the RST (both frames known).
pub(crate) fn before_rst(a: Option<u64>, f: &Flow) -> bool {
    match (a, &f.rst) {
        (Some(a), Some(r)) => a < r.frame,
        _ => false,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;

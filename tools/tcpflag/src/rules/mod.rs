//! The per-flow rules. Each rule reads one `flow` record (plus what ttlhops added to it) and
//! either explains the connection's failure or stays silent; `evaluate` tries them in priority
//! order so each flow gets the one finding that explains it best (a recovered zero-window stall
//! is the only rule that can add a second, informational, finding). docs/rules.md documents each.
//!
//! One file per rule, named as the finding kind it reports (`refused.rs` also reports
//! `refused_by_middlebox`). A new rule = one file here + one `mod` line + one line in `evaluate`
//! (at its priority). The exceptions are judged across flows, fed by the engine (`engine.rs`,
//! `probes.rs`): `intermittent_backend`, `dns_failure`, `port_scan`, `syn_flood`,
//! `one_sided_capture`, `port_exhaustion`. Helpers shared by several rules live below `evaluate`.

mod backlog_full;
mod client_gave_up;
mod connection_dying;
pub mod dns_failure;
mod ecn_setup_blocked;
mod handshake_incomplete;
mod icmp_unreachable;
mod idle_timeout;
mod injected_reset;
pub mod intermittent_backend;
pub mod ipv6_fallback;
mod keepalive_race;
mod no_response;
pub mod one_sided_capture;
mod peer_silent;
mod pmtu_blackhole;
pub mod port_exhaustion;
pub mod port_scan;
mod protocol_mismatch;
mod refused;
mod reset_after_close;
mod reset_mid_connection;
mod retransmission_storm;
mod slow_connect;
mod slow_path;
pub mod syn_flood;
mod syn_timeout;
mod timewait_reuse;
pub mod tls_handshake_failed;
mod window_crawl;
mod zero_window_at_handshake;
mod zero_window_stall;

use serde_json::Value;
use tcpwhy_common::records::flow::{Flow, Rst, Side, ZeroWindow};
use tcpwhy_common::records::hops::Origin;
use tcpwhy_common::records::{Finding, Severity};

use crate::socket_errors::Sock;
use crate::wording::endpoint;

pub use refused::{is_refused, refused};

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
    /// dns_failure: seconds of capture time without activity after which a lookup is judged.
    pub dns_window: f64,
    /// slow_path: a handshake round trip on one side of the capture point this long (s) or
    /// longer is reported (info), and a warning from `slow_path_warning`.
    pub slow_path: f64,
    pub slow_path_warning: f64,
    /// client_gave_up: the client's RST came this long (s) or longer after its unanswered request.
    pub gave_up: f64,
    /// window_crawl: the sender waited this long (s) in total on a small window.
    pub crawl_wait: f64,
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
            dns_window: 10.0,
            slow_path: 0.5,
            slow_path_warning: 1.0,
            gave_up: 5.0,
            crawl_wait: 1.0,
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
    if refused::is_refused(f) {
        return Verdict::Refused;
    }
    let mut out = vec![];
    let primary = zero_window_at_handshake::zero_window_at_handshake(f, cfg)
        .or_else(|| icmp_unreachable::icmp_unreachable(f))
        .or_else(|| timewait_reuse::timewait_reuse(f))
        .or_else(|| backlog_full::backlog_full(f, cfg))
        .or_else(|| syn_timeout::syn_timeout(f, cfg))
        .or_else(|| ecn_setup_blocked::ecn_setup_blocked(f))
        .or_else(|| injected_reset::injected_reset(f))
        .or_else(|| handshake_incomplete::handshake_incomplete(f, cfg))
        .or_else(|| tls_handshake_failed::tls_handshake_failed(f))
        .or_else(|| protocol_mismatch::protocol_mismatch(f))
        .or_else(|| keepalive_race::keepalive_race(f))
        .or_else(|| pmtu_blackhole::pmtu_blackhole(f).or_else(|| idle_timeout::idle_timeout(f)))
        .or_else(|| zero_window_stall::zero_window_stall(f, cfg, true))
        .or_else(|| retransmission_storm::retransmission_storm(f, cfg))
        .or_else(|| reset_mid_connection::reset_mid_connection(f))
        .or_else(|| reset_after_close::reset_after_close(f))
        .or_else(|| client_gave_up::client_gave_up(f, cfg))
        .or_else(|| connection_dying::connection_dying(f, cfg))
        .or_else(|| peer_silent::peer_silent(f))
        .or_else(|| window_crawl::window_crawl(f, cfg))
        .or_else(|| no_response::no_response(f))
        .or_else(|| slow_connect::slow_connect(f, cfg))
        .or_else(|| slow_path::slow_path(f, cfg));
    let explained_zw = primary
        .as_ref()
        .is_some_and(|p| p.kind.starts_with("zero_window"));
    if let Some(p) = primary {
        out.push(p);
    }
    if !explained_zw {
        // A stall that recovered is worth knowing even when something else ended the flow.
        if let Some(z) = zero_window_stall::zero_window_stall(f, cfg, false) {
            out.push(z);
        }
    }
    Verdict::Findings(out)
}

/// A finding about one flow with the common fields filled in.
pub(crate) fn base(f: &Flow, kind: &str, severity: Severity) -> Finding {
    Finding {
        uids: vec![f.uid.clone()],
        client_ip: Some(f.client_ip.clone()),
        client_port: Some(f.client_port),
        server_ip: Some(f.server_ip.clone()),
        server_port: Some(f.server_port),
        ts: Some(f.first_ts),
        ..Finding::new(kind, severity)
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
            let between = crate::wording::routers_between(u64::from(h), "the sender");
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

/// The RST of a connection that got past its handshake (or was picked up mid-stream).
pub(crate) fn established_rst(f: &Flow) -> Option<&Rst> {
    if f.established || f.midstream {
        f.rst.as_ref()
    } else {
        None
    }
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

/// Sets the evidence frames: `fr` in order, each once.
pub(crate) fn set_frames(fd: &mut Finding, fr: Vec<u64>) {
    fd.frames = fr;
    add_frames(fd, []);
}

/// Adds `more` to the evidence frames, keeping them in order, each once.
pub(crate) fn add_frames(fd: &mut Finding, more: impl IntoIterator<Item = u64>) {
    fd.frames.extend(more);
    fd.frames.sort_unstable();
    fd.frames.dedup();
}

/// Inserts into the evidence object.
pub(crate) fn ev(fd: &mut Finding, k: &str, v: impl Into<Value>) {
    fd.evidence.insert(k.to_string(), v.into());
}

/// Inserts every field of a flow-record object (`size_limit` …) into the evidence object, under
/// the record's own names and in its order, where a rule reports the object whole.
pub(crate) fn ev_fields(fd: &mut Finding, o: &impl serde::Serialize) {
    if let Ok(Value::Object(m)) = serde_json::to_value(o) {
        fd.evidence.extend(m);
    }
}

/// Inserts a ttlhops origin verdict into the evidence object (null when ttlhops gave none).
pub(crate) fn ev_origin(fd: &mut Finding, k: &str, o: Option<&Origin>) {
    ev(fd, k, o.map_or(Value::Null, origin_value));
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
        "signs": o.signs,
    })
}

/// The frames of the flow's RSTs: tcpflows' `rst.frames` (every RST, up to 16); from an older
/// record, the first RST and, when it is a different packet, the flow's last frame (a later RST).
pub(crate) fn rst_frames(f: &Flow) -> Vec<u64> {
    let mut v = vec![];
    if let Some(r) = &f.rst {
        if !r.frames.is_empty() {
            return r.frames.clone();
        }
        v.push(r.frame);
        if r.count > 1 && f.last_frame != r.frame {
            v.push(f.last_frame);
        }
    }
    v
}

/// The side named `client` or `server`.
pub(crate) fn side_of<'a>(f: &'a Flow, name: &str) -> &'a Side {
    if name == "client" {
        &f.client
    } else {
        &f.server
    }
}

/// Each side's name (`client`, then `server`) with what `get` finds on it, where it finds
/// something.
pub(crate) fn sides_with<'a, T: 'a>(
    f: &'a Flow,
    get: impl Fn(&'a Side) -> Option<&'a T>,
) -> impl Iterator<Item = (&'static str, &'a T)> {
    ["client", "server"]
        .into_iter()
        .filter_map(move |n| get(side_of(f, n)).map(|x| (n, x)))
}

/// The address of the side named `client` or `server`.
pub(crate) fn ip_of<'a>(f: &'a Flow, name: &str) -> &'a str {
    if name == "client" {
        &f.client_ip
    } else {
        &f.server_ip
    }
}

/// The other side's name.
pub(crate) fn peer_of(name: &str) -> &'static str {
    if name == "client" { "server" } else { "client" }
}

/// Seconds between consecutive times.
pub(crate) fn intervals_of(ts: &[f64]) -> Vec<f64> {
    ts.windows(2).map(|w| w[1] - w[0]).collect()
}

/// How retransmissions at `ts` were spaced: the intervals (s) and whether they back off
/// exponentially (each interval 1.5 to 2.6 times the one before, as an RTO that doubles).
pub(crate) fn backoff(ts: &[f64]) -> (Vec<f64>, bool) {
    let iv = intervals_of(ts);
    let doubling = iv.len() >= 2
        && iv
            .windows(2)
            .all(|w| w[0] > 0.0 && (1.5..=2.6).contains(&(w[1] / w[0])));
    (iv, doubling)
}

/// True when `a` happened before the RST (both frames known).
pub(crate) fn before_rst(a: Option<u64>, f: &Flow) -> bool {
    match (a, &f.rst) {
        (Some(a), Some(r)) => a < r.frame,
        _ => false,
    }
}

/// The client's SYN frames (the flow's first frame when tcpflows listed none).
pub(crate) fn syn_frames(f: &Flow) -> Vec<u64> {
    if f.attempts.frames.is_empty() {
        vec![f.first_frame]
    } else {
        f.attempts.frames.clone()
    }
}

/// Nothing came back from the server's address, and the client sent nothing but its SYNs (and
/// perhaps a RST when it gave up): a client that sends ACKs or data after its SYN got a SYN-ACK
/// the capture missed (as in a TCP Fast Open capture), which is no failure.
pub(crate) fn unanswered(f: &Flow) -> bool {
    let client_rst = f.rst.as_ref().is_some_and(|r| r.from == "client");
    !f.established
        && !f.midstream
        && f.synack_frame.is_none()
        && (f.rst.is_none() || client_rst)
        && f.server.packets == 0
        && f.client.packets <= u64::from(f.attempts.syn_count) + u64::from(client_rst)
}

/// The zero-window numbers, shared with zero_window_stall.
pub(crate) fn zw_evidence(fd: &mut Finding, side: &str, z: &ZeroWindow) {
    ev(fd, "receiver", side);
    ev(fd, "zero_window_count", z.count);
    ev(fd, "first_frame", z.first_frame);
    ev(fd, "in_handshake", z.in_handshake);
    ev(fd, "probes", z.probes);
    ev(fd, "probe_frames", z.probe_frames.clone());
    ev(fd, "longest_stall", z.longest_stall);
    ev(fd, "reopened", z.reopened);
    ev(fd, "reopen_frame", z.reopen_frame);
}

/// True when a FIN from either side came before the RST (an orderly close that ended abortively:
/// routine, not a failure).
pub(crate) fn closing(f: &Flow) -> bool {
    before_rst(f.client.fin_frame, f) || before_rst(f.server.fin_frame, f)
}

#[cfg(test)]
mod middle_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;

//! `tcpflag`: flow records to findings — why each connection failed, with the evidence frames,
//! the socket error each platform reports and the next step.
//!
//! ```text
//! pcap2jsonl cap.pcap | tcpflows | ttlhops | tcpflag
//! ```
//!
//! Reads `flow` records (and `packet` records carrying `dns`, for intermittent_backend) and writes
//! one `finding` per problem. The rules live in [`rules`] (per flow) and [`rules::intermittent_backend`] (across
//! flows); docs/rules.md documents each, docs/tcpflag.md the command line.

// Pedantic lints this crate does not meet yet (the workspace's set, Cargo.toml), with the number
// of places: its files are being edited in parallel; fix them with the next change there.
#![allow(
    clippy::redundant_closure_for_method_calls, // 5
    clippy::explicit_iter_loop,                 // 2
    clippy::if_not_else,                        // 1
)]

pub mod due;
pub mod probes;
pub mod render;
pub mod rules;
pub mod socket_errors;
pub mod stray;
pub mod text;
pub mod wording;

use std::collections::HashMap;
use std::io::Write;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use tcpwhy_common::cli::{Exit, PIPELINE_HELP};
use tcpwhy_common::jsonl::{JsonlWriter, Line};
use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::packet::Packet;
use tcpwhy_common::records::{Finding, Severity, Tick};
use tcpwhy_common::stage::{self, CommonArgs, Stage};

use probes::{ProbeConfig, Probes};
use rules::intermittent_backend::{Backend, BackendConfig, Outcome};
use rules::one_sided_capture::{self, OneSided};
use rules::{Config, Verdict};

const EXAMPLES: &str = "\
Examples:
  pcap2jsonl cap.pcap | tcpflows | ttlhops | tcpflag --format text
  pcap2jsonl cap.pcap | tcpflows | ttlhops | tcpflag | jq -r .summary
  pcap2jsonl cap.pcap | tcpflows | ttlhops | tcpflag --fail-on error >/dev/null || echo broken
  pcap2jsonl cap.pcap | tcpflows | tcpflag --all | portmap --listeners netstat.txt

Output: one `finding` record per problem (docs/schema.md, rules in docs/rules.md). Other records
are consumed; --all passes every input record through as well, each followed by its findings.

Exit status: 0 ok (findings or not), 1 --fail-on matched, 2 usage or input error; a first Ctrl-C
with stdin a pipe: read on to the end of the input, then every finding and the summary; a second:
exit 130 (143 for SIGTERM) at once. Live (tick records from pcap2jsonl): --format text prints
each finding as it comes; a refused connection shows about --probe-window (10 s) after it.
With --fail-on SEVERITY, exit 1 when a finding at or above it was written; after an input error
the findings made from the records before it are written first.";

/// Severity threshold for `--fail-on` / `--min-severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Level {
    Info,
    Warning,
    Error,
}

impl Level {
    fn severity(self) -> Severity {
        match self {
            Level::Info => Severity::Info,
            Level::Warning => Severity::Warning,
            Level::Error => Severity::Error,
        }
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// JSON lines: one `finding` record per line.
    Json,
    /// For people: a verdict block, one paragraph per group of findings (kind, server, port)
    /// with its ladder diagram, the totals.
    Text,
    /// For tickets and wikis: the verdict, a table of findings, ladders in code blocks, the
    /// next steps as a checklist.
    Markdown,
}

/// tcpflag's `--line-buffered`: also how `--format text` streams.
const LINE_BUFFERED: &str = "Flush after every record (the default flushes whenever input would \
    block, and per record on a terminal). With --format text: each finding is written as it \
    comes (for a live capture), and the verdict and totals at the end, without grouping or ladders";

/// Why did the connection fail? Flow records in, findings out: evidence frames, socket error,
/// next step.
#[derive(Parser, Debug)]
#[command(version, about, after_help = format!("{EXAMPLES}\n\n{PIPELINE_HELP}"),
    mut_arg("line_buffered", |a| a.help(LINE_BUFFERED)))]
pub struct Args {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Exit 1 when a finding at or above this severity was written.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Level>,

    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,

    /// text: colour the severities (auto: on a terminal when NO_COLOR is not set).
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub color: render::color::ColorChoice,

    /// text, markdown: leave out the ladder diagram of each group's first example.
    #[arg(long)]
    pub no_ladder: bool,

    /// Pass every input record through too (each followed by the findings it produced).
    #[arg(long, conflicts_with = "format")]
    pub all: bool,

    /// Write only findings at or above this severity.
    #[arg(long, value_name = "SEVERITY", default_value = "info")]
    pub min_severity: Level,

    /// refused: refused flows on the same 4-tuple within SECS of each other are retries of one
    /// connect() (Windows retries twice, 0.5 s apart).
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub retry_window: f64,

    /// syn_timeout: unanswered SYNs (first one included) needed.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub min_syns: u32,

    /// zero_window_stall: shortest mid-transfer zero-window stall reported.
    #[arg(long, value_name = "SECS", default_value_t = 0.2)]
    pub min_stall: f64,

    /// zero_window_*: a recovered stall at least this long is a warning, shorter ones info.
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    pub stall_warning: f64,

    /// retransmission_storm: retransmissions by one side before a reset or timeout.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub min_retrans: u32,

    /// handshake_incomplete: ignore a missing final ACK when the capture ends within SECS.
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub incomplete_grace: f64,

    /// slow_connect: a connect that needed SYN retries and took SECS or more is a warning,
    /// shorter ones info.
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub slow_connect: f64,

    /// slow_path: a handshake round trip (SYN -> SYN-ACK or SYN-ACK -> ACK) of SECS or more is
    /// reported (info).
    #[arg(long, value_name = "SECS", default_value_t = 0.5)]
    pub slow_path: f64,

    /// slow_path: a handshake round trip of SECS or more is a warning.
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    pub slow_path_warning: f64,

    /// client_gave_up: shortest wait (SECS) between the client's unanswered request and its RST.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub gave_up: f64,

    /// window_crawl: shortest total time (SECS) the sender waited on a small window.
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    pub crawl_wait: f64,

    /// intermittent_backend: failed connections an address needs to be called a bad backend
    /// (1 for a short capture with a single failure).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub backend_min_failures: u32,

    /// intermittent_backend: an address whose failures exceed this share (0-1) of its
    /// connections is a bad backend.
    #[arg(long, value_name = "RATIO", default_value_t = 0.5)]
    pub backend_fail_ratio: f64,

    /// intermittent_backend: failures of one kind that make a mostly working address a bad
    /// backend when no other address of the name ever failed that way.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub backend_min_concentrated: u32,

    /// dns_failure: a name's lookup is judged once nothing happened to it (no query, retry or
    /// answer) for SECS of capture time (the client's retries and search-suffix walk are over).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub dns_window: f64,
    /// port_scan, syn_flood: connection attempts without data are held SECS (capture time) to
    /// be grouped, and a scan or flood ends after SECS without a probe.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub probe_window: f64,

    /// port_scan: distinct ports of one host (or hosts on one port) one source must probe.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(2..))]
    pub scan_min: u32,

    /// syn_flood: single never-retried SYNs to one host and port left unanswered or half-open,
    /// at 100 SYN/s or more.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(2..))]
    pub flood_min: u32,
}

impl Args {
    /// The rule thresholds.
    pub fn config(&self) -> Config {
        Config {
            retry_window: self.retry_window,
            min_syns: self.min_syns,
            min_stall: self.min_stall,
            stall_warning: self.stall_warning,
            min_retrans: self.min_retrans,
            incomplete_grace: self.incomplete_grace,
            slow_connect: self.slow_connect,
            dns_window: self.dns_window,
            slow_path: self.slow_path,
            slow_path_warning: self.slow_path_warning,
            gave_up: self.gave_up,
            crawl_wait: self.crawl_wait,
        }
    }

    /// The scan and flood thresholds.
    pub fn probes(&self) -> ProbeConfig {
        ProbeConfig {
            window: self.probe_window,
            scan_min: self.scan_min as usize,
            flood_min: self.flood_min as usize,
            ..ProbeConfig::default()
        }
    }

    fn backend(&self) -> BackendConfig {
        BackendConfig {
            min_failures: self.backend_min_failures,
            fail_ratio: self.backend_fail_ratio,
            min_concentrated: self.backend_min_concentrated,
        }
    }
}

type Key = (String, u16, String, u16);
type HeldKey = (String, u16, u16);

/// A flow waiting for its stray RST, with the RST frames its record lists.
type Held = (Flow, Option<Vec<u64>>);

#[derive(Debug)]
struct Pending {
    /// The refused flows, each with the RST frames its record lists (`rst.frames`), if any.
    flows: Vec<(Flow, Option<Vec<u64>>)>,
    last_ts: f64,
}

/// The rule engine: feed it flows and DNS answers, collect findings.
pub struct Engine {
    cfg: Config,
    backend: Backend,
    names: rules::dns_failure::DnsFailures,
    pending: HashMap<Key, Pending>,
    /// When each pending attempt's retry window ends (its `last_ts`).
    pending_due: due::Deadlines<Key>,
    strays: stray::Strays,
    /// Connections that may still get a stray RST (see [`stray`]).
    held: HashMap<HeldKey, Held>,
    /// When each held connection's stray window ends (its `last_ts`).
    held_due: due::Deadlines<HeldKey>,
    /// Scans and floods (connection attempts without data wait here first).
    probes: Probes,
    /// Connections the capture shows one direction of.
    one_sided: OneSided,
    /// Unanswered IPv6 attempts waiting for their IPv4 fallback (ipv6_fallback).
    fallback: rules::ipv6_fallback::Fallback,
    /// Source ports cycled towards one destination (port_exhaustion).
    ports: rules::port_exhaustion::Tracker,
    now: f64,
    /// Flow records seen.
    pub flows: u64,
}

/// Refused attempts held at most this many at once (older ones are flushed first).
const MAX_PENDING: usize = 100_000;

impl Engine {
    pub fn new(cfg: Config, backend: BackendConfig) -> Self {
        Self::with_probes(cfg, backend, ProbeConfig::default())
    }

    /// With explicit scan and flood thresholds.
    pub fn with_probes(cfg: Config, backend: BackendConfig, probes: ProbeConfig) -> Self {
        Engine {
            names: rules::dns_failure::DnsFailures::new(cfg.dns_window),
            probes: Probes::new(probes),
            one_sided: OneSided::default(),
            fallback: Default::default(),
            ports: Default::default(),
            cfg,
            backend: Backend::new(backend),
            pending: HashMap::new(),
            pending_due: due::Deadlines::default(),
            strays: stray::Strays::default(),
            held: HashMap::new(),
            held_due: due::Deadlines::default(),
            now: f64::MIN,
            flows: 0,
        }
    }

    /// One flow: the findings ready now (refused attempts wait `retry_window` for retries).
    pub fn flow(&mut self, f: Flow) -> Vec<Finding> {
        self.flow_with(f, None)
    }

    /// As [`flow`](Self::flow), with the RST frames the flow record lists (`rst.frames`, when
    /// tcpflows writes them).
    pub fn flow_with(&mut self, f: Flow, rst_frames: Option<Vec<u64>>) -> Vec<Finding> {
        self.flows += 1;
        let mut out = self.advance(f.last_ts);
        self.ports.observe(&f);
        let mut released = vec![];
        // One direction only: nothing can be judged (one finding at the end says so).
        if let Some(seen) = one_sided_capture::seen(&f) {
            self.one_sided.add(&f, seen);
        } else if let Some((f, frames)) =
            self.probes
                .offer(f, rst_frames, self.now, &mut out, &mut released)
        {
            released.push((f, frames));
        }
        for (f, frames) in released {
            out.extend(self.dispatch(f, frames));
        }
        out
    }

    /// A `tick` (live capture: capture time is now `ts`, docs/contract.md): the findings whose
    /// wait ended by then, exactly as a flow ending at `ts` would release them.
    pub fn tick(&mut self, ts: f64) -> Vec<Finding> {
        self.advance(ts)
    }

    /// Moves the clock to `ts`: held probes, refused attempts past the retry window, held
    /// connections past the stray window, DNS lookups past the DNS window.
    fn advance(&mut self, ts: f64) -> Vec<Finding> {
        if ts > self.now {
            self.now = ts;
        }
        // Probes held long enough go to the rules first, so that the refusals among them can
        // be flushed with the others.
        let mut out = vec![];
        let mut released = vec![];
        self.probes.due(self.now, &mut out, &mut released);
        for (f, frames) in released {
            out.extend(self.dispatch(f, frames));
        }
        let mut back = vec![];
        self.fallback
            .due(self.now, self.cfg.min_syns, &mut out, &mut back);
        out.extend(self.judged(back));
        out.extend(self.flush_due(false));
        out.extend(self.flush_held(false));
        out.extend(self.names.advance(ts));
        out.extend(self.ports.due(self.now));
        out
    }

    /// A flow past the scan/flood stage: IPv6 attempts wait for their IPv4 fallback first.
    fn dispatch(&mut self, f: Flow, rst_frames: Option<Vec<u64>>) -> Vec<Finding> {
        let mut out = vec![];
        let mut back = vec![];
        let kept = self.fallback.offer(f, rst_frames, &mut back);
        for (f, frames) in back.into_iter().chain(kept) {
            out.extend(self.dispatch_flow(f, frames));
        }
        out
    }

    /// IPv6 attempts the fallback stage judged and gives back: the per-flow rules, with its
    /// note on their finding.
    fn judged(&mut self, back: rules::ipv6_fallback::Released) -> Vec<Finding> {
        let mut out = vec![];
        for (f, frames) in back {
            let uid = f.uid.clone();
            let mut v = self.dispatch_flow(f, frames);
            self.fallback.annotate(&uid, &mut v);
            out.extend(v);
        }
        out
    }

    /// A flow past the scan/flood and fallback stages: its stray RST, the per-flow rules.
    fn dispatch_flow(&mut self, f: Flow, rst_frames: Option<Vec<u64>>) -> Vec<Finding> {
        let mut out = vec![];
        if self.one_sided.covers(&f) {
            return out;
        }
        // A RST from another address for a connection (the seed's 4.79.185.20): attached to the
        // connection, whichever of the two records comes first.
        if stray::Strays::is_stray(&f) {
            let key = (f.client_ip.clone(), f.client_port, f.server_port);
            let s = stray::Stray::of(&f);
            let matches = self.held.get(&key).is_some_and(|(h, _)| s.belongs_to(h));
            if let (true, Some((held, frames))) = (matches, self.held.remove(&key)) {
                out.extend(self.process(held, frames, Some(s)));
            } else {
                self.strays.add(&f, self.now);
            }
            return out;
        }
        let stray = self.strays.take(&f);
        if stray.is_none() && stray::may_get_one(&f) && self.has_problem(&f) {
            // Its stray RST may still come: held (findings and all) for STRAY_WINDOW.
            let key = (f.client_ip.clone(), f.client_port, f.server_port);
            if let Some((old, frames)) = self.held.remove(&key) {
                out.extend(self.process(old, frames, None));
            }
            if self.held.len() >= stray::MAX_STRAYS {
                out.extend(self.flush_held(true));
            }
            self.held_due.push(f.last_ts, key.clone());
            self.held.insert(key, (f, rst_frames));
            let held = &self.held;
            self.held_due
                .compact(held.len(), || held.iter().map(|(k, (f, _))| (f.last_ts, k)));
            return out;
        }
        out.extend(self.process(f, rst_frames, stray));
        out
    }

    /// True when the rules find something worse than info on `f` as it is.
    fn has_problem(&self, f: &Flow) -> bool {
        match rules::evaluate(f, &self.cfg) {
            Verdict::Refused => true,
            Verdict::Findings(v) => v.iter().any(|x| x.severity > Severity::Info),
        }
    }

    /// Held connections whose stray RST did not come within the window (all with `all`).
    fn flush_held(&mut self, all: bool) -> Vec<Finding> {
        if self.held.is_empty() {
            return vec![];
        }
        let mut due: Vec<(Flow, Option<Vec<u64>>)> = vec![];
        if all {
            due.extend(self.held.drain().map(|(_, h)| h));
            self.held_due.clear();
        } else {
            let horizon = self.now - stray::STRAY_WINDOW;
            while let Some(k) = self.held_due.pop_before(horizon) {
                if self.held.get(&k).is_some_and(|(f, _)| f.last_ts < horizon) {
                    due.extend(self.held.remove(&k));
                }
            }
        }
        due.sort_by(|a, b| a.0.first_ts.total_cmp(&b.0.first_ts));
        let mut out = vec![];
        for (f, frames) in due {
            out.extend(self.process(f, frames, None));
        }
        out
    }

    /// Runs the rules on one flow (with its stray RST, if one belongs to it).
    fn process(
        &mut self,
        mut f: Flow,
        rst_frames: Option<Vec<u64>>,
        stray: Option<stray::Stray>,
    ) -> Vec<Finding> {
        let mut out = vec![];
        if let Some(s) = &stray {
            stray::attach(&mut f, s);
        }
        let verdict = rules::evaluate(&f, &self.cfg);
        let verdict = match (verdict, &stray) {
            (Verdict::Findings(mut v), Some(s)) => {
                for fd in v.iter_mut().filter(|fd| fd.severity != Severity::Info) {
                    stray::annotate(fd, s, &f.server_ip);
                }
                Verdict::Findings(v)
            }
            (v, _) => v,
        };
        match verdict {
            Verdict::Refused => {
                let key = (
                    f.client_ip.clone(),
                    f.client_port,
                    f.server_ip.clone(),
                    f.server_port,
                );
                if let Some(p) = self.pending.get_mut(&key) {
                    if f.first_ts - p.last_ts <= self.cfg.retry_window {
                        let moved = f.last_ts > p.last_ts;
                        if moved {
                            p.last_ts = f.last_ts;
                            self.pending_due.push(f.last_ts, key);
                        }
                        p.flows.push((f, rst_frames));
                        if moved {
                            self.compact_pending();
                        }
                        return out;
                    }
                    let p = self.pending.remove(&key).expect("present");
                    out.push(self.refused(p));
                }
                if self.pending.len() >= MAX_PENDING {
                    out.extend(self.flush_due(true));
                }
                self.pending_due.push(f.last_ts, key.clone());
                self.pending.insert(
                    key,
                    Pending {
                        last_ts: f.last_ts,
                        flows: vec![(f, rst_frames)],
                    },
                );
                self.compact_pending();
            }
            Verdict::Findings(v) => {
                let failed = v.iter().find(|x| x.severity == Severity::Error);
                let outcome = match failed {
                    Some(x) => Some(failure(x)),
                    None if f.established => Some(Outcome::Ok),
                    None => None,
                };
                if let Some(o) = outcome {
                    self.backend.record(&f.server_ip, f.server_port, o);
                }
                out.extend(v);
            }
        }
        out
    }

    /// A DNS message seen in the input: the dns_failure findings of the lookups now over.
    pub fn dns(&mut self, p: &Packet<'_>) -> Vec<Finding> {
        self.dns_message(p, false)
    }

    /// As [`dns`](Self::dns); `truncated`: the message has the TC flag (a UDP answer cut short,
    /// which the client asks again over TCP: not an answer of its own for dns_failure).
    pub fn dns_message(&mut self, p: &Packet<'_>, truncated: bool) -> Vec<Finding> {
        if let Some(d) = &p.dns {
            self.backend.add_dns(d);
        }
        self.fallback.dns(p);
        if truncated {
            return self.names.advance(p.ts);
        }
        self.names.packet(p)
    }

    fn refused(&mut self, p: Pending) -> Finding {
        let refs: Vec<(&Flow, Option<&[u64]>)> =
            p.flows.iter().map(|(f, r)| (f, r.as_deref())).collect();
        let fd = rules::refused(&refs);
        let f0 = &p.flows[0].0;
        self.backend
            .record(&f0.server_ip, f0.server_port, failure(&fd));
        fd
    }

    /// Refused attempts whose retry window has passed (all of them with `all`), oldest first.
    fn flush_due(&mut self, all: bool) -> Vec<Finding> {
        if self.pending.is_empty() {
            return vec![];
        }
        let mut ps: Vec<Pending> = vec![];
        if all {
            ps.extend(self.pending.drain().map(|(_, p)| p));
            self.pending_due.clear();
        } else {
            // Only the attempts whose window ended: popped from the deadlines, never a scan.
            let horizon = self.now - self.cfg.retry_window;
            let mut wait = vec![];
            while let Some(k) = self.pending_due.pop_before(horizon) {
                if self.pending.get(&k).is_some_and(|p| p.last_ts < horizon) {
                    // A retry of it is still held by the scan stage: it joins when released.
                    if self.probes.holds(&k) {
                        wait.push(k);
                        continue;
                    }
                    ps.extend(self.pending.remove(&k));
                }
            }
            for k in wait {
                let ts = self.pending[&k].last_ts;
                self.pending_due.push(ts, k);
            }
        }
        if ps.is_empty() {
            return vec![];
        }
        ps.sort_by(|a, b| a.flows[0].0.first_ts.total_cmp(&b.flows[0].0.first_ts));
        ps.into_iter().map(|p| self.refused(p)).collect()
    }

    fn compact_pending(&mut self) {
        let pending = &self.pending;
        self.pending_due.compact(pending.len(), || {
            pending.iter().map(|(k, p)| (p.last_ts, k))
        });
    }

    /// End of input: the refused attempts still waiting, then intermittent_backend.
    pub fn finish(&mut self) -> Vec<Finding> {
        let mut out = vec![];
        let mut released = vec![];
        self.probes.finish(&mut out, &mut released);
        for (f, frames) in released {
            out.extend(self.dispatch(f, frames));
        }
        let mut back = vec![];
        self.fallback.finish(self.cfg.min_syns, &mut out, &mut back);
        out.extend(self.judged(back));
        out.extend(self.flush_held(true));
        out.extend(self.flush_due(true));
        out.extend(self.names.finish());
        out.extend(self.backend.finish());
        out.extend(self.one_sided.finish());
        out.extend(self.ports.finish());
        out
    }
}

#[derive(serde::Deserialize)]
struct RstPeek {
    #[serde(default)]
    rst: Option<RstFramesPeek>,
}

#[derive(serde::Deserialize)]
struct RstFramesPeek {
    #[serde(default)]
    frames: Option<Vec<u64>>,
}

fn failure(fd: &Finding) -> Outcome {
    Outcome::Failed {
        kind: fd.kind.clone(),
        uids: fd.uids.clone(),
        frames: fd.frames.clone(),
        ts: fd.ts,
        client: fd.client_ip.clone(),
        socket_error: fd.socket_error.clone(),
    }
}

/// Writes findings in the chosen format and counts them.
struct Sink {
    format: Format,
    min: Severity,
    fail_on: Option<Severity>,
    counts: [u64; 3],
    selected: bool,
    /// `--format text`: the findings, grouped, written at the end of input.
    groups: render::group::Groups,
    /// text, markdown: the ladders of recent flows (None with `--no-ladder`), and the drawn
    /// ladder of each group's first example, by group order.
    store: Option<render::ladder::Store>,
    ladders: HashMap<usize, String>,
    /// The evidence frames of the ladders drawn.
    drawn: std::collections::HashSet<Vec<u64>>,
    /// `--format text --line-buffered`: findings written as they come.
    stream: bool,
}

impl Sink {
    fn emit<W: Write>(&mut self, out: &mut JsonlWriter<W>, fd: &Finding) -> anyhow::Result<()> {
        if fd.severity < self.min {
            return Ok(());
        }
        self.counts[fd.severity as usize] += 1;
        if self.fail_on.is_some_and(|s| fd.severity >= s) {
            self.selected = true;
        }
        match self.format {
            Format::Json => out.write_record(fd)?,
            Format::Text if self.stream => {
                // Live (--line-buffered): each finding as it comes, the verdict at the end.
                self.groups.add(fd.clone());
                text::finding(out.buffer(), fd);
                out.end_record()?;
            }
            Format::Text | Format::Markdown => {
                if let (Some(i), Some(store)) = (self.groups.add(fd.clone()), &self.store) {
                    if let Some(l) = store
                        .of(fd)
                        .and_then(|(steps, omitted)| render::ladder::draw(fd, &steps, omitted))
                    {
                        // A finding about the same packets as an earlier one
                        // (intermittent_backend after the failures it sums up) draws none.
                        if self.drawn.insert(fd.frames.clone()) {
                            self.ladders.insert(i, l);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Reads every input, writes findings; see the crate docs.
pub fn run<W: Write>(args: Args, out: &mut JsonlWriter<W>) -> anyhow::Result<Exit> {
    for (name, v) in [
        ("--retry-window", args.retry_window),
        ("--min-stall", args.min_stall),
        ("--stall-warning", args.stall_warning),
        ("--incomplete-grace", args.incomplete_grace),
        ("--slow-connect", args.slow_connect),
        ("--dns-window", args.dns_window),
        ("--slow-path", args.slow_path),
        ("--slow-path-warning", args.slow_path_warning),
        ("--gave-up", args.gave_up),
        ("--crawl-wait", args.crawl_wait),
        ("--probe-window", args.probe_window),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            anyhow::bail!("{name}: must be a number of seconds >= 0, got {v}");
        }
    }
    if !(0.0..=1.0).contains(&args.backend_fail_ratio) {
        anyhow::bail!(
            "--backend-fail-ratio: must be within 0..1, got {}",
            args.backend_fail_ratio
        );
    }
    let engine = Engine::with_probes(args.config(), args.backend(), args.probes());
    let sink = Sink {
        format: args.format,
        min: args.min_severity.severity(),
        fail_on: args.fail_on.map(Level::severity),
        counts: [0; 3],
        selected: false,
        groups: render::group::Groups::default(),
        store: (args.format != Format::Json && !args.no_ladder)
            .then(render::ladder::Store::default),
        ladders: HashMap::new(),
        drawn: Default::default(),
        stream: args.common.line_buffered && args.format == Format::Text,
    };
    let totals = text::Totals {
        min: Some(args.min_severity.severity()),
        ..text::Totals::default()
    };
    let mut st = Tcpflag {
        args: &args,
        engine,
        sink,
        totals,
        tcp_packets: false,
    };
    stage::run(&mut st, &args.common, out)
}

/// tcpflag as a stage: flows (and DNS packets) in, findings out; the rest is dropped, or passed
/// on with `--all`.
struct Tcpflag<'a> {
    args: &'a Args,
    engine: Engine,
    sink: Sink,
    totals: text::Totals,
    /// TCP packet records in the input mean tcpflows did not run (it consumes them).
    tcp_packets: bool,
}

impl<W: Write> Stage<W> for Tcpflag<'_> {
    fn record(&mut self, line: &Line<'_>, ty: &str, out: &mut JsonlWriter<W>) -> Result<()> {
        self.totals.records += 1;
        match ty {
            "flow" => {
                let f: Flow = line.parse()?;
                if let Some(store) = &mut self.sink.store {
                    store.add(&f);
                }
                if self.args.all {
                    out.write_raw(line.bytes)?;
                }
                // The RST frames, for refused flows, when tcpflows lists them.
                let rst_frames = if rules::is_refused(&f) {
                    line.parse::<RstPeek>()
                        .ok()
                        .and_then(|p| p.rst)
                        .and_then(|r| r.frames)
                } else {
                    None
                };
                for fd in self.engine.flow_with(f, rst_frames) {
                    self.sink.emit(out, &fd)?;
                }
            }
            "packet" => {
                if has(line.bytes, b"\"proto\":\"tcp\"") {
                    self.tcp_packets = true;
                    self.totals.tcp_packets += 1;
                }
                self.totals.packets += 1;
                if has_dns(line.bytes) {
                    self.totals.dns_packets += 1;
                    let p: Packet = line.parse()?;
                    let tc = has(line.bytes, b"\"tc\":true");
                    for fd in self.engine.dns_message(&p, tc) {
                        self.sink.emit(out, &fd)?;
                    }
                } else {
                    line.validate()?;
                }
                if self.args.all {
                    out.write_raw(line.bytes)?;
                }
            }
            _ => {
                // Consumed or not, a damaged line is an input error.
                line.validate()?;
                if self.args.all {
                    out.write_raw(line.bytes)?;
                }
            }
        }
        Ok(())
    }

    fn tick(&mut self, line: &Line<'_>, out: &mut JsonlWriter<W>) -> Result<()> {
        self.totals.records += 1;
        let t: Tick = line.parse()?;
        // A live capture: `--format text` streams each finding as it comes
        // (as with --line-buffered) when nothing was reported yet.
        if self.sink.format == Format::Text && !self.sink.stream && self.sink.counts == [0; 3] {
            self.sink.stream = true;
            out.set_line_buffered(true);
        }
        for fd in self.engine.tick(t.ts) {
            self.sink.emit(out, &fd)?;
        }
        if self.args.all {
            out.write_raw(line.bytes)?;
        }
        Ok(())
    }

    fn finish(&mut self, read: Result<()>, out: &mut JsonlWriter<W>) -> Result<Exit> {
        // Whatever happened, what was learned so far is written (unless stdout itself failed).
        if !stage::output_failed(&read) {
            for fd in self.engine.finish() {
                self.sink.emit(out, &fd).context("writing output")?;
            }
            if self.sink.format != Format::Json {
                self.totals.counts = self.sink.counts;
                self.totals.flows = self.engine.flows;
                let ladders = &self.sink.ladders;
                let mut ladder = |g: &render::group::Group| ladders.get(&g.order).cloned();
                if self.sink.format == Format::Markdown {
                    render::markdown::report(
                        out.buffer(),
                        &self.sink.groups,
                        &self.totals,
                        &mut ladder,
                    );
                } else {
                    let mut plain = vec![];
                    if self.sink.stream {
                        text::summary(&mut plain, &self.sink.groups, &self.totals);
                    } else {
                        text::report(&mut plain, &self.sink.groups, &self.totals, &mut ladder);
                    }
                    let color = render::color::use_color(self.args.color);
                    let width = render::color::terminal_width();
                    if color || width.is_some() {
                        let s = String::from_utf8_lossy(&plain);
                        plain = render::color::finish(&s, color, width).into_bytes();
                    }
                    out.buffer().extend_from_slice(&plain);
                }
                out.end_record()?;
            } else if self.engine.flows == 0 && self.tcp_packets {
                tcpwhy_common::cli::warn(
                    "no flow records in the input: pipe packets through tcpflows first \
                     (pcap2jsonl cap.pcap | tcpflows | ttlhops | tcpflag)",
                );
            }
        }
        read?;
        Ok(if self.sink.selected {
            Exit::Selected
        } else {
            Exit::Ok
        })
    }
}

/// Cheap test for a `dns` field before parsing a packet record.
fn has_dns(b: &[u8]) -> bool {
    has(b, b"\"dns\":")
}

fn has(b: &[u8], needle: &[u8]) -> bool {
    b.windows(needle.len()).any(|w| w == needle)
}

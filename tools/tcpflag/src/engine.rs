//! The rule engine: per-flow rules plus what is judged across flows and over time. Refused
//! attempts wait `--retry-window` for their retries, connections that may still get a stray RST
//! wait for it ([`crate::stray`]), IPv6 attempts for their IPv4 fallback, scans and floods in
//! [`crate::probes`]; DNS answers feed dns_failure and intermittent_backend. The engine only
//! makes findings: [`crate::sink`] writes them, [`crate::stage`] reads the records.

use std::collections::HashMap;

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::packet::Packet;
use tcpwhy_common::records::{Finding, Severity};

use crate::probes::{ProbeConfig, Probes};
use crate::rules::intermittent_backend::{Backend, BackendConfig, Outcome};
use crate::rules::one_sided_capture::{self, OneSided};
use crate::rules::{self, Config, Verdict};
use crate::{due, stray};

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
pub(crate) struct Engine {
    cfg: Config,
    backend: Backend,
    names: rules::dns_failure::DnsFailures,
    pending: HashMap<Key, Pending>,
    /// When each pending attempt's retry window ends (its `last_ts`).
    pub(crate) pending_due: due::Deadlines<Key>,
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
    pub(crate) flows: u64,
}

/// Refused attempts held at most this many at once (older ones are flushed first).
const MAX_PENDING: usize = 100_000;

impl Engine {
    /// With the default scan and flood thresholds (for tests).
    #[cfg(test)]
    pub(crate) fn new(cfg: Config, backend: BackendConfig) -> Self {
        Self::with_probes(cfg, backend, ProbeConfig::default())
    }

    /// With explicit scan and flood thresholds.
    pub(crate) fn with_probes(cfg: Config, backend: BackendConfig, probes: ProbeConfig) -> Self {
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

    /// [`flow_with`](Self::flow_with) without RST frames (for tests).
    #[cfg(test)]
    pub(crate) fn flow(&mut self, f: Flow) -> Vec<Finding> {
        self.flow_with(f, None)
    }

    /// One flow, with the RST frames its record lists (`rst.frames`, when tcpflows writes
    /// them): the findings ready now (refused attempts wait `retry_window` for retries).
    pub(crate) fn flow_with(&mut self, f: Flow, rst_frames: Option<Vec<u64>>) -> Vec<Finding> {
        self.flows += 1;
        // Flows still open when the capture ended come all at once, in the order they began,
        // not in time order: their times do not move the clock (what they would release is
        // released at the end), or a late one would release held probes and refusals before
        // the earlier ones of the same scan arrive.
        let mut out = if f.end == "capture_end" {
            vec![]
        } else {
            self.advance(f.last_ts)
        };
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
    pub(crate) fn tick(&mut self, ts: f64) -> Vec<Finding> {
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
        // An attempt whose SYNs carried FIN or RST too (Zeek's history `Q`): no TCP stack sends
        // that, nmap's OS detection and crafted scans do; no application made it.
        if !f.established && f.history.contains('Q') {
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

    /// [`dns_message`](Self::dns_message) for a message without the TC flag (for tests).
    #[cfg(test)]
    pub(crate) fn dns(&mut self, p: &Packet<'_>) -> Vec<Finding> {
        self.dns_message(p, false)
    }

    /// A DNS message seen in the input: the dns_failure findings of the lookups now over.
    /// `truncated`: the message has the TC flag (a UDP answer cut short,
    /// which the client asks again over TCP: not an answer of its own for dns_failure).
    pub(crate) fn dns_message(&mut self, p: &Packet<'_>, truncated: bool) -> Vec<Finding> {
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
    pub(crate) fn finish(&mut self) -> Vec<Finding> {
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

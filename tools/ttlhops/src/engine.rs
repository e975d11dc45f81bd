//! The engine: the per-address TTL table, the queue of flows held waiting for evidence, and the
//! verdicts written into `flow.ttlhops`; [`State`] is ttlhops' [`Stage`].

use std::collections::{HashMap, VecDeque};
use std::io::Write;

use anyhow::{Context, Result};
use tcpwhy_common::cli::Exit;
use tcpwhy_common::jsonl::{JsonlWriter, Line};
use tcpwhy_common::records::hops::FlowHops;
use tcpwhy_common::records::{Flow, Host, Packet, Tick};
use tcpwhy_common::stage::{self, Stage};

use crate::Args;
use crate::infer::{self, Basis, Claim, Evidence, Expect, Which};
use crate::signs;
use crate::table::{self, Table};

/// Verdicts the capture's own evidence, arriving later, would decide better.
const WAITING_BASES: [&str; 4] = ["none", "user_hops", "user_expect", "icmp_path"];

/// A record waiting behind a held flow.
pub(crate) enum Pending {
    Raw(Vec<u8>),
    Flow {
        bytes: Vec<u8>,
        /// Where it came from, for errors on re-reading.
        source: String,
        line_no: u64,
        /// Addresses whose distance would decide it (None: not looked at yet; it is when the
        /// flow reaches the front of the queue).
        waits: Option<Vec<String>>,
        last_ts: f64,
    },
}

/// The whole tool's state across its inputs.
pub struct State {
    table: Table,
    expect_hops: Option<u8>,
    hints: HashMap<std::net::IpAddr, u8>,
    no_wait: bool,
    wait: Option<f64>,
    max_held: usize,
    no_hosts: bool,
    drop_packets: bool,
    pub(crate) queue: VecDeque<Pending>,
    /// The latest timestamp seen in the stream.
    now: f64,
    evicted: Vec<Host>,
    scratch: Vec<u8>,
    /// A `tick` came: the input is a live capture, held flows wait at most [`LIVE_WAIT`]
    /// (unless `--wait` says otherwise).
    live: bool,
}

/// How long (capture time) a held flow waits for evidence on a live capture (once a `tick` has
/// been seen) when `--wait` is not given.
pub const LIVE_WAIT: f64 = 2.0;

impl State {
    pub fn new(args: &Args) -> Self {
        State {
            table: Table::new(args.max_hosts),
            expect_hops: args.expect_hops,
            hints: args
                .hops
                .iter()
                .filter_map(|(a, n)| Some((a.parse().ok()?, *n)))
                .collect(),
            no_wait: args.no_wait || args.wait == Some(0.0),
            wait: args.wait,
            max_held: args.max_held.max(1),
            no_hosts: args.no_hosts,
            drop_packets: args.drop_packets,
            queue: VecDeque::new(),
            now: f64::NEG_INFINITY,
            evicted: vec![],
            scratch: Vec::with_capacity(4096),
            live: false,
        }
    }

    /// One input record of type `ty`.
    pub fn handle<W: Write>(
        &mut self,
        line: Line,
        ty: &str,
        out: &mut JsonlWriter<W>,
    ) -> anyhow::Result<()> {
        match ty {
            "flow" => self.flow(line, out)?,
            "packet" => {
                let p: Packet = line.parse_as("packet record")?;
                self.packet(&p);
                if !self.drop_packets {
                    self.emit_raw(line.bytes, out)?;
                }
            }
            "tick" => {
                // Capture time moves on (docs/contract.md): held flows past their wait are
                // decided first, then the tick passes on behind them.
                let t: Tick = line.parse_as("tick record")?;
                self.live = true;
                if t.ts > self.now {
                    self.now = t.ts;
                }
                self.drain(out, false)?;
                self.emit_raw(line.bytes, out)?;
            }
            _ => {
                line.validate()?;
                self.emit_raw(line.bytes, out)?;
            }
        }
        self.flush_evicted(out)?;
        self.drain(out, false)
    }

    fn emit_raw<W: Write>(&mut self, bytes: &[u8], out: &mut JsonlWriter<W>) -> anyhow::Result<()> {
        if self.queue.is_empty() {
            out.write_raw(bytes)?;
        } else {
            self.queue.push_back(Pending::Raw(bytes.to_vec()));
        }
        Ok(())
    }

    fn flush_evicted<W: Write>(&mut self, out: &mut JsonlWriter<W>) -> anyhow::Result<()> {
        if self.evicted.is_empty() {
            return Ok(());
        }
        for h in std::mem::take(&mut self.evicted) {
            if self.no_hosts {
                continue;
            }
            let bytes = serde_json::to_vec(&h)?;
            self.emit_raw(&bytes, out)?;
        }
        Ok(())
    }

    /// Learns from a `packet` record.
    fn packet(&mut self, p: &Packet) {
        if p.ts > self.now {
            self.now = p.ts;
        }
        let (Some(src), Some(ttl)) = (p.src_ip.as_deref(), p.ttl) else {
            return;
        };
        let icmp_error = match (p.proto.as_deref(), p.icmp_type) {
            (Some("icmp"), Some(t)) => matches!(t, 3 | 4 | 5 | 11 | 12),
            (Some("icmpv6"), Some(t)) => matches!(t, 1..=4),
            _ => false,
        };
        let rst = p.proto.as_deref() == Some("tcp") && p.has_flag('R');
        let Some(e) = self.table.entry(src, &mut self.evicted) else {
            return;
        };
        e.pkt_packets += 1;
        if rst {
            e.add_rst_ttl(ttl);
        } else {
            e.add_ttl(ttl);
        }
        if icmp_error {
            e.icmp_errors += 1;
        }
        if !rst && !icmp_error {
            // End hosts only: a router's address says little about its LAN's distance.
            self.table.note_member(src);
        }
        if icmp_error {
            if let Some(dst) = p.icmp_inner.as_ref().and_then(|i| i.dst_ip.as_deref()) {
                if dst != src {
                    self.router_for(dst, infer::hops(ttl), src);
                }
            }
        }
    }

    /// Remembers that router `router` answered `h` routers away for packets to `dst`.
    fn router_for(&mut self, dst: &str, h: u8, router: &str) {
        let Some(e) = self.table.entry(dst, &mut self.evicted) else {
            return;
        };
        if e.router_hops.as_ref().is_none_or(|r| h > r.0) {
            e.router_hops = Some((h, router.to_string()));
        }
    }

    /// Learns from a flow: the non-RST TTLs of both sides, ICMP errors from routers.
    fn learn_flow(&mut self, f: &Flow) {
        if f.last_ts > self.now {
            self.now = f.last_ts;
        }
        for which in [Which::Client, Which::Server] {
            let side = which.side(f);
            let non_rst = infer::non_rst_ttls(f, which);
            let rst_ttl = f
                .rst
                .as_ref()
                .filter(|r| r.from == which.name())
                .and_then(|r| r.ttl);
            let Some(e) = self.table.entry(which.ip(f), &mut self.evicted) else {
                continue;
            };
            e.flows += 1;
            e.flow_packets += side.packets;
            if let Some(t) = rst_ttl {
                e.add_rst_ttl(t);
            }
            if let Some((_, all)) = non_rst {
                for t in all {
                    e.add_ttl(t);
                }
                self.table.note_member(which.ip(f));
            }
        }
        for i in &f.icmp {
            if i.from_ip == f.client_ip || i.from_ip == f.server_ip {
                // It claims to come from an endpoint: judged like a RST, not its distance.
                if let Some(e) = self.table.entry(&i.from_ip, &mut self.evicted) {
                    e.flow_icmp_errors += 1;
                }
                continue;
            }
            let Some(t) = i.ttl else { continue };
            let Some(e) = self.table.entry(&i.from_ip, &mut self.evicted) else {
                continue;
            };
            e.flow_packets += 1;
            e.flow_icmp_errors += 1;
            e.add_ttl(t);
            // The router is on the path to the destination of the packet it quotes.
            let dst = if i.quoted == "server" {
                f.client_ip.clone()
            } else {
                f.server_ip.clone()
            };
            let from = i.from_ip.clone();
            self.router_for(&dst, infer::hops(t), &from);
        }
    }

    /// What is known about `ip`'s own distance, outside this flow. `peer` is the flow's other
    /// endpoint with its distance in this flow.
    fn evidence(
        &self,
        ip: &str,
        role: Which,
        same_flow: Option<Expect>,
        peer: (&str, Option<u8>),
    ) -> Evidence {
        let entry = self.table.get(ip);
        let neighbour = self.table.neighbour(ip);
        let capture = same_flow.or_else(|| entry.and_then(super::table::Entry::distance));
        let hint = ip
            .parse::<std::net::IpAddr>()
            .ok()
            .and_then(|a| self.hints.get(&a));
        let user = if let Some(&n) = hint {
            Some(Expect::user(Basis::UserHops, n))
        } else if role == Which::Server {
            self.expect_hops.map(|n| Expect::user(Basis::UserExpect, n))
        } else {
            None
        };
        Evidence {
            capture,
            user,
            router_hops: entry.and_then(|e| e.router_hops.clone()),
            neighbour_is_peer: neighbour
                .as_ref()
                .is_some_and(|(a, _)| peer.0.parse::<std::net::IpAddr>() == Ok(*a)),
            neighbour: neighbour.map(|(a, d)| (a.to_string(), d.hops)),
            other_subnet_local: match (ip.parse(), peer.0.parse(), peer.1) {
                (Ok(a), Ok(b), Some(0)) if table::prefix(&a) != table::prefix(&b) => {
                    Some(peer.0.to_string())
                }
                _ => None,
            },
        }
    }

    /// The `ttlhops` field of a flow, with what is known now.
    pub fn compute(&self, f: &Flow) -> FlowHops {
        let mut fh = FlowHops {
            client: infer::side_hops(f, Which::Client),
            server: infer::side_hops(f, Which::Server),
            rst: None,
            icmp: vec![],
        };
        if let Some(r) = &f.rst {
            let which = if r.from == "client" {
                Which::Client
            } else {
                Which::Server
            };
            let c = Claim {
                what: "RST".into(),
                frame: r.frame,
                from_ip: which.ip(f),
                role: which.name(),
                ip_version: f.ip_version,
                ttl: r.ttl,
                ip_id: r.ip_id,
                peer_ip_id: infer::non_rst_ttls(f, which).and(which.side(f).first_ip_id),
            };
            let other = other_end(f, which, &fh);
            let ev = self.evidence(which.ip(f), which, same_flow(f, which), other);
            let mut o = infer::judge(&c, &ev);
            signs::apply_rst_signs(&mut o, f);
            fh.rst = Some(o);
        }
        for i in &f.icmp {
            let what = if i.description.is_empty() {
                format!("ICMP type {} code {}", i.icmp_type, i.icmp_code)
            } else if i.proto == "icmpv6" {
                format!("ICMPv6 {}", i.description)
            } else {
                format!("ICMP {}", i.description)
            };
            let which = if i.from_ip == f.server_ip {
                Some(Which::Server)
            } else if i.from_ip == f.client_ip {
                Some(Which::Client)
            } else {
                None
            };
            let c = Claim {
                what,
                frame: i.frame,
                from_ip: &i.from_ip,
                role: which.map_or("router", |w| w.name()),
                ip_version: f.ip_version,
                ttl: i.ttl,
                ip_id: None,
                peer_ip_id: None,
            };
            let o = match which {
                Some(w) => {
                    let other = other_end(f, w, &fh);
                    let ev = self.evidence(&i.from_ip, w, same_flow(f, w), other);
                    infer::judge(&c, &ev)
                }
                None => {
                    // Compare with the destination of the quoted packet (usually the server).
                    let dst = if i.quoted == "server" {
                        Which::Client
                    } else {
                        Which::Server
                    };
                    let d = same_flow(f, dst).or_else(|| {
                        self.table
                            .get(dst.ip(f))
                            .and_then(super::table::Entry::distance)
                    });
                    infer::judge_router(&c, dst.name(), d.as_ref())
                }
            };
            fh.icmp.push(o);
        }
        fh
    }

    /// Addresses whose distance, if it showed up later in the capture, would decide an origin
    /// that has no capture evidence yet (none at all, or only a user hint or a router bound).
    fn waits(fh: &FlowHops) -> Vec<String> {
        let mut v: Vec<String> = fh
            .rst
            .iter()
            .chain(fh.icmp.iter())
            .filter(|o| o.observed_ttl.is_some() && WAITING_BASES.contains(&o.basis.as_str()))
            .filter_map(|o| o.from_ip.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    fn flow<W: Write>(&mut self, line: Line, out: &mut JsonlWriter<W>) -> anyhow::Result<()> {
        let f: Flow = line.parse_as("flow record")?;
        self.learn_flow(&f);
        // Without a RST or an ICMP error the field depends on this flow alone: render it now,
        // even when it has to queue behind a held flow.
        let simple = f.rst.is_none() && f.icmp.is_empty();
        if self.queue.is_empty() || simple {
            let fh = self.compute(&f);
            let waits = Self::waits(&fh);
            if waits.is_empty() || self.no_wait {
                self.render(&f, fh, line.bytes)?;
                if self.queue.is_empty() {
                    out.write_raw(&self.scratch)?;
                } else {
                    self.queue.push_back(Pending::Raw(self.scratch.clone()));
                }
                return Ok(());
            }
            self.queue.push_back(Pending::Flow {
                bytes: line.bytes.to_vec(),
                source: line.source.to_string(),
                line_no: line.no,
                waits: Some(waits),
                last_ts: f.last_ts,
            });
            return Ok(());
        }
        // Behind a held flow: decided when it reaches the front of the queue.
        self.queue.push_back(Pending::Flow {
            bytes: line.bytes.to_vec(),
            source: line.source.to_string(),
            line_no: line.no,
            waits: None,
            last_ts: f.last_ts,
        });
        Ok(())
    }

    /// Renders a flow with its `ttlhops` field into `self.scratch`, and counts middlebox
    /// verdicts per address.
    fn render(&mut self, f: &Flow, fh: FlowHops, raw: &[u8]) -> anyhow::Result<()> {
        for o in fh.rst.iter().chain(fh.icmp.iter()) {
            if o.origin == "middlebox" && o.basis != "source_address" {
                if let Some(ip) = &o.from_ip {
                    if let Some(e) = self.table.entry(ip, &mut self.evicted) {
                        e.middlebox_rsts += 1;
                    }
                }
            }
        }
        self.scratch.clear();
        if f.ttlhops.is_some() || memchr::memmem::find(raw, b"\"ttlhops\"").is_some() {
            // Already enriched (ttlhops run twice): rewrite the record with the new value.
            let mut f = f.clone();
            f.ttlhops = Some(fh);
            serde_json::to_writer(&mut self.scratch, &f)?;
            return Ok(());
        }
        // Splice the field in before the closing brace: the rest stays byte for byte.
        let end = raw
            .iter()
            .rposition(|&b| b == b'}')
            .context("flow record is not a JSON object")?;
        self.scratch.extend_from_slice(&raw[..end]);
        self.scratch.extend_from_slice(b",\"ttlhops\":");
        serde_json::to_writer(&mut self.scratch, &fh)?;
        self.scratch.push(b'}');
        self.scratch.extend_from_slice(&raw[end + 1..]);
        Ok(())
    }

    /// Writes out every queued record that no longer has to wait (all of them when `force`).
    fn drain<W: Write>(&mut self, out: &mut JsonlWriter<W>, force: bool) -> anyhow::Result<()> {
        while let Some(front) = self.queue.pop_front() {
            let (bytes, source, line_no, waits, last_ts) = match front {
                Pending::Raw(b) => {
                    out.write_raw(&b)?;
                    continue;
                }
                Pending::Flow {
                    bytes,
                    source,
                    line_no,
                    waits,
                    last_ts,
                } => (bytes, source, line_no, waits, last_ts),
            };
            let forced = force
                || self.no_wait
                || self.queue.len() >= self.max_held
                || self
                    .wait
                    .or(if self.live { Some(LIVE_WAIT) } else { None })
                    .is_some_and(|w| self.now - last_ts > w);
            let ready = waits
                .as_ref()
                .is_some_and(|w| w.iter().all(|a| self.table.has_distance(a)));
            if waits.is_some() && !forced && !ready {
                self.queue.push_front(Pending::Flow {
                    bytes,
                    source,
                    line_no,
                    waits,
                    last_ts,
                });
                break;
            }
            let f: Flow = serde_json::from_slice(&bytes)
                .with_context(|| format!("{source}: line {line_no}"))?;
            let fh = self.compute(&f);
            if !forced && !ready {
                // First time at the front: does it have to wait?
                let w = Self::waits(&fh);
                if !w.is_empty() {
                    self.queue.push_front(Pending::Flow {
                        bytes,
                        source,
                        line_no,
                        waits: Some(w),
                        last_ts,
                    });
                    break;
                }
            }
            self.render(&f, fh, &bytes)?;
            out.write_raw(&self.scratch)?;
            self.flush_evicted(out)?;
        }
        Ok(())
    }

    /// End of input: every held flow decided with all the evidence, then the `host` records.
    pub fn end_of_input<W: Write>(&mut self, out: &mut JsonlWriter<W>) -> anyhow::Result<()> {
        self.drain(out, true)?;
        self.flush_evicted(out)?;
        if !self.no_hosts {
            // One at a time: the records are built as they are written.
            for a in self.table.addresses() {
                if let Some(h) = self.table.host(&a) {
                    out.write_record(&h)?;
                }
            }
        }
        Ok(())
    }
}

/// The flow's endpoint opposite `which`, with its distance in this flow.
fn other_end<'a>(f: &'a Flow, which: Which, fh: &FlowHops) -> (&'a str, Option<u8>) {
    match which {
        Which::Server => (&f.client_ip, fh.client.as_ref().map(|s| s.hops)),
        Which::Client => (&f.server_ip, fh.server.as_ref().map(|s| s.hops)),
    }
}

/// The claimed sender's distance from its own non-RST packets in this flow.
fn same_flow(f: &Flow, which: Which) -> Option<Expect> {
    let (first, all) = infer::non_rst_ttls(f, which)?;
    let others = all
        .iter()
        .filter(|&&t| t != first)
        .map(|&t| (infer::initial_ttl(t), infer::hops(t)))
        .collect();
    Some(Expect {
        basis: Basis::SameFlow,
        ttl: Some(first),
        initial: Some(infer::initial_ttl(first)),
        hops: infer::hops(first),
        others,
        count: 1,
    })
}

/// ttlhops as a stage: every record goes through [`State::handle`], in input order.
impl<W: Write> Stage<W> for State {
    fn record(&mut self, line: &Line<'_>, ty: &str, out: &mut JsonlWriter<W>) -> Result<()> {
        self.handle(*line, ty, out)
    }

    fn tick(&mut self, line: &Line<'_>, out: &mut JsonlWriter<W>) -> Result<()> {
        self.handle(*line, "tick", out)
    }

    fn finish(&mut self, read: Result<()>, out: &mut JsonlWriter<W>) -> Result<Exit> {
        // Everything before any damage is written (held flows decided with what is known).
        if read.is_ok() {
            self.end_of_input(out)?;
        } else if !stage::output_failed(&read) {
            let _ = self.end_of_input(out);
        }
        read.map(|()| Exit::Ok)
    }
}

//! `tcpflows`: packet records to one flow record per TCP connection, with Zeek's state and
//! history and every failure signal (attempts, RST, zero windows, ICMP errors).
//!
//! Modules:
//! - [`scan`]: the fast, allocation-free reader of `packet` lines (serde is the fallback);
//! - [`key`]: the 4-tuple key and its hasher;
//! - [`reorder`]: the reorder buffer (timestamp order within `--reorder-window`);
//! - [`track`]: the flow table, timeouts, eviction, emission order;
//! - [`conn`]: one connection: statistics, tshark-style analysis, zero windows, RST, ICMP;
//! - [`zeek`]: Zeek's endpoint state machine, history letters and `conn_state`;
//! - [`setup`]: connection-setup signals (`others_answered`, `ecn_setup`);
//! - [`output`]: the `flow` record.

// Pedantic lints this crate does not meet yet (the workspace's set, Cargo.toml), with the number
// of places: its files are being edited in parallel; fix them with the next change there.
#![allow(
    clippy::redundant_closure_for_method_calls, // 4
    clippy::ignored_unit_patterns,              // 3
    clippy::bool_to_int_with_if,                // 3
    clippy::range_plus_one,                     // 1
    clippy::semicolon_if_nothing_returned,      // 1
    clippy::enum_glob_use,                      // 1
)]

mod conn;
#[doc(hidden)]
pub mod fuzz;
mod idle;
mod key;
mod ladder;
mod output;
mod pmtu;
mod reorder;
mod reuse;
pub mod scan;
mod setup;
#[cfg(test)]
mod testflow;
mod tls;
mod track;
mod tunnel;
mod zeek;

use std::io::Write;

use anyhow::{Context, Result, anyhow};
use clap::Parser;
use tcpwhy_common::cli::Exit;
use tcpwhy_common::jsonl::{JsonlWriter, Line};
use tcpwhy_common::records::{Packet, Tick};
use tcpwhy_common::stage::{self, CommonArgs, Stage};

use crate::conn::{IcmpInfo, Seg};
use crate::key::{Endpoint, IpText};
use crate::reorder::{Event, Reorder};
use crate::scan::{Pkt, ScanError};
use crate::track::{Config, Tracker};

const AFTER_HELP: &str = "\
Example:
  pcap2jsonl trace.pcap | tcpflows | jq -c 'select(.state==\"REJ\" or .state==\"S0\")'
  pcap2jsonl trace.pcap | tcpflows | ttlhops | tcpflag | portmap --listeners netstat.txt

A flow record is written when its connection is over: FIN both ways or a RST (then after
--linger seconds of capture time, to collect the last ACK and a client's retry of a refused SYN),
after an idle timeout, when evicted by --max-attempts or --max-flows (memory stays bounded: a SYN
flood evicts its own half-open attempts first), or at the end of the input.
TCP packet records are consumed (use --keep-packets to pass them on too); every other record,
and TCP/53 packets carrying `dns`, pass through unchanged. Fields: docs/schema.md; the
tracker: docs/tcpflows.md.

Live: tick records (pcap2jsonl on a stream) move the clock while no packet comes; a flow is
written --linger after its end, then the tick passes on.

Exit status: 0 ok (also after a first Ctrl-C with stdin a pipe: read on to the end of the input,
then every open flow), 2 usage or input error (malformed JSON line, packet record missing a
field tcpflows needs); 130 (143) at once on a second SIGINT (SIGTERM).";

/// Packet records to one flow record per TCP connection, with Zeek's state and history and every
/// failure signal.
#[derive(Parser, Debug, Clone)]
#[command(version, about, after_help = AFTER_HELP)]
pub struct Args {
    /// Seconds without packets after which an open connection is written with "end":"timeout"
    /// (Zeek's tcp_inactivity_timeout).
    #[arg(long, value_name = "SECS", default_value_t = 300.0)]
    pub idle_timeout: f64,

    /// Seconds after its last SYN after which an unanswered connection attempt is written with
    /// "end":"timeout". Longer than the longest default SYN retry gap (Linux 32 s), so every
    /// retransmitted SYN stays one attempt of the same flow.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub attempt_timeout: f64,

    /// Seconds a finished connection (FIN both ways, or RST) waits for stray packets before its
    /// record is written: the last ACK, retransmitted FINs, a client retrying a refused SYN with
    /// the same ISN (Windows retries after 0.5 s).
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub linger: f64,

    /// Most connections tracked at once (about 1.2 KB each: the default bounds the table near
    /// 300 MB); beyond it a lingering closed flow is written, else the least recently active
    /// SYN-only attempt, else the least recently active connection, with "end":"evicted".
    #[arg(long, value_name = "N", default_value_t = 250_000)]
    pub max_flows: usize,

    /// Most SYN-only (unanswered, half-open) flows tracked at once: beyond it the least recently
    /// active one is written with "end":"evicted", so a SYN flood costs a bounded table and
    /// never evicts an established connection.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_attempts: usize,

    /// Seconds of timestamp disorder tolerated (captures merged from several interfaces): TCP
    /// packets are held this long and handled in timestamp order. 0 = input order.
    #[arg(long, value_name = "SECS", default_value_t = 0.25)]
    pub reorder_window: f64,

    /// Which flow records carry the `ladder` field (the packets tcpflag draws a ladder diagram
    /// from): `notable` leaves it out of plain healthy connections (one SYN, one SYN-ACK, a
    /// handshake round trip under 100 ms, FIN both ways, no RST, retransmission, reordering,
    /// duplicate ACK, keep-alive, zero or small window, ICMP error or TLS), the bulk of most
    /// captures and of no use to a finding; `all` keeps it on every flow, `none` on none.
    #[arg(long, value_enum, value_name = "WHICH", default_value_t = ladder::Which::Notable)]
    pub ladder: ladder::Which,

    /// Also pass TCP packet records through (after tracking them).
    #[arg(long)]
    pub keep_packets: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

fn secs_to_ns(name: &str, v: f64) -> anyhow::Result<i64> {
    if !(v.is_finite() && (0.0..1e9).contains(&v)) {
        return Err(anyhow!(
            "--{name} must be a number of seconds between 0 and 1e9, not {v}"
        ));
    }
    Ok((v * 1e9).round() as i64)
}

impl Args {
    pub fn config(&self) -> anyhow::Result<Config> {
        Ok(Config {
            idle_timeout: secs_to_ns("idle-timeout", self.idle_timeout)?,
            attempt_timeout: secs_to_ns("attempt-timeout", self.attempt_timeout)?,
            linger: secs_to_ns("linger", self.linger)?,
            max_flows: self.max_flows.max(1),
            max_attempts: self.max_attempts.max(1),
            reorder_window: secs_to_ns("reorder-window", self.reorder_window)?,
            ladder: self.ladder,
        })
    }
}

/// The tracker behind its reorder buffer.
pub struct State {
    pub tracker: Tracker,
    pub reorder: Reorder,
}

pub fn run<W: Write>(args: Args, out: &mut JsonlWriter<W>) -> anyhow::Result<Exit> {
    let cfg = args.config()?;
    let mut st = State {
        tracker: Tracker::new(cfg),
        reorder: Reorder::new(cfg.reorder_window),
    };
    let mut flows = Flows {
        st: &mut st,
        args: &args,
    };
    stage::run(&mut flows, &args.common, out)
}

/// tcpflows as a stage: TCP packets are tracked, ticks move the clock, the rest passes through.
struct Flows<'a> {
    st: &'a mut State,
    args: &'a Args,
}

impl<W: Write> Stage<W> for Flows<'_> {
    fn record(&mut self, line: &Line<'_>, ty: &str, out: &mut JsonlWriter<W>) -> Result<()> {
        handle_line(line, ty, self.st, self.args, out)
    }

    fn tick(&mut self, line: &Line<'_>, out: &mut JsonlWriter<W>) -> Result<()> {
        tick(line, self.st, out)
    }

    fn finish(&mut self, read: Result<()>, out: &mut JsonlWriter<W>) -> Result<Exit> {
        read?;
        let (st, args) = (&mut *self.st, self.args);
        let tracker = &mut st.tracker;
        st.reorder.flush(tracker, out)?;
        tracker.finish(out)?;
        if st.reorder.stragglers > 0 {
            tcpwhy_common::cli::warn(format!(
                "{} TCP packets came more than --reorder-window {} s out of time order; they were \
                 handled in input order",
                st.reorder.stragglers, args.reorder_window
            ));
        }
        if tracker.stats.evicted > 0 {
            tcpwhy_common::cli::warn(format!(
                "{} connections were evicted by --max-flows {} / --max-attempts {}",
                tracker.stats.evicted, args.max_flows, args.max_attempts
            ));
        }
        Ok(Exit::Ok)
    }
}

/// The serde error for a line the fast scanner found malformed (serde words it best).
fn syntax_error(line: &Line<'_>, e: ScanError) -> anyhow::Error {
    match line.validate() {
        Err(e) => e,
        Ok(()) => line.error(e),
    }
}

fn passthrough<W: Write>(line: &Line<'_>, out: &mut JsonlWriter<W>) -> anyhow::Result<()> {
    let text = line.text()?;
    if let Err(e) = scan::validate(text) {
        if matches!(e, ScanError::Syntax(_)) || line.validate().is_err() {
            return Err(syntax_error(line, e));
        }
    }
    out.write_raw(line.bytes)?;
    Ok(())
}

fn handle_line<W: Write>(
    line: &Line<'_>,
    ty: &str,
    st: &mut State,
    args: &Args,
    out: &mut JsonlWriter<W>,
) -> anyhow::Result<()> {
    if ty != "packet" {
        return passthrough(line, out);
    }
    let text = line.text()?;
    let owned: Packet<'_>;
    let pkt = match scan::scan_packet(text) {
        Ok(p) => p,
        Err(e @ ScanError::Syntax(_)) => return Err(syntax_error(line, e)),
        Err(ScanError::Unsupported(_)) => {
            owned = line.parse::<Packet<'_>>()?;
            scan::from_serde(&owned, text).map_err(|e| line.error(e))?
        }
    };
    packet(line, &pkt, st, args, out)
}

/// A `tick` (live capture, docs/contract.md): timers move to its time, as a packet of that time
/// would move them; the flows that ends are written before the tick, which passes on unchanged.
fn tick<W: Write>(line: &Line<'_>, st: &mut State, out: &mut JsonlWriter<W>) -> anyhow::Result<()> {
    let t: Tick = line.parse()?;
    let ts = scan::parse_ts(format!("{}", t.ts).as_bytes())
        .ok_or_else(|| line.error("tick `ts` is out of range"))?;
    st.reorder.tick_clock(ts, &mut st.tracker, out)?;
    // A watermark: the flows still lingering (and the events held for reordering) are written
    // later with an earlier time, so the tick passed on is no later than the oldest of them.
    let mut mark = ts;
    if let Some(held) = st.reorder.oldest_held() {
        mark = mark.min(held);
    }
    if let Some(l) = st.tracker.oldest_lingering() {
        mark = mark.min(l);
    }
    if mark == ts {
        out.write_raw(line.bytes)?;
    } else {
        let buf = out.buffer();
        buf.extend_from_slice(b"{\"type\":\"tick\",\"ts\":");
        serde_json::to_writer(&mut *buf, &mark.to_f64())?;
        buf.push(b'}');
        out.end_record()?;
    }
    Ok(())
}

fn need<T>(line: &Line<'_>, v: Option<T>, field: &str) -> anyhow::Result<T> {
    v.ok_or_else(|| {
        line.error(format!(
            "packet record has no `{field}` (or it is null); tcpflows needs it to track TCP \
             connections (docs/schema.md, packet)"
        ))
    })
}

fn endpoint(line: &Line<'_>, ip: &str, port: u16, field: &str) -> anyhow::Result<Endpoint> {
    let ip = IpText::new(ip)
        .ok_or_else(|| line.error(format!("`{field}` is too long for an IP address")))?;
    Ok(Endpoint { ip, port })
}

fn packet<W: Write>(
    line: &Line<'_>,
    p: &Pkt<'_>,
    st: &mut State,
    args: &Args,
    out: &mut JsonlWriter<W>,
) -> anyhow::Result<()> {
    let is_tcp = p.ip.proto == Some(6) && p.tcp.decoded && p.ip.frag_offset.unwrap_or(0) == 0;
    if !is_tcp {
        out.write_raw(line.bytes)?;
        if let Some(inner) = &p.icmp_inner {
            icmp(line, p, inner, st, out)?;
        } else if let Some(ts) = p.ts {
            st.reorder.tick(ts, &mut st.tracker, out)?;
        }
        return Ok(());
    }
    if p.has_dns || args.keep_packets {
        out.write_raw(line.bytes)?;
    }
    let frame = need(line, p.frame, "frame")?;
    let ts = need(line, p.ts, "ts")?;
    let src_ip = need(line, p.ip.src, "src_ip")?;
    let dst_ip = need(line, p.ip.dst, "dst_ip")?;
    let src_port = need(line, p.src_port, "src_port")?;
    let dst_port = need(line, p.dst_port, "dst_port")?;
    let (tun, tun_text) = tunnel_of(p, st);
    let seg = Seg {
        frame,
        ts,
        flags: need(line, p.tcp.flags, "tcp_flags")?,
        seq: need(line, p.tcp.seq, "seq")?,
        ack: need(line, p.tcp.ack, "ack")?,
        len: need(line, p.tcp.payload_len, "payload_len")?,
        window: need(line, p.tcp.window, "window")?,
        wire_len: p.len.unwrap_or(0),
        ttl: p.ip.ttl,
        ip_id: p.ip.id,
        mss: p.tcp.mss,
        wscale: p.tcp.wscale,
        sack_perm: p.tcp.sack_perm.unwrap_or(false),
        tun,
        tun_text,
    };
    let ipv =
        p.ip.version
            .unwrap_or(if src_ip.contains(':') { 6 } else { 4 });
    let src = endpoint(line, src_ip, src_port, "src_ip")?;
    let dst = endpoint(line, dst_ip, dst_port, "dst_ip")?;
    // plaintext counts only as a side's first payload: most text segments (an HTTP transfer)
    // come after it and are not read (payload seen now is still seen when the event is run)
    let tls = if p.tls.is_some() || (p.text.is_some() && !st.tracker.has_sent_payload(src, dst)) {
        tls::parse_seg(p.tls, p.text).map(Box::new)
    } else {
        None
    };
    let ev = Event::Segment {
        src,
        dst,
        ip_version: ipv,
        seg,
        tls,
    };
    st.reorder
        .push(ts, ev, &mut st.tracker, out)
        .with_context(|| format!("{}: line {}", line.source, line.no))?;
    Ok(())
}

/// The tunnel identity of a packet (0 when it has no `tunnel`) and its text's hash.
fn tunnel_of(p: &Pkt<'_>, st: &mut State) -> (u64, u64) {
    match p.tunnel {
        None => (0, 0),
        Some(t) => st.tracker.tunnel(t),
    }
}

fn icmp<W: Write>(
    line: &Line<'_>,
    p: &Pkt<'_>,
    inner: &scan::Inner<'_>,
    st: &mut State,
    out: &mut JsonlWriter<W>,
) -> anyhow::Result<()> {
    if inner.ip.proto != Some(6) {
        return Ok(());
    }
    let (Some(qs), Some(qd), Some(qsp), Some(qdp)) =
        (inner.ip.src, inner.ip.dst, inner.src_port, inner.dst_port)
    else {
        return Ok(());
    };
    let (Some(src), Some(dst)) = (IpText::new(qs), IpText::new(qd)) else {
        return Ok(());
    };
    let info = IcmpInfo {
        from_ip: need(line, p.ip.src, "src_ip")?.to_string(),
        v6: p.ip.version == Some(6) || p.ip.proto == Some(58),
        icmp_type: need(line, p.icmp_type, "icmp_type")?,
        icmp_code: need(line, p.icmp_code, "icmp_code")?,
        frame: need(line, p.frame, "frame")?,
        ts: need(line, p.ts, "ts")?,
        ttl: p.ip.ttl,
        quoted: 0,
    };
    let ts = info.ts;
    let ev = Event::Icmp {
        quoted_src: Endpoint { ip: src, port: qsp },
        quoted_dst: Endpoint { ip: dst, port: qdp },
        tun: tunnel_of(p, st).0,
        info: Box::new(info),
    };
    st.reorder.push(ts, ev, &mut st.tracker, out)?;
    Ok(())
}

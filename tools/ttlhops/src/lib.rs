//! `ttlhops`: TTL and hop-limit inference: who really sent that RST or ICMP error.
//!
//! Reads JSON lines. `flow` records get a `ttlhops` field (the distance of each side, and for the
//! flow's RST and each ICMP error: `endpoint`, `middlebox` or `unknown`, with the reason);
//! `packet` records feed the per-address table and pass through untouched; every other record
//! passes through byte for byte. At the end, one `host` record per address that sent something.
//!
//! Evidence about a server often arrives after the flow that needs it (a refused connection
//! first, a successful one to another port later). A flow whose RST or ICMP origin cannot be
//! decided yet is held (with every record after it, so the order is kept) until its address's
//! distance shows up, the input ends, `--max-held` records are waiting, or `--wait` seconds of
//! capture time have passed. `--no-wait` decides every flow at once. docs/ttlhops.md has the rest.

mod engine;
mod infer;
mod signs;
mod table;

use std::io::Write;

use clap::Parser;
use tcpwhy_common::cli::{Exit, PIPELINE_HELP};
use tcpwhy_common::jsonl::JsonlWriter;
use tcpwhy_common::stage::{self, CommonArgs};

pub use engine::{LIVE_WAIT, State};

const EXTRA_HELP: &str = "\
Examples:
  pcap2jsonl trace.pcap | tcpflows | ttlhops | jq 'select(.type==\"flow\") | .ttlhops.rst'
  pcap2jsonl trace.pcap | tcpflows | ttlhops --expect-hops 2 | tcpflag
  pcap2jsonl trace.pcap | ttlhops --drop-packets          # host records only

A flow's RST or ICMP error comes out `endpoint` (the host whose address it carries sent it),
`middlebox` (a device on the path forged or generated it; `at_hop` says where) or `unknown`
(with `settle`: what would decide it). Evidence, strongest first: the same host's other packets
in the flow, its packets in other flows, --hops/--expect-hops, ICMP errors from routers on the
path. Method and limits: docs/ttlhops.md.

Live: once tick records come (pcap2jsonl on a stream), a held flow waits at most 2 s of
capture time (--wait overrides); --no-wait is not needed.

Exit status: 0 ok (also after a first Ctrl-C with stdin a pipe: read on to the end of the input,
then everything held), 2 usage or input error; 130 (143) at once on a second SIGINT (SIGTERM).";

/// TTL and hop-limit inference: who really sent that RST or ICMP error.
#[derive(Parser, Debug)]
#[command(version, about, after_help = format!("{EXTRA_HELP}\n\n{PIPELINE_HELP}"))]
pub struct Args {
    /// Routers between the capture point and the servers (every flow's server address), when
    /// you know the path: compared with the TTL of RSTs the capture cannot place otherwise.
    #[arg(long, value_name = "N")]
    pub expect_hops: Option<u8>,

    /// Routers between the capture point and ADDR (repeatable); overrides --expect-hops for
    /// that address.
    #[arg(long = "hops", value_name = "ADDR=N", value_parser = parse_hint)]
    pub hops: Vec<(String, u8)>,

    /// Decide every flow as it arrives, with the evidence seen so far (for live pipes: no flow
    /// is held waiting for evidence from later flows).
    #[arg(long)]
    pub no_wait: bool,

    /// Hold a flow waiting for evidence at most this many seconds of capture time (the stream's
    /// timestamps, not the clock). Default: until the end of the input.
    #[arg(long, value_name = "SECS", conflicts_with = "no_wait")]
    pub wait: Option<f64>,

    /// At most this many records wait behind held flows; beyond it the oldest is decided with
    /// what is known.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_held: usize,

    /// At most this many addresses are remembered; the least recently seen is dropped (its
    /// `host` record written at once).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_hosts: usize,

    /// Write no `host` records.
    #[arg(long)]
    pub no_hosts: bool,

    /// Read `packet` records (for the host records and the distances) but do not copy them out.
    #[arg(long)]
    pub drop_packets: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

fn parse_hint(s: &str) -> Result<(String, u8), String> {
    let (a, n) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("{s:?}: expected ADDR=N, e.g. 172.16.0.1=2"))?;
    let ip: std::net::IpAddr = a
        .trim()
        .parse()
        .map_err(|_| format!("{a:?} is not an IP address"))?;
    let n: u8 = n
        .trim()
        .parse()
        .map_err(|_| format!("{n:?} is not a hop count (0-255)"))?;
    Ok((ip.to_string(), n))
}

/// Runs ttlhops over its inputs (standard input when none).
pub fn run<W: Write>(args: Args, out: &mut JsonlWriter<W>) -> anyhow::Result<Exit> {
    if let Some(w) = args.wait {
        if !(w >= 0.0 && w.is_finite()) {
            anyhow::bail!("--wait {w}: expected a number of seconds >= 0");
        }
    }
    let mut st = State::new(&args);
    stage::run(&mut st, &args.common, out)
}

#[cfg(test)]
mod tests;

//! `tcpflag`: flow records to findings — why each connection failed, with the evidence frames,
//! the socket error each platform reports and the next step.
//!
//! ```text
//! pcap2jsonl cap.pcap | tcpflows | ttlhops | tcpflag
//! ```
//!
//! Reads `flow` records (and `packet` records carrying `dns`, for intermittent_backend) and writes
//! one `finding` per problem. The rules live in [`rules`] (per flow) and [`rules::intermittent_backend`] (across
//! flows), the [`engine`] runs them, [`stage`] reads the input and [`sink`] writes the
//! findings; docs/rules.md documents each rule, docs/tcpflag.md the command line. This file keeps
//! the command line ([`Args`]) and [`run`].

mod due;
mod engine;
mod probes;
mod render;
mod rules;
mod sink;
mod socket_errors;
mod stage;
mod stray;
mod text;
mod wording;

use std::io::Write;

use clap::{Parser, ValueEnum};
use tcpwhy_common::cli::{Exit, PIPELINE_HELP};
use tcpwhy_common::jsonl::JsonlWriter;
use tcpwhy_common::records::Severity;
use tcpwhy_common::stage::CommonArgs;

use probes::ProbeConfig;
use rules::Config;
use rules::intermittent_backend::BackendConfig;
use stage::Tcpflag;

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
pub(crate) enum Level {
    Info,
    Warning,
    Error,
}

impl Level {
    pub(crate) fn severity(self) -> Severity {
        match self {
            Level::Info => Severity::Info,
            Level::Warning => Severity::Warning,
            Level::Error => Severity::Error,
        }
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
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
    pub(crate) common: CommonArgs,

    /// Exit 1 when a finding at or above this severity was written.
    #[arg(long, value_name = "SEVERITY")]
    pub(crate) fail_on: Option<Level>,

    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub(crate) format: Format,

    /// text: colour the severities (auto: on a terminal when NO_COLOR is not set).
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub(crate) color: render::color::ColorChoice,

    /// text, markdown: leave out the ladder diagram of each group's first example.
    #[arg(long)]
    pub(crate) no_ladder: bool,

    /// Pass every input record through too (each followed by the findings it produced).
    #[arg(long, conflicts_with = "format")]
    pub(crate) all: bool,

    /// Write only findings at or above this severity.
    #[arg(long, value_name = "SEVERITY", default_value = "info")]
    pub(crate) min_severity: Level,

    /// refused: refused flows on the same 4-tuple within SECS of each other are retries of one
    /// connect() (Windows retries twice, 0.5 s apart).
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub(crate) retry_window: f64,

    /// syn_timeout: unanswered SYNs (first one included) needed.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) min_syns: u32,

    /// zero_window_stall: shortest mid-transfer zero-window stall reported.
    #[arg(long, value_name = "SECS", default_value_t = 0.2)]
    pub(crate) min_stall: f64,

    /// zero_window_*: a recovered stall at least this long is a warning, shorter ones info.
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    pub(crate) stall_warning: f64,

    /// retransmission_storm: retransmissions by one side before a reset or timeout.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub(crate) min_retrans: u32,

    /// handshake_incomplete: ignore a missing final ACK when the capture ends within SECS.
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub(crate) incomplete_grace: f64,

    /// slow_connect: a connect that needed SYN retries and took SECS or more is a warning,
    /// shorter ones info.
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub(crate) slow_connect: f64,

    /// slow_path: a handshake round trip (SYN -> SYN-ACK or SYN-ACK -> ACK) of SECS or more is
    /// reported (info).
    #[arg(long, value_name = "SECS", default_value_t = 0.5)]
    pub(crate) slow_path: f64,

    /// slow_path: a handshake round trip of SECS or more is a warning.
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    pub(crate) slow_path_warning: f64,

    /// client_gave_up: shortest wait (SECS) between the client's unanswered request and its RST.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub(crate) gave_up: f64,

    /// window_crawl: shortest total time (SECS) the sender waited on a small window.
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    pub(crate) crawl_wait: f64,

    /// intermittent_backend: failed connections an address needs to be called a bad backend
    /// (1 for a short capture with a single failure).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub(crate) backend_min_failures: u32,

    /// intermittent_backend: an address whose failures exceed this share (0-1) of its
    /// connections is a bad backend.
    #[arg(long, value_name = "RATIO", default_value_t = 0.5)]
    pub(crate) backend_fail_ratio: f64,

    /// intermittent_backend: failures of one kind that make a mostly working address a bad
    /// backend when no other address of the name ever failed that way.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub(crate) backend_min_concentrated: u32,

    /// dns_failure: a name's lookup is judged once nothing happened to it (no query, retry or
    /// answer) for SECS of capture time (the client's retries and search-suffix walk are over).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub(crate) dns_window: f64,
    /// port_scan, syn_flood: connection attempts without data are held SECS (capture time) to
    /// be grouped, and a scan or flood ends after SECS without a probe.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub(crate) probe_window: f64,

    /// port_scan: distinct ports of one host (or hosts on one port) one source must probe.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(2..))]
    pub(crate) scan_min: u32,

    /// syn_flood: single never-retried SYNs to one host and port left unanswered or half-open,
    /// at 100 SYN/s or more.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(2..))]
    pub(crate) flood_min: u32,
}

impl Args {
    /// The rule thresholds.
    pub(crate) fn config(&self) -> Config {
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
    pub(crate) fn probes(&self) -> ProbeConfig {
        ProbeConfig {
            window: self.probe_window,
            scan_min: self.scan_min as usize,
            flood_min: self.flood_min as usize,
            ..ProbeConfig::default()
        }
    }

    pub(crate) fn backend(&self) -> BackendConfig {
        BackendConfig {
            min_failures: self.backend_min_failures,
            fail_ratio: self.backend_fail_ratio,
            min_concentrated: self.backend_min_concentrated,
        }
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
    tcpwhy_common::stage::run(&mut Tcpflag::new(&args), &args.common, out)
}

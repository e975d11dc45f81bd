//! `pcap2jsonl`: capture (pcap, pcapng, NetMon, gzip) to one JSON `packet` record per frame.
//!
//! [`capture`] reads the file formats (detection by magic, buffering, exact byte offsets of
//! damage); [`decode`] turns each frame into its JSON record; [`frame::FrameMeta`] is what the
//! first hands the second.

pub mod capture;
pub mod decode;
pub mod frame;
#[doc(hidden)]
pub mod fuzz;

use std::io::{IsTerminal, Write};

use clap::Parser;
use tcpwhy_common::cli::{self, Exit, Input};
use tcpwhy_common::jsonl::JsonlWriter;

use capture::{Fail, Finish};

const AFTER_HELP: &str = "\
Examples:
  pcap2jsonl trace.pcapng | jq -c 'select(.tcp_flags == \"RA\")'
  tcpdump -i any -U -w - 'tcp' | pcap2jsonl - | tcpflows
  pcap2jsonl trace.pcap.gz | tcpflows | ttlhops | tcpflag | portmap --listeners netstat.txt

Inputs: classic pcap (µs or ns, either byte order), pcapng (several sections and interfaces),
Microsoft Network Monitor .cap, any of them gzip-compressed; the format is recognised by its
first bytes, on files and on stdin.
Each FILE is its own capture: frame numbers restart at 1 for each, as tshark numbers them.

A capture that ends in the middle of a packet: every complete packet is output, then a warning
with the byte offset; exit 0. Damage before the end (impossible lengths, garbage): every packet
before it is output, then an error naming the file and byte offset; exit 2. Not a capture (text,
empty, only part of a header): an error, exit 2. Fields: docs/schema.md; more: docs/pcap2jsonl.md.

Live: on a stream (a pipe, a FIFO) a {\"type\":\"tick\",\"ts\":…} record follows each second
without packets, so the stages' clocks move on a quiet network; files have none.

Exit status: 0 ok (also when stdout is closed early, as by `| head`, and after a first Ctrl-C /
SIGTERM, which stops the reading and writes every packet read), 2 usage error, unreadable file,
not a capture, or damage in the middle of a capture (after the packets before it); 130 (143) on
a second SIGINT (SIGTERM), at once.";

/// Turn packet captures into JSON lines: one `packet` record per frame (frame number, exact
/// timestamp, lengths, MACs, VLANs, IP, TCP/UDP with options, ICMP with the quoted datagram, DNS),
/// for tcpflows, jq and the rest of the tcpwhy pipeline.
#[derive(Parser, Debug, Default)]
#[command(version, after_help = AFTER_HELP)]
pub struct Args {
    /// Capture files: pcap, pcapng, NetMon .cap, or any of them gzip-compressed ('-' or none:
    /// standard input).
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,

    /// Write each record out as soon as it is made (the default when stdout is a terminal;
    /// stdin is always read packet by packet, and output is flushed whenever input stalls).
    #[arg(long)]
    pub line_buffered: bool,

    /// No progress bar (shown on stderr for capture files when stderr is a terminal: bytes and
    /// packets read of the file, rate, elapsed time).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Reads every input in turn, writing one record per frame to `out`.
///
/// Errors about one input (unreadable, not a capture, damaged) are printed on stderr after the
/// records before them, and the other inputs are still read; the result is then
/// [`Exit::InputError`]. Only output errors (a closed pipe included) are returned as `Err`.
pub fn run<W: Write>(args: Args, out: &mut JsonlWriter<W>) -> anyhow::Result<Exit> {
    if args.line_buffered {
        out.set_line_buffered(true);
    }
    let mut failed = false;
    for input in Input::list(&args.files) {
        let name = input.name();
        let opened: std::io::Result<Box<dyn std::io::Read + Send>> = match &input {
            Input::Stdin => Ok(Box::new(std::io::stdin())),
            Input::Path(p) => std::fs::File::open(p).map(|f| Box::new(f) as _),
        };
        let rd = match opened.map_err(|e| format!("{name}: {e}")) {
            Ok(rd) => rd,
            Err(e) => {
                out.flush()?;
                cli::error(e);
                failed = true;
                continue;
            }
        };
        let progress = match &input {
            Input::Path(p) if !args.quiet && std::io::stderr().is_terminal() => {
                std::fs::metadata(p)
                    .ok()
                    .filter(|m| m.is_file() && m.len() > PROGRESS_MIN)
                    .map(|m| progress_bar(m.len()))
            }
            _ => None,
        };
        let rd = match &progress {
            Some(pb) => Box::new(pb.wrap_read(rd)) as Box<dyn std::io::Read + Send>,
            None => rd,
        };
        let res = if let Some(pb) = &progress {
            let mut sink = ProgressSink {
                out: &mut *out,
                pb: pb.clone(),
                packets: 0,
            };
            let r = capture::read_capture(&name, rd, &mut sink);
            pb.finish_and_clear();
            r
        } else if input_is_stream(&input) {
            let mut sink = LiveSink {
                out: &mut *out,
                last: None,
            };
            capture::read_stream(&name, rd, &mut sink, capture::IDLE)
        } else {
            capture::read_capture(&name, rd, out)
        };
        match res {
            Ok(Finish::Clean) => {}
            Ok(Finish::Truncated(msg)) => {
                out.flush()?;
                cli::warn(msg);
            }
            Err(Fail::Output(e)) => return Err(e.into()),
            Err(Fail::Input(msg)) => {
                out.flush()?;
                cli::error(msg);
                failed = true;
            }
        }
    }
    Ok(if failed { Exit::InputError } else { Exit::Ok })
}

/// Files smaller than this (bytes) read too fast to need a progress bar.
const PROGRESS_MIN: u64 = 64 << 20;

fn progress_bar(len: u64) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bytes}/{total_bytes} ({percent}%) {bytes_per_sec}, {elapsed} elapsed, ~{eta} left, {msg}",
    ) {
        pb.set_style(style);
    }
    pb
}

/// The JSON writer of a file read with a progress bar: counts the packets for it.
struct ProgressSink<'a, W: std::io::Write> {
    out: &'a mut JsonlWriter<W>,
    pb: indicatif::ProgressBar,
    packets: u64,
}

impl<W: std::io::Write> tcpwhy_common::jsonl::Flush for ProgressSink<'_, W> {
    fn flush_output(&mut self) -> std::io::Result<()> {
        self.pb.set_message(format!("{} packets", self.packets));
        self.out.flush()
    }
}

impl<W: std::io::Write> capture::FrameSink for ProgressSink<'_, W> {
    #[inline]
    fn frame(&mut self, meta: &frame::FrameMeta, data: &[u8]) -> std::io::Result<()> {
        self.packets += 1;
        self.out.frame(meta, data)
    }
}

/// Stdin that is not a regular file (a pipe, a FIFO, a terminal, a socket): a live stream,
/// read with ticks. Files (also given as `< file`) are read without.
fn input_is_stream(input: &Input) -> bool {
    match input {
        Input::Stdin => {
            #[cfg(unix)]
            {
                use std::os::fd::AsFd;
                let stdin = std::io::stdin();
                // A duplicate of fd 0, only to ask fstat(2) what it is.
                match stdin.as_fd().try_clone_to_owned() {
                    Ok(fd) => std::fs::File::from(fd)
                        .metadata()
                        .map(|m| !m.is_file())
                        .unwrap_or(true),
                    Err(_) => true,
                }
            }
            #[cfg(not(unix))]
            {
                true
            }
        }
        Input::Path(p) => std::fs::metadata(p).map(|m| !m.is_file()).unwrap_or(false),
    }
}

/// The JSON writer of a live stream: remembers when the last packet came (capture time and wall
/// time) and writes a `tick` when the reader reports the input idle.
struct LiveSink<'a, W: std::io::Write> {
    out: &'a mut JsonlWriter<W>,
    last: Option<((i64, u64, u8), std::time::Instant)>,
}

impl<W: std::io::Write> tcpwhy_common::jsonl::Flush for LiveSink<'_, W> {
    fn flush_output(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    fn idle(&mut self) -> std::io::Result<()> {
        let Some((meta, at)) = self.last else {
            return Ok(());
        };
        let now = tick_meta(meta, at.elapsed());
        let buf = self.out.buffer();
        buf.extend_from_slice(b"{\"type\":\"tick\",\"ts\":");
        now.write_ts(buf);
        buf.push(b'}');
        self.out.end_record()?;
        self.out.flush()
    }
}

/// `meta`'s timestamp moved on by `elapsed`, in the same resolution.
fn tick_meta(
    (ts_sec, ts_frac, ts_digits): (i64, u64, u8),
    elapsed: std::time::Duration,
) -> frame::FrameMeta<'static> {
    let digits = ts_digits.clamp(1, 9) as u32;
    let unit = 10u64.pow(digits);
    let add = (elapsed.as_nanos() / 10u128.pow(9 - digits)) as u64;
    let frac = ts_frac.min(unit - 1) + add % unit;
    frame::FrameMeta {
        ts_sec: ts_sec
            .saturating_add((add / unit) as i64)
            .saturating_add((frac / unit) as i64),
        ts_frac: frac % unit,
        ts_digits: digits as u8,
        ..Default::default()
    }
}

impl<W: std::io::Write> capture::FrameSink for LiveSink<'_, W> {
    #[inline]
    fn frame(&mut self, meta: &frame::FrameMeta, data: &[u8]) -> std::io::Result<()> {
        self.last = Some((
            (meta.ts_sec, meta.ts_frac, meta.ts_digits),
            std::time::Instant::now(),
        ));
        self.out.frame(meta, data)
    }
}

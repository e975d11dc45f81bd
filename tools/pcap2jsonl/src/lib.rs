//! `pcap2jsonl`: capture (pcap, pcapng, gzip) to one JSON `packet` record per frame.

pub mod decode;
pub mod frame;

use clap::Parser;
use tcpwhy_common::cli::{AFTER_HELP, Exit};
use tcpwhy_common::jsonl::JsonlWriter;

/// Capture (pcap, pcapng, gzip) to one JSON packet record per frame.
#[derive(Parser, Debug)]
#[command(version, about, after_help = AFTER_HELP)]
pub struct Args {
    /// Capture files ('-' or none: standard input).
    pub files: Vec<String>,
}

pub fn run<W: std::io::Write>(_args: Args, _out: &mut JsonlWriter<W>) -> anyhow::Result<Exit> {
    anyhow::bail!("not implemented yet")
}

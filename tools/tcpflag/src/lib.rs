//! `tcpflag`: Flow records to findings: why each connection failed, with evidence and next step.

use clap::Parser;
use tcpwhy_common::cli::{AFTER_HELP, Exit};
use tcpwhy_common::jsonl::JsonlWriter;

/// Flow records to findings: why each connection failed, with evidence and next step.
#[derive(Parser, Debug)]
#[command(version, about, after_help = AFTER_HELP)]
pub struct Args {
    /// Input files of JSON lines ('-' or none: standard input).
    pub files: Vec<String>,
}

pub fn run<W: std::io::Write>(_args: Args, _out: &mut JsonlWriter<W>) -> anyhow::Result<Exit> {
    anyhow::bail!("not implemented yet")
}

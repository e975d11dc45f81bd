//! `cargo run -p xtask -- dist DIR`: writes the man pages and the bash/zsh/fish completions of
//! the five tools, generated from their clap definitions (as fd and ripgrep do), under DIR:
//!
//! ```text
//! DIR/man/man1/<tool>.1
//! DIR/completions/bash/<tool>.bash
//! DIR/completions/zsh/_<tool>
//! DIR/completions/fish/<tool>.fish
//! ```
//!
//! The same files come from each tool itself (`<tool> --generate man|complete-bash|...`, see
//! `tcpwhy_common::generate`), which is what `scripts/install.sh` (make install) uses.

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Command, CommandFactory};
use tcpwhy_common::generate::{Kind, render};

/// The tools' command definitions, straight from their `Args`.
fn commands() -> Vec<Command> {
    vec![
        pcap2jsonl::Args::command().name("pcap2jsonl"),
        tcpflows::Args::command().name("tcpflows"),
        ttlhops::Args::command().name("ttlhops"),
        tcpflag::Args::command().name("tcpflag"),
        portmap::Args::command().name("portmap"),
    ]
}

fn dist(out: &Path) -> Result<()> {
    for cmd in commands() {
        for (kind, dir) in [
            (Kind::Man, "man/man1"),
            (Kind::Bash, "completions/bash"),
            (Kind::Zsh, "completions/zsh"),
            (Kind::Fish, "completions/fish"),
        ] {
            let dir = out.join(dir);
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let path = dir.join(kind.file_name(cmd.get_name()));
            fs::write(&path, render(&cmd, kind)?)
                .with_context(|| format!("writing {}", path.display()))?;
            println!("{}", path.display());
        }
    }
    Ok(())
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["dist", dir] => dist(Path::new(dir)),
        _ => bail!("usage: xtask dist DIR   (man pages and bash/zsh/fish completions under DIR)"),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::from(2)
        }
    }
}

//! `cargo run -p xtask -- dist DIR`: writes the man pages and the bash/zsh/fish completions of
//! the five tools, generated from their clap definitions (as fd and ripgrep do), under DIR:
//!
//! ```text
//! DIR/man/man1/<tool>.1
//! DIR/completions/bash/<tool>
//! DIR/completions/zsh/_<tool>
//! DIR/completions/fish/<tool>.fish
//! ```
//!
//! `scripts/install.sh` (make install) runs it and copies the files to their places under
//! PREFIX/share.

mod man;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Command, CommandFactory};
use clap_complete::Shell;

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

fn write_man(cmd: &Command, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(format!("{}.1", cmd.get_name()));
    let page = clap_mangen::Man::new(cmd.clone())
        .section("1")
        .manual("tcpwhy")
        .source(format!("tcpwhy {}", env!("CARGO_PKG_VERSION")));
    let mut buf = man::render(&page, cmd)
        .with_context(|| format!("rendering the man page of {}", cmd.get_name()))?;
    buf.extend_from_slice(see_also(cmd.get_name()).as_bytes());
    fs::write(&path, buf).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// A SEE ALSO section naming the other stages of the pipeline and the documentation.
fn see_also(name: &str) -> String {
    let others: Vec<String> = TOOLS
        .iter()
        .filter(|t| **t != name)
        .map(|t| format!("\\fB{t}\\fR(1)"))
        .collect();
    format!(
        ".SH \"SEE ALSO\"\n{}, \\fBjq\\fR(1), \\fBtshark\\fR(1)\n.PP\n\
         The record schema (schema.md), the finding rules (rules.md), the runbooks \
         (runbooks/) and the tutorial (tutorial.md): installed in share/doc/tcpwhy under the \
         installation prefix (/usr/local/share/doc/tcpwhy by default), docs/ in the tcpwhy \
         sources.\n",
        others.join(", ")
    )
}

const TOOLS: [&str; 5] = ["pcap2jsonl", "tcpflows", "ttlhops", "tcpflag", "portmap"];

fn write_completion(cmd: &Command, shell: Shell, dir: &Path) -> Result<PathBuf> {
    let name = cmd.get_name().to_string();
    let mut cmd = cmd.clone();
    let path = clap_complete::generate_to(shell, &mut cmd, &name, dir)
        .with_context(|| format!("writing the {shell} completion of {name}"))?;
    Ok(path)
}

fn dist(out: &Path) -> Result<()> {
    let man = out.join("man/man1");
    fs::create_dir_all(&man).with_context(|| format!("creating {}", man.display()))?;
    for cmd in commands() {
        let p = write_man(&cmd, &man)?;
        println!("{}", p.display());
        for (shell, sub) in [
            (Shell::Bash, "bash"),
            (Shell::Zsh, "zsh"),
            (Shell::Fish, "fish"),
        ] {
            let dir = out.join("completions").join(sub);
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let p = write_completion(&cmd, shell, &dir)?;
            println!("{}", p.display());
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

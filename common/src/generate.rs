//! Man pages and shell completions generated from a tool's own clap definition, by the tool itself
//! (as ripgrep does): `<tool> --generate KIND` writes one of them on stdout, KIND being `man`,
//! `complete-bash`, `complete-zsh` or `complete-fish`.
//!
//! The flag is handled by [`crate::cli::main`] before the arguments are parsed, and is not listed
//! in `--help`: it is for packagers and `make install` (scripts/install.sh), which install the
//! binaries and what they generate without building anything else. `make man completions`
//! (the `xtask` crate) writes the same files from the same functions.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Command;

/// The five tools of the pipeline, in pipeline order (the man pages' SEE ALSO names the others).
pub const TOOLS: [&str; 5] = ["pcap2jsonl", "tcpflows", "ttlhops", "tcpflag", "portmap"];

/// What `--generate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A roff man page, section 1.
    Man,
    Bash,
    Zsh,
    Fish,
}

impl Kind {
    /// Every kind with its `--generate` word.
    pub const ALL: [(Kind, &'static str); 4] = [
        (Kind::Man, "man"),
        (Kind::Bash, "complete-bash"),
        (Kind::Zsh, "complete-zsh"),
        (Kind::Fish, "complete-fish"),
    ];

    /// The kind named by a `--generate` word.
    pub fn from_word(w: &str) -> Option<Kind> {
        Kind::ALL.iter().find(|(_, n)| *n == w).map(|(k, _)| *k)
    }

    /// The file name distributions use for this kind of file of `tool`.
    pub fn file_name(self, tool: &str) -> String {
        match self {
            Kind::Man => format!("{tool}.1"),
            Kind::Bash => format!("{tool}.bash"),
            Kind::Zsh => format!("_{tool}"),
            Kind::Fish => format!("{tool}.fish"),
        }
    }
}

/// The man page or completion script of `cmd` (whose name is the tool's).
pub fn render(cmd: &Command, kind: Kind) -> Result<Vec<u8>> {
    let name = cmd.get_name().to_string();
    let mut buf = Vec::new();
    let shell = match kind {
        Kind::Man => {
            let page = clap_mangen::Man::new(cmd.clone())
                .section("1")
                .manual("tcpwhy")
                .source(format!("tcpwhy {}", env!("CARGO_PKG_VERSION")));
            buf = crate::man::render(&page, cmd)
                .with_context(|| format!("rendering the man page of {name}"))?;
            buf.extend_from_slice(see_also(&name).as_bytes());
            return Ok(buf);
        }
        Kind::Bash => clap_complete::Shell::Bash,
        Kind::Zsh => clap_complete::Shell::Zsh,
        Kind::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut cmd.clone(), name, &mut buf);
    Ok(buf)
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

/// The KIND of `--generate KIND` / `--generate=KIND` when it is the whole command line; `None`
/// when the command line is something else.
fn requested(args: &[OsString]) -> Option<Result<Kind>> {
    let words: Vec<&str> = args
        .iter()
        .skip(1)
        .map(|a| a.to_str())
        .collect::<Option<_>>()?;
    let word = match words.as_slice() {
        ["--generate", w] => *w,
        ["--generate"] => "",
        [one] => one.strip_prefix("--generate=")?,
        _ => return None,
    };
    Some(Kind::from_word(word).ok_or_else(|| {
        let words: Vec<&str> = Kind::ALL.iter().map(|(_, w)| *w).collect();
        anyhow::anyhow!(
            "--generate: unknown kind {word:?} (one of: {})",
            words.join(", ")
        )
    }))
}

/// Handles `--generate KIND` for `cmd` before clap sees the arguments: `Some(exit code)` when it
/// was asked (the file is written on stdout; 2 on an unknown KIND), `None` otherwise.
pub(crate) fn intercept(cmd: impl FnOnce() -> Command) -> Option<ExitCode> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let res = requested(&args)?.and_then(|kind| {
        let out = render(&cmd(), kind)?;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&out)?;
        stdout.flush()?;
        Ok(())
    });
    Some(match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if crate::cli::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            crate::cli::error(format!("{e:#}"));
            ExitCode::from(2)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        std::iter::once("tool")
            .chain(a.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn the_flag_is_only_taken_alone() {
        assert_eq!(
            requested(&args(&["--generate", "man"])).unwrap().unwrap(),
            Kind::Man
        );
        assert_eq!(
            requested(&args(&["--generate=complete-zsh"]))
                .unwrap()
                .unwrap(),
            Kind::Zsh
        );
        assert!(requested(&args(&["--generate", "roff"])).unwrap().is_err());
        assert!(requested(&args(&["--generate"])).unwrap().is_err());
        // Anything else goes to clap as usual (a file named --generate needs `./--generate`).
        assert!(requested(&args(&[])).is_none());
        assert!(requested(&args(&["x.pcap"])).is_none());
        assert!(requested(&args(&["--generate", "man", "x"])).is_none());
    }

    #[test]
    fn man_page_and_completions() {
        let cmd = Command::new("tcpflows")
            .version("0.1.0")
            .arg(clap::Arg::new("files").num_args(0..));
        let man = String::from_utf8(render(&cmd, Kind::Man).unwrap()).unwrap();
        assert!(man.contains(".TH tcpflows 1") && man.contains(".SH \"SEE ALSO\""));
        assert!(man.contains("\\fBpcap2jsonl\\fR(1)") && !man.contains("\\fBtcpflows\\fR(1)"));
        let bash = String::from_utf8(render(&cmd, Kind::Bash).unwrap()).unwrap();
        assert!(bash.contains("complete -F"));
        let zsh = String::from_utf8(render(&cmd, Kind::Zsh).unwrap()).unwrap();
        assert!(zsh.starts_with("#compdef tcpflows"));
        let fish = String::from_utf8(render(&cmd, Kind::Fish).unwrap()).unwrap();
        assert!(fish.contains("complete -c tcpflows"));
    }
}

//! CLI glue shared by every tool: the `main` wrapper, input opening, error printing, exit codes.
//!
//! A tool's `main.rs` is one line: `fn main() -> ExitCode { tcpwhy_common::cli::main(tool::run) }`
//! where `run(args: Args, out: &mut JsonlWriter) -> anyhow::Result<Exit>`.
//!
//! Exit codes (the same for every tool):
//! - 0: success (also when stdout was closed early, as in `| head -1`).
//! - 1: only for tools that select (`tcpflag --fail-on`): a finding at that severity exists.
//! - 2: usage or input error (bad flag, unreadable file, not a capture, malformed JSON line,
//!   damaged capture after the last good packet).
//! - 130 / 143: a second SIGINT / SIGTERM (the first one means "finish": [`crate::live`]).

use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use crate::jsonl::JsonlWriter;

/// What a successful run asks `main` to exit with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exit 0.
    Ok,
    /// Exit 1: a selecting tool found what `--fail-on` asked about.
    Selected,
    /// Exit 2 after output was written: input damaged after the last good record (the error was
    /// already printed as a diagnostic).
    InputError,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Selected => 1,
            Exit::InputError => 2,
        }
    }
}

/// The tool's name as used in diagnostics (`argv[0]`'s file name, falling back to the crate's).
pub fn tool_name() -> String {
    std::env::args_os()
        .next()
        .and_then(|a| {
            Path::new(&a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "tcpwhy".to_string())
}

/// Prints a warning as `tool: message` on stderr.
pub fn warn(msg: impl std::fmt::Display) {
    let msg = msg.to_string();
    eprintln!("{}: warning: {}", tool_name(), crate::quote::shorten(&msg));
}

/// Prints an error as `tool: message` on stderr (for errors after which the tool goes on or
/// returns [`Exit::InputError`] itself).
pub fn error(msg: impl std::fmt::Display) {
    let msg = msg.to_string();
    eprintln!("{}: {}", tool_name(), crate::quote::shorten(&msg));
}

/// True when an error chain contains a broken pipe (stdout closed by `| head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// The shared `main`: parses `A` with clap (usage errors exit 2), runs the tool with a JSON-lines
/// writer on stdout, flushes it, prints any error once as `tool: context: cause` and maps the
/// result to an exit code. A closed stdout is success and prints nothing.
///
/// `tool --generate man|complete-bash|complete-zsh|complete-fish` alone on the command line writes
/// the tool's man page or completion script instead (see [`crate::generate`]).
pub fn main<A: Parser>(
    run: fn(A, &mut JsonlWriter<io::StdoutLock<'static>>) -> anyhow::Result<Exit>,
) -> ExitCode {
    if let Some(code) = crate::generate::intercept(A::command) {
        return code;
    }
    let args = match A::try_parse() {
        Ok(a) => a,
        Err(e) => {
            // --help and --version are successes printed on stdout; the rest are usage errors.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    grow_pipes();
    // Reading a pipe (a live pipeline): the first Ctrl-C means "finish" (crate::live).
    if !io::stdin().is_terminal() {
        crate::live::install_stop_handler();
    }
    let stdout = io::stdout().lock();
    let line_buffered = stdout.is_terminal();
    let mut out = JsonlWriter::new(stdout);
    out.set_line_buffered(line_buffered);
    let res = run(args, &mut out).and_then(|exit| {
        out.flush()?;
        Ok(exit)
    });
    match res {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = out.flush();
            // Whatever the error quotes, at most 200 bytes of each value (issue 16).
            let msg = format!("{e:#}");
            eprintln!("{}: {}", tool_name(), crate::quote::shorten(&msg));
            ExitCode::from(2)
        }
    }
}

/// Pipe buffer size asked for stdin and stdout when they are pipes.
pub const PIPE_SIZE: usize = 1 << 20;

/// When stdin or stdout is a pipe, grows its kernel buffer to [`PIPE_SIZE`] (Linux, best effort:
/// a failure, or a file or terminal, leaves things as they are). Stages then hand records over in
/// far fewer wake-ups: on 2M packets `pcap2jsonl | cat` went from 2.0 s to 1.0 s on 2 cores.
pub fn grow_pipes() {
    #[cfg(target_os = "linux")]
    {
        let _ = rustix::pipe::fcntl_setpipe_size(io::stdout(), PIPE_SIZE);
        let _ = rustix::pipe::fcntl_setpipe_size(io::stdin(), PIPE_SIZE);
    }
}

/// One input named on the command line: a path, or `-` for standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    Path(PathBuf),
}

impl Input {
    /// `-` is standard input; anything else is a path.
    pub fn from_arg(s: &str) -> Self {
        if s == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(s))
        }
    }

    /// The inputs named by a tool's `FILE...` arguments: standard input when none are given.
    pub fn list(args: &[String]) -> Vec<Input> {
        if args.is_empty() {
            vec![Input::Stdin]
        } else {
            args.iter().map(|a| Input::from_arg(a)).collect()
        }
    }

    /// The name used in diagnostics: the path as given, or `<stdin>`.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_string(),
            Input::Path(p) => p.display().to_string(),
        }
    }

    /// Opens the input for reading (unbuffered: readers do their own buffering).
    pub fn open(&self) -> anyhow::Result<Box<dyn Read>> {
        use anyhow::Context;
        Ok(match self {
            Input::Stdin => Box::new(io::stdin()),
            Input::Path(p) => Box::new(File::open(p).with_context(|| format!("{}", p.display()))?),
        })
    }
}

/// The pipeline paragraph of every stage's `--help` (a macro, to build both constants from it).
macro_rules! pipeline_help {
    () => {
        "\
Pipeline:
  pcap2jsonl cap.pcap | tcpflows | ttlhops | tcpflag | portmap --listeners netstat.txt

Every record is one JSON object per line with a \"type\"; records a tool does not know pass through
untouched, so jq can sit between any two stages. Fields: docs/schema.md."
    };
}

/// The pipeline paragraph alone, for a tool whose own notes say its exit status (so that
/// `--help` says it once).
pub const PIPELINE_HELP: &str = pipeline_help!();

/// The text appended to every tool's `--help`: the pipeline and the exit codes.
pub const AFTER_HELP: &str = concat!(
    pipeline_help!(),
    "\n\n\
Exit status: 0 ok, 2 usage or input error (see the tool's own notes for 1). A first Ctrl-C
(SIGINT/SIGTERM) with stdin a pipe: read on to the end of the input, write everything held, exit
as usual; a second one: exit 130 (143 for SIGTERM) at once."
);

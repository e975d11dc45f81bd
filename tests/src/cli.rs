//! One tool run as a command, for the tools' own CLI tests (`tools/*/tests/`): what every such
//! test does around the tool (start it with arguments and standard input, wait, look at the exit
//! code, standard output and standard error) written once.
//!
//! - [`ran`] runs a tool to its end: a [`Ran`] with the exit code, stdout and stderr; [`ok`] and
//!   [`exits`] also check the exit code (and what stderr says), naming the command on failure.
//! - [`Live`] keeps a tool running with its standard input open, for the tests that records come
//!   out while the input is still open (`tcpdump -U -w - | pcap2jsonl -`).
//! - [`rejects_invalid_utf8`] is the check every stage makes the same way (docs/contract.md,
//!   promise 4), for each tool's records.
//! - [`TempFile`] is an input file written for one test (a listing, damaged JSON lines).

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

/// What a tool did: its exit code (`None` when a signal ended it), stdout and stderr (lossy UTF-8).
#[derive(Debug)]
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Ran {
    /// Stdout, which must be UTF-8.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.stdout).unwrap_or_else(|e| panic!("stdout is not UTF-8: {e}"))
    }

    /// Stdout's JSON lines (see [`crate::records`]).
    pub fn records(&self) -> Vec<Value> {
        crate::records(&self.stdout)
    }
}

/// Runs `tool` (built beside the running test) with `args` and `stdin` (none: /dev/null).
pub fn ran<S: AsRef<OsStr>>(tool: &str, args: &[S], stdin: Option<&[u8]>) -> Ran {
    let out = crate::run(tool, args, stdin);
    Ran {
        code: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `tool args…` shown in a failed assertion.
fn shown<S: AsRef<OsStr>>(tool: &str, args: &[S]) -> String {
    let mut s = tool.to_string();
    for a in args {
        s.push(' ');
        s.push_str(&a.as_ref().to_string_lossy());
    }
    s
}

/// [`ran`] for a run that must exit 0 (else the test fails with its stderr).
pub fn ok<S: AsRef<OsStr>>(tool: &str, args: &[S], stdin: Option<&[u8]>) -> Ran {
    let r = ran(tool, args, stdin);
    assert_eq!(r.code, Some(0), "{}: {}", shown(tool, args), r.stderr);
    r
}

/// [`ran`] for a run that must exit `code` (an error, or 0 with a warning) with `needle` in
/// its stderr.
pub fn exits<S: AsRef<OsStr>>(
    tool: &str,
    args: &[S],
    stdin: Option<&[u8]>,
    code: i32,
    needle: &str,
) -> Ran {
    let r = ran(tool, args, stdin);
    let cmd = shown(tool, args);
    assert_eq!(r.code, Some(code), "{cmd}: {}", r.stderr);
    assert!(
        r.stderr.contains(needle),
        "{cmd}: {needle:?} not in {}",
        r.stderr
    );
    r
}

/// Issue 16, reproducer 1, for one tool: each `(what, rec)` with invalid UTF-8 where it has its
/// `@` ([`crate::with_bad_utf8`]), under each set of `args`, exits 2 with `error` on stderr and
/// never puts the bad bytes on stdout; with `stdout`, stdout is exactly that.
pub fn rejects_invalid_utf8(
    tool: &str,
    recs: &[(&str, &str)],
    arg_sets: &[&[&str]],
    error: &str,
    stdout: Option<&[u8]>,
) {
    for (what, rec) in recs {
        for args in arg_sets {
            let r = ran(tool, args, Some(&crate::with_bad_utf8(rec)));
            let err = &r.stderr;
            assert_eq!(r.code, Some(2), "{what} {args:?}: {err}");
            assert!(err.contains(error), "{what} {args:?}: {err}");
            assert!(
                !r.stdout.contains(&0xe9),
                "{what} {args:?}: invalid UTF-8 on stdout"
            );
            if let Some(want) = stdout {
                assert_eq!(r.stdout, want, "{what} {args:?}");
            }
        }
    }
}

/// A file written for one test, in a directory of its own that goes when this is dropped.
pub struct TempFile {
    dir: PathBuf,
    path: PathBuf,
}

impl TempFile {
    /// Writes `contents` to a new file `name` (a name the tool may print in messages).
    pub fn new(name: &str, contents: impl AsRef<[u8]>) -> TempFile {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tcpwhy-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        TempFile { dir, path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path as one argument of a command line (the temporary directory's name is UTF-8).
    pub fn arg(&self) -> &str {
        self.path.to_str().expect("a UTF-8 path")
    }
}

impl AsRef<OsStr> for TempFile {
    fn as_ref(&self) -> &OsStr {
        self.path.as_os_str()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sends each line of `r` (with its `\n`, if it has one) to the receiver, from a thread, so that
/// a test can wait for one with a deadline.
pub fn line_reader<R: Read + Send + 'static>(r: R) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut r = BufReader::new(r);
        loop {
            let mut line = String::new();
            match r.read_line(&mut line) {
                Ok(n) if n > 0 => {
                    if tx.send(line).is_err() {
                        return;
                    }
                }
                _ => return,
            }
        }
    });
    rx
}

/// A tool running with its standard input open: the test writes to it, reads what came out by
/// now, then closes the input and waits. Stderr is collected whole.
pub struct Live {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Live {
    /// Starts `tool` with `args`, all three standard streams piped.
    pub fn start<S: AsRef<OsStr>>(tool: &str, args: &[S]) -> Live {
        let mut child = Command::new(crate::bin(tool))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", shown(tool, args)));
        let stdin = child.stdin.take();
        let lines = line_reader(child.stdout.take().expect("stdout is piped"));
        let mut err = child.stderr.take().expect("stderr is piped");
        let stderr = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = err.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        });
        Live {
            child,
            stdin,
            lines,
            stderr: Some(stderr),
        }
    }

    /// Writes `bytes` to the tool's stdin and flushes (an error once the tool has gone).
    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let stdin = self.stdin.as_mut().expect("the input is still open");
        stdin.write_all(bytes)?;
        stdin.flush()
    }

    /// The next line of stdout (with its `\n`) if one comes within `wait`.
    pub fn line(&self, wait: Duration) -> Option<String> {
        self.lines.recv_timeout(wait).ok()
    }

    /// Ends the input (the tool sees end of file).
    pub fn close(&mut self) {
        self.stdin = None;
    }

    /// Ends the input and waits for the tool: its exit status and stderr (once; empty after).
    /// Lines it wrote before it ended can still be read with [`Live::line`].
    pub fn wait(&mut self) -> (ExitStatus, String) {
        self.close();
        let status = self.child.wait().expect("wait");
        let stderr = self.stderr.take().map(|h| h.join().expect("stderr reader"));
        (status, stderr.unwrap_or_default())
    }

    /// Ends the input and stops the tool.
    pub fn kill(&mut self) {
        self.close();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Live {
    /// A failed test does not leave the tool running.
    fn drop(&mut self) {
        self.kill();
    }
}

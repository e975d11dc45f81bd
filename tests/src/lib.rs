//! Helpers for the workspace-level pipeline tests in `tests/tests/`.
//!
//! The tests run the real binaries (built by `cargo test --workspace` / `make test`), chained as
//! a user would chain them, on captures under `../shared/captures/` and `tests/captures/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `../shared/captures/` beside the workspace.
pub fn shared_captures() -> PathBuf {
    root().join("../shared/captures")
}

/// The project's own captures (made with real stacks by the lab).
pub fn own_captures() -> PathBuf {
    root().join("tests/captures")
}

/// Path of a tool binary in the same profile directory as the running test.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} not built: run `cargo build --workspace` (make test does)",
        p.display()
    );
    p
}

/// Runs `stages` as a shell-free pipeline: each `(tool, args)` reads the previous one's stdout.
/// The first stage gets `stdin` (or nothing). Returns every stage's output; stdout of the last.
pub fn pipeline(stages: &[(&str, &[&str])], stdin: Option<&[u8]>) -> Vec<Output> {
    let mut input: Vec<u8> = stdin.map(|s| s.to_vec()).unwrap_or_default();
    let mut outs = vec![];
    for (tool, args) in stages {
        let mut child = Command::new(bin(tool))
            .args(*args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        {
            use std::io::Write;
            let mut sin = child.stdin.take().unwrap();
            let data = std::mem::take(&mut input);
            let writer = std::thread::spawn(move || {
                let _ = sin.write_all(&data);
            });
            let out = child.wait_with_output().expect("wait");
            writer.join().unwrap();
            input = out.stdout.clone();
            outs.push(out);
        }
    }
    outs
}

/// Parses JSON lines.
pub fn records(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The records of one `type`.
pub fn of_type<'a>(recs: &'a [serde_json::Value], ty: &str) -> Vec<&'a serde_json::Value> {
    recs.iter().filter(|r| r["type"] == ty).collect()
}

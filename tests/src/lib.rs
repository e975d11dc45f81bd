//! Helpers for the workspace-level pipeline tests in `tests/tests/`.
//!
//! The tests run the real binaries (built by `cargo test --workspace` / `make test`), chained as
//! a user would chain them, on the project's own captures (`tests/captures/`) and, when it is
//! there, on the external corpus ([`corpus`]: `$TCPWHY_CORPUS`, default `../shared` beside the
//! clone).
//!
//! # Skips that never pass silently
//!
//! A test that needs something outside the repository (the corpus, tshark, root and network
//! namespaces, python3 with scapy) asks for it with [`corpus`], [`need_tool`], [`need_netns`] or
//! [`need_scapy`]. When it is missing the test prints one line
//! `SKIPPED: <test>: <what is missing>; <how to get it>` on stderr and returns, unless
//! `TCPWHY_REQUIRE_CORPUS=1` (set by `.ci/run`), where the same line is a test failure.
//!
//! # Modules
//!
//! The helpers are re-exported at the crate's root: `skip` (what a test needs from outside the
//! repository), `run` (a tool or a pipeline, checked), `json` (records and their values, the
//! checks on a record's fields) and `diagnosis` (a lab scenario through the whole pipeline).

pub mod cli;
mod diagnosis;
mod json;
mod run;
mod skip;

pub use diagnosis::*;
pub use json::*;
pub use run::*;
pub use skip::*;

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Where the external corpus is: `$TCPWHY_CORPUS` when set, else `../shared` beside the
/// workspace. It holds `captures/real/*` (public captures, with tshark's values in
/// `captures/real/expected/`), `captures/malformed/*` and `bench/gen_pcap.py`. Present or not:
/// tests ask through [`corpus`].
pub fn corpus_path() -> PathBuf {
    match std::env::var_os("TCPWHY_CORPUS") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() { d } else { root().join(d) }
        }
        _ => root().join("../shared"),
    }
}

/// `captures/` of the corpus (see [`corpus_path`]); ask [`corpus`] first whether it is there.
pub fn shared_captures() -> PathBuf {
    corpus_path().join("captures")
}

/// The project's own captures (made with real stacks by the lab).
pub fn own_captures() -> PathBuf {
    root().join("tests/captures")
}

/// Where the lab's captures are read from: `$TCPWHY_CAPTURES` when set (the lab's CI check runs
/// the end-to-end tests on freshly made captures), else the committed `tests/captures/`.
pub fn lab_captures() -> PathBuf {
    match std::env::var_os("TCPWHY_CAPTURES") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => own_captures(),
    }
}

/// xorshift64*: a small seeded generator without a dependency, so a failure reproduces.
pub struct Rng(pub u64);

impl Rng {
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

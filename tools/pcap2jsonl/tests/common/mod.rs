//! What pcap2jsonl's test files share: for the differential tests (`differential.rs`,
//! `encap_differential.rs`, `tls_differential.rs`) tshark asked for fields the way they compare
//! them and a JSON value as tshark prints it; for the NetMon tests, [`netmon`].

// Each test file is its own crate and uses a part of this.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod netmon;

use serde_json::Value;

/// `tshark -r <path> <extra…> -T fields [-E header=y] -E separator=<sep> -E occurrence=a
/// -E aggregator=, -e <field>…`: every occurrence of each field, comma-joined, one line a frame.
pub fn tshark_fields(
    path: &Path,
    extra: &[&str],
    header: bool,
    sep: &str,
    fields: &[&str],
) -> Command {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).args(extra).args(["-T", "fields"]);
    if header {
        cmd.args(["-E", "header=y"]);
    }
    cmd.args(["-E", &format!("separator={sep}")]);
    cmd.args(["-E", "occurrence=a", "-E", "aggregator=,"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    cmd
}

/// A record's value as tshark writes it in a field: none for null, a string as it is, a
/// boolean as 1 or 0, a number in JSON.
pub fn s(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        other => Some(other.to_string()),
    }
}

/// Writes a capture of `n` frames made by ../shared/bench/gen_pcap.py.
pub fn gen_pcap(path: &Path, n: u32, seed: u32) {
    let st = std::process::Command::new("python3")
        .arg(real_dir().join("../../bench/gen_pcap.py"))
        .args([
            "-n",
            &n.to_string(),
            "--seed",
            &seed.to_string(),
            "-q",
            "-o",
        ])
        .arg(path)
        .status()
        .expect("python3 runs ../shared/bench/gen_pcap.py");
    assert!(st.success(), "gen_pcap.py failed");
}

/// The corpus' real captures (tests ask `tcpwhy_tests::corpus()` first whether it is there).
pub fn real_dir() -> PathBuf {
    tcpwhy_tests::shared_captures().join("real")
}

/// What the differential tests need beyond the repository: the corpus, python3 (gen_pcap.py)
/// and, when `tshark` is true, tshark. Reports what is missing as a skip.
pub fn have_everything(tshark: bool) -> bool {
    tcpwhy_tests::corpus().is_some()
        && tcpwhy_tests::need_tool("python3", "python3")
        && (!tshark || tcpwhy_tests::need_tool("tshark", "tshark"))
}

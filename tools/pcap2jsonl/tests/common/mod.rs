//! What pcap2jsonl's test files share: for the differential tests (`differential.rs`,
//! `encap_differential.rs`, `tls_differential.rs`) tshark asked for fields the way they compare
//! them and a JSON value as tshark prints it; for the NetMon tests, [`netmon`].

// Each test file is its own crate and uses a part of this.
#![allow(dead_code)]

use std::path::Path;
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

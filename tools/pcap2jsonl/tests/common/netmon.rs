//! What the NetMon tests (`netmon.rs`, `netmon_damaged.rs`) share: the committed fixtures and
//! the crate's own readers run on bytes in memory.

use std::io::Cursor;
use std::path::Path;

use pcap2jsonl::capture::netmon::{self, Outcome};
use pcap2jsonl::capture::{Fail, Finish};
use serde_json::Value;
use tcpwhy_common::jsonl::JsonlWriter;

/// The committed NetMon fixtures (written by make_special.py and editcap).
pub const FIXTURES: &str = "tests/fixtures/netmon";

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Reads a NetMon capture held in memory: the JSON lines and the outcome.
pub fn read_netmon(bytes: &[u8]) -> (Vec<String>, Outcome) {
    let mut w = JsonlWriter::new(Vec::new());
    let outcome = netmon::read_seekable(Cursor::new(bytes), bytes.len() as u64, "t.cap", &mut w)
        .unwrap_or_else(|e| panic!("{e:?}"));
    (lines(w), outcome)
}

pub fn lines(w: JsonlWriter<Vec<u8>>) -> Vec<String> {
    String::from_utf8(w.into_inner().unwrap())
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The records of any capture through the crate's own reader (pcap, pcapng, and NetMon once
/// dispatched).
pub fn read_capture(bytes: Vec<u8>) -> (Vec<String>, Result<Finish, Fail>) {
    let mut w = JsonlWriter::new(Vec::new());
    let res = pcap2jsonl::capture::read_capture("orig", Box::new(Cursor::new(bytes)), &mut w);
    (lines(w), res)
}

pub fn parse(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

pub fn special(version: &str) -> (Vec<String>, Outcome) {
    read_netmon(&fixture(&format!("special-{version}.cap")))
}

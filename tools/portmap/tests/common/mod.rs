//! What portmap's test files share: where the fixtures are, portmap run on listings and records
//! (always with `--no-etc-services`, so this machine's services file does not change a name),
//! listeners as rows, and the findings the hints are about.

// Each test file is its own crate and uses a part of this.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::{Value, json};
use tcpwhy_tests::cli;

/// A fixture under `tests/fixtures/` (Windows listings as printed, the committed Linux ones).
pub fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// A localized Windows listing (`tests/fixtures/localized/`, written by `make.py` there).
pub fn localized(name: &str) -> String {
    fixture(&format!("localized/{name}"))
}

/// A listing the lab captured (`tests/captures/`).
pub fn lab(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/captures")
        .join(name)
        .display()
        .to_string()
}

/// `--no-etc-services`, then `args`.
fn with_no_etc(args: &[&str]) -> Vec<String> {
    let mut all = vec!["--no-etc-services".to_string()];
    all.extend(args.iter().map(ToString::to_string));
    all
}

/// portmap on `stdin` that must succeed: its records.
pub fn run_ok(args: &[&str], stdin: &str) -> Vec<Value> {
    tcpwhy_tests::run_ok("portmap", &with_no_etc(args), stdin.as_bytes())
}

/// portmap on `stdin`: the whole run, whatever its exit code.
pub fn ran(args: &[&str], stdin: &str) -> cli::Ran {
    ran_bytes(args, stdin.as_bytes())
}

/// [`ran`] on bytes that need not be UTF-8.
pub fn ran_bytes(args: &[&str], stdin: &[u8]) -> cli::Ran {
    cli::ran("portmap", &with_no_etc(args), Some(stdin))
}

/// portmap on `stdin` that must exit 2: its stdout and stderr.
pub fn run_err(args: &[&str], stdin: &str) -> (String, String) {
    let out = cli::exits("portmap", &with_no_etc(args), Some(stdin.as_bytes()), 2, "");
    (out.text().to_string(), out.stderr)
}

/// The stderr of portmap that must exit 2 on empty input.
pub fn err_of(args: &[&str]) -> String {
    run_err(args, "").1
}

/// `--list` records and stderr (it must succeed).
pub fn list(args: &[&str]) -> (Vec<Value>, String) {
    let mut all = vec!["--list"];
    all.extend_from_slice(args);
    let out = cli::ok("portmap", &with_no_etc(&all), Some(b""));
    (out.records(), out.stderr)
}

/// (proto, address, port, pid, process) of a listener record.
pub type Row = (String, String, u64, Option<u64>, Option<String>);

fn to_row(r: &Value) -> Row {
    (
        r["proto"].as_str().unwrap().to_string(),
        r["address"].as_str().unwrap().to_string(),
        r["port"].as_u64().unwrap(),
        r["pid"].as_u64(),
        r["process"].as_str().map(str::to_string),
    )
}

/// The listeners as rows, sorted.
pub fn rows(v: &[Value]) -> Vec<Row> {
    let mut r: Vec<_> = v.iter().map(to_row).collect();
    r.sort();
    r
}

/// A row with a PID.
pub fn row(proto: &str, addr: &str, port: u64, pid: u64, process: Option<&str>) -> Row {
    (
        proto.into(),
        addr.into(),
        port,
        Some(pid),
        process.map(str::to_string),
    )
}

/// `--list` output as rows, in output order; every record is a listener.
pub fn listed(args: &[&str]) -> Vec<Row> {
    let mut a = vec!["--list"];
    a.extend_from_slice(args);
    run_ok(&a, "")
        .iter()
        .map(|r| {
            assert_eq!(r["type"], "listener");
            to_row(r)
        })
        .collect()
}

/// [`listed`] of a listing written to a file `name` for the test.
pub fn listed_text(name: &str, text: impl AsRef<[u8]>) -> Vec<Row> {
    let f = cli::TempFile::new(name, text);
    listed(&["-l", f.arg()])
}

/// The stderr of portmap (which must exit 2) given a listing written to a file `name`.
pub fn listing_error(name: &str, text: impl AsRef<[u8]>) -> String {
    let f = cli::TempFile::new(name, text);
    err_of(&["-l", f.arg()])
}

pub fn has(
    v: &[Row],
    proto: &str,
    addr: &str,
    port: u64,
    pid: Option<u64>,
    process: Option<&str>,
) -> bool {
    v.iter().any(|x| {
        x.0 == proto && x.1 == addr && x.2 == port && x.3 == pid && x.4.as_deref() == process
    })
}

/// The seed's finding: 10.0.0.1 → 172.16.0.1:2383 refused.
pub fn seed_finding() -> Value {
    json!({"type":"finding","kind":"refused","severity":"error","uids":["C1"],
           "client_ip":"10.0.0.1","client_port":20531,"server_ip":"172.16.0.1","server_port":2383,
           "frames":[7447,7448],"ts":1278472579.466743,"summary":"SYN answered by RST/ACK",
           "socket_error":{"windows_code":10061,"windows_name":"WSAECONNREFUSED","posix":"ECONNREFUSED"},
           "next_step":"check the server","evidence":{"rst_ttl":126},"later_stage":{"x":[1,2]}})
}

/// The seed's finding with another server address.
pub fn seed_finding_on(server: &str) -> Value {
    let mut f = seed_finding();
    f["server_ip"] = json!(server);
    f
}

pub fn finding(client: &str, server: &str, port: u16, kind: &str) -> Value {
    json!({"type":"finding","kind":kind,"severity":"error","uids":["C1"],"client_ip":client,
           "client_port":50000,"server_ip":server,"server_port":port,"frames":[1],"ts":1.0,
           "summary":"s","socket_error":null,"next_step":"n","evidence":{}})
}

/// Records as JSON lines.
pub fn lines(v: &[Value]) -> String {
    v.iter().map(|x| x.to_string() + "\n").collect()
}

/// portmap on `records` with each of `listings` given as `-l FILE`: its output records.
pub fn enrich(listings: &[&str], records: &[Value]) -> Vec<Value> {
    let mut args = vec![];
    for l in listings {
        args.extend(["-l", l]);
    }
    run_ok(&args, &lines(records))
}

/// The column header of Windows `netstat -ano`.
pub const NETSTAT_HEADER: &str =
    "  Proto  Local Address          Foreign Address        State           PID\r\n";

/// One row of Windows `netstat -ano`, in its columns.
pub fn netstat_row(
    proto: &str,
    local: &str,
    foreign: &str,
    state: &str,
    pid: impl std::fmt::Display,
) -> String {
    format!("  {proto:<7}{local:<23}{foreign:<23}{state:<16}{pid}\r\n")
}

pub const SEED_HINT: &str = "nothing listens on 2383 (SSAS 2005+); msmdsrv.exe PID 2344 listens on 2725 (SSAS 2000 default)";

//! The tcpflag command line: output, pass-through, exit codes, errors.

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

use assert_cmd::Command;
use predicates::prelude::*;

fn tcpflag() -> Command {
    Command::cargo_bin("tcpflag").unwrap()
}

use tcpwhy_tests::{cli, records};

const NO_ARGS: [&str; 0] = [];

const SEED: &str = "tests/data/seed.jsonl";
const HEALTHY: &str = "tests/data/healthy.jsonl";

#[test]
fn seed_findings_as_json_lines() {
    let out = cli::ok("tcpflag", &[SEED], None).stdout;
    let recs = records(&out);
    let kinds: Vec<&str> = recs.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "refused",
            "zero_window_at_handshake",
            "zero_window_at_handshake",
            "intermittent_backend"
        ],
        "{recs:#?}"
    );
    for r in &recs {
        assert_eq!(r["type"], "finding");
        let first = String::from_utf8_lossy(&out)
            .lines()
            .next()
            .unwrap()
            .to_string();
        assert!(first.starts_with("{\"type\":\"finding\""));
    }
    assert_eq!(recs[0]["attempts"], 3);
    assert_eq!(recs[0]["socket_error"]["windows_code"], 10061);
    assert_eq!(recs[3]["server_ip"], "192.168.0.1");
    assert_eq!(recs[3]["evidence"]["name"], "web2.example.com");
}

#[test]
fn healthy_input_is_silent_and_exits_0_even_with_fail_on() {
    tcpflag()
        .args(["--fail-on", "warning", HEALTHY])
        .assert()
        .code(0)
        .stdout("");
    tcpflag()
        .args(["--format", "text", HEALTHY])
        .assert()
        .code(0)
        .stdout("no findings: 3 connections look healthy\n");
}

#[test]
fn fail_on_sets_exit_1() {
    for args in [
        &["--fail-on", "error", SEED][..],
        &["--fail-on", "warning", SEED],
        // Only info findings remain: --fail-on warning does not fire.
        &["--fail-on", "warning", "--min-severity", "error", SEED],
    ] {
        cli::exits("tcpflag", args, None, 1, "");
    }
}

#[test]
fn stdin_works() {
    let input = std::fs::read(SEED).unwrap();
    assert_eq!(
        cli::ok("tcpflag", &NO_ARGS, Some(&input)).records().len(),
        4
    );
}

#[test]
fn all_passes_every_record_through_byte_for_byte() {
    let input = std::fs::read_to_string(SEED).unwrap();
    let out = cli::ok("tcpflag", &["--all", SEED], None);
    let out = out.text();
    let passed: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with("{\"type\":\"finding\""))
        .collect();
    let want: Vec<&str> = input.lines().collect();
    assert_eq!(passed, want);
    assert_eq!(out.lines().count(), want.len() + 4);
}

#[test]
fn text_format_for_people() {
    tcpflag()
        .args(["--format", "text", SEED])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "ERROR   refused: 10.0.0.1:20531 → 172.16.0.1:2383 refused: 3 SYNs",
        ))
        .stdout(predicate::str::contains(
            "socket error: Windows 10061 WSAECONNREFUSED, POSIX ECONNREFUSED",
        ))
        .stdout(predicate::str::contains("next step: "))
        .stdout(predicate::str::contains(
            "4 findings (4 errors) in 6 connections",
        ));
}

#[test]
fn all_and_text_conflict() {
    cli::exits("tcpflag", &["--all", "--format", "text"], None, 2, "");
}

/// The seed's records, then `damaged` as its line 9: an input error naming the line, after the
/// seed's 4 findings.
fn seed_then_damaged(damaged: &str) {
    let mut input = std::fs::read_to_string(SEED).unwrap();
    input.push_str(damaged);
    let out = cli::exits(
        "tcpflag",
        &NO_ARGS,
        Some(input.as_bytes()),
        2,
        "<stdin>: line 9",
    );
    assert_eq!(
        out.records().len(),
        4,
        "findings before the damage are written"
    );
}

#[test]
fn malformed_line_exit_2_after_findings_so_far() {
    seed_then_damaged("{\"type\":\"flow\",\"uid\":\n");
}

#[test]
fn flow_missing_a_field_names_it() {
    tcpflag()
        .write_stdin("{\"type\":\"flow\",\"uid\":\"x\"}\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 1").and(predicate::str::contains("missing field")));
}

#[test]
fn not_json_and_missing_file() {
    cli::exits("tcpflag", &NO_ARGS, Some(b"hello\n"), 2, "line 1");
    let missing = "/nonexistent/x.jsonl";
    cli::exits("tcpflag", &[missing], None, 2, missing);
}

#[test]
fn packets_without_flows_get_a_hint() {
    tcpflag()
        .write_stdin("{\"type\":\"packet\",\"frame\":1,\"ts\":1.0,\"len\":60,\"caplen\":60,\"proto\":\"tcp\"}\n")
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("tcpflows first"));
}

#[test]
fn non_tcp_packets_pass_quietly() {
    // A capture without TCP, through tcpflows: no flows and nothing to warn about.
    tcpflag()
        .write_stdin("{\"type\":\"packet\",\"frame\":1,\"ts\":1.0,\"len\":60,\"caplen\":60,\"proto\":\"udp\"}\n")
        .assert()
        .success()
        .stdout("")
        .stderr("");
}

#[test]
fn help_has_an_example_pipeline() {
    tcpflag()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "pcap2jsonl cap.pcap | tcpflows | ttlhops | tcpflag",
        ))
        .stdout(predicate::str::contains("--fail-on"));
    tcpflag().arg("--version").assert().success();
    tcpflag().args(["--min-syns", "0"]).assert().code(2);
}

#[test]
fn thresholds_are_flags() {
    // With --backend-min-failures 3 the two-failure backend is not reported.
    let out = cli::ok("tcpflag", &["--backend-min-failures", "3", SEED], None);
    assert!(
        out.records()
            .iter()
            .all(|r| r["kind"] != "intermittent_backend")
    );
}

#[test]
fn hostile_numbers_do_not_panic() {
    // Extreme counters in otherwise valid flow records: findings or not, never a panic.
    let healthy = std::fs::read_to_string(HEALTHY).unwrap();
    let flow = healthy.lines().nth(1).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(flow).unwrap();
    v["client"]["packets"] = serde_json::json!(u64::MAX);
    v["client"]["retransmissions"] = serde_json::json!(u32::MAX);
    v["attempts"]["syn_count"] = serde_json::json!(u32::MAX);
    v["state"] = serde_json::json!("S1");
    v["end"] = serde_json::json!("timeout");
    v["client"]["fin_frame"] = serde_json::Value::Null;
    let mut input = String::new();
    for i in 0..3 {
        v["uid"] = serde_json::json!(format!("X{i}"));
        input.push_str(&v.to_string());
        input.push('\n');
    }
    let mut rej = v.clone();
    rej["established"] = serde_json::json!(false);
    rej["synack_frame"] = serde_json::Value::Null;
    rej["rst"] = serde_json::json!({"from": "server", "frame": 3, "ts": 1000.1, "ttl": 255,
        "ip_id": 0, "flags": "RA", "seq_ok": true, "count": u32::MAX});
    for i in 0..3 {
        rej["uid"] = serde_json::json!(format!("R{i}"));
        input.push_str(&rej.to_string());
        input.push('\n');
    }
    tcpflag().write_stdin(input).assert().success();
}

#[test]
fn damaged_unconsumed_record_is_an_input_error_by_default_too() {
    seed_then_damaged("{\"type\":\"host\",\"ip\":\"10.0.0.1\",\"ttls\":[12\n");
}

/// Issue 16, reproducer 1: invalid UTF-8 in a field tcpflag does not read (an unknown field of a
/// DNS `packet` record it learns from, of any other packet, of a `flow`) is an input error naming
/// the line, with or without --all; the bytes never reach stdout.
#[test]
fn invalid_utf8_in_fields_it_does_not_read_is_an_input_error() {
    const DNS: &str = r#"{"type":"packet","frame":2,"ts":1.5,"len":121,"ip_version":4,"src_ip":"203.0.113.53","dst_ip":"198.51.100.10","ttl":62,"ip_proto":17,"proto":"udp","src_port":53,"dst_port":45497,"payload_len":79,"dns":{"id":9092,"response":true,"rcode":0,"qname":"web2.lab.test","qtype":"A","answers":[{"name":"web2.lab.test","type":"A","ttl":5,"data":"203.0.113.11"}]},"x-note":"@"}"#;
    const UDP: &str = r#"{"type":"packet","frame":3,"ts":1.6,"len":60,"ip_version":4,"src_ip":"203.0.113.53","dst_ip":"198.51.100.10","ttl":62,"ip_proto":17,"proto":"udp","src_port":123,"dst_port":123,"x-note":"@"}"#;
    let seed = std::fs::read_to_string(SEED).unwrap();
    let flow = seed
        .lines()
        .find(|l| l.starts_with("{\"type\": \"flow\","))
        .unwrap();
    let flow = flow.replacen(
        "{\"type\": \"flow\",",
        "{\"type\": \"flow\", \"x-note\": \"@\",",
        1,
    );
    cli::rejects_invalid_utf8(
        "tcpflag",
        &[
            ("dns packet", DNS),
            ("packet", UDP),
            ("flow", flow.as_str()),
        ],
        &[&[], &["--all"]],
        "<stdin>: line 2: invalid UTF-8 at column",
        None,
    );
}

/// DNS packet lines: a query and its answer, as pcap2jsonl writes them (the fields tcpflag reads).
fn dns_line(frame: u64, ts: f64, response: bool, tc: bool, rcode: Option<u8>) -> String {
    let (src, dst, sp, dp) = if response {
        ("10.0.0.53", "10.0.0.1", 53, 40001)
    } else {
        ("10.0.0.1", "10.0.0.53", 40001, 53)
    };
    serde_json::json!({"type": "packet", "frame": frame, "ts": ts, "len": 80, "caplen": 80,
        "src_ip": src, "dst_ip": dst, "proto": "udp", "src_port": sp, "dst_port": dp,
        "dns": {"id": 7, "response": response, "opcode": 0, "tc": tc, "rcode": rcode,
                "qname": "big.example", "qtype": "A", "answers": []}})
    .to_string()
}

#[test]
fn dns_failure_from_packet_lines_and_truncated_answers_are_no_answer() {
    // NOERROR without an address: 11004.
    let input = format!(
        "{}\n{}\n",
        dns_line(1, 1.0, false, false, None),
        dns_line(2, 1.01, true, false, Some(0))
    );
    let recs = cli::ok("tcpflag", &NO_ARGS, Some(input.as_bytes())).records();
    assert_eq!(recs.len(), 1, "{recs:#?}");
    assert_eq!(recs[0]["kind"], "dns_failure");
    assert_eq!(recs[0]["socket_error"]["windows_code"], 11004);
    // The same answer truncated (TC): the client asks again over TCP; nothing to judge.
    let input = format!(
        "{}\n{}\n",
        dns_line(1, 1.0, false, false, None),
        dns_line(2, 1.01, true, true, Some(0))
    );
    tcpflag()
        .write_stdin(input)
        .assert()
        .success()
        .stdout(predicate::str::is_empty());
}

//! Differential test of the `tls` field against tshark's TLS dissector.
//!
//! On the captures of tests/fixtures/tls (real OpenSSL and curl, made by its make.sh) and on the
//! public captures in which tshark finds TLS (`SHARED`, from ../shared/captures/real), tshark runs
//! with TCP and TLS reassembly off (`tcp.desegment_tcp_streams:FALSE`,
//! `tls.desegment_ssl_records:FALSE`), so it too decodes each segment alone. For every frame it
//! compares the complete records (ours without `partial`): content types (tshark's
//! `tls.record.content_type` and, for TLS 1.3 encrypted records, `tls.record.opaque_type`), record
//! versions and lengths, handshake message types (`tls.handshake.type` against every record's
//! `messages`), SNI, ALPN, `supported_versions` (GREASE left out), ClientHello/ServerHello legacy
//! version, and the alert level and description. A frame where one side sees a complete record and
//! the other none is a difference. docs/differences-from-tshark.md says what differs by design.
//! Prints `SKIPPED: …` when tshark is absent.

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::tshark_fields;
use serde_json::Value;

/// Public captures with TLS (tshark -Y tls finds records in them).
const SHARED: &[&str] = &["tcpreplay-test.pcap"];

/// (capture, frame, why): frames where tshark sees no TLS where we see a record, by design
/// (docs/differences-from-tshark.md). An entry that stops matching fails the test.
const ALLOW: &[(&str, u64, &str)] = &[(
    "http2java.pcap",
    6,
    "the conversation began with a plaintext HTTP request: tshark hands the server's answer to \
     HTTP (`Continuation`) even with port 443 decoded as TLS; it is a TLS alert record",
)];

const FIELDS: &[&str] = &[
    "frame.number",
    "tls.record.content_type",
    "tls.record.opaque_type",
    "tls.record.version",
    "tls.record.length",
    "tls.handshake.type",
    "tls.handshake.extensions_server_name",
    "tls.handshake.extensions_alpn_str",
    "tls.handshake.extensions.supported_version",
    "tls.handshake.version",
    "tls.alert_message.level",
    "tls.alert_message.desc",
];

fn tshark(path: &Path) -> Option<String> {
    let extra = [
        "-o",
        "tcp.desegment_tcp_streams:FALSE",
        "-o",
        "tls.desegment_ssl_records:FALSE",
        // the lab's plain HTTP server listens on 8080: read its port as TLS too
        "-d",
        "tcp.port==8080,tls",
        "-Y",
        "tls",
    ];
    let out = tshark_fields(path, &extra, false, "|", FIELDS)
        .output()
        .ok()?;
    assert!(out.status.success(), "tshark on {}", path.display());
    Some(String::from_utf8(out.stdout).expect("UTF-8"))
}

/// Frames tshark marks as TCP retransmissions: it does not dissect their payload again, we do.
fn retransmissions(path: &Path) -> std::collections::BTreeSet<u64> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args([
            "-Y",
            "tcp.analysis.retransmission",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ])
        .output()
        .expect("tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// A JSON list of strings.
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

fn version_name(hex: &str) -> String {
    match hex {
        "0x0300" => "SSL 3.0".into(),
        "0x0301" => "TLS 1.0".into(),
        "0x0302" => "TLS 1.1".into(),
        "0x0303" => "TLS 1.2".into(),
        "0x0304" => "TLS 1.3".into(),
        h => h.to_string(),
    }
}

fn content_number(t: &str) -> &'static str {
    match t {
        "change_cipher_spec" => "20",
        "alert" => "21",
        "handshake" => "22",
        "application_data" => "23",
        _ => "24",
    }
}

fn handshake_number(t: &str) -> String {
    let n = match t {
        "hello_request" => 0,
        "client_hello" => 1,
        "server_hello" => 2,
        "hello_verify_request" => 3,
        "new_session_ticket" => 4,
        "end_of_early_data" => 5,
        "hello_retry_request" => 6,
        "encrypted_extensions" => 8,
        "certificate" => 11,
        "server_key_exchange" => 12,
        "certificate_request" => 13,
        "server_hello_done" => 14,
        "certificate_verify" => 15,
        "client_key_exchange" => 16,
        "finished" => 20,
        "certificate_url" => 21,
        "certificate_status" => 22,
        "supplemental_data" => 23,
        "key_update" => 24,
        "compressed_certificate" => 25,
        "next_protocol" => 67,
        "message_hash" => 254,
        other => panic!("unknown handshake name {other}"),
    };
    n.to_string()
}

fn split(s: &str) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(',').map(str::to_string).collect()
    }
}

fn is_grease_hex(h: &str) -> bool {
    u16::from_str_radix(h.trim_start_matches("0x"), 16).is_ok_and(|v| v & 0x0f0f == 0x0a0a)
}

/// Column -> value list for one frame, tshark side.
fn theirs(line: &str) -> (u64, BTreeMap<&'static str, Vec<String>>) {
    let c: Vec<&str> = line.split('|').collect();
    let frame = c[0].parse().expect("frame number");
    let mut m = BTreeMap::new();
    let mut types: Vec<String> = split(c[1]);
    types.extend(split(c[2]));
    types.sort();
    m.insert("content types", types);
    m.insert(
        "versions",
        split(c[3]).iter().map(|v| version_name(v)).collect(),
    );
    m.insert("lengths", split(c[4]));
    m.insert("handshake types", split(c[5]));
    m.insert("sni", split(c[6]));
    m.insert("alpn", split(c[7]));
    m.insert(
        "supported_versions",
        split(c[8])
            .iter()
            .filter(|v| !is_grease_hex(v))
            .map(|v| version_name(v))
            .collect(),
    );
    m.insert(
        "hello version",
        split(c[9]).iter().map(|v| version_name(v)).collect(),
    );
    m.insert(
        "alert level",
        split(c[10])
            .iter()
            .map(|l| match l.as_str() {
                "1" => "warning".to_string(),
                "2" => "fatal".to_string(),
                o => o.to_string(),
            })
            .collect(),
    );
    m.insert("alert code", split(c[11]));
    (frame, m)
}

/// The same columns from our record (complete records only).
fn ours(rec: &Value) -> BTreeMap<&'static str, Vec<String>> {
    let mut m: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for k in [
        "content types",
        "versions",
        "lengths",
        "handshake types",
        "sni",
        "alpn",
        "supported_versions",
        "hello version",
        "alert level",
        "alert code",
    ] {
        m.insert(k, Vec::new());
    }
    let tls = &rec["tls"];
    let whole: Vec<&Value> = tls["records"]
        .as_array()
        .map(|a| a.iter().filter(|r| r["partial"] == false).collect())
        .unwrap_or_default();
    for r in &whole {
        let push = |m: &mut BTreeMap<_, Vec<String>>, k, v: String| m.get_mut(k).unwrap().push(v);
        push(
            &mut m,
            "content types",
            content_number(r["type"].as_str().unwrap()).into(),
        );
        push(&mut m, "versions", r["version"].as_str().unwrap().into());
        push(&mut m, "lengths", r["length"].to_string());
        for h in r["messages"].as_array().unwrap() {
            push(
                &mut m,
                "handshake types",
                handshake_number(h.as_str().unwrap()),
            );
        }
        if r["alert"].is_object() {
            push(
                &mut m,
                "alert level",
                r["alert"]["level"].as_str().unwrap().into(),
            );
            push(&mut m, "alert code", r["alert"]["code"].to_string());
        }
    }
    m.get_mut("content types").unwrap().sort();
    let complete_hello = whole
        .iter()
        .any(|r| r["handshake"] == "client_hello" || r["handshake"] == "server_hello");
    if complete_hello {
        if let Some(ch) = tls["client_hello"].as_object() {
            if let Some(s) = ch["sni"].as_str() {
                m.get_mut("sni").unwrap().push(s.into());
            }
            m.insert("alpn", strings(&ch["alpn"]));
            // tshark lists supported_versions only when the extension is there: ours falls back
            // to [version] without it, compared below only when it has more than the legacy one
            m.insert("supported_versions", strings(&ch["versions"]));
            m.get_mut("hello version")
                .unwrap()
                .push(ch["version"].as_str().unwrap().into());
        }
        if let Some(sh) = tls["server_hello"].as_object() {
            if sh["version"] == "TLS 1.3" {
                m.insert("supported_versions", vec!["TLS 1.3".into()]);
                m.get_mut("hello version").unwrap().push("TLS 1.2".into());
            } else {
                m.get_mut("hello version")
                    .unwrap()
                    .push(sh["version"].as_str().unwrap().into());
            }
        }
    }
    m
}

fn pcap2jsonl(path: &Path) -> Vec<Value> {
    tcpwhy_tests::run_ok("pcap2jsonl", &[path], b"")
}

fn captures() -> Vec<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut v: Vec<PathBuf> = std::fs::read_dir(here.join("tests/fixtures/tls"))
        .expect("tests/fixtures/tls")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    v.sort();
    let shared = tcpwhy_tests::shared_captures().join("real");
    let mut missing = Vec::new();
    for name in SHARED {
        let p = shared.join(name);
        if p.is_file() {
            v.push(p);
        } else {
            missing.push(*name);
        }
    }
    if !missing.is_empty() {
        tcpwhy_tests::skip(
            &format!("public TLS captures absent: {missing:?}"),
            "set TCPWHY_CORPUS to the shared corpus (README: the optional corpus)",
        );
    }
    v
}

#[test]
fn tls_fields_match_tshark() {
    if !tcpwhy_tests::need_tool("tshark", "tshark") {
        return;
    }
    let mut diffs = Vec::new();
    let mut compared = 0usize;
    let mut used = vec![false; ALLOW.len()];
    let mut frames = 0usize;
    for cap in captures() {
        let name = cap.file_name().unwrap().to_string_lossy().to_string();
        let recs = pcap2jsonl(&cap);
        let by_frame: BTreeMap<u64, &Value> = recs
            .iter()
            .map(|r| (r["frame"].as_u64().unwrap(), r))
            .collect();
        let text = tshark(&cap).expect("tshark runs");
        let mut seen = retransmissions(&cap);
        for line in text.lines() {
            let (frame, t) = theirs(line);
            seen.insert(frame);
            let o = ours(by_frame[&frame]);
            frames += 1;
            for (col, tv) in &t {
                let ov = &o[col];
                // supported_versions: ours falls back to the legacy version without the extension
                if *col == "supported_versions" && tv.is_empty() && ov.len() <= 1 {
                    continue;
                }
                compared += tv.len().max(ov.len());
                if tv != ov {
                    diffs.push(format!(
                        "{name} frame {frame} {col}: tshark {tv:?}, ours {ov:?}"
                    ));
                }
            }
        }
        // frames where we see complete records and tshark sees no TLS at all
        for (frame, r) in &by_frame {
            if seen.contains(frame) || r.get("tls").is_none() {
                continue;
            }
            if !ours(r)["lengths"].is_empty() {
                if let Some(i) = ALLOW.iter().position(|a| a.0 == name && a.1 == *frame) {
                    used[i] = true;
                    continue;
                }
                diffs.push(format!(
                    "{name} frame {frame}: ours has TLS records, tshark none"
                ));
            }
        }
    }
    eprintln!("tls differential: {frames} frames, {compared} values compared");
    for (i, a) in ALLOW.iter().enumerate() {
        assert!(used[i], "allow-list entry no longer matches: {a:?}");
    }
    assert!(frames >= 30, "too few TLS frames compared: {frames}");
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

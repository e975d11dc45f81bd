//! Fuzz target body for the capture reader and packet decoder (`fuzz/fuzz_targets/capture.rs`),
//! callable from stable tests: `tests/tests/fuzz_corpus.rs` replays the committed seeds in
//! `make test`.

use std::io::Cursor;

use tcpwhy_common::jsonl::JsonlWriter;

use crate::capture::{Fail, read_capture};

/// Reads `data` as a capture (pcap, pcapng, NetMon, gzip of any of them) into JSON lines. Never
/// panics; every line is a JSON object starting `{"type":"packet","frame":N,` with frames
/// numbered 1, 2, 3…; the output stays proportional to the input (a frame takes at least 16
/// bytes, a record at most 64 KiB, gzip may expand up to ~1000×); failures name the input.
pub fn capture(data: &[u8]) {
    let mut w = JsonlWriter::new(Vec::new());
    let res = read_capture("fuzz", Box::new(Cursor::new(data.to_vec())), &mut w);
    let out = w.into_inner().expect("writing to memory cannot fail");
    if let Err(Fail::Input(msg)) = &res {
        assert!(msg.starts_with("fuzz"), "the error names the input: {msg}");
    }
    assert!(
        !matches!(res, Err(Fail::Output(_))),
        "writing to memory failed: {res:?}"
    );
    let text = String::from_utf8(out).expect("the output is UTF-8");
    let mut n = 0u64;
    for line in text.lines() {
        n += 1;
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("record {n} is not JSON: {e}"));
        assert!(v.is_object(), "record {n} is not an object");
        let frame = v["frame"].as_u64();
        assert!(
            line.starts_with("{\"type\":\"") && frame.is_some(),
            "record {n}: {}",
            &line[..line.len().min(200)]
        );
    }
    let limit = (data.len() as u64 / 16 + 1) * 1100;
    assert!(n <= limit, "{n} records from {} bytes", data.len());
}

tcpwhy_common::fuzz_smoke_test!(
    capture,
    b"",
    b"\xd4\xc3\xb2\xa1",
    b"\x1f\x8b\x08\x00",
    b"not a capture",
);

//! common's JSON-lines reader (whole and in pieces) and its record_type/validate on every line.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tcpwhy_common::fuzz::jsonl_reader(data);
});

//! tcpflows' fast `packet` scanner against serde on arbitrary lines: the same values, or the
//! scanner hands the line to serde, or both reject it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tcpflows::fuzz::scan_differential(data);
});

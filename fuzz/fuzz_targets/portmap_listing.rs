//! portmap's listing decoding, format detection and every parser (netstat, ss, lsof, tasklist,
//! Get-NetTCPConnection) on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    portmap::fuzz::listing(data);
});

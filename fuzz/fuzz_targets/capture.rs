//! pcap2jsonl's capture reader and packet decoder on arbitrary bytes (pcap, pcapng, NetMon, gzip).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pcap2jsonl::fuzz::capture(data);
});

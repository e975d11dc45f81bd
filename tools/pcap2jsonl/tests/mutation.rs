//! Thousands of seeded byte mutations of real captures (bit flips, overwritten bytes, inserted
//! and deleted ranges, length fields set to hostile values, truncation), each read by the
//! library's capture reader and decoder into memory: no panic, output bounded by the input, every
//! line one JSON packet record, every failure an input error naming a byte inside the input.

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use pcap2jsonl::capture::{Fail, Finish, read_capture};
use tcpwhy_common::jsonl::JsonlWriter;

use tcpwhy_tests::Rng;

const HOSTILE: [u32; 8] = [
    0,
    1,
    3,
    0xffff_ffff,
    0x7fff_ffff,
    0xffff_fff0,
    262_145,
    16 << 20,
];

fn mutate(rng: &mut Rng, orig: &[u8]) -> (Vec<u8>, String) {
    let mut d = orig.to_vec();
    let n = d.len();
    let kind = rng.below(8);
    let at = rng.below(n);
    let what = match kind {
        0 => {
            d[at] ^= 1 << rng.below(8);
            "flip"
        }
        1 => {
            d[at] = rng.next() as u8;
            "byte"
        }
        2 => {
            let k = 1 + rng.below(64);
            let bytes: Vec<u8> = (0..k).map(|_| rng.next() as u8).collect();
            d.splice(at..at, bytes);
            "insert"
        }
        3 => {
            let k = (1 + rng.below(64)).min(n - at);
            d.drain(at..at + k);
            "delete"
        }
        4 | 5 => {
            // A hostile 32-bit value at a 4-aligned offset: record and block lengths live there
            // in both formats (either byte order).
            let at = at & !3;
            if at + 4 <= n {
                let v = HOSTILE[rng.below(HOSTILE.len())];
                let b = if rng.below(2) == 0 {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                };
                d[at..at + 4].copy_from_slice(&b);
            }
            "length"
        }
        6 => {
            d.truncate(at);
            "truncate"
        }
        _ => {
            // Several flips at once.
            for _ in 0..8 {
                let i = rng.below(n);
                d[i] ^= rng.next() as u8;
            }
            "scramble"
        }
    };
    (d, format!("{what} at {at}"))
}

#[test]
fn seeded_mutations_never_panic_and_stay_bounded() {
    let Some(corpus) = tcpwhy_tests::corpus() else {
        return;
    };
    let real = corpus.join("captures/real");
    let sources = [
        ("tcpreplay-test.pcap", 1200),
        ("netns-two-interfaces.pcapng", 800),
        ("pcapparser-test016-be.pcapng", 600),
        ("tcp-handshake-nano.pcap", 400),
        ("dns_tcp.pcap", 400),
        ("icmp-rfc5837.pcap", 200),
        ("tcpreplay-test.pcap.gz", 200),
    ];
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut outcomes = [0usize; 3];
    let mut total = 0;
    for (name, count) in sources {
        let orig = std::fs::read(real.join(name)).unwrap();
        for i in 0..count {
            let (data, how) = mutate(&mut rng, &orig);
            let len = data.len();
            let ctx = format!("{name} mutation {i} ({how})");
            let res = catch_unwind(AssertUnwindSafe(|| {
                let mut w = JsonlWriter::new(Vec::new());
                let r = read_capture("m", Box::new(Cursor::new(data)), &mut w);
                (r, w.into_inner().unwrap())
            }));
            let (r, out) = res.unwrap_or_else(|_| panic!("{ctx}: panicked"));
            total += 1;
            // Bounded: a frame takes at least 16 bytes of (decompressed) input; a record at
            // most 64 KiB of text. gzip may expand, so it is bounded by its original size.
            let limit_in = if name.ends_with(".gz") {
                len.max(orig.len()) * 40
            } else {
                len
            };
            let text = String::from_utf8(out).unwrap_or_else(|_| panic!("{ctx}: output not UTF-8"));
            let records = text.lines().count();
            assert!(
                records <= limit_in / 16 + 1,
                "{ctx}: {records} records from {len} bytes"
            );
            for (k, line) in text.lines().enumerate() {
                assert!(
                    line.len() < 64 * 1024,
                    "{ctx}: record {} is {} bytes",
                    k + 1,
                    line.len()
                );
                let prefix = format!("{{\"type\":\"packet\",\"frame\":{},", k + 1);
                assert!(line.starts_with(&prefix), "{ctx}: {line}");
                // Parsing every line is slow in debug builds: every 16th mutation.
                if i % 16 == 0 {
                    serde_json::from_str::<serde_json::Value>(line)
                        .unwrap_or_else(|e| panic!("{ctx}: record {}: {e}: {line}", k + 1));
                }
            }
            match r {
                Ok(Finish::Clean) => outcomes[0] += 1,
                Ok(Finish::Truncated(m)) => {
                    outcomes[1] += 1;
                    assert!(m.contains(" at byte "), "{ctx}: {m}");
                }
                Err(Fail::Input(m)) => {
                    outcomes[2] += 1;
                    assert!(m.starts_with('m'), "{ctx}: {m}");
                    if let Some(rest) = m.split(" at byte ").nth(1) {
                        let off: u64 = rest
                            .split(|c: char| !c.is_ascii_digit())
                            .next()
                            .unwrap()
                            .parse()
                            .unwrap();
                        if !name.ends_with(".gz") {
                            assert!(off <= len as u64, "{ctx}: offset {off} beyond {len}: {m}");
                        }
                    }
                }
                Err(Fail::Output(e)) => panic!("{ctx}: output error {e}"),
            }
        }
    }
    assert_eq!(total, 3800);
    // The mutations reach every outcome (else they test nothing).
    assert!(
        outcomes.iter().all(|&n| n > 50),
        "clean/truncated/damaged: {outcomes:?}"
    );
}

//! Damaged Microsoft Network Monitor captures: truncated files give every complete frame, a
//! frame table, header or side table that points outside the file or makes no sense is an error
//! naming it (or is skipped, keeping the frames), mutated files never panic, and the exit codes
//! say which. Well-formed NetMon files: `netmon.rs`.

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

mod common;

use std::io::Cursor;

use common::netmon::*;
use pcap2jsonl::capture::netmon;
use pcap2jsonl::capture::{Fail, Finish};
use serde_json::{Value, json};
use tcpwhy_common::jsonl::JsonlWriter;
use tcpwhy_tests::Rng;

#[test]
fn truncated_files_yield_every_complete_frame() {
    for cap in [
        "tcpreplay-test.nm1.cap",
        "netns-two-interfaces.nm2.cap",
        "special-2.3.cap",
    ] {
        let bytes = fixture(cap);
        let (full, _) = read_netmon(&bytes);
        let ft_off = u32::from_le_bytes(bytes[24..28].try_into().unwrap()) as usize;
        let mut cuts: Vec<usize> = (0..bytes.len()).step_by(97).collect();
        cuts.extend([
            64,
            127,
            128,
            129,
            ft_off - 1,
            ft_off,
            ft_off + 1,
            bytes.len() - 1,
        ]);
        for cut in cuts {
            let b = &bytes[..cut];
            let mut w = JsonlWriter::new(Vec::new());
            let res = netmon::read_seekable(Cursor::new(b), cut as u64, cap, &mut w);
            let got = lines(w);
            if cut < 64 {
                let Err(Fail::Input(msg)) = res else {
                    panic!("{cap} cut {cut}: {res:?}")
                };
                assert!(
                    msg.contains("cut short inside the NetMon file header"),
                    "{msg}"
                );
                continue;
            }
            let o = res.unwrap();
            // Every record is one of the full file's, in order.
            assert!(got.len() <= full.len());
            // The comment and process tables follow the frame table: a cut loses them.
            let strip = |l: &String| {
                let mut v = parse(l);
                let o = v.as_object_mut().unwrap();
                o.remove("comment");
                o.remove("netmon");
                v
            };
            let got_s: Vec<Value> = got.iter().map(strip).collect();
            let full_s: Vec<Value> = full[..got.len()].iter().map(strip).collect();
            assert_eq!(got_s, full_s, "{cap} cut at {cut}");
            assert!(o.errors.is_empty(), "{cap} cut at {cut}: {:?}", o.errors);
            if cut >= ft_off {
                // The frames are all there, only the table is cut: all of them are read.
                assert_eq!(got.len(), full.len(), "{cap} cut at {cut}");
            }
            let ft_end = ft_off + 4 * full.len();
            let w = o.warnings.join("\n");
            if cut > 128 && cut < ft_end {
                assert!(
                    w.contains(&format!("{cap}: cut short: the NetMon frame table")),
                    "{w}"
                );
            } else if cut >= ft_end && cut < bytes.len() && cap.starts_with("special") {
                // Only the comment or process table is cut.
                assert!(w.contains(&format!("{cap}: cut short")), "{cap} {cut}: {w}");
            }
        }
    }
}

#[test]
fn cut_mid_frame_names_the_frame_and_byte() {
    let bytes = fixture("dns_udp.nm2.cap");
    // Frame 1 at 128 (16 + 98 bytes), frame 2 at 242: cut inside frame 2.
    let (l, o) = read_netmon(&bytes[..300]);
    assert_eq!(l.len(), 1);
    assert_eq!(
        o.warnings[1],
        "t.cap: cut short in the middle of frame 2 at byte 242 (282 bytes expected, 58 present); \
         every complete frame before it was output"
    );
}

fn set32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn frame_table_pointing_outside_the_file() {
    let mut bytes = fixture("tcpreplay-test.nm1.cap");
    let ft = u32::from_le_bytes(bytes[24..28].try_into().unwrap()) as usize;
    let (full, _) = read_netmon(&bytes);
    set32(&mut bytes, ft + 4 * 99, 0x7fff_fff0); // entry 100
    let (l, o) = read_netmon(&bytes);
    assert_eq!(l[..], full[..99]);
    assert_eq!(
        o.errors,
        [format!(
            "t.cap: damaged or corrupt at byte {}: frame table entry 100 points to byte \
             2147483632, past the end of the file ({} bytes)",
            ft + 4 * 99,
            bytes.len()
        )]
    );
    // The last frame claims more bytes than there are before the end of the file.
    let mut bytes = fixture("tcpreplay-test.nm1.cap");
    let last = u32::from_le_bytes(bytes[ft + 4 * 178..ft + 4 * 179].try_into().unwrap()) as usize;
    bytes[last + 4..last + 8].copy_from_slice(&[0xff; 4]); // orig and incl: 65535
    let (l, o) = read_netmon(&bytes);
    assert_eq!(l[..], full[..178]);
    assert_eq!(
        o.errors,
        [format!(
            "t.cap: damaged or corrupt at byte {last}: frame 179 (65543 bytes) extends past \
             the end of the file ({} bytes)",
            bytes.len()
        )]
    );
    // A hostile captured length: refused without allocating it.
    let mut bytes = fixture("dns_udp.nm2.cap");
    set32(&mut bytes, 128 + 8 + 16 + 98 + 4, 0xffff_ffff); // frame 2's incl_len (at 242 + 12)
    let (l, o) = read_netmon(&bytes);
    assert_eq!(l.len(), 1);
    assert!(
        o.errors[0].starts_with(
            "t.cap: damaged or corrupt at byte 242: frame 2 has a captured length of 4294967295"
        ),
        "{:?}",
        o.errors
    );
    // A table length that is not a multiple of 4: its whole entries are read, then an error.
    let mut bytes = fixture("dns_udp.nm2.cap");
    set32(&mut bytes, 28, 9);
    let (l, o) = read_netmon(&bytes);
    assert_eq!(l.len(), 2);
    assert!(o.errors[0].contains("frame table length 9 is not a multiple of 4"));
}

#[test]
fn unusable_headers_are_errors() {
    let good = fixture("dns_udp.nm2.cap");
    let err = |b: &[u8]| {
        let mut w = JsonlWriter::new(Vec::new());
        match netmon::read_seekable(Cursor::new(b), b.len() as u64, "x.cap", &mut w) {
            Err(Fail::Input(m)) => m,
            other => panic!("{other:?}"),
        }
    };
    let mut b = good.clone();
    b[5] = 3;
    assert_eq!(
        err(&b),
        "x.cap: NetMon file format version 3.0 with magic GMBU is not supported (1.x and 2.x are)"
    );
    let mut b = good.clone();
    b[6] = 5; // media type 5 in a 2.0 header
    assert!(err(&b).contains("media type 5 in the file header"));
    assert!(err(&good[..10]).contains("(10 of 64 bytes)"));
}

#[test]
fn empty_frame_table() {
    // Header only: no frames, no message. Header and frames but no table (never closed):
    // the frames in file order, and a warning.
    let mut b = fixture("dns_udp.nm2.cap");
    set32(&mut b, 24, 0);
    set32(&mut b, 28, 0);
    let (l, o) = read_netmon(&b[..128]);
    assert!(l.is_empty() && o.warnings.is_empty() && o.errors.is_empty());
    let (l, o) = read_netmon(&b);
    let (full, _) = read_netmon(&fixture("dns_udp.nm2.cap"));
    assert_eq!(l, full);
    assert!(
        o.warnings[0].contains("frame table is empty"),
        "{:?}",
        o.warnings
    );
    // …where the walk then meets the 8 bytes of the old table: too short for a frame header.
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    assert!(
        o.warnings[1].contains("cut short in the middle of the header of frame 3 at byte 524"),
        "{:?}",
        o.warnings
    );
}

#[test]
fn damaged_side_tables_keep_the_frames() {
    let orig = fixture("special-2.2.cap");
    let (full, _) = read_netmon(&orig);
    let at = |o: usize| u32::from_le_bytes(orig[o..o + 4].try_into().unwrap()) as usize;
    let (c_off, p_off) = (at(40), at(48));
    // Tables past the end of the file (what a cut does): warnings, every frame output.
    let mut b = orig.clone();
    set32(&mut b, 40, 0xffff_0000); // comment table offset
    set32(&mut b, 48, 0xffff_0000); // process table offset
    let (l, o) = read_netmon(&b);
    assert_eq!(l.len(), full.len());
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    assert!(
        o.warnings[0].contains(
            "the comment table (109 bytes at byte 4294901760, header byte 40) lies past the end"
        ),
        "{:?}",
        o.warnings
    );
    assert!(
        o.warnings[1].contains("the process table (at byte 4294901760"),
        "{:?}",
        o.warnings
    );
    assert!(parse(&l[1]).get("comment").is_none());
    assert!(parse(&l[1])["netmon"].get("process").is_none());
    // Inconsistent contents: errors naming the byte; the frames are still all output.
    let mut b = orig.clone();
    set32(&mut b, c_off + 8, 0); // first comment's title length
    set32(&mut b, p_off + 2, 70_000); // first process's path length
    let (l, o) = read_netmon(&b);
    assert_eq!(l.len(), full.len());
    assert_eq!(
        o.errors,
        [
            format!(
                "t.cap: damaged or corrupt at byte {c_off}: comment title length 0 in the \
                 comment table; the comments after it were not read"
            ),
            format!(
                "t.cap: damaged or corrupt at byte {}: process table entry 0 has a path of \
                 70000 bytes; the entries from it on were not read",
                p_off + 2
            )
        ]
    );
}

#[test]
fn mutations_never_panic() {
    let seeds = [
        "dns_udp.nm1.cap",
        "dns_udp.nm2.cap",
        "special-2.1.cap",
        "special-2.2.cap",
        "special-2.3.cap",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut runs = 0;
    for name in seeds {
        let orig = fixture(name);
        let ft = u32::from_le_bytes(orig[24..28].try_into().unwrap()) as usize;
        for _ in 0..1000 {
            let mut b = orig.clone();
            for _ in 0..=rng.below(4) {
                let interesting = [
                    0u32,
                    1,
                    4,
                    15,
                    16,
                    127,
                    128,
                    0x7fff_ffff,
                    0xffff_ffff,
                    b.len() as u32,
                ];
                match rng.below(5) {
                    // a header field
                    0 if b.len() >= 64 => {
                        let at = 4 + 2 * rng.below(30);
                        set32(&mut b, at, interesting[rng.below(interesting.len())]);
                    }
                    // a frame table entry
                    1 if b.len() >= ft + 4 => {
                        let at = ft + 4 * rng.below((b.len() - ft) / 4);
                        set32(
                            &mut b,
                            at,
                            interesting[rng.below(interesting.len())] ^ (rng.next() as u32 & 3),
                        );
                    }
                    // a byte anywhere
                    0..=3 => {
                        let at = rng.below(b.len());
                        b[at] = rng.next() as u8;
                    }
                    // a cut
                    _ => {
                        let at = rng.below(b.len());
                        b.truncate(at.max(1));
                    }
                }
            }
            let mut w = JsonlWriter::new(Vec::new());
            let _ = netmon::read_seekable(Cursor::new(&b), b.len() as u64, name, &mut w);
            for l in lines(w) {
                let v = parse(&l);
                assert_eq!(v["type"], json!("packet"));
            }
            runs += 1;
        }
    }
    assert_eq!(runs, 5000);
}

#[test]
fn cli_exit_codes() {
    // Cut short: the frames before the cut, a warning, exit 0.
    let cut = fixture("dns_udp.nm2.cap")[..300].to_vec();
    // Damaged: the frames before the damage, an error naming the byte, exit 2.
    let mut bad = fixture("tcpreplay-test.nm1.cap");
    let ft = u32::from_le_bytes(bad[24..28].try_into().unwrap()) as usize;
    set32(&mut bad, ft + 4 * 99, 0x7fff_fff0);
    for (name, bytes, code, records, needle) in [
        (
            "cut.cap",
            cut,
            0,
            1,
            "cut.cap: cut short in the middle of frame 2 at byte 242".to_string(),
        ),
        (
            "bad.cap",
            bad,
            2,
            99,
            format!("bad.cap: damaged or corrupt at byte {}", ft + 4 * 99),
        ),
    ] {
        let file = tcpwhy_tests::cli::TempFile::new(name, bytes);
        let out = tcpwhy_tests::cli::ran("pcap2jsonl", &[&file], None);
        assert_eq!(out.code, Some(code), "{name}");
        let lines = String::from_utf8_lossy(&out.stdout).lines().count();
        assert_eq!(lines, records, "{name}");
        let err = &out.stderr;
        assert!(err.contains(&needle), "{err}");
        if code == 0 {
            assert!(err.contains("warning:"), "{err}");
        }
    }
}

#[test]
fn capture_reader_outcomes() {
    // NetMon through the capture reader: a clean file, a cut (a warning, every complete frame),
    // damage (an error after the frames before it), an unusable header (an error, nothing).
    let run = |b: &[u8]| {
        let (l, r) = read_capture(b.to_vec());
        (r, l.len())
    };
    let good = fixture("tcpreplay-test.nm1.cap");
    assert!(matches!(run(&good).0, Ok(Finish::Clean)));
    let (r, n) = run(&good[..30_000]);
    assert!(
        matches!(r, Ok(Finish::Truncated(_))) && n > 0,
        "cut short: a warning, exit 0: {r:?}"
    );
    let mut bad = good.clone();
    let ft = u32::from_le_bytes(bad[24..28].try_into().unwrap()) as usize;
    set32(&mut bad, ft + 4 * 99, 0x7fff_fff0);
    let (r, n) = run(&bad);
    assert!(matches!(r, Err(Fail::Input(_))), "{r:?}");
    assert_eq!(n, 99);
    let (r, n) = run(&good[..40]);
    let Err(Fail::Input(m)) = r else {
        panic!("{r:?}")
    };
    assert!(
        m.contains("orig: cut short inside the NetMon file header"),
        "{m}"
    );
    assert_eq!(n, 0);
}

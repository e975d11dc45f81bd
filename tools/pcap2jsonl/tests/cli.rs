//! The pcap2jsonl binary as users run it: help, version, files and stdin, gzip, several files,
//! errors and exit codes, a closed stdout, and frame/time/length/interface equal to tshark on
//! every real capture.

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use tcpwhy_tests::cli;

/// A capture of the external corpus (tests using it ask `tcpwhy_tests::corpus()` first).
fn real(name: &str) -> PathBuf {
    tcpwhy_tests::shared_captures().join("real").join(name)
}

fn malformed(name: &str) -> PathBuf {
    tcpwhy_tests::shared_captures().join("malformed").join(name)
}

const NO_ARGS: [&str; 0] = [];

/// The stdout of `pcap2jsonl <arg>` (on `stdin`), which must succeed.
fn stdout_of(arg: impl AsRef<OsStr>, stdin: Option<&[u8]>) -> Vec<u8> {
    cli::ok("pcap2jsonl", &[arg], stdin).stdout
}

use tcpwhy_tests::records as lines;

/// The `ts` of a record exactly as written (the JSON number's text).
fn ts_text(line: &str) -> &str {
    let at = line.find(",\"ts\":").expect("ts") + 6;
    let end = line[at..].find([',', '}']).unwrap();
    &line[at..at + end]
}

/// A decimal `s.f` normalised to 9 fraction digits, for exact comparison.
fn nine_digits(t: &str) -> String {
    let (s, f) = t.split_once('.').unwrap_or((t, ""));
    assert!(f.len() <= 9, "more than 9 digits: {t}");
    format!("{s}.{f:0<9}")
}

#[test]
fn help_has_an_example_pipeline_and_exit_codes() {
    let out = stdout_of("--help", None);
    let help = String::from_utf8(out).unwrap();
    for needle in [
        "tcpdump -i any -U -w -",
        "| tcpflows",
        "Exit status",
        "FILE",
        "--line-buffered",
        "restart at 1",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
    let version = cli::ok("pcap2jsonl", &["--version"], None);
    assert!(
        version.text().starts_with("pcap2jsonl "),
        "{}",
        version.text()
    );
    cli::exits("pcap2jsonl", &["--no-such-flag"], None, 2, "");
}

#[test]
fn stdin_by_dash_and_by_default() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    let want = stdout_of(real("tcpreplay-test.pcap"), None);
    assert_eq!(lines(&want).len(), 179);
    let data = std::fs::read(real("tcpreplay-test.pcap")).unwrap();
    let dash = stdout_of("-", Some(&data));
    assert_eq!(dash, want);
    let none = cli::ok("pcap2jsonl", &NO_ARGS, Some(&data)).stdout;
    assert_eq!(none, want);
    // pcapng on stdin too.
    let ng = std::fs::read(real("netns-two-interfaces.pcapng")).unwrap();
    let out = stdout_of("-", Some(&ng));
    assert_eq!(lines(&out).len(), 20);
}

#[test]
fn gzip_by_magic_from_file_and_stdin() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    let plain = stdout_of(real("tcpreplay-test.pcap"), None);
    let gz = stdout_of(real("tcpreplay-test.pcap.gz"), None);
    assert_eq!(gz, plain, "gzip-compressed capture gives other records");
    let data = std::fs::read(real("tcpreplay-test.pcap.gz")).unwrap();
    let piped = stdout_of("-", Some(&data));
    assert_eq!(piped, plain);
}

#[test]
fn several_files_each_numbered_from_one() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    let files = [real("dns_udp.pcap"), real("pcapparser-test001-be.pcapng")];
    let recs = cli::ok("pcap2jsonl", &files, None).records();
    let frames: Vec<u64> = recs.iter().map(|r| r["frame"].as_u64().unwrap()).collect();
    assert_eq!(frames, [1, 2, 1, 2, 3, 4]);
}

#[test]
fn a_missing_file_is_an_error_after_the_others() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    let files = [
        real("dns_udp.pcap"),
        PathBuf::from("/nonexistent/x.pcap"),
        real("dns_udp_2.pcap"),
    ];
    let out = cli::exits(
        "pcap2jsonl",
        &files,
        None,
        2,
        "pcap2jsonl: /nonexistent/x.pcap: No such file or directory",
    );
    assert_eq!(out.records().len(), 4);
}

#[test]
fn not_a_capture_is_one_clear_error() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    let cases: [(OsString, Option<&[u8]>, &str, bool); 4] = [
        (
            malformed("not-a-capture.txt").into(),
            None,
            "not-a-capture.txt: not a capture file",
            true,
        ),
        (
            malformed("empty-file.pcap").into(),
            None,
            "empty-file.pcap: empty input",
            true,
        ),
        ("-".into(), Some(b""), "<stdin>: empty input", false),
        // A directory.
        (
            env!("CARGO_MANIFEST_DIR").into(),
            None,
            "read error at byte 0",
            false,
        ),
    ];
    for (arg, stdin, needle, no_records) in cases {
        let out = cli::exits("pcap2jsonl", &[arg], stdin, 2, needle);
        assert!(!no_records || out.stdout.is_empty(), "{needle}");
    }
}

/// NetMon magic goes to the NetMon reader (src/netmon): a header that is only the magic is its
/// error, exit 2 — not "not a capture".
#[test]
fn netmon_magic_is_dispatched_to_its_reader() {
    for magic in [&b"GMBU"[..], &b"RTSS"[..]] {
        let mut data = magic.to_vec();
        data.extend_from_slice(&[0; 60]);
        let out = cli::exits("pcap2jsonl", &["-"], Some(&data), 2, "<stdin>: NetMon");
        assert!(out.stdout.is_empty());
        assert!(!out.stderr.contains("not a capture"), "{}", out.stderr);
    }
}

#[test]
fn a_closed_stdout_exits_zero_quietly() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    // Enough output to fill the pipe several times over.
    let f = real("pcapparser-wireshark_samples-test.pcapng");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pcap2jsonl"))
        .args([&f, &f, &f, &f])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here: the pipe is closed, as `| head -1` does.
    assert!(
        first.starts_with("{\"type\":\"packet\",\"frame\":1,"),
        "{first}"
    );
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn line_buffered_is_accepted() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    let args: [OsString; 2] = ["--line-buffered".into(), real("dns_udp.pcap").into()];
    assert_eq!(cli::ok("pcap2jsonl", &args, None).records().len(), 2);
}

/// Frame numbers, timestamps (exact decimals), lengths and interface ids of every frame of every
/// real capture equal tshark's (real/expected/*.tsv).
#[test]
fn frames_times_lengths_interfaces_equal_tshark() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    let dir = real("");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        files.len() >= 35,
        "real captures missing in {}",
        dir.display()
    );
    let mut frames = 0;
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        let tsv =
            std::fs::read_to_string(dir.join("expected").join(format!("{name}.tsv"))).unwrap();
        let mut rows = tsv.lines();
        let head: Vec<&str> = rows.next().unwrap().split('\t').collect();
        let col = |n: &str| head.iter().position(|h| *h == n).unwrap();
        let (c_no, c_ts, c_len, c_cap, c_if) = (
            col("frame.number"),
            col("frame.time_epoch"),
            col("frame.len"),
            col("frame.cap_len"),
            col("frame.interface_id"),
        );
        let mut want: Vec<Vec<&str>> = rows.map(|l| l.split('\t').collect()).collect();
        if name == "pcapparser-test017-le.pcapng" {
            // tshark 4.0 lists its custom blocks as frames; they are not packets.
            want.clear();
        }
        let out = stdout_of(f, None);
        let text = String::from_utf8(out).unwrap();
        let got: Vec<&str> = text.lines().collect();
        assert_eq!(got.len(), want.len(), "{name}: record count");
        for (line, w) in got.iter().zip(&want) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let ctx = format!("{name} frame {}", w[c_no]);
            assert_eq!(v["frame"].as_u64().unwrap().to_string(), w[c_no], "{ctx}");
            // A frame without a time stamp (simple packet block): tshark prints nothing, we 0.
            let want_ts = if w[c_ts].is_empty() { "0" } else { w[c_ts] };
            assert_eq!(
                nine_digits(ts_text(line)),
                nine_digits(want_ts),
                "{ctx}: ts"
            );
            assert_eq!(
                v["len"].as_u64().unwrap().to_string(),
                w[c_len],
                "{ctx}: len"
            );
            assert_eq!(
                v["caplen"].as_u64().unwrap().to_string(),
                w[c_cap],
                "{ctx}: caplen"
            );
            let want_if = if w[c_if].is_empty() { "0" } else { w[c_if] };
            assert_eq!(
                v["iface"].as_u64().unwrap().to_string(),
                want_if,
                "{ctx}: iface"
            );
            frames += 1;
        }
    }
    assert!(frames >= 6461, "{frames}");
}

/// The comment of a pcapng packet becomes `comment` (crafted: no real capture here has one).
#[test]
fn pcapng_comment_reaches_the_record() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    let mut b: Vec<u8> = vec![];
    let block = |b: &mut Vec<u8>, t: u32, body: &[u8]| {
        let n = (body.len() + 12) as u32;
        b.extend_from_slice(&t.to_le_bytes());
        b.extend_from_slice(&n.to_le_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(&n.to_le_bytes());
    };
    block(
        &mut b,
        0x0a0d0d0a,
        &[
            0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ],
    );
    block(&mut b, 1, &[1, 0, 0, 0, 0, 0, 0, 0]);
    let mut epb = vec![0u8; 20];
    epb[12] = 4;
    epb[16] = 4;
    epb.extend_from_slice(&[1, 2, 3, 4]);
    epb.extend_from_slice(&[1, 0, 7, 0]);
    epb.extend_from_slice(b"why \"x\"\0");
    epb.extend_from_slice(&[0, 0, 0, 0]);
    block(&mut b, 6, &epb);
    f.write_all(&b).unwrap();
    let out = stdout_of(f.path(), None);
    let recs = lines(&out);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["comment"], "why \"x\"");
}

/// A cut .gz is a cut capture (as tshark reads it): every complete packet, a warning, exit 0.
/// Corrupt compressed data is an error naming the decompressed byte, exit 2.
#[test]
fn cut_and_corrupt_gzip() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    let gz = std::fs::read(real("tcpreplay-test.pcap.gz")).unwrap();
    let o = cli::exits(
        "pcap2jsonl",
        &["-"],
        Some(&gz[..20000]),
        0,
        "warning: <stdin> (decompressed): cut short in the middle of a packet at byte ",
    );
    // tshark 4.0 reads 62 packets from these 20000 bytes.
    assert_eq!(o.records().len(), 62);
    let mut bad = gz.clone();
    for b in &mut bad[5000..5100] {
        *b ^= 0x5a;
    }
    let err = cli::exits("pcap2jsonl", &["-"], Some(&bad), 2, "").stderr;
    // Deflate notices the damage, or it inflates to garbage the pcap reader rejects.
    assert!(
        err.contains("<stdin> (decompressed): read error at byte ")
            || err.contains("<stdin> (decompressed): damaged or corrupt at byte "),
        "{err}"
    );
}

/// Several pcapng sections in one file (`cat a.pcapng b.pcapng c.pcapng` is valid pcapng): frame
/// numbers run on, interface ids restart in each section as tshark 4.0 prints them (checked by
/// running tshark on the same concatenation), times stay exact.
#[test]
fn concatenated_pcapng_sections() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    let parts = [
        "netns-two-interfaces.pcapng",
        "pcapparser-test010-le.pcapng",
        "pcapparser-test016-be.pcapng",
        "netns-two-interfaces.pcapng",
    ];
    let mut bytes = vec![];
    let mut want: Vec<(String, String)> = vec![];
    for p in parts {
        bytes.extend(std::fs::read(real(p)).unwrap());
        let tsv = std::fs::read_to_string(real("expected").join(format!("{p}.tsv"))).unwrap();
        for row in tsv.lines().skip(1) {
            let c: Vec<&str> = row.split('\t').collect();
            let ts = if c[1].is_empty() { "0" } else { c[1] };
            want.push((nine_digits(ts), c[4].to_string()));
        }
    }
    let out = stdout_of("-", Some(&bytes));
    let text = String::from_utf8(out).unwrap();
    let got: Vec<&str> = text.lines().collect();
    assert_eq!(got.len(), want.len());
    let ifaces: Vec<u64> = got
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["iface"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        ifaces.iter().filter(|&&i| i == 1).count(),
        4,
        "two lo frames in each netns section"
    );
    for (i, (line, (ts, iface))) in got.iter().zip(&want).enumerate() {
        assert!(
            line.starts_with(&format!("{{\"type\":\"packet\",\"frame\":{},", i + 1)),
            "{line}"
        );
        assert_eq!(&nine_digits(ts_text(line)), ts, "frame {}", i + 1);
        assert_eq!(ifaces[i].to_string(), *iface, "frame {}", i + 1);
    }
}

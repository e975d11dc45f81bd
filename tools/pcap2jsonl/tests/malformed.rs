//! Every file in ../shared/captures/malformed: no panic, no hang (a timeout), bounded memory
//! (run under `ulimit -v`), the documented exit code and message with the byte offset, and at
//! least every packet tshark reads (its count is taken from MANIFEST.md).

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The corpus' malformed captures (tests ask `tcpwhy_tests::corpus()` first).
fn dir() -> PathBuf {
    tcpwhy_tests::shared_captures().join("malformed")
}

/// tshark's packet count for each file, from the manifest's table ("99, then …" → 99).
fn tshark_counts() -> BTreeMap<String, usize> {
    let manifest = std::fs::read_to_string(dir().join("../MANIFEST.md")).unwrap();
    let section = manifest
        .split("## malformed/")
        .nth(1)
        .expect("malformed section");
    let mut counts = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 5 || cells[1] == "file" || cells[1].starts_with("---") {
            continue;
        }
        let n: String = cells[3].chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = n.parse() {
            counts.insert(cells[1].to_string(), n);
        }
    }
    counts
}

struct Run {
    code: Option<i32>,
    records: usize,
    stdout: String,
    stderr: String,
}

/// Runs the binary on `file` with 20 s and 512 MiB of address space at most.
fn run(file: &Path) -> Run {
    let exe = env!("CARGO_BIN_EXE_pcap2jsonl");
    let child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 524288; exec \"$0\" \"$1\"")
        .arg(exe)
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let pid = child.id();
    // Watchdog: a hang fails the test instead of stalling it.
    let watchdog = std::thread::spawn(move || {
        while start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(100));
            if !Path::new(&format!("/proc/{pid}")).exists() {
                return false;
            }
        }
        let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        true
    });
    let out = child.wait_with_output().unwrap();
    let hung = start.elapsed() >= Duration::from_secs(20);
    drop(watchdog);
    assert!(!hung, "{}: no answer within 20 s", file.display());
    let stdout = String::from_utf8(out.stdout).unwrap();
    Run {
        code: out.status.code(),
        records: stdout.lines().count(),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// What the manifest asks of us for the files that are not simply "one record per frame, exit 0":
/// exit code, exact record count, and what stderr must say.
fn special(name: &str) -> Option<(i32, usize, &'static [&'static str])> {
    Some(match name {
        "empty-file.pcap" => (2, 0, &["empty-file.pcap: empty input: not a capture file"]),
        "empty.pcapng" | "header-only.pcap" => (0, 0, &[]),
        "garbage-mid.pcap" => (
            2,
            99,
            &["garbage-mid.pcap: damaged or corrupt at byte 54451: "],
        ),
        "huge-caplen-mid.pcap" => (
            2,
            49,
            &[
                "huge-caplen-mid.pcap: damaged or corrupt at byte 18725: ",
                "2147483647",
            ],
        ),
        "not-a-capture.txt" => (2, 0, &["not-a-capture.txt: not a capture file"]),
        "pcapng-bad-block-length.pcapng" => (
            2,
            2,
            &[
                "pcapng-bad-block-length.pcapng: damaged or corrupt at byte 872: ",
                "4294967280",
            ],
        ),
        "pcapparser-err-buffertoosmall.pcapng" => (0, 27, &[]),
        "pcapparser-modified-format.pcap" => (0, 1, &[]),
        "truncated-global-header.pcap" => (
            2,
            0,
            &[
                "truncated-global-header.pcap: cut short inside the pcap file header (20 of 24 bytes)",
            ],
        ),
        "truncated-last-record.pcap" => (
            0,
            178,
            &[
                "warning: ",
                "truncated-last-record.pcap: cut short in the middle of a packet at byte 71728",
            ],
        ),
        _ => return None,
    })
}

#[test]
fn every_malformed_capture() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    let counts = tshark_counts();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 30, "malformed captures missing");
    let mut failures = vec![];
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap().to_string();
        let r = run(f);
        let mut fail = |why: String| failures.push(format!("{name}: {why}\nstderr: {}", r.stderr));
        if r.stderr.contains("panicked") {
            fail("panicked".into());
            continue;
        }
        let Some(&tshark) = counts.get(&name) else {
            fail("not in MANIFEST.md".into());
            continue;
        };
        if r.records < tshark {
            fail(format!("{} records, tshark reads {tshark}", r.records));
        }
        for (i, l) in r.stdout.lines().enumerate() {
            if !l.starts_with(&format!("{{\"type\":\"packet\",\"frame\":{},", i + 1)) {
                fail(format!("record {} is not packet {}: {l}", i + 1, i + 1));
                break;
            }
        }
        match special(&name) {
            Some((code, records, needles)) => {
                if r.code != Some(code) {
                    fail(format!("exit {:?}, want {code}", r.code));
                }
                if r.records != records {
                    fail(format!("{} records, want {records}", r.records));
                }
                for n in needles {
                    if !r.stderr.contains(n) {
                        fail(format!("stderr lacks {n:?}"));
                    }
                }
                if needles.is_empty() && !r.stderr.is_empty() {
                    fail("unexpected diagnostics".into());
                }
            }
            None => {
                // Valid file structure, broken packets inside: one record per frame, exit 0.
                if r.code != Some(0) {
                    fail(format!("exit {:?}, want 0", r.code));
                }
                if r.records != tshark {
                    fail(format!("{} records, want {tshark}", r.records));
                }
                if !r.stderr.is_empty() {
                    fail("unexpected diagnostics".into());
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The damaged files read as a whole stream on stdin give the same records and offsets.
#[test]
fn damage_offsets_are_the_same_on_stdin() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    for (name, needle) in [
        (
            "garbage-mid.pcap",
            "<stdin>: damaged or corrupt at byte 54451: ",
        ),
        (
            "pcapng-bad-block-length.pcapng",
            "<stdin>: damaged or corrupt at byte 872: ",
        ),
        (
            "truncated-last-record.pcap",
            "<stdin>: cut short in the middle of a packet at byte 71728",
        ),
    ] {
        let data = std::fs::read(dir().join(name)).unwrap();
        let mut p2j = tcpwhy_tests::cli::Live::start("pcap2jsonl", &["-"]);
        // Small writes, so the reader sees the stream in pieces.
        for chunk in data.chunks(1000) {
            if p2j.send(chunk).is_err() {
                break;
            }
        }
        let (_, stderr) = p2j.wait();
        assert!(stderr.contains(needle), "{name}: {stderr}");
    }
}

//! Promises 5, 8 and 9, about how output is written: a closed stdout is a quiet success, a
//! record passed through comes out while the input is still open (and `--line-buffered`
//! changes only when), and every line is one JSON object starting `{"type":`.

use std::io::{BufRead, BufReader, Write};
use std::process::{ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{Tool, UNKNOWN, big_capture, capture, key, show, stages, text_lines};
/// `--line-buffered` (STYLE.md "I/O": flush per record with --line-buffered) is accepted by
/// every tool and changes only when output is written, never what.
pub fn line_buffered(t: &Tool) {
    let plain = t.run(&[], Some(&t.input));
    let lb = t.run_ok(&["--line-buffered"], Some(&t.input));
    assert!(
        lb.stdout == plain.stdout,
        "{}: --line-buffered changed the output",
        t.what()
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Closed stdout

pub fn closed_stdout(t: &Tool) {
    let input: Vec<u8> = if t.is_json() {
        // The realistic input, then enough pass-through records to fill every buffer between the
        // tool and the closed pipe many times (about 5.5 MB; pipes may be 1 MiB).
        let mut v = t.input.clone();
        for _ in 0..100_000 {
            v.extend_from_slice(UNKNOWN.as_bytes());
            v.push(b'\n');
        }
        v
    } else {
        if tcpwhy_tests::corpus().is_none() {
            return;
        }
        std::fs::read(big_capture()).unwrap()
    };
    let (child, mut sin, sout) = t.spawn(&[], Stdio::piped());
    let writer = std::thread::spawn(move || {
        let _ = sin.write_all(&input);
    });
    let mut sout = BufReader::new(sout);
    let mut first = String::new();
    sout.read_line(&mut first).unwrap();
    drop(sout); // `| head -1`
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        !first.is_empty(),
        "{}: no first line before the pipe was closed",
        t.what()
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}: a closed stdout must end it with status 0: {}",
        t.what(),
        show(&o)
    );
    assert!(
        o.stderr.is_empty(),
        "{}: a closed stdout must end it quietly: {}",
        t.what(),
        show(&o)
    );
}

// ---------------------------------------------------------------------------------------------
// 8. Streaming

/// Starts the tool on a pipe, writes `line` and keeps the pipe open: the first output line if it
/// comes within 3 s. Then closes the input and waits for the tool (killing our own child by its
/// handle if it does not end within 5 s).
fn first_line_while_open(t: &Tool, extra: &[&str], line: &str) -> (Option<String>, ExitStatus) {
    let (mut child, mut sin, sout) = t.spawn(extra, Stdio::null());
    sin.write_all(format!("{line}\n").as_bytes()).unwrap();
    sin.flush().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut r = BufReader::new(sout);
        let mut first = String::new();
        let _ = r.read_line(&mut first);
        let _ = tx.send(first);
        // Keep draining so the tool never blocks on a full pipe.
        let mut rest = vec![];
        let _ = std::io::Read::read_to_end(&mut r, &mut rest);
    });
    let got = rx.recv_timeout(Duration::from_secs(3)).ok();
    drop(sin); // end of input
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    reader.join().unwrap();
    (got.map(|l| l.trim_end_matches('\n').to_string()), status)
}

pub fn streaming(t: &Tool) {
    let (first, status) = first_line_while_open(t, &[], UNKNOWN);
    let first = first.unwrap_or_else(|| {
        panic!(
            "{}: a pass-through record did not come out within 3 s while the input stayed open \
             (it must stream; exit after stdin closed: {status})",
            t.what()
        )
    });
    assert_eq!(first, UNKNOWN, "{}: the first output line", t.what());
    assert!(status.success(), "{}: {status}", t.what());
}

/// Streaming of the records each tool documents as written at once: a DNS packet through
/// tcpflows ("passes through at once"), a flow without RST through ttlhops ("never held"), and
/// any flow with `--no-wait`; a flow through tcpflag --all and portmap.
pub fn streaming_records(t: &Tool) {
    let s = stages();
    let flows = text_lines(&s.flows);
    let first_flow = flows[0].clone();
    let unreset_flow = flows
        .iter()
        .find(|l| l.contains(r#""state":"SF""#) && l.contains(r#""rst":null"#))
        .cloned()
        .unwrap_or_else(|| panic!("no SF flow without RST in {}", capture().display()));
    let cases: Vec<(Vec<&str>, String)> = match t.name {
        "tcpflows" => vec![(vec![], s.dns_packet.clone())],
        "ttlhops" => vec![(vec![], unreset_flow), (vec!["--no-wait"], first_flow)],
        _ => vec![(vec![], text_lines(&t.input).remove(0))],
    };
    for (extra, line) in cases {
        let what = format!("{} {}", t.what(), extra.join(" "));
        let (first, status) = first_line_while_open(t, &extra, &line);
        let first = first.unwrap_or_else(|| {
            panic!(
                "{what}: {} did not come out within 3 s while the input stayed open (exit after \
                 stdin closed: {status})",
                key(&line).unwrap()
            )
        });
        let body = &line[..line.len() - 1];
        assert!(
            first == line || first.starts_with(&format!("{body},\"{}\":", t.bin)),
            "{what}: the first output line must be the record (or it enriched): {}",
            first.chars().take(300).collect::<String>()
        );
        assert!(status.success(), "{what}: {status}");
    }
}

// ---------------------------------------------------------------------------------------------
// 9. Every line a JSON object with "type" first

pub fn type_first(t: &Tool) {
    let mut outs = vec![(t.what(), t.run(&[], Some(&t.input)))];
    if t.bin == "pcap2jsonl" && tcpwhy_tests::corpus().is_some() {
        let big = big_capture().display().to_string();
        outs.push((
            format!("pcap2jsonl {big}"),
            tcpwhy_tests::run("pcap2jsonl", &[&big], None),
        ));
    }
    if t.bin == "portmap" {
        outs.push(("portmap --list".into(), t.run(&["--list"], Some(b""))));
    }
    for (what, o) in outs {
        assert!(o.status.success(), "{what}: {}", show(&o));
        assert!(!o.stdout.is_empty(), "{what} wrote nothing");
        assert!(
            o.stdout.ends_with(b"\n"),
            "{what}: the last line has no newline"
        );
        for (i, l) in text_lines(&o.stdout).iter().enumerate() {
            assert!(
                l.starts_with(r#"{"type":""#),
                "{what}: line {} does not start with {{\"type\":\": {:?}",
                i + 1,
                l.chars().take(200).collect::<String>()
            );
            let v: serde_json::Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{what}: line {} is not JSON: {e}", i + 1));
            assert!(v.is_object(), "{what}: line {} is not an object", i + 1);
            assert!(
                !l.contains('\n') && !l.contains('\r'),
                "{what}: line {} has a raw line break",
                i + 1
            );
        }
    }
}

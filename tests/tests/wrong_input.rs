//! Wrong input gets a plain answer, not parser jargon (issue 22): every JSON stage recognises a
//! capture file (pcap, pcapng, NetMon, gzip), a JSON array and pretty-printed JSON, and skips a
//! leading UTF-8 byte order mark; pcap2jsonl names what it read instead of a capture.

use std::process::Output;

use tcpwhy_tests::own_captures;

const STAGES: [&str; 4] = ["tcpflows", "ttlhops", "tcpflag", "portmap"];

fn run(tool: &str, args: &[&str], stdin: &[u8]) -> Output {
    tcpwhy_tests::run(tool, args, Some(stdin))
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_capture_given_to_a_json_stage() {
    let cap = own_captures().join("refused-2383.pcap");
    let name = cap.display().to_string();
    let bytes = std::fs::read(&cap).unwrap();
    for tool in STAGES {
        // As a file argument: the file is named in the command to run.
        let o = run(tool, &[name.as_str()], b"");
        assert_eq!(o.status.code(), Some(2), "{tool}");
        let e = err(&o);
        assert!(e.contains("this is a pcap capture"), "{tool}: {e}");
        assert!(
            e.contains(&format!("run `pcap2jsonl {name} | tcpflows | …` first")),
            "{tool}: {e}"
        );
        assert!(!e.contains("expected value"), "{tool}: {e}");
        // On standard input.
        let o = run(tool, &[], &bytes);
        assert_eq!(o.status.code(), Some(2), "{tool}");
        assert!(
            err(&o).contains("run `pcap2jsonl FILE | tcpflows | …` first"),
            "{tool}"
        );
        assert!(o.stdout.is_empty(), "{tool}");
    }
    // pcapng and NetMon magic too.
    for (magic, what) in [
        (&b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00"[..], "a pcapng capture"),
        (&b"GMBU\x02\x02\x00\x00"[..], "a NetMon capture"),
    ] {
        let e = err(&run("tcpflag", &[], magic));
        assert!(e.contains(&format!("this is {what}")), "{e}");
    }
}

#[test]
fn json_that_is_not_json_lines() {
    for tool in STAGES {
        let o = run(tool, &[], b"[{\"type\":\"flow\"},\n {\"type\":\"flow\"}]\n");
        assert_eq!(o.status.code(), Some(2), "{tool}");
        let e = err(&o);
        assert!(e.contains("a JSON array"), "{tool}: {e}");
        assert!(e.contains("one JSON object per line"), "{tool}: {e}");
        assert!(e.contains("`jq -c '.[]'"), "{tool}: {e}");
        let o = run(tool, &[], b"{\n  \"type\": \"x\"\n}\n");
        assert_eq!(o.status.code(), Some(2), "{tool}");
        let e = err(&o);
        assert!(e.contains("pretty-printed JSON"), "{tool}: {e}");
        assert!(e.contains("`jq -c ."), "{tool}: {e}");
        assert!(!e.contains("EOF while parsing a list"), "{tool}: {e}");
    }
    // A pretty-printed object whose first line holds a field.
    let e = err(&run("tcpflag", &[], b"{\"type\": \"x\",\n  \"a\": 1\n}\n"));
    assert!(e.contains("line 1"), "{e}");
    assert!(e.contains("pretty-printed JSON?"), "{e}");
    // Plain text.
    let e = err(&run("ttlhops", &[], b"hello\n"));
    assert!(e.contains("line 1: not a JSON object"), "{e}");
}

#[test]
fn a_leading_byte_order_mark_is_skipped() {
    let rec = b"{\"type\":\"x-custom\",\"a\":1}\n";
    for tool in ["tcpflows", "ttlhops", "portmap"] {
        let mut input = b"\xEF\xBB\xBF".to_vec();
        input.extend_from_slice(rec);
        let o = run(tool, &[], &input);
        assert!(o.status.success(), "{tool}: {}", err(&o));
        assert_eq!(
            o.stdout, rec,
            "{tool}: the record passes through without the BOM"
        );
    }
    let o = run(
        "tcpflag",
        &["--all"],
        b"\xEF\xBB\xBF{\"type\":\"x-custom\",\"a\":1}\n",
    );
    assert!(o.status.success(), "{}", err(&o));
}

#[test]
fn pcap2jsonl_names_what_it_read() {
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("notes.txt");
    std::fs::write(&txt, "GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let o = run("pcap2jsonl", &[txt.to_str().unwrap()], b"");
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(
        e.contains("not a capture file (pcap, pcapng, NetMon .cap, or gzip of one): a text file"),
        "{e}"
    );
    let etl = dir.path().join("trace.etl");
    std::fs::write(&etl, b"\x00\x00\x01\x00\x02\x00\x00\x00rest of a trace").unwrap();
    let e = err(&run("pcap2jsonl", &[etl.to_str().unwrap()], b""));
    assert!(e.contains("a Windows ETL trace"), "{e}");
    assert!(e.contains("pktmon etl2pcap"), "{e}");
    assert!(e.contains("etl2pcapng"), "{e}");
}

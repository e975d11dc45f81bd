//! Promises 4, 6 and 7: a damaged line or capture, a missing file and empty input, each
//! answered with the documented exit status and a message naming the input.

use super::{
    Tool, UNKNOWN, UNKNOWN_2, UNKNOWN_3, assert_error, join_lines, show, stages, stderr, text_lines,
};
use tcpwhy_tests::{records, shared_captures};

// ---------------------------------------------------------------------------------------------
// 4. Damaged lines

/// Five lines, the third `bad`: checks exit 2, the name and `line 3` on stderr, and that the two
/// records before it were written (when the tool passes them).
fn damaged_line_3(t: &Tool, bad: &str, what: &str) {
    let input = join_lines(&[
        UNKNOWN.into(),
        UNKNOWN_2.into(),
        bad.into(),
        UNKNOWN.into(),
        UNKNOWN_3.into(),
    ]);
    let expected_out: Vec<u8> = if t.passes {
        join_lines(&[UNKNOWN.into(), UNKNOWN_2.into()])
    } else {
        vec![]
    };
    let (f, p, _dir) = t.run_file(&input, "damaged.jsonl");
    let s = t.run(&[], Some(&input));
    for (o, name) in [(&f, p.display().to_string()), (&s, "<stdin>".to_string())] {
        let on = format!("{} on {what} on line 3 ({name})", t.what());
        assert_error(o, &[&name, "line 3"], &on);
        assert!(
            o.stdout == expected_out,
            "{} on {what}: the records before line 3 must be written (and nothing after): {}",
            t.what(),
            show(o)
        );
    }
}

pub fn malformed_line(t: &Tool) {
    damaged_line_3(t, "this is not json", "a line that is not JSON");
    // Blank lines are skipped but counted: the damage is still on line 3.
    let o = t.run(
        &[],
        Some(format!("{UNKNOWN}\n\nnot json\n{UNKNOWN}\n").as_bytes()),
    );
    let what = format!("{}: after a blank line 2, the bad line is line 3", t.what());
    assert_error(&o, &["<stdin>: line 3"], &what);
}

pub fn truncated_record(t: &Tool) {
    damaged_line_3(
        t,
        r#"{"type":"x-custom","a":[1,"#,
        "a record cut short (valid start, no end)",
    );
}

pub fn truncated_known_record(t: &Tool) {
    // A realistic record of a type this tool does not consume, cut in the middle (a copy cut
    // short, a crashed writer): a packet for tcpflag, a host record for the others.
    let full = if t.name == "tcpflag" {
        text_lines(&stages().packets).remove(0)
    } else {
        text_lines(&stages().hops)
            .into_iter()
            .find(|l| l.starts_with(r#"{"type":"host""#))
            .unwrap()
    };
    let cut = &full[..full.len() / 2];
    damaged_line_3(t, cut, "a known-type record cut in half");
}

/// JSON lines are UTF-8 (docs/schema.md, RFC 8259 §8.1): a record with an invalid byte in a
/// string is not JSON, an input error naming the line (as tcpflows reports it), never bytes
/// passed on to break the next stage's decoder.
pub fn invalid_utf8(t: &Tool) {
    let mut input = join_lines(&[UNKNOWN.into(), UNKNOWN_2.into()]);
    input.extend_from_slice(b"{\"type\":\"x-custom\",\"s\":\"caf\xe9 latin-1\"}\n");
    input.extend_from_slice(format!("{UNKNOWN}\n").as_bytes());
    let o = t.run(&[], Some(&input));
    let what = format!("{}: a record with invalid UTF-8 on line 3", t.what());
    assert_error(&o, &["<stdin>: line 3"], &what);
    let want = if t.passes {
        join_lines(&[UNKNOWN.into(), UNKNOWN_2.into()])
    } else {
        vec![]
    };
    assert!(
        o.stdout == want,
        "{}: records before line 3: {}",
        t.what(),
        show(&o)
    );
}

pub fn line_without_type(t: &Tool) {
    let input = join_lines(&[
        UNKNOWN.into(),
        UNKNOWN_2.into(),
        r#"{"a":1,"b":"x"}"#.into(),
        UNKNOWN.into(),
    ]);
    let o = t.run(&[], Some(&input));
    let what = format!("{}: a line without \"type\" (line 3)", t.what());
    assert_error(&o, &["<stdin>", "line 3", "type"], &what);
    if t.passes {
        assert!(
            o.stdout == join_lines(&[UNKNOWN.into(), UNKNOWN_2.into()]),
            "{}: records before the damage must be written: {}",
            t.what(),
            show(&o)
        );
    }
}

/// pcap2jsonl's version of promise 4: a capture damaged in the middle.
pub fn damaged_capture(t: &Tool) {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    let p = shared_captures().join("malformed/garbage-mid.pcap");
    let name = p.display().to_string();
    let o = t.run(&[&name], None);
    assert_error(&o, &[&name, "byte 54451"], &format!("{} {name}", t.what()));
    let recs = records(&o.stdout);
    assert_eq!(
        recs.len(),
        99,
        "{}: the 99 packets before the damage must be written",
        t.what()
    );
    let s = t.run(&[], Some(&std::fs::read(&p).unwrap()));
    let what = format!("{} < {name}", t.what());
    assert_error(&s, &["<stdin>"], &what);
    assert!(s.stdout == o.stdout, "{what}: {}", show(&s));
}

/// Promise 4's message: a wrong-typed 10 MiB string is quoted to at most 200 bytes with its
/// length (issue 16, item 3: the whole value reached stderr).
pub fn long_value_quoted_briefly(t: &Tool) {
    let big = "A".repeat(10 << 20);
    let (ty, field) = if t.bin == "tcpflows" {
        ("packet", "\"src_port\":")
    } else {
        ("flow", "\"established\":")
    };
    let line = text_lines(&t.input)
        .into_iter()
        .find(|l| l.starts_with(&format!("{{\"type\":\"{ty}\"")) && l.contains(field))
        .unwrap_or_else(|| panic!("{}: no {ty} record with {field}", t.what()));
    let at = line.find(field).unwrap() + field.len();
    let end = at + line[at..].find([',', '}']).unwrap();
    let bad = format!("{}\"{big}\"{}", &line[..at], &line[end..]);
    let o = t.run(&[], Some(&join_lines(&[UNKNOWN.into(), bad])));
    let quoted = format!("AAAA…\" ({} bytes)", big.len());
    assert_error(&o, &["<stdin>: line 2: ", &quoted], &t.what());
    let err = stderr(&o);
    assert!(
        err.len() < 1000,
        "{}: {} bytes on stderr for one error",
        t.what(),
        err.len()
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Missing input file

pub fn missing_file(t: &Tool) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("no-such-input.jsonl");
    let name = p.display().to_string();
    let o = t.run(&[&name], None);
    let what = format!("{} {name} (missing)", t.what());
    assert_error(&o, &[&name], &what);
    assert!(o.stdout.is_empty(), "{what}: {}", show(&o));
    if t.bin == "portmap" {
        // The listing is an input too.
        let o = tcpwhy_tests::run("portmap", &["--listeners", &name], Some(&t.input));
        let what = format!("portmap --listeners {name} (missing)");
        assert_error(&o, &[&name], &what);
        assert!(o.stdout.is_empty(), "{what}: {}", show(&o));
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Empty input

pub fn empty_input(t: &Tool) {
    let (f, p, _dir) = t.run_file(b"", "empty");
    let s = t.run(&[], Some(b""));
    if !t.is_json() {
        // docs/pcap2jsonl.md: "empty input: not a capture file", exit 2.
        for (o, name) in [(&f, p.display().to_string()), (&s, "<stdin>".to_string())] {
            let what = format!("{} on empty {name}", t.what());
            assert_error(o, &[&name, "empty", "not a capture"], &what);
            assert!(o.stdout.is_empty(), "{what}: {}", show(o));
        }
        return;
    }
    // portmap with --listeners and no records lists the listeners (docs/portmap.md
    // "Standalone"), exactly as --list does.
    let expected: &[u8] = if t.bin == "portmap" {
        &stages().listeners
    } else {
        b""
    };
    for (o, name) in [(&f, p.display().to_string()), (&s, "<stdin>".to_string())] {
        assert!(
            o.status.success() && o.stdout == expected && o.stderr.is_empty(),
            "{} on an empty {name}: exit 0, no diagnostics and {} expected: {}",
            t.what(),
            if expected.is_empty() {
                "no output".to_string()
            } else {
                "the --list output".to_string()
            },
            show(o)
        );
    }
    if t.bin == "portmap" {
        let o = tcpwhy_tests::run::<&str>("portmap", &[], Some(b""));
        assert!(
            o.status.success() && o.stdout.is_empty() && o.stderr.is_empty(),
            "portmap on empty input without listings: {}",
            show(&o)
        );
    }
}

//! Promise 3: records a tool does not consume pass through byte for byte and in order, whatever
//! their size or spelling; 3b: an enriching tool adds one field named after itself.

use super::{Tool, UNKNOWN, UNKNOWN_2, UNKNOWN_3, join_lines, key, show, text_lines};

// ---------------------------------------------------------------------------------------------
// 3. Pass-through

pub fn pass_through_unknown(t: &Tool) {
    let lines = text_lines(&t.input);
    let mid = lines.len() / 2;
    let mut input = vec![UNKNOWN.to_string()];
    input.extend_from_slice(&lines[..mid]);
    input.push(UNKNOWN_2.to_string());
    input.extend_from_slice(&lines[mid..]);
    input.push(UNKNOWN_3.to_string());

    let base = t.run_ok(&[], Some(&t.input));
    let o = t.run_ok(&[], Some(&join_lines(&input)));
    let out = text_lines(&o.stdout);
    let unknowns = [UNKNOWN, UNKNOWN_2, UNKNOWN_3];
    let is_unknown = |l: &String| unknowns.contains(&l.as_str());
    let rest: Vec<String> = out.iter().filter(|l| !is_unknown(l)).cloned().collect();
    assert!(
        join_lines(&rest) == base.stdout,
        "{}: unknown records changed the rest of the output\nwith: {}\nwithout: {}",
        t.what(),
        show(&o),
        show(&base)
    );
    let seen: Vec<&str> = out
        .iter()
        .filter(|l| is_unknown(l))
        .map(String::as_str)
        .collect();
    if !t.passes {
        // tcpflag's default output is findings only (docs/tcpflag.md).
        assert!(
            seen.is_empty(),
            "{}: documented to write findings only, but wrote {seen:?}",
            t.what()
        );
        return;
    }
    assert_eq!(
        seen,
        unknowns,
        "{}: unknown records at the start, middle and end must come out byte for byte, in order \
         (other lines containing x-custom: {:?})",
        t.what(),
        out.iter()
            .filter(|l| l.contains("x-custom") && !is_unknown(l))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        out[0],
        UNKNOWN,
        "{}: the unknown first record must be the first output",
        t.what()
    );
    // Relative order: input records the tool writes on (passed or enriched) keep their side of
    // the middle unknown record.
    let before: Vec<String> = lines[..mid].iter().filter_map(|l| key(l)).collect();
    let after: Vec<String> = lines[mid..].iter().filter_map(|l| key(l)).collect();
    let pos = |u: &str| out.iter().position(|l| l == u).unwrap();
    let (p1, p2, p3) = (pos(UNKNOWN), pos(UNKNOWN_2), pos(UNKNOWN_3));
    for (i, l) in out.iter().enumerate() {
        let Some(k) = key(l) else { continue };
        let (side, from, to) = if before.contains(&k) {
            ("before", p1, p2)
        } else if after.contains(&k) {
            ("after", p2, p3)
        } else {
            continue;
        };
        assert!(
            from < i && i < to,
            "{}: input record {k} ({side} the middle unknown record) came out at line {} \
             (unknown records at {}, {}, {})",
            t.what(),
            i + 1,
            p1 + 1,
            p2 + 1,
            p3 + 1
        );
    }
}

/// A last line without its newline (a file cut by `head -c`, a writer that never ends its last
/// line) is still a whole record: it passes through with the newline added.
pub fn last_line_without_newline(t: &Tool) {
    let mut input = t.input.clone();
    input.extend_from_slice(UNKNOWN.as_bytes());
    let o = t.run_ok(&[], Some(&input));
    let out = text_lines(&o.stdout);
    assert_eq!(
        out.iter().filter(|l| l.as_str() == UNKNOWN).count(),
        1,
        "{}: the last record, without a newline, must pass through: {}",
        t.what(),
        show(&o)
    );
    assert!(
        o.stdout.ends_with(b"\n"),
        "{}: output must end with a newline",
        t.what()
    );
}

/// A 3 MB record and one nested 100,000 deep pass through byte for byte: no line-length or
/// recursion limit below the documented 64 MiB, no crash.
pub fn long_and_deep_records(t: &Tool) {
    let long = format!(r#"{{"type":"x-long","s":"{}"}}"#, "a".repeat(3_000_000));
    let deep = format!(
        r#"{{"type":"x-deep","d":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let input = join_lines(&[long.clone(), UNKNOWN.into(), deep.clone()]);
    let o = t.run_ok(&[], Some(&input));
    let want: &[u8] = if t.passes { &input } else { b"" };
    assert!(
        o.stdout == want,
        "{}: a 3 MB record and a 100,000-deep one must pass byte for byte (got {} bytes of {})",
        t.what(),
        o.stdout.len(),
        want.len()
    );
}

pub fn pass_through_known(t: &Tool) {
    let lines = text_lines(&t.input);
    let mid = lines.len() / 2;
    let k = &t.known_foreign;
    assert!(!k.is_empty());
    let mut input = k.clone();
    input.extend_from_slice(&lines[..mid]);
    input.extend_from_slice(k);
    input.extend_from_slice(&lines[mid..]);
    let o = t.run_ok(&[], Some(&join_lines(&input)));
    let out = text_lines(&o.stdout);
    let seen: Vec<&String> = out.iter().filter(|l| k.contains(l)).collect();
    let want: Vec<&String> = k.iter().chain(k.iter()).collect();
    if seen != want {
        let missing: Vec<String> = k
            .iter()
            .filter(|l| !out.contains(l))
            .map(|l| {
                let ty = key(l).unwrap_or_default();
                let similar = out
                    .iter()
                    .find(|o| key(o).as_deref() == Some(ty.as_str()))
                    .map(|o| o.chars().take(300).collect::<String>());
                format!("{ty} (came out as {similar:?})")
            })
            .collect();
        panic!(
            "{}: records of known types it does not consume must pass through byte for byte and \
             in order; missing or changed: {missing:?}; got {} of {} in order {:?}",
            t.what(),
            seen.len(),
            want.len(),
            seen.iter().map(|l| key(l)).collect::<Vec<_>>()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3b. Enrichment: one field named after the tool, the rest of the record byte for byte, unknown
// fields kept (docs/schema.md, contract rules 2 and 5).

/// Adds an unknown field (and an unusual number spelling) to every record of the types the tool
/// enriches, and checks each output record is the input record with exactly one field, named
/// after the tool, spliced in before the closing brace.
pub fn enrichment(t: &Tool) {
    let enriched: &[&str] = match t.bin {
        "ttlhops" => &["flow"],
        "portmap" => &["flow", "finding"],
        // tcpflag --all writes its input records unchanged.
        _ => &[],
    };
    let extra = r#","x_site":{"note":"kept é","v":1.50,"l":[null]}}"#;
    let input: Vec<String> = text_lines(&t.input)
        .into_iter()
        .map(|l| {
            let ty = l.split('"').nth(3).unwrap_or("").to_string();
            if ["flow", "finding", "host"].contains(&ty.as_str()) {
                format!("{}{extra}", &l[..l.len() - 1])
            } else {
                l
            }
        })
        .collect();
    let o = t.run_ok(&[], Some(&join_lines(&input)));
    let out = text_lines(&o.stdout);
    let mut checked = 0;
    for rec in input.iter().filter(|l| l.contains("\"x_site\"")) {
        let k = key(rec).unwrap();
        let got: Vec<&String> = out
            .iter()
            .filter(|l| key(l).as_deref() == Some(&k))
            .collect();
        assert_eq!(got.len(), 1, "{}: {k} must come out once", t.what());
        let got = got[0];
        let ty = k.split(':').next().unwrap();
        if !enriched.contains(&ty) {
            assert_eq!(
                got,
                rec,
                "{}: {k} is not enriched by this tool and must pass byte for byte",
                t.what()
            );
            continue;
        }
        let body = &rec[..rec.len() - 1];
        let field = format!(",\"{}\":", t.bin);
        assert!(
            got.starts_with(body) && got[body.len()..].starts_with(&field) && got.ends_with('}'),
            "{}: {k} must be the input record byte for byte (unknown fields included) with \
             `{field}…` added before the closing brace:\nin:  {rec}\nout: {}",
            t.what(),
            got.chars().take(body.len() + 200).collect::<String>()
        );
        // Exactly one field added: the object has one key more than the input's.
        let a: serde_json::Value = serde_json::from_str(rec).unwrap();
        let b: serde_json::Value = serde_json::from_str(got).unwrap();
        let keys =
            |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        let mut want = keys(&a);
        want.push(t.bin.to_string());
        assert_eq!(
            keys(&b),
            want,
            "{}: {k}: only `{}` may be added",
            t.what(),
            t.bin
        );
        checked += 1;
    }
    if !enriched.is_empty() {
        assert!(checked > 0, "{}: no enriched record was checked", t.what());
    }
}

/// Running an enriching stage again (a pipeline re-run on its own output, or the stage placed
/// twice) replaces its field instead of adding a second one: the enriched records come out the
/// same as after one run.
pub fn enrichment_again(t: &Tool) {
    let once = t.run_ok(&[], Some(&t.input));
    let twice = t.run_ok(&[], Some(&once.stdout));
    let field = format!("\"{}\":", t.bin);
    let enriched = |buf: &[u8]| -> Vec<String> {
        text_lines(buf)
            .into_iter()
            .filter(|l| l.contains(&field))
            .collect()
    };
    let (a, b) = (enriched(&once.stdout), enriched(&twice.stdout));
    assert!(!a.is_empty(), "{}: nothing enriched", t.what());
    for l in &b {
        assert_eq!(
            l.matches(&field).count(),
            1,
            "{}: a second run must replace `{field}`, not add another: {}",
            t.what(),
            l.chars().take(300).collect::<String>()
        );
    }
    assert!(
        a == b,
        "{}: enriched records differ after a second run",
        t.what()
    );
}

/// Promises 3 and 9 meet (issue 16, item 7): a record passed through keeps its bytes even when
/// it does not start `{"type":"` (spaces around the colon, leading whitespace, `type` not first,
/// a known type respelled); promise 9 is about the records a tool writes itself, which all
/// still start `{"type":"`. A CRLF line end is a line end, not part of the record: `\n` out.
pub fn pass_through_any_spelling(t: &Tool) {
    let foreign = t
        .known_foreign
        .first()
        .cloned()
        .unwrap_or_else(|| UNKNOWN.to_string());
    let respelled = format!(" {}", foreign.replacen("{\"type\":", "{ \"type\" :", 1));
    assert_ne!(respelled, format!(" {foreign}"), "{foreign}");
    let odd: Vec<String> = vec![
        r#"{"type" : "zzz"}"#.into(),
        r#"  {"type":"zzz","a":1}"#.into(),
        r#"{"a":[1],"type":"zzz"}"#.into(),
        "\t{ \"type\":\"zzz\" }  ".into(),
        respelled,
    ];
    let mut input = join_lines(&odd);
    input.extend_from_slice(b"{\"type\":\"zzz\",\"crlf\":1}\r\n");
    input.extend_from_slice(&t.input);
    let base = t.run_ok(&[], Some(&t.input));
    let o = t.run_ok(&[], Some(&input));
    if !t.passes {
        assert!(
            o.stdout == base.stdout,
            "{}: findings only, whatever the spelling: {}",
            t.what(),
            show(&o)
        );
        return;
    }
    let mut want = join_lines(&odd);
    want.extend_from_slice(b"{\"type\":\"zzz\",\"crlf\":1}\n");
    want.extend_from_slice(&base.stdout);
    assert!(
        o.stdout == want,
        "{}: records passed through must keep their bytes, whatever their spelling, and change \
         nothing else: {}",
        t.what(),
        show(&o)
    );
    // What the tool writes itself still starts `{"type":"` (promise 9).
    for l in text_lines(&base.stdout) {
        assert!(l.starts_with(r#"{"type":""#), "{}: {l:.200}", t.what());
    }
}

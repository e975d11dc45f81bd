//! Findings people read at a glance (issue 22): tcpflag's text report groups findings, puts a
//! verdict block on top and honest totals at the end; JSON output keeps every finding.

use tcpwhy_tests::{own_captures, pipeline};

/// `pcap2jsonl CAPTURE | tcpflows | ttlhops | tcpflag ARGS…`, stdout of tcpflag.
fn flag(capture: &str, args: &[&str]) -> String {
    let cap = own_captures().join(capture).display().to_string();
    let outs = pipeline(
        &[
            ("pcap2jsonl", &[cap.as_str()]),
            ("tcpflows", &[]),
            ("ttlhops", &[]),
            ("tcpflag", args),
        ],
        None,
    );
    let last = outs.last().unwrap();
    assert!(
        last.status.success(),
        "tcpflag failed: {}",
        String::from_utf8_lossy(&last.stderr)
    );
    String::from_utf8(last.stdout.clone()).unwrap()
}

fn tcpflag_stdin(input: &[u8], args: &[&str]) -> String {
    let outs = pipeline(&[("tcpflag", args)], Some(input));
    String::from_utf8(outs[0].stdout.clone()).unwrap()
}

#[test]
fn many_failures_to_one_server_are_one_paragraph() {
    let json = flag("intermittent-rr.pcap", &[]);
    let zw = json
        .lines()
        .filter(|l| l.contains("\"kind\":\"zero_window_at_handshake\""))
        .count();
    assert_eq!(zw, 4, "JSON keeps every finding:\n{json}");
    let text = flag("intermittent-rr.pcap", &["--format", "text", "--no-ladder"]);
    assert!(text.starts_with("2 problems:\n  ERROR   "), "{text}");
    let paras: Vec<&str> = text
        .split("\n\n")
        .filter(|p| p.starts_with("ERROR   zero_window_at_handshake"))
        .collect();
    assert_eq!(paras.len(), 1, "one paragraph for the 4 findings:\n{text}");
    let p = paras[0];
    assert!(
        p.contains(
            "zero_window_at_handshake ×4: 4 connections from 198.51.100.10 to 203.0.113.13:80"
        ),
        "{p}"
    );
    assert!(p.contains(" UTC"), "time span: {p}");
    assert!(p.contains("first: 198.51.100.10:44628"), "{p}");
    assert!(p.contains("evidence: frames 28, 30, 31, 32, 33"), "{p}");
    assert!(
        text.trim_end()
            .ends_with("5 findings (5 errors) in 12 connections, shown as 2 groups"),
        "{text}"
    );
}

#[test]
fn honest_totals() {
    assert_eq!(
        tcpflag_stdin(b"", &["--format", "text"]),
        "no input records (did the previous stage fail?)\n"
    );
    // The DNS packets of a lab capture alone: a DNS-only capture.
    let cap = own_captures()
        .join("intermittent-rr.pcap")
        .display()
        .to_string();
    let packets = pipeline(&[("pcap2jsonl", &[cap.as_str()])], None);
    let dns: String = String::from_utf8(packets[0].stdout.clone())
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"dns\":{"))
        .map(|l| format!("{l}\n"))
        .collect();
    let outs = pipeline(
        &[("tcpflows", &[]), ("tcpflag", &["--format", "text"])],
        Some(dns.as_bytes()),
    );
    let text = String::from_utf8(outs[1].stdout.clone()).unwrap();
    assert_eq!(text, "no TCP connections (24 DNS packets)\n");
    let text = flag("healthy.pcap", &["--format", "text"]);
    assert!(text.ends_with("connections look healthy\n"), "{text}");
    assert!(!text.contains("1 connection look "), "{text}");
}

/// The text report of a seed case, ladder included, against its golden file (reviewed by hand;
/// `UPDATE_GOLDEN=1` rewrites them).
fn golden(capture: &str, golden: &str) {
    let text = flag(capture, &["--format", "text"]);
    let path = tcpwhy_tests::root().join("tests/golden").join(golden);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        want,
        "{capture}: text output differs from {}",
        path.display()
    );
}

#[test]
fn ladder_of_the_refused_seed_case() {
    golden("refused-2383.pcap", "refused-2383.txt");
}

#[test]
fn ladder_of_the_zero_window_seed_case() {
    golden("zero-window-synack.pcap", "zero-window-synack.txt");
    golden("intermittent-rr.pcap", "intermittent-rr.txt");
}

#[test]
fn no_ladder_drops_it() {
    let text = flag(
        "zero-window-synack.pcap",
        &["--format", "text", "--no-ladder"],
    );
    assert!(!text.contains("ladder"), "{text}");
    assert!(!text.contains('◆'), "{text}");
    let json = flag("zero-window-synack.pcap", &[]);
    assert!(
        !json.contains("ladder"),
        "JSON findings are unchanged: {json}"
    );
}

/// Cells of a markdown table row (`|` escaped as `\|` stays inside a cell).
fn cells(row: &str) -> usize {
    let mut n = 0;
    let mut prev = ' ';
    for c in row.chars() {
        if c == '|' && prev != '\\' {
            n += 1;
        }
        prev = c;
    }
    n - 1
}

#[test]
fn markdown_has_verdict_table_ladders_and_checklist() {
    for (cap, groups) in [
        ("intermittent-rr.pcap", 2),
        ("refused-2383.pcap", 1),
        ("middlebox-reset.pcap", 1),
    ] {
        let md = flag(cap, &["--format", "markdown"]);
        let lines: Vec<&str> = md.lines().collect();
        assert!(lines[0].starts_with("# tcpflag: "), "{cap}: {md}");
        assert!(lines[0].contains(if groups == 1 {
            "1 problem"
        } else {
            "2 problems"
        }));
        // The verdict: one bullet per group before the table.
        let table = lines
            .iter()
            .position(|l| *l == "## Findings")
            .expect("table");
        let bullets = lines[..table]
            .iter()
            .filter(|l| l.starts_with("- **"))
            .count();
        assert_eq!(bullets, groups, "{cap}: {md}");
        // The table: header, separator, one row per group, same number of cells.
        let head = lines[table + 2];
        assert!(
            head.starts_with("| # | severity | kind | server |"),
            "{head}"
        );
        let n = cells(head);
        assert_eq!(lines[table + 3], format!("|{}", "---|".repeat(n)));
        for row in &lines[table + 4..table + 4 + groups] {
            assert_eq!(cells(row), n, "{cap}: {row}");
        }
        assert!(lines[table + 4 + groups].is_empty());
        // Ladders in closed code blocks.
        let fences = lines.iter().filter(|l| l.starts_with("```")).count();
        assert!(fences >= 2 && fences % 2 == 0, "{cap}: {md}");
        assert!(lines.contains(&"```text"), "{cap}");
        assert!(md.contains("├─ SYN "), "{cap}: a ladder");
        // Next steps as a checklist.
        let steps = lines
            .iter()
            .position(|l| *l == "## Next steps")
            .expect("steps");
        let items = lines[steps..]
            .iter()
            .filter(|l| l.starts_with("- [ ] **"))
            .count();
        assert_eq!(items, groups, "{cap}");
        assert!(
            lines.last().unwrap().contains(" in ") && lines.last().unwrap().contains("connections"),
            "{cap}: totals last"
        );
        assert!(!md.contains("\n\n\n"), "{cap}");
    }
    let md = flag("healthy.pcap", &["--format", "markdown"]);
    assert!(md.starts_with("# tcpflag: no findings: "), "{md}");
}

/// Runs `tcpflag ARGS… FILE` on a pseudo-terminal (`script -qc`), COLUMNS=70; None when
/// `script` is missing.
fn on_tty(file: &std::path::Path, args: &str, no_color: bool) -> Option<String> {
    let tcpflag = tcpwhy_tests::bin("tcpflag");
    let cmd = format!("{} {args} {}", tcpflag.display(), file.display());
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &cmd, "/dev/null"])
        .env("COLUMNS", "70")
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::null());
    if no_color {
        c.env("NO_COLOR", "1");
    } else {
        c.env_remove("NO_COLOR");
    }
    let o = c.output().ok()?;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some(String::from_utf8_lossy(&o.stdout).replace("\r\n", "\n"))
}

#[test]
fn colour_and_wrapping_only_on_a_terminal() {
    let cap = own_captures()
        .join("intermittent-rr.pcap")
        .display()
        .to_string();
    let outs = pipeline(
        &[
            ("pcap2jsonl", &[cap.as_str()]),
            ("tcpflows", &[]),
            ("ttlhops", &[]),
        ],
        None,
    );
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("flows.jsonl");
    std::fs::write(&flows, &outs[2].stdout).unwrap();
    let flows_s = flows.display().to_string();
    let run = |args: &[&str]| {
        let mut a = args.to_vec();
        a.push(flows_s.as_str());
        String::from_utf8(pipeline(&[("tcpflag", &a)], None)[0].stdout.clone()).unwrap()
    };
    // Piped: no colour, lines as long as they are.
    let piped = run(&["--format", "text"]);
    assert!(!piped.contains('\x1b'), "{piped}");
    assert!(
        piped.lines().any(|l| l.chars().count() > 200),
        "unwrapped when piped"
    );
    // --color always / never win over the terminal test.
    assert!(run(&["--format", "text", "--color", "always"]).contains("\x1b[1;31mERROR\x1b[0m"));
    let Some(tty) = on_tty(&flows, "--format text", false) else {
        tcpwhy_tests::skip(
            "`script` (util-linux) is not installed: no pseudo-terminal test",
            "apt-get install bsdutils",
        );
        return;
    };
    assert!(tty.contains("\x1b[1;31mERROR\x1b[0m"), "{tty}");
    for l in tty.lines().filter(|l| !l.contains('│') && !l.contains('┊')) {
        let plain = l
            .replace("\x1b[1;31m", "")
            .replace("\x1b[0m", "")
            .replace("\x1b[1m", "");
        assert!(plain.chars().count() <= 70, "wrapped to COLUMNS=70: {l:?}");
    }
    let no = on_tty(&flows, "--format text", true).unwrap();
    assert!(!no.contains('\x1b'), "NO_COLOR respected: {no}");
    let always = on_tty(&flows, "--format text --color never", false).unwrap();
    assert!(!always.contains('\x1b'), "{always}");
}

#[test]
fn line_buffered_text_streams_findings_then_the_verdict() {
    let text = flag(
        "intermittent-rr.pcap",
        &["--format", "text", "--line-buffered"],
    );
    let paras: Vec<&str> = text.split("\n\n").collect();
    assert!(
        paras[0].starts_with("ERROR   zero_window_at_handshake: 198.51.100.10:44628"),
        "each finding first, as it comes: {text}"
    );
    let zw = paras
        .iter()
        .filter(|p| p.starts_with("ERROR   zero_window_at_handshake:"))
        .count();
    assert_eq!(zw, 4, "{text}");
    assert!(text.contains("\n\n2 problems:\n  ERROR   "), "{text}");
    assert!(
        text.ends_with("in 12 connections, shown as 2 groups\n"),
        "{text}"
    );
}

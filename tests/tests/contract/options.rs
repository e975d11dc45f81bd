//! Promises 1 and 2: `--help`, `--version` and an unknown flag; a FILE, `-` and no argument
//! read the same, and several FILEs read as one stream.

use super::{Tool, assert_error, join_lines, show, stderr, text_lines};

// ---------------------------------------------------------------------------------------------
// 1. --help, --version, unknown flag

pub fn help(t: &Tool) {
    let o = tcpwhy_tests::run(t.bin, &["--help"], None);
    assert!(o.status.success(), "{} --help: {}", t.bin, show(&o));
    assert!(
        o.stderr.is_empty(),
        "{} --help wrote on stderr: {}",
        t.bin,
        stderr(&o)
    );
    let text = String::from_utf8_lossy(&o.stdout);
    let example = text
        .lines()
        .any(|l| l.contains(t.bin) && l.contains(" | ") && l.contains("pcap2jsonl"));
    assert!(
        example,
        "{} --help shows no example pipeline (a line with `pcap2jsonl … | … {}`):\n{text}",
        t.bin, t.bin
    );
    // The paragraphs that document the exit status (a paragraph may wrap over several lines).
    let exit_text: Vec<&str> = text
        .split("\n\n")
        .filter(|p| p.to_lowercase().contains("exit status"))
        .collect();
    assert!(
        !exit_text.is_empty(),
        "{} --help does not document the exit status:\n{text}",
        t.bin
    );
    let exit_text = exit_text.join("\n");
    assert!(
        exit_text.contains("0 ok") && exit_text.contains("2 usage"),
        "{} --help's exit status must name 0 (ok) and 2 (usage or input error): {exit_text:?}",
        t.bin
    );
}

pub fn version(t: &Tool) {
    let o = tcpwhy_tests::run(t.bin, &["--version"], None);
    assert!(o.status.success(), "{} --version: {}", t.bin, show(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        text.trim(),
        format!("{} {}", t.bin, env!("CARGO_PKG_VERSION")),
        "{} --version",
        t.bin
    );
    assert!(o.stderr.is_empty(), "{} --version: {}", t.bin, show(&o));
}

pub fn unknown_flag(t: &Tool) {
    let o = t.run(&["--no-such-flag-xyz"], Some(&t.input));
    let what = format!("{} --no-such-flag-xyz (a usage error)", t.what());
    assert_error(&o, &["--no-such-flag-xyz"], &what);
    assert!(o.stdout.is_empty(), "{what}: wrote on stdout: {}", show(&o));
}

// ---------------------------------------------------------------------------------------------
// 2. FILE, `-` and no argument read the same

pub fn file_and_stdin(t: &Tool) {
    let (from_file, p, _dir) = t.run_file(&t.input, "input");
    assert!(
        from_file.status.success(),
        "{} {}: {}",
        t.what(),
        p.display(),
        show(&from_file)
    );
    assert!(
        !from_file.stdout.is_empty(),
        "{} wrote nothing on its realistic input",
        t.what()
    );
    let dash = t.run_ok(&["-"], Some(&t.input));
    let none = t.run_ok(&[], Some(&t.input));
    for (how, o) in [("`-` (stdin)", &dash), ("no argument (stdin)", &none)] {
        assert!(
            from_file.stdout == o.stdout,
            "{}: FILE and {how} give different output:\nfile: {}\n{how}: {}",
            t.what(),
            show(&from_file),
            show(o)
        );
    }
}

/// Several FILEs are read in order, as one stream (pcap2jsonl: each its own capture, frames
/// numbered from 1 again); a damaged line names its own file and its line in that file.
pub fn several_files(t: &Tool) {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let whole = t.run_ok(&[], Some(&t.input));
    if !t.is_json() {
        std::fs::write(&a, &t.input).unwrap();
        let o = t.run_ok(&[a.to_str().unwrap(), "-"], Some(&t.input));
        assert!(
            o.stdout == [whole.stdout.clone(), whole.stdout].concat(),
            "{} FILE -: must be each capture's records in turn",
            t.what()
        );
        return;
    }
    let lines = text_lines(&t.input);
    let mid = lines.len() / 2;
    std::fs::write(&a, join_lines(&lines[..mid])).unwrap();
    let mut second = lines[mid..].to_vec();
    std::fs::write(&b, join_lines(&second)).unwrap();
    let (an, bn) = (a.to_str().unwrap(), b.to_str().unwrap());
    let o = t.run_ok(&[an, bn], None);
    assert!(
        o.stdout == whole.stdout,
        "{}: `a b` must read as `cat a b |`:\n{}\n{}",
        t.what(),
        show(&o),
        show(&whole)
    );
    second.push("not json".into());
    std::fs::write(&b, join_lines(&second)).unwrap();
    let o = t.run(&[an, bn], None);
    let want = format!("{bn}: line {}", second.len());
    let what = format!("{}: a bad last line of the second file", t.what());
    assert_error(&o, &[&want], &what);
}

//! Windows listings in other display languages and encodings, and damaged listings (issue 16,
//! reproducer 8). The localized fixtures (`tests/fixtures/localized/`) are written byte for
//! byte by `make.py` there: Japanese in CP932 / UTF-16 / UTF-8, Chinese in CP936, German and
//! Spanish with their translated state words in CP850, French `netstat -anob` in UTF-16 and
//! CP850, a UTF-16 netstat with a tasklist appended in UTF-8 or CP850.

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

mod common;

use common::{Row, err_of, fixture, list, localized, row, rows};
use serde_json::Value;
use tcpwhy_tests::cli::TempFile;

/// The listeners of the one machine make.py writes in every language (RPC on 135 over both
/// families, SSAS 2000 on 2725), with those of this language's listing: sorted rows.
fn the_machine_and(extra: &[Row]) -> Vec<Row> {
    let mut v = vec![
        row("tcp", "0.0.0.0", 135, 956, None),
        row("tcp", "0.0.0.0", 2725, 2344, None),
        row("tcp", "::", 135, 956, None),
    ];
    v.extend_from_slice(extra);
    v.sort();
    v
}

#[test]
fn japanese_netstat_in_every_encoding() {
    let want = rows(&list(&["-l", &localized("netstat-ano-ja-utf8.txt")]).0);
    let ja = [
        row("tcp", "0.0.0.0", 445, 4, None),
        row("tcp", "127.0.0.1", 1434, 1580, None),
        row("udp", "0.0.0.0", 1434, 1580, None),
    ];
    assert_eq!(want, the_machine_and(&ja));
    for f in ["netstat-ano-ja-cp932.txt", "netstat-ano-ja-utf16.txt"] {
        let (v, err) = list(&["-l", &localized(f)]);
        assert_eq!(rows(&v), want, "{f}");
        assert_eq!(err, "", "{f}");
        // Lines are numbered as in the file: the first row is line 5.
        assert_eq!(v[0]["line"], 5, "{f}");
    }
    // The Chinese one (CP936): same table, Chinese title and header.
    let (v, err) = list(&["-l", &localized("netstat-ano-zh-cp936.txt")]);
    assert_eq!(rows(&v), want);
    assert_eq!(err, "");
}

#[test]
fn german_and_spanish_state_words() {
    let (v, err) = list(&["-l", &localized("netstat-ano-de-cp850.txt")]);
    assert_eq!(err, "", "every German state word is known");
    let de = [
        row("tcp", "0.0.0.0", 445, 4, None),
        row("tcp", "0.0.0.0", 5555, 4242, None),
        row("udp", "0.0.0.0", 123, 1320, None),
    ];
    assert_eq!(rows(&v), the_machine_and(&de));
    // Only ABHÖREN is listening: the connections on 5555 (SYN_EMPFANGEN, LETZTES_ACK,
    // SCHLIESSEND) and 2725 (HERGESTELLT, SCHLIESSEN_WARTEN) are not listeners.
    assert!(
        v.iter()
            .all(|r| r["state"] == "LISTEN" || r["proto"] == "udp")
    );
    let (v, err) = list(&["-l", &localized("netstat-ano-es-cp850.txt")]);
    assert_eq!(err, "");
    let es = [row("udp", "0.0.0.0", 123, 1320, None)];
    assert_eq!(rows(&v), the_machine_and(&es));
}

#[test]
fn an_unknown_state_of_a_connection_is_skipped_not_fatal() {
    let p = TempFile::new(
        "n.txt",
        b"\r\nAktive Verbindungen\r\n\r\n  Proto  Lokale Adresse         Remoteadresse          Status           PID\r\n\
         \x20 TCP    0.0.0.0:2725           0.0.0.0:0              ABH\x99REN         2344\r\n\
         \x20 TCP    172.16.0.1:2725        10.0.0.2:42802         ZOMBIFIZIERT    2344\r\n",
    );
    let (v, err) = list(&["-l", p.arg()]);
    assert_eq!(rows(&v), vec![row("tcp", "0.0.0.0", 2725, 2344, None)]);
    assert_eq!(
        err,
        format!(
            "portmap: warning: {}: line 6: unknown TCP state \"ZOMBIFIZIERT\" of a connection to 10.0.0.2:42802 (not a listener): line skipped\n",
            p.path().display()
        )
    );
    // On a row that could be a listener (no foreign port) it is an error: a listener is
    // neither invented nor hidden.
    std::fs::write(
        p.path(),
        "  TCP    0.0.0.0:2725           0.0.0.0:0              ZOMBIFIZIERT    2344\r\n",
    )
    .unwrap();
    let e = err_of(&["-l", p.arg()]);
    assert!(
        e.contains("line 1: unknown TCP state \"ZOMBIFIZIERT\""),
        "{e}"
    );
}

#[test]
fn french_anob_owner_lines() {
    for f in ["netstat-anob-fr-utf16.txt", "netstat-anob-fr-cp850.txt"] {
        let (v, err) = list(&["-l", &localized(f)]);
        assert_eq!(err, "", "{f}");
        assert_eq!(
            rows(&v),
            vec![
                row("tcp", "0.0.0.0", 135, 956, Some("svchost.exe")),
                row("tcp", "0.0.0.0", 445, 4, None),
                row("tcp", "0.0.0.0", 2725, 2344, Some("msmdsrv.exe")),
                row("tcp", "172.16.0.1", 139, 4, None),
                row("udp", "0.0.0.0", 123, 1320, Some("svchost.exe")),
            ],
            "{f}"
        );
        let ntp = v.iter().find(|r| r["port"] == 123).unwrap();
        assert_eq!(ntp["components"], serde_json::json!(["W32Time"]), "{f}");
    }
    // A no-ownership message in a language not known is recognised by where it is: right
    // after a row, indented by one space, as netstat prints it.
    let p = TempFile::new(
        "x.txt",
        "  TCP    0.0.0.0:445            0.0.0.0:0              LISTENING       4\r\n Nie można uzyskać informacji o własności\r\n\
         \x20 TCP    0.0.0.0:2725           0.0.0.0:0              LISTENING       2344\r\n [msmdsrv.exe]\r\n",
    );
    let (v, err) = list(&["-l", p.arg()]);
    assert_eq!(err, "");
    assert_eq!(
        rows(&v),
        vec![
            row("tcp", "0.0.0.0", 445, 4, None),
            row("tcp", "0.0.0.0", 2725, 2344, Some("msmdsrv.exe")),
        ]
    );
}

#[test]
fn oem_code_page_tasklist_names() {
    let (v, err) = list(&[
        "-l",
        &localized("netstat-ano-de-cp850.txt"),
        "-l",
        &localized("tasklist-de-cp850.txt"),
    ]);
    assert_eq!(err, "");
    let r = v.iter().find(|r| r["port"] == 5555).unwrap();
    assert_eq!(r["process"], "Überwachungsdienst.exe");
    assert_eq!(r["pid"], 4242);
    // Forced to the wrong code page, the name is read as that code page says.
    let (v, _) = list(&[
        "--encoding",
        "windows-1252",
        "-l",
        &localized("netstat-ano-de-cp850.txt"),
        "-l",
        &localized("tasklist-de-cp850.txt"),
    ]);
    let r = v.iter().find(|r| r["port"] == 5555).unwrap();
    assert_eq!(r["process"], "šberwachungsdienst.exe");
    // Aliases and any case name the same code page.
    let (v, _) = list(&[
        "--encoding",
        "IBM850",
        "-l",
        &localized("netstat-tasklist-cp850.txt"),
    ]);
    let r = v.iter().find(|r| r["port"] == 5555).unwrap();
    assert_eq!(r["process"], "Überwachungsdienst.exe");
    let e = err_of(&["--encoding", "klingon", "--list", "-l", "x"]);
    assert!(e.contains("klingon"), "{e}");
}

#[test]
fn utf16_netstat_with_a_tasklist_appended() {
    // The same appended in one code page (cmd.exe `>` then `>>`): two listings in one file.
    for f in [
        "netstat-utf16-tasklist-utf8.txt",
        "netstat-utf16-tasklist-cp850.txt",
        "netstat-tasklist-cp850.txt",
    ] {
        let (v, err) = list(&["-l", &localized(f)]);
        assert_eq!(err, "", "{f}");
        let r = v.iter().find(|r| r["port"] == 5555).unwrap();
        assert_eq!(r["process"], "Überwachungsdienst.exe", "{f}");
        let r = v.iter().find(|r| r["port"] == 2725).unwrap();
        assert_eq!(r["process"], "msmdsrv.exe", "{f}");
        assert_eq!(r["line"], 7, "{f}");
        assert_eq!(r["source"], "netstat-windows", "{f}");
    }
}

#[test]
fn cr_only_line_ends() {
    let crlf = std::fs::read_to_string(fixture("netstat-ano.txt")).unwrap();
    let p = TempFile::new("cr.txt", crlf.replace("\r\n", "\r"));
    let (want, _) = list(&["-l", &fixture("netstat-ano.txt")]);
    let (got, err) = list(&["-l", p.arg()]);
    assert_eq!(err, "");
    assert_eq!(rows(&got), rows(&want));
    // 13 TCP listeners (the CR-only reproducer's count) and 7 UDP sockets.
    assert_eq!(got.iter().filter(|r| r["proto"] == "tcp").count(), 13);
    assert_eq!(got.len(), 20);
    let lines = |v: &[Value]| v.iter().map(|r| r["line"].clone()).collect::<Vec<_>>();
    assert_eq!(lines(&got), lines(&want));
}

#[test]
fn a_listing_cut_mid_line_drops_the_cut_line() {
    let text = std::fs::read_to_string(fixture("netstat-ano.txt")).unwrap();
    let row = "  TCP    0.0.0.0:2725           0.0.0.0:0              LISTENING       2344";
    let at = text.find(row).unwrap() + row.len() - 2;
    let p = TempFile::new("cut.txt", &text[..at]);
    let (v, err) = list(&["-l", p.arg()]);
    assert!(
        v.iter().all(|r| r["port"] != 2725),
        "the cut row is not read as PID 23: {v:?}"
    );
    assert_eq!(v.len(), 3, "{v:?}");
    assert_eq!(
        err,
        format!(
            "portmap: warning: {}: line 8: the last line has no line end (the listing was cut?): skipped: \"TCP    0.0.0.0:2725           0.0.0.0:0              LISTENING       23\"\n",
            p.path().display()
        )
    );
}

#[test]
fn a_trailing_word_is_not_a_service() {
    for f in ["netstat-ano.txt", "netstat-anob.txt"] {
        let mut text = std::fs::read_to_string(fixture(f)).unwrap();
        let (want, _) = list(&["-l", &fixture(f)]);
        text.push_str("Done.\r\n");
        let p = TempFile::new(f, &text);
        let (mut got, err) = list(&["-l", p.arg()]);
        for r in &mut got {
            r["file"] = want[0]["file"].clone();
        }
        assert_eq!(got, want, "{f}");
        assert!(
            err.contains("\"Done.\" after the last netstat row is not a netstat line: skipped"),
            "{f}: {err}"
        );
    }
}

#[test]
fn japanese_tasklist_columns_by_console_width() {
    let p = TempFile::new(
        "n.txt",
        "  TCP         0.0.0.0:5555           0.0.0.0:0              LISTENING       4242\r\n\
         \x20 TCP         0.0.0.0:2725           0.0.0.0:0              LISTENING       2344\r\n",
    );
    let (v, err) = list(&["-l", p.arg(), "-l", &localized("tasklist-ja-cp932.txt")]);
    assert_eq!(err, "");
    assert_eq!(
        rows(&v),
        vec![
            row("tcp", "0.0.0.0", 2725, 2344, Some("msmdsrv.exe")),
            row("tcp", "0.0.0.0", 5555, 4242, Some("監視サービス.exe")),
        ]
    );
}

//! portmap reading listings (`--list`): every form Windows prints them in (`tests/fixtures/`:
//! netstat -ano / -an / -anob / -ao, tasklist in every output form, Get-NetTCPConnection as
//! table and Export-Csv, PowerShell's redirects), the real Linux listings (`ss`, `netstat`, `lsof`,
//! committed and from the lab's captures), and a damaged listing named by file and line. Listings
//! in other display languages: `localized.rs`.

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

mod common;

use common::*;
use serde_json::{Value, json};
use tcpwhy_tests::cli::TempFile;

#[test]
fn netstat_ano_lists_every_listener_with_ipv6_udp_and_zones() {
    let v = listed(&["-l", &fixture("netstat-ano.txt")]);
    assert_eq!(v.len(), 20, "{v:#?}");
    assert!(has(&v, "tcp", "0.0.0.0", 2725, Some(2344), None));
    assert!(has(&v, "tcp", "::", 135, Some(956), None));
    assert!(has(&v, "tcp", "127.0.0.1", 1434, Some(1580), None));
    assert!(has(&v, "tcp", "172.16.0.1", 139, Some(4), None));
    assert!(has(&v, "udp", "0.0.0.0", 1434, Some(1580), None));
    assert!(has(
        &v,
        "udp",
        "fe80::5d2c:91a4:c1e3:7b10%4",
        546,
        Some(1288),
        None
    ));
    // ESTABLISHED and TIME_WAIT lines are connections, not listeners.
    assert!(!v.iter().any(|x| x.2 == 49810));
    let recs = run_ok(&["--list", "-l", &fixture("netstat-ano.txt")], "");
    let r = &recs[0];
    assert_eq!(
        r["host"], "172.16.0.1",
        "inferred from the non-wildcard local addresses"
    );
    assert_eq!(r["source"], "netstat-windows");
    assert_eq!(r["state"], "LISTEN");
    assert_eq!(r["service"], "epmap");
    assert_eq!(r["line"], 5);
    assert_eq!(r["inferred"], false);
}

#[test]
fn tasklist_in_every_form_joins_pids_to_names() {
    for t in [
        "tasklist.txt",
        "tasklist.csv",
        "tasklist-nh.csv",
        "tasklist-list.txt",
        "tasklist-svc.txt",
    ] {
        let v = listed(&["-l", &fixture("netstat-ano.txt"), "-l", &fixture(t)]);
        assert!(
            has(&v, "tcp", "0.0.0.0", 2725, Some(2344), Some("msmdsrv.exe")),
            "{t}"
        );
        assert!(
            has(&v, "tcp", "0.0.0.0", 445, Some(4), Some("System")),
            "{t}"
        );
        assert!(
            has(&v, "tcp", "0.0.0.0", 135, Some(956), Some("svchost.exe")),
            "{t}"
        );
        assert_eq!(v.len(), 20, "{t}");
    }
    // tasklist /svc adds the hosted services, continuation lines included.
    let recs = run_ok(
        &[
            "--list",
            "-l",
            &fixture("netstat-ano.txt"),
            "-l",
            &fixture("tasklist-svc.txt"),
        ],
        "",
    );
    let ike = recs.iter().find(|r| r["port"] == 500).unwrap();
    assert_eq!(
        ike["components"],
        json!(["BFE", "IKEEXT", "mpssvc", "PolicyAgent"])
    );
    let tlist = recs.iter().find(|r| r["port"] == 2725).unwrap();
    assert_eq!(tlist["components"], json!(["MSSQLServerOLAPService"]));
}

#[test]
fn netstat_anob_reads_owner_lines() {
    let recs = run_ok(&["--list", "-l", &fixture("netstat-anob.txt")], "");
    assert_eq!(recs.len(), 20);
    let by = |port: u64, proto: &str| {
        recs.iter()
            .find(|r| r["port"] == port && r["proto"] == proto)
            .unwrap()
            .clone()
    };
    assert_eq!(by(135, "tcp")["process"], "svchost.exe");
    assert_eq!(by(135, "tcp")["components"], json!(["RpcSs"]));
    assert_eq!(by(2725, "tcp")["process"], "msmdsrv.exe");
    assert_eq!(by(2725, "tcp")["components"], json!([]));
    // "Can not obtain ownership information": PID known, process not.
    assert_eq!(by(445, "tcp")["pid"], 4);
    assert_eq!(by(445, "tcp")["process"], Value::Null);
    // The seed's hint straight from -anob, no tasklist needed.
    let out = run_ok(
        &["-l", &fixture("netstat-anob.txt")],
        &lines(&[seed_finding()]),
    );
    assert_eq!(out[0]["portmap"]["hint"], SEED_HINT);
}

#[test]
fn netstat_an_without_pids_and_netstat_ao_with_port_names() {
    let v = listed(&["-l", &fixture("netstat-an.txt")]);
    assert!(has(&v, "tcp", "0.0.0.0", 2725, None, None));
    assert_eq!(v.len(), 13);
    let out = run_ok(
        &["-l", &fixture("netstat-an.txt")],
        &lines(&[seed_finding()]),
    );
    assert_eq!(
        out[0]["portmap"]["hint"],
        "nothing listens on 2383 (SSAS 2005+); something listens on 2725 (SSAS 2000 default)"
    );
    // netstat -ao prints port names from the services file: epmap, microsoft-ds, ntp.
    let v = listed(&["-l", &fixture("netstat-ao-names.txt")]);
    assert!(has(&v, "tcp", "0.0.0.0", 135, Some(956), None));
    assert!(has(&v, "tcp", "0.0.0.0", 445, Some(4), None));
    assert!(has(&v, "tcp", "::", 135, Some(956), None));
    assert!(has(&v, "udp", "0.0.0.0", 123, Some(1320), None));
}

#[test]
fn get_nettcpconnection_table_and_csv() {
    for f in ["get-nettcpconnection.txt", "get-nettcpconnection.csv"] {
        let v = listed(&["-l", &fixture(f), "-l", &fixture("tasklist.csv")]);
        assert_eq!(v.len(), 11, "{f}: {v:#?}");
        assert!(
            has(&v, "tcp", "0.0.0.0", 2725, Some(2344), Some("msmdsrv.exe")),
            "{f}"
        );
        assert!(has(&v, "tcp", "::", 445, Some(4), Some("System")), "{f}");
        let out = run_ok(
            &["-l", &fixture(f), "-l", &fixture("tasklist.csv")],
            &lines(&[seed_finding()]),
        );
        assert_eq!(out[0]["portmap"]["hint"], SEED_HINT, "{f}");
    }
    let recs = run_ok(&["--list", "-l", &fixture("get-nettcpconnection.csv")], "");
    assert_eq!(recs[0]["source"], "get-nettcpconnection-csv");
}

#[test]
fn powershell_utf16_redirect_is_read() {
    // `netstat -ano > n.txt` in Windows PowerShell 5.1 writes UTF-16LE with a BOM.
    let text = std::fs::read_to_string(fixture("netstat-ano.txt")).unwrap();
    let mut bytes = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    assert_eq!(listed_text("n.txt", bytes).len(), 20);
}

#[test]
fn powershell_variants() {
    // PowerShell 7 Export-Csv (no #TYPE line), State kept as the CIM number (2 = Listen).
    let v = listed_text(
        "ps7.csv",
        "\"LocalAddress\",\"LocalPort\",\"RemoteAddress\",\"RemotePort\",\"State\",\"OwningProcess\"\r\n\
         \"0.0.0.0\",\"2725\",\"0.0.0.0\",\"0\",\"2\",\"2344\"\r\n\
         \"10.0.0.5\",\"2725\",\"10.0.0.1\",\"50000\",\"5\",\"2344\"\r\n",
    );
    assert_eq!(v.len(), 1);
    assert!(has(&v, "tcp", "0.0.0.0", 2725, Some(2344), None));
    // Get-NetTCPConnection -State Listen | Select-Object LocalAddress,LocalPort,OwningProcess,
    //   @{n='ProcessName';e={(Get-Process -Id $_.OwningProcess).ProcessName}}
    let v = listed_text(
        "sel.txt",
        "\r\nLocalAddress LocalPort OwningProcess ProcessName\r\n------------ --------- ------------- -----------\r\n\
         0.0.0.0           2725          2344 msmdsrv\r\n::                 135           956 svchost\r\n\r\n",
    );
    assert!(has(&v, "tcp", "0.0.0.0", 2725, Some(2344), Some("msmdsrv")));
    assert!(has(&v, "tcp", "::", 135, Some(956), Some("svchost")));
    // A row with a column too many is an error naming the line.
    let e = listing_error(
        "sel.txt",
        "LocalAddress LocalPort\r\n------------ ---------\r\n0.0.0.0 2725 extra\r\n",
    );
    assert!(e.contains("sel.txt: line 3: expected 2 columns"), "{e}");
}

#[test]
fn netstat_extended_columns_empty_and_header_only_listings() {
    // Real `netstat -tulpenoW` (User, Inode and Timer columns) of this machine.
    let v = listed_text(
        "e.txt",
        "Active Internet connections (only servers)\n\
         Proto Recv-Q Send-Q Local Address           Foreign Address         State       User       Inode      PID/Program name     Timer\n\
         tcp        0      0 0.0.0.0:2024            0.0.0.0:*               LISTEN      0          1151       -                    off (0.00/0/0)\n\
         tcp        0      0 0.0.0.0:2725            0.0.0.0:*               LISTEN      0          96773      2344/msmdsrv         off (0.00/0/0)\n",
    );
    assert!(has(&v, "tcp", "0.0.0.0", 2024, None, None));
    assert!(has(&v, "tcp", "0.0.0.0", 2725, Some(2344), Some("msmdsrv")));
    // An empty file is an error; a header and no sockets is "nothing listens" (with a warning).
    let e = listing_error("e.txt", "");
    assert!(e.contains("e.txt: empty listing"), "{e}");
    let p = TempFile::new(
        "e.txt",
        "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n",
    );
    let out = ran(
        &["-l", p.arg()],
        &lines(&[finding("10.0.0.1", "10.0.0.5", 2383, "refused")]),
    );
    assert_eq!(out.code, Some(0));
    assert!(out.stderr.contains("warning: ") && out.stderr.contains("nothing listens there"));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let h = r["portmap"]["hint"].as_str().unwrap();
    assert!(h.starts_with("nothing listens on 2383 (SSAS 2005+); the listing shows no TCP listeners at all (assuming "), "{h}");
}

#[test]
fn lab_listings_from_real_linux_commands() {
    // Real `ss -ltnp` / `netstat -tlnp` taken on the lab's sql server (wildcard addresses only:
    // the host is unknown, so it is assumed, and --host makes it explicit).
    let ss = lab("refused-2383.ss.txt");
    let v = listed(&["-l", &ss]);
    assert_eq!(v.len(), 2);
    assert!(has(
        &v,
        "tcp",
        "0.0.0.0",
        2725,
        Some(19289),
        Some("msmdsrv")
    ));
    assert!(has(&v, "tcp", "::", 2725, Some(19289), Some("msmdsrv")));
    let ns = lab("refused-2383.netstat.txt");
    let v = listed(&["-l", &ns]);
    assert!(has(&v, "tcp", "::", 2725, Some(19289), Some("python3")));
    let f = finding("198.51.100.10", "203.0.113.20", 2383, "refused");
    let out = run_ok(&["-l", &ss, "--host", "203.0.113.20"], &lines(&[f]));
    assert_eq!(
        out[0]["portmap"]["hint"],
        "nothing listens on 2383 (SSAS 2005+); msmdsrv PID 19289 listens on 2725 (SSAS 2000 default)"
    );
}

/// Real output of the Linux commands, captured once in a network namespace around a python3
/// server renamed `msmdsrv` (PID 1314; `tests/tests/portmap_real_listings.rs` runs them live).
#[test]
fn committed_real_linux_listings() {
    for (f, n, process, source) in [
        ("linux/ss-ltnp.txt", 4, "msmdsrv", "ss"),
        ("linux/ss-tanp.txt", 4, "msmdsrv", "ss"),
        ("linux/ss-lntup.txt", 5, "msmdsrv", "ss"),
        ("linux/netstat-tlnp.txt", 4, "python3", "netstat-linux"),
        ("linux/netstat-tanp.txt", 4, "python3", "netstat-linux"),
        ("linux/netstat-lntup.txt", 5, "python3", "netstat-linux"),
        ("linux/lsof-listen.txt", 4, "msmdsrv", "lsof"),
        ("linux/lsof-i.txt", 5, "msmdsrv", "lsof"),
    ] {
        let recs = run_ok(&["--list", "-l", &fixture(f)], "");
        assert_eq!(recs.len(), n, "{f}: {recs:#?}");
        for r in &recs {
            assert_eq!(r["pid"], 1314, "{f}");
            assert_eq!(r["process"], process, "{f}");
            assert_eq!(r["source"], source, "{f}");
            assert_eq!(r["host"], "10.77.0.5", "{f}");
        }
        let v = listed(&["-l", &fixture(f)]);
        assert!(
            has(&v, "tcp", "10.77.0.5", 1433, Some(1314), Some(process)),
            "{f}"
        );
        assert!(
            has(&v, "tcp", "127.0.0.1", 5432, Some(1314), Some(process)),
            "{f}"
        );
        assert!(
            has(&v, "tcp", "0.0.0.0", 2725, Some(1314), Some(process)),
            "{f}"
        );
        let out = run_ok(
            &["-l", &fixture(f)],
            &lines(&[finding("10.77.0.6", "10.77.0.5", 2383, "refused")]),
        );
        assert_eq!(
            out[0]["portmap"]["hint"],
            format!(
                "nothing listens on 2383 (SSAS 2005+); {process} PID 1314 listens on 2725 (SSAS 2000 default)"
            ),
            "{f}"
        );
    }
}

#[test]
fn ss_without_header() {
    // `ss -lntupH` and `ss -ltnpH`: no header line.
    for (f, n) in [("linux/ss-lntup.txt", 5), ("linux/ss-ltnp.txt", 4)] {
        let text = std::fs::read_to_string(fixture(f)).unwrap();
        let headless: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
        assert_eq!(listed_text("h.txt", headless).len(), n, "{f}");
    }
}

#[test]
fn localized_windows_findstr_output_and_linux_non_root_notes() {
    // German Windows, redirected from cmd.exe: code page 850 (Ö = 0x99).
    let mut b: Vec<u8> = b"\r\nAktive Verbindungen\r\n\r\n  Proto  Lokale Adresse         Remoteadresse          Status           PID\r\n".to_vec();
    b.extend_from_slice(
        b"  TCP    0.0.0.0:2725           0.0.0.0:0              ABH\x99REN         2344\r\n",
    );
    b.extend_from_slice(
        b"  TCP    10.0.0.5:2725          10.0.0.9:50123         HERGESTELLT     2344\r\n",
    );
    let v = listed_text("de.txt", b);
    assert_eq!(v.len(), 1);
    assert!(has(&v, "tcp", "0.0.0.0", 2725, Some(2344), None));
    // `netstat -ano | findstr LISTENING`: socket lines only.
    let p = TempFile::new(
        "findstr.txt",
        "  TCP    0.0.0.0:2725           0.0.0.0:0              LISTENING       2344\r\n  TCP    [::]:2725              [::]:0                 LISTENING       2344\r\n",
    );
    let out = enrich(&[p.arg(), &fixture("tasklist.txt")], &[seed_finding()]);
    assert!(
        out[0]["portmap"]["hint"]
            .as_str()
            .unwrap()
            .starts_with(SEED_HINT)
    );
    // netstat -tlnp as a user (2>&1): the note about non-owned processes is not a socket.
    let v = listed_text(
        "user.txt",
        "(Not all processes could be identified, non-owned process info\n will not be shown, you would have to be root to see it all.)\n\
         Active Internet connections (only servers)\n\
         Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name\n\
         tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN      -\n\
         tcp        0      0 127.0.0.1:8000          0.0.0.0:*               LISTEN      4242/python3\n",
    );
    assert!(has(&v, "tcp", "0.0.0.0", 22, None, None));
    assert!(has(
        &v,
        "tcp",
        "127.0.0.1",
        8000,
        Some(4242),
        Some("python3")
    ));
}

#[test]
fn per_file_format_and_listings_of_one_unknown_host() {
    // FORMAT:FILE forces one file; the others are still detected.
    let v = listed(&[
        "-l",
        &format!("netstat-windows:{}", fixture("netstat-ano.txt")),
        "-l",
        &fixture("tasklist.csv"),
    ]);
    assert!(has(
        &v,
        "tcp",
        "0.0.0.0",
        2725,
        Some(2344),
        Some("msmdsrv.exe")
    ));
    let (_, e) = run_err(&["-l", &format!("ss:{}", fixture("tasklist.csv"))], "");
    assert!(e.contains("tasklist.csv: line 1:"), "{e}");
    // The lab server's ss and netstat (wildcards only): one unknown host, assumed, both files named.
    let refused = [finding("198.51.100.10", "203.0.113.20", 2383, "refused")];
    let ss = lab("refused-2383.ss.txt");
    let out = enrich(&[&ss, &lab("refused-2383.netstat.txt")], &refused);
    let h = out[0]["portmap"]["hint"].as_str().unwrap();
    assert!(h.starts_with("nothing listens on 2383 (SSAS 2005+); msmdsrv PID 19289 listens on 2725 (SSAS 2000 default) (assuming "), "{h}");
    assert!(
        h.contains("refused-2383.ss.txt + ")
            && h.contains("refused-2383.netstat.txt lists 203.0.113.20"),
        "{h}"
    );
    // A listing whose host is known (172.16.0.1) beside one that is not: nothing is assumed.
    let out = enrich(&[&ss, &fixture("netstat-ano.txt")], &refused);
    assert_eq!(out[0]["portmap"]["listening"], Value::Null);
}

#[test]
fn bad_listing_lines_name_the_file_and_line() {
    let mut text = std::fs::read_to_string(fixture("netstat-ano.txt")).unwrap();
    text = text.replace(
        "  TCP    0.0.0.0:1433           0.0.0.0:0              LISTENING       1580",
        "  TCP    0.0.0.0:1433           0.0.0.0:0              LISTENING",
    );
    text = text.replacen(
        "  TCP    0.0.0.0:2725           0.0.0.0:0              LISTENING       2344",
        "  TCP    0.0.0.0:2725           0.0.0.0:0              WAITING         2344",
        1,
    );
    let p = TempFile::new("n.txt", &text);
    let (out, e) = run_err(&["-l", p.arg()], "");
    assert_eq!(out, "");
    assert_eq!(
        e,
        format!(
            "portmap: {}: line 8: unknown TCP state \"WAITING\"\n",
            p.path().display()
        )
    );
    let e = listing_error(
        "n.txt",
        "  TCP    0.0.0.0:99999          0.0.0.0:0              LISTENING       1\n",
    );
    assert!(
        e.contains("line 1: unknown port name \"99999\"") || e.contains("line 1: bad port"),
        "{e}"
    );
    let e = listing_error(
        "n.txt",
        "  TCP    0.0.0.0:135    0.0.0.0:0   LISTENING  956\nsome garbage here\n",
    );
    assert!(e.contains("line 2: not a netstat line"), "{e}");
    let e = listing_error("n.txt", "hello world\n");
    assert!(
        e.contains("cannot tell the listing format") && e.contains("--format"),
        "{e}"
    );
    // Forcing the wrong format is an error on the first line that does not fit.
    let (_, e) = run_err(&["-l", &fixture("tasklist.txt"), "--format", "ss"], "");
    assert!(e.contains("tasklist.txt: line 2:"), "{e}");
    let (_, e) = run_err(&["-l", "/nonexistent/n.txt"], "");
    assert!(e.contains("/nonexistent/n.txt"), "{e}");
    // Every format rejects a damaged row with its line number.
    for (f, bad, line) in [
        (
            "tasklist.txt",
            "msmdsrv.exe                   xx44 Console",
            15,
        ),
        ("tasklist.csv", "\"msmdsrv.exe\",\"23x4\"", 13),
        ("tasklist-list.txt", "PID:          23x4", 68),
        (
            "get-nettcpconnection.txt",
            "0.0.0.0                             27x5",
            13,
        ),
    ] {
        let text = std::fs::read_to_string(fixture(f)).unwrap();
        let mut ls: Vec<String> = text.split("\r\n").map(str::to_string).collect();
        ls[line - 1] = bad.to_string();
        let e = listing_error(f, ls.join("\r\n"));
        assert!(e.contains(&format!("{f}: line {line}: ")), "{f}: {e}");
    }
}

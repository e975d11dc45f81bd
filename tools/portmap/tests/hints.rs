//! portmap's hints: the `portmap` object it adds to findings and flows, from what the listings
//! say listens on the server (the seed's case, refused or unanswered listeners, loopback-only,
//! the other address family or address, the same product elsewhere, a named instance), and what
//! it says without a listing for the server.

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

mod common;

use common::*;
use serde_json::{Value, json};
use tcpwhy_tests::cli::TempFile;

#[test]
fn the_seed_case_netstat_ano_plus_tasklist() {
    let out = enrich(
        &[&fixture("netstat-ano.txt"), &fixture("tasklist.txt")],
        &[seed_finding()],
    );
    assert_eq!(out.len(), 1);
    let pm = &out[0]["portmap"];
    tcpwhy_tests::assert_has(
        pm,
        &json!({"hint": SEED_HINT, "listening": false, "port": 2383, "service": "ms-olap4",
            "label": "SSAS 2005+", "host": "172.16.0.1", "matched_by": "address"}),
    );
    assert_eq!(pm["listeners"].as_array().unwrap().len(), 1);
    assert_eq!(pm["listeners"][0]["process"], "msmdsrv.exe");
    assert_eq!(pm["listeners"][0]["port"], 2725);
    assert!(
        pm["related"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["port"] == 2725 && r["note"] == "SSAS 2000 default")
    );
    // Every other field kept, in order, portmap added last.
    let keys: Vec<&String> = out[0].as_object().unwrap().keys().collect();
    let mut want: Vec<String> = seed_finding()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    want.push("portmap".into());
    assert_eq!(keys, want.iter().collect::<Vec<_>>());
    assert_eq!(out[0]["later_stage"], json!({"x":[1,2]}));
    assert_eq!(out[0]["socket_error"]["windows_code"], 10061);
}

#[test]
fn the_seed_netstat_b_as_printed_infers_the_listener_from_established_lines() {
    let input = lines(&[seed_finding()]);
    let out = enrich(
        &[&fixture("netstat-b-seed.txt"), &fixture("tasklist.txt")],
        &[seed_finding()],
    );
    let pm = &out[0]["portmap"];
    let hint = pm["hint"].as_str().unwrap();
    assert!(hint.starts_with(SEED_HINT), "{hint}");
    assert!(
        hint.contains("seen in its established connections"),
        "{hint}"
    );
    assert!(
        hint.contains("assuming"),
        "one listing, host unknown (names only): {hint}"
    );
    assert_eq!(pm["matched_by"], "assumed");
    assert_eq!(pm["listeners"][0]["inferred"], true);
    assert_eq!(pm["listeners"][0]["state"], "ESTABLISHED");
    assert_eq!(pm["listeners"][0]["address"], "svp020064");
    // With --host, no assumption.
    let out = run_ok(
        &[
            "-l",
            &fixture("netstat-b-seed.txt"),
            "-l",
            &fixture("tasklist.txt"),
            "--host",
            "172.16.0.1",
        ],
        &input,
    );
    assert_eq!(out[0]["portmap"]["matched_by"], "host");
    assert!(
        !out[0]["portmap"]["hint"]
            .as_str()
            .unwrap()
            .contains("assuming")
    );
}

#[test]
fn flows_are_enriched_and_other_records_pass_byte_for_byte() {
    let packet = r#"{"type":"packet","frame":1,"ts":1.000001000,"weird":  [1, 2]}"#;
    let other = r#"{"type":"host","ip":"10.0.0.1","x":{"b":1,"a":2}}"#;
    let flow = r#"{"type":"flow","uid":"C9","ip_version":4,"client_ip":"10.0.0.1","client_port":50000,"server_ip":"172.16.0.1","server_port":1433,"first_ts":1278472579.466743000,"state":"SF","established":true, "zzz" : 1}"#;
    let input = format!("{packet}\n{other}\n{flow}\n");
    let out = ran(
        &[
            "-l",
            &fixture("netstat-ano.txt"),
            "-l",
            &fixture("tasklist.txt"),
        ],
        &input,
    );
    assert_eq!(out.code, Some(0));
    let ls: Vec<&str> = out.text().lines().collect();
    assert_eq!(ls[0], packet);
    assert_eq!(ls[1], other);
    let f: Value = serde_json::from_str(ls[2]).unwrap();
    // The record's own bytes, `portmap` appended before the closing brace.
    assert!(ls[2].starts_with(&flow[..flow.len() - 1]));
    assert!(ls[2][flow.len() - 1..].starts_with(r#","portmap":{"port":1433,"#));
    assert_eq!(f["zzz"], 1);
    assert_eq!(f["portmap"]["listening"], true);
    assert_eq!(
        f["portmap"]["hint"],
        "sqlservr.exe PID 1580 listens on 1433 (SQL Server)"
    );
    // A portmap already there (portmap run twice) is replaced, not duplicated.
    let again = ran(
        &["-l", &fixture("netstat-ano.txt")],
        &(ls[2].to_string() + "\n"),
    );
    assert_eq!(again.text().matches("\"portmap\"").count(), 1);
}

#[test]
fn listening_but_refused_or_unanswered() {
    let out = enrich(
        &[&fixture("netstat-ano.txt"), &fixture("tasklist.txt")],
        &["refused", "syn_timeout"].map(|kind| finding("10.0.0.1", "172.16.0.1", 1433, kind)),
    );
    let h0 = out[0]["portmap"]["hint"].as_str().unwrap();
    assert!(
        h0.starts_with(
            "sqlservr.exe PID 1580 listens on 1433 (SQL Server); yet the connection was refused"
        ),
        "{h0}"
    );
    let h1 = out[1]["portmap"]["hint"].as_str().unwrap();
    assert!(h1.contains("the SYNs went unanswered"), "{h1}");
    assert_eq!(out[0]["portmap"]["listening"], true);
}

#[test]
fn loopback_only_listener_fires_for_a_remote_client_only() {
    let out = enrich(
        &[&fixture("netstat-ano.txt"), &fixture("tasklist.txt")],
        &[
            finding("10.0.0.1", "172.16.0.1", 1434, "refused"),
            finding("127.0.0.1", "172.16.0.1", 1434, "refused"),
        ],
    );
    let h = out[0]["portmap"]["hint"].as_str().unwrap();
    assert_eq!(
        h,
        "sqlservr.exe PID 1580 listens on 1434 (SQL Server DAC) on loopback only (127.0.0.1:1434): connections from 10.0.0.1 cannot reach it"
    );
    let h = out[1]["portmap"]["hint"].as_str().unwrap();
    assert!(!h.contains("loopback only"), "{h}");
}

#[test]
fn address_family_mismatch() {
    // IPv4-only listener on 5432, IPv6-only (Windows [::]) listener on 8080, both families on 80.
    let rows = [
        ("TCP", "0.0.0.0:5432", "0.0.0.0:0", "LISTENING", "700"),
        ("TCP", "[::]:8080", "[::]:0", "LISTENING", "800"),
        ("TCP", "0.0.0.0:80", "0.0.0.0:0", "LISTENING", "4"),
        ("TCP", "[::]:80", "[::]:0", "LISTENING", "4"),
    ];
    let mut text = format!("\r\nActive Connections\r\n\r\n{NETSTAT_HEADER}");
    for r in rows {
        text += &netstat_row(r.0, r.1, r.2, r.3, r.4);
    }
    let p = TempFile::new("n.txt", text);
    let recs = [
        finding("2001:db8::1", "2001:db8::5", 5432, "refused"),
        finding("10.0.0.1", "10.0.0.5", 5432, "refused"),
        finding("10.0.0.1", "10.0.0.5", 8080, "refused"),
        finding("2001:db8::1", "2001:db8::5", 8080, "refused"),
        finding("2001:db8::1", "2001:db8::5", 80, "refused"),
    ];
    let out = run_ok(
        &["-l", p.arg(), "--host", "10.0.0.5", "--host", "2001:db8::5"],
        &lines(&recs),
    );
    let h = |i: usize| out[i]["portmap"]["hint"].as_str().unwrap().to_string();
    assert_eq!(
        h(0),
        "PID 700 listens on 5432 (PostgreSQL) over IPv4 only (0.0.0.0:5432); the client used IPv6 (2001:db8::5)"
    );
    for (i, start) in [
        (1, "PID 700 listens on 5432 (PostgreSQL); yet"),
        (2, "PID 800 listens on 8080 (HTTP alternate) on [::] only"),
        (3, "PID 800 listens on 8080 (HTTP alternate); yet"),
        (4, "PID 4 listens on 80 (HTTP); yet"),
    ] {
        assert!(h(i).starts_with(start), "{}", h(i));
    }
}

#[test]
fn bound_to_another_address() {
    let p = TempFile::new(
        "ss.txt",
        "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n\
         LISTEN 0      128       10.0.0.6:5432      0.0.0.0:*    users:((\"postgres\",pid=900,fd=5))\n\
         LISTEN 0      128       10.0.0.5:22        0.0.0.0:*    users:((\"sshd\",pid=800,fd=3))\n",
    );
    let out = run_ok(
        &["-l", p.arg()],
        &lines(&[
            finding("10.0.0.1", "10.0.0.5", 5432, "refused"),
            finding("10.0.0.1", "10.0.0.6", 5432, "refused"),
        ]),
    );
    assert_eq!(out[0]["portmap"]["matched_by"], "address");
    assert_eq!(
        out[0]["portmap"]["hint"],
        "postgres PID 900 listens on 5432 (PostgreSQL) only on 10.0.0.6:5432, not on 10.0.0.5"
    );
    assert!(
        out[1]["portmap"]["hint"]
            .as_str()
            .unwrap()
            .starts_with("postgres PID 900 listens on 5432 (PostgreSQL); yet")
    );
}

#[test]
fn same_product_elsewhere_and_nothing_related() {
    let p = TempFile::new(
        "ss.txt",
        "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n\
         tcp   LISTEN 0      244       0.0.0.0:5433      0.0.0.0:*    users:((\"postgres\",pid=900,fd=5))\n\
         tcp   LISTEN 0      511       0.0.0.0:6380      0.0.0.0:*    users:((\"redis-server\",pid=901,fd=6))\n\
         tcp   LISTEN 0      4096      0.0.0.0:9201      0.0.0.0:*    users:((\"java\",pid=902,fd=7))\n\
         tcp   LISTEN 0      4096      0.0.0.0:22        0.0.0.0:*    users:((\"sshd\",pid=1,fd=3))\n\
         udp   UNCONN 0      0         0.0.0.0:53        0.0.0.0:*    users:((\"dnsmasq\",pid=5,fd=4))\n\
         u_str LISTEN 0      4096   /run/x.sock 1234         * 0    users:((\"systemd\",pid=1,fd=50))\n",
    );
    let out = run_ok(
        &["-l", p.arg(), "--host", "10.0.0.5"],
        &lines(&[
            finding("10.0.0.1", "10.0.0.5", 5432, "refused"),
            finding("10.0.0.1", "10.0.0.5", 6379, "refused"),
            finding("10.0.0.1", "10.0.0.5", 9200, "refused"),
            finding("10.0.0.1", "10.0.0.5", 3306, "refused"),
        ]),
    );
    let h = |i: usize| out[i]["portmap"]["hint"].as_str().unwrap().to_string();
    assert!(h(0).starts_with("nothing listens on 5432 (PostgreSQL); postgres PID 900 listens on 5433 (second PostgreSQL cluster"), "{}", h(0));
    assert!(
        h(1).starts_with("nothing listens on 6379 (Redis); redis-server PID 901 listens on 6380"),
        "{}",
        h(1)
    );
    assert_eq!(
        h(2),
        "nothing listens on 9200 (Elasticsearch HTTP); java PID 902 listens on 9201 (further Elasticsearch nodes on the same host (the next free port is taken))"
    );
    // Nothing of MySQL's: the TCP listeners are named instead (UDP and unix sockets are not).
    assert_eq!(
        h(3),
        "nothing listens on 3306 (MySQL / MariaDB) on 10.0.0.5; TCP ports that listen there: 22 (SSH), 5433 (PostgreSQL (second cluster)), 6380 (Redis TLS / second instance), 9201"
    );
    assert_eq!(out[3]["portmap"]["listeners"], json!([]));
}

#[test]
fn no_listing_for_the_server() {
    let l = ["-l", &fixture("netstat-ano.txt")[..]];
    let flow = json!({"type":"flow","uid":"C1","client_ip":"10.0.0.1","server_ip":"192.0.2.9","server_port":443,"state":"REJ"});
    let out = run_ok(
        &l,
        &lines(&[finding("10.0.0.1", "192.0.2.9", 443, "refused"), flow]),
    );
    assert_eq!(out[0]["portmap"]["listening"], Value::Null);
    assert_eq!(out[0]["portmap"]["service"], "https");
    assert_eq!(
        out[0]["portmap"]["hint"],
        "no listing for 192.0.2.9 (the listings given are from 172.16.0.1); add --host 192.0.2.9 if one of them is from this server"
    );
    // Flows do not get that noise.
    assert_eq!(out[1]["portmap"]["hint"], Value::Null);
    assert_eq!(out[1]["portmap"]["label"], "HTTPS");
}

#[test]
fn without_listings_only_the_service_is_added() {
    let out = run_ok(&[], &lines(&[seed_finding()]));
    let pm = &out[0]["portmap"];
    assert_eq!(pm["service"], "ms-olap4");
    assert_eq!(pm["listening"], Value::Null);
    assert_eq!(pm["hint"], Value::Null);
    assert_eq!(pm["host"], Value::Null);
    // A finding without a server port gets portmap: null.
    let f = json!({"type":"finding","kind":"x","server_ip":null,"server_port":null});
    let out = run_ok(&[], &lines(&[f]));
    assert_eq!(out[0]["portmap"], Value::Null);
}

#[test]
fn a_dynamic_port_is_described_by_its_range() {
    let out = run_ok(
        &[],
        &lines(&[finding("10.0.0.1", "10.0.0.5", 49700, "refused")]),
    );
    let l = out[0]["portmap"]["label"].as_str().unwrap();
    assert!(
        l.contains("Windows dynamic port range") && l.contains("Linux ephemeral port range"),
        "{l}"
    );
}

#[test]
fn an_established_flow_to_a_port_nothing_listens_on() {
    let flow = json!({"type":"flow","uid":"C1","client_ip":"10.0.0.1","server_ip":"10.0.0.5",
                      "server_port":8080,"state":"SF","established":true});
    let listing = lab("refused-2383.ss.txt");
    // Host given: the listing is from another time.
    let out = run_ok(
        &["-l", &listing, "--host", "10.0.0.5"],
        &lines(std::slice::from_ref(&flow)),
    );
    let h = out[0]["portmap"]["hint"].as_str().unwrap();
    assert!(h.starts_with("nothing listens on 8080 (HTTP alternate) on 10.0.0.5; TCP ports that listen there: 2725 (SSAS 2000)"), "{h}");
    assert!(
        h.ends_with(
            "yet this connection was established: the listing is from another time or another host"
        ),
        "{h}"
    );
    // Host only assumed: the listing is not this server's; nothing is claimed.
    let out = run_ok(&["-l", &listing], &lines(&[flow]));
    assert_eq!(out[0]["portmap"]["listening"], Value::Null);
    assert_eq!(out[0]["portmap"]["hint"], Value::Null);
    assert_eq!(out[0]["portmap"]["matched_by"], Value::Null);
}

#[test]
fn same_service_marks_and_generic_processes() {
    let mut text = format!("\r\nActive Connections\r\n\r\n{NETSTAT_HEADER}");
    for (port, pid, owner) in [
        (80, 4, None),
        (5986, 4, None),
        (389, 640, Some("lsass.exe")),
        (3268, 640, Some("lsass.exe")),
        (8530, 4, None),
    ] {
        let local = format!("10.0.0.5:{port}");
        text += &netstat_row("TCP", &local, "0.0.0.0:0", "LISTENING", pid);
        match owner {
            Some(o) => text += &format!(" [{o}]\r\n"),
            None => text += " Can not obtain ownership information\r\n",
        }
    }
    let p = TempFile::new("dc.txt", text);
    let out = run_ok(
        &["-l", p.arg(), "-l", &fixture("tasklist.txt")],
        &lines(&[
            finding("10.0.0.1", "10.0.0.5", 5985, "refused"),
            finding("10.0.0.1", "10.0.0.5", 636, "refused"),
            finding("10.0.0.1", "10.0.0.5", 88, "refused"),
        ]),
    );
    let h = |i: usize| out[i]["portmap"]["hint"].as_str().unwrap().to_string();
    // WinRM over HTTPS only: 5986 is marked as the same service; 80 (also System, http.sys) is not.
    assert_eq!(
        h(0),
        "nothing listens on 5985 (WinRM HTTP); System PID 4 listens on 5986 (WinRM over HTTPS)"
    );
    // LDAPS without a certificate: LDAP is there.
    assert_eq!(
        h(1),
        "nothing listens on 636 (LDAPS); lsass.exe PID 640 listens on 389 (LDAP)"
    );
    // Kerberos: lsass.exe also serves LDAP, but that says nothing about the KDC.
    assert!(h(2).starts_with("nothing listens on 88 (Kerberos KDC) on 10.0.0.5; TCP ports that listen there: 80 (HTTP), 389 (LDAP), 3268 (Global Catalog)"), "{}", h(2));
}

#[test]
fn a_named_instance_and_a_companion() {
    let mut text = String::from(NETSTAT_HEADER);
    for (port, pid) in [(1435, 1580), (5022, 1580), (1433, 1600)] {
        let local = format!("10.0.0.5:{port}");
        text += &netstat_row("TCP", &local, "0.0.0.0:0", "LISTENING", pid);
    }
    let p = TempFile::new("sql.txt", &text);
    let tl = TempFile::new(
        "tl.csv",
        "\"Image Name\",\"PID\"\r\n\"sqlservr.exe\",\"1580\"\r\n\"sqlservr.exe\",\"1600\"\r\n",
    );
    // No default instance on 1433 in this listing: the named instance's ports, one clause per process.
    let p2 = TempFile::new(
        "named.txt",
        text.lines()
            .take(3)
            .map(|l| format!("{l}\r\n"))
            .collect::<String>(),
    );
    let out = run_ok(
        &["-l", p2.arg(), "-l", tl.arg()],
        &lines(&[finding("10.0.0.1", "10.0.0.5", 1433, "refused")]),
    );
    assert_eq!(
        out[0]["portmap"]["hint"],
        "nothing listens on 1433 (SQL Server); sqlservr.exe PID 1580 listens on 1435, 5022 (SQL Server AG / mirroring endpoint)"
    );
    // SSAS called, only the database engine there: a companion, not "SSAS elsewhere".
    let out = run_ok(
        &["-l", p.arg(), "-l", tl.arg()],
        &lines(&[seed_finding_on("10.0.0.5")]),
    );
    let h = out[0]["portmap"]["hint"].as_str().unwrap();
    assert!(h.starts_with("nothing listens on 2383 (SSAS 2005+) on 10.0.0.5; TCP ports that listen there: 1433 (SQL Server), 1435, 5022"), "{h}");
}

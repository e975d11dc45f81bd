//! Names and TLS end to end (issue 18): `dns_failure`, `tls_handshake_failed` and
//! `protocol_mismatch` on the lab's captures made with real stacks (the client's glibc resolver
//! against dnsmasq resolvers; curl and `openssl s_client` against `openssl s_server`), through
//! the real binaries. Each finding fires on its capture, agrees with what the client application
//! itself reported (`<name>.app.jsonl`), and stays silent on the healthy lookups and handshakes
//! in the same capture, on every other lab capture and on the healthy public captures.
//!
//! Like e2e_lab.rs, nothing depends on one lab run's frame numbers or ports: `make lab
//! LAB_CHECK=1` runs these tests on freshly made captures (`TCPWHY_CAPTURES=<dir>`).

use serde_json::{Value, json};
use tcpwhy_tests::{
    Diagnosis, assert_has, diagnose, f64v, findings, lab_captures, shared_captures, skip, strv,
    u64v,
};

const APP: &str = "203.0.113.30";
const NEW_KINDS: [&str; 3] = ["dns_failure", "tls_handshake_failed", "protocol_mismatch"];

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut x = v;
    for p in path {
        x = &x[*p];
    }
    x.as_str()
        .unwrap_or_else(|| panic!("{path:?} is not a string in {v}"))
}

/// The pipeline's diagnosis of a lab capture; None (reported as skipped) when the lab that made
/// the directory had no dnsmasq or openssl (run.sh skips those scenarios).
fn lab(name: &str) -> Option<Diagnosis> {
    if !lab_captures().join(format!("{name}.pcap")).exists() {
        skip(
            &format!("{name}.pcap is not in {}", lab_captures().display()),
            "the lab makes it only with dnsmasq and openssl (tests/scenarios/run.sh)",
        );
        return None;
    }
    Some(diagnose(name))
}

/// [`lab`] for a DNS scenario: its findings are `kinds`, and they agree with what the
/// application reported.
fn dns_lab(name: &str, kinds: &[&str]) -> Option<Diagnosis> {
    let d = lab(name)?;
    assert_eq!(d.kinds(), kinds, "{}", d.show());
    app_agrees(&d);
    Some(d)
}

/// The dns_failure finding about `name`.
fn about<'a>(d: &'a Diagnosis, name: &str) -> &'a Value {
    d.findings
        .iter()
        .find(|f| f["kind"] == "dns_failure" && f["evidence"]["name"] == name)
        .unwrap_or_else(|| panic!("{}: no dns_failure about {name}:\n{}", d.name, d.show()))
}

/// Every failed `getaddrinfo NAME` the application reported has a dns_failure about NAME with
/// the same EAI_* code, and every name it resolved is in no finding.
fn app_agrees(d: &Diagnosis) {
    assert!(!d.app.is_empty(), "{}: no app.jsonl", d.name);
    for a in &d.app {
        let action = strv(&a["action"]);
        let w: Vec<&str> = action.split_whitespace().collect();
        if w[0] != "getaddrinfo" {
            continue;
        }
        let result = strv(&a["result"]);
        if result == "ok" {
            assert!(
                !d.findings.iter().any(|f| f["evidence"]["name"] == w[1]),
                "{}: {} resolved but is in a finding:\n{}",
                d.name,
                w[1],
                d.show()
            );
        } else {
            let f = about(d, w[1]);
            assert_eq!(
                s(f, &["socket_error", "posix"]),
                result,
                "{}: the application saw {result} for {}",
                d.name,
                w[1]
            );
        }
    }
}

#[test]
fn dns_nxdomain_and_nodata_fire_the_search_walk_that_ends_in_an_answer_does_not() {
    let Some(d) = dns_lab("dns-nxdomain", &["dns_failure", "dns_failure"]) else {
        return;
    };
    let nx = about(&d, "nope.lab.test");
    assert_has(
        nx,
        &json!({
            "severity": "error",
            "evidence": {
                "rcode": "NXDOMAIN", "names_tried": ["nope.lab.test.corp.lab.test"],
                "messages": {"curl": "curl: (6) Could not resolve host: nope.lab.test"},
            },
            "socket_error": {"windows_code": 11001, "windows_name": "WSAHOST_NOT_FOUND"},
            "server_ip": "203.0.113.54", "client_ip": "198.51.100.10",
        }),
    );
    // getaddrinfo and curl: A and AAAA for both forms, twice.
    assert!(u64v(&nx["attempts"]) >= 4, "{nx}");
    // The frames are the queries and answers of the name.
    let dns_frames = d.frames_where(|p| {
        p["dns"]["qname"]
            .as_str()
            .is_some_and(|n| n.starts_with("nope.lab.test"))
    });
    for fr in nx["frames"].as_array().unwrap() {
        assert!(
            dns_frames.contains(&fr.as_u64().unwrap()),
            "{fr} is not a nope.lab.test packet"
        );
    }
    assert!(s(nx, &["summary"]).contains("nope.lab.test does not exist"));
    let nodata = about(&d, "mail.lab.test");
    assert_has(
        nodata,
        &json!({
            "evidence": {"rcode": "NOERROR"},
            "socket_error": {"windows_code": 11004, "posix": "EAI_NODATA"},
        }),
    );
}

#[test]
fn dns_servfail_fires() {
    let Some(d) = dns_lab("dns-servfail", &["dns_failure"]) else {
        return;
    };
    let f = about(&d, "app.lab.test");
    assert_has(
        f,
        &json!({
            "evidence": {"rcode": "SERVFAIL"}, "socket_error": {"windows_code": 11002},
            "server_ip": "203.0.113.55", "origin": "server",
        }),
    );
}

#[test]
fn dns_refused_fires() {
    let Some(d) = dns_lab("dns-refused", &["dns_failure"]) else {
        return;
    };
    let f = about(&d, "app.lab.test");
    assert_has(
        f,
        &json!({
            "evidence": {"rcode": "REFUSED"},
            "socket_error": {"windows_code": 11003, "windows_name": "WSANO_RECOVERY"},
        }),
    );
    assert!(s(f, &["next_step"]).contains("not a recursive resolver"));
}

#[test]
fn dns_timeout_names_the_silent_resolver() {
    let Some(d) = dns_lab("dns-timeout", &["dns_failure"]) else {
        return;
    };
    let f = about(&d, "app.lab.test");
    assert_has(
        f,
        &json!({
            "evidence": {
                "rcode": "no answer", "responses": 0, "resolvers": ["203.0.113.57"],
                "resolver_answered_other": 0,
            },
        }),
    );
    assert!(u64v(&f["attempts"]) >= 4, "A and AAAA, retried: {f}");
    assert!(
        f64v(&f["evidence"]["span"]) >= 4.0,
        "glibc retries after 5 s: {f}"
    );
    assert_eq!(f["socket_error"]["windows_code"], 11002);
    assert!(s(f, &["summary"]).contains("answered nothing at all"));
}

/// [`lab`] for a TLS scenario: tcpflows summarises the TLS it saw in the flows' `tls`.
fn tls_lab(name: &str) -> Option<Diagnosis> {
    let d = lab(name)?;
    assert!(
        d.flows.iter().any(|f| f.get("tls").is_some()),
        "{}: no flow record carries a `tls` summary",
        d.name
    );
    Some(d)
}

fn tls_findings(d: &Diagnosis, port: u64) -> Vec<&Value> {
    d.findings
        .iter()
        .filter(|f| f["kind"] == "tls_handshake_failed" && f["server_port"] == port)
        .collect()
}

#[test]
fn tls_old_versions_fire_the_working_tls13_connection_does_not() {
    let Some(d) = tls_lab("tls-version") else {
        return;
    };
    assert!(
        d.kinds().iter().all(|k| *k == "tls_handshake_failed"),
        "{}",
        d.show()
    );
    // openssl s_client -tls1, -tls1_1 and curl --tls-max 1.1: alert 70 from the server.
    let alerts = tls_findings(&d, 4431);
    assert_eq!(alerts.len(), 3, "{}", d.show());
    for f in &alerts {
        assert_eq!(f["evidence"]["alert"]["code"], 70, "{f}");
        assert_eq!(f["evidence"]["alert"]["from"], "server");
        assert_eq!(f["origin"], "server");
        let max = s(f, &["evidence", "client_hello", "max_version"]);
        assert!(max == "TLS 1.0" || max == "TLS 1.1", "{max}");
        assert!(s(f, &["summary"]).contains(&format!("at most {max}")));
        assert!(s(f, &["next_step"]).contains("SchUseStrongCrypto"));
        assert!(
            s(f, &["evidence", "messages", "openssl"]).contains("SSL alert number 70"),
            "{f}"
        );
    }
    // The openssl s_client error the lab's client really printed is the one the finding names.
    let seen: Vec<&str> = d
        .app
        .iter()
        .filter_map(|a| a["stderr"].as_array())
        .flatten()
        .filter_map(|l| l.as_str())
        .collect();
    assert!(
        seen.iter()
            .any(|l| l.contains("0A00042E") && l.contains("tlsv1 alert protocol version")),
        "{seen:?}"
    );
    // The SChannel-like server resets the TLS 1.0 ClientHello.
    let rst = tls_findings(&d, 4433);
    assert_eq!(rst.len(), 1, "{}", d.show());
    assert_has(
        rst[0],
        &json!({
            "evidence": {
                "shape": "closed_after_client_hello", "client_hello": {"max_version": "TLS 1.0"},
            },
            "socket_error": {"windows_code": 10054},
        }),
    );
    // The TLS 1.3 curl connection to :4431 worked: no finding names its flow.
    let ok = d
        .flows_to(APP, 4431)
        .into_iter()
        .filter(|f| f["tls"]["server_hello"]["version"] == "TLS 1.3")
        .count();
    assert_eq!(ok, 1, "one completed TLS 1.3 handshake");
    assert_eq!(d.findings.len(), 4, "{}", d.show());
}

#[test]
fn tls_client_certificate_required_fires() {
    let Some(d) = tls_lab("tls-client-cert") else {
        return;
    };
    let f = d.sole("tls_handshake_failed");
    assert_has(
        f,
        &json!({
            "server_port": 4432, "evidence": {"alert": {"code": 40, "from": "server"}},
        }),
    );
    assert!(s(f, &["next_step"]).contains("client certificate"), "{f}");
    // curl printed the alert the finding names.
    assert!(strv(&d.app[0]["stderr"][0]).contains("sslv3 alert handshake failure"));
    assert!(s(f, &["evidence", "messages", "curl"]).contains("sslv3 alert handshake failure"));
}

#[test]
fn tls_untrusted_server_certificate_fires() {
    let Some(d) = tls_lab("tls-untrusted") else {
        return;
    };
    let f = d.sole("tls_handshake_failed");
    assert_has(
        f,
        &json!({
            "evidence": {"alert": {"code": 48, "from": "client"}}, "origin": "client",
            "socket_error": {"windows_name": "SEC_E_UNTRUSTED_ROOT"},
        }),
    );
    assert_eq!(
        d.app[0]["result"], "exit 60",
        "curl (60): certificate problem"
    );
}

#[test]
fn tls_to_a_plain_http_port_is_a_protocol_mismatch() {
    let Some(d) = tls_lab("tls-plain-http") else {
        return;
    };
    let pm: Vec<&Value> = d
        .findings
        .iter()
        .filter(|f| f["kind"] == "protocol_mismatch" && f["server_port"] == 8000)
        .collect();
    assert_eq!(pm.len(), 1, "{}", d.show());
    assert_eq!(pm[0]["evidence"]["direction"], "tls_to_plaintext");
    assert_eq!(pm[0]["evidence"]["protocol"], "HTTP");
    assert!(s(pm[0], &["summary"]).contains("HTTP/1.1 400 Bad Request"));
    assert!(s(pm[0], &["summary"]).contains("the port speaks HTTP, not TLS"));
    // The plain GET to :8000 worked and is in no finding; nothing else is called a TLS failure.
    assert!(
        d.findings.iter().all(|f| f["kind"] == "protocol_mismatch"),
        "{}",
        d.show()
    );
    assert_eq!(
        d.findings
            .iter()
            .filter(|f| f["server_port"] == 8000)
            .count(),
        1
    );
}

/// Checks that `findings` (of the capture `what`) has none of the three kinds.
fn none_of_the_three(findings: &[Value], what: &str) {
    let bad: Vec<&Value> = findings
        .iter()
        .filter(|f| NEW_KINDS.contains(&f["kind"].as_str().unwrap_or("")))
        .collect();
    assert!(bad.is_empty(), "{what}: {bad:#?}");
}

/// Every other lab capture (each made for another failure, all with healthy DNS lookups and
/// connections around it) draws none of the three findings.
#[test]
fn other_lab_captures_stay_silent() {
    let mut names: Vec<String> = std::fs::read_dir(lab_captures())
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.ends_with(".pcap") && !n.ends_with(".server.pcap"))
        .filter(|n| !n.starts_with("dns-") && !n.starts_with("tls-"))
        // a TLS handshake that really failed (the server's flight lost in a Path-MTU black hole)
        .filter(|n| n != "pmtu-blackhole-tls.pcap")
        .map(|n| n.trim_end_matches(".pcap").to_string())
        .collect();
    names.sort();
    assert!(names.iter().any(|n| n == "healthy"), "{names:?}");
    for n in &names {
        none_of_the_three(&diagnose(n).findings, n);
    }
}

/// The healthy public captures (DNS over UDP and TCP, EDNS, DNSSEC, HTTP, TLS) stay silent.
#[test]
fn public_captures_draw_none_of_the_three() {
    for name in [
        "dns_udp.pcap",
        "dns_udp_2.pcap",
        "dns_tcp.pcap",
        "dnssec.pcap",
        "edns-opts.pcap",
        "tcpreplay-test.pcap",
        "pcapparser-wireshark_samples-test.pcapng",
        "ipv4_tcp_http_xml.pcap",
        "mptcp-v1.pcap",
        "tfo-5c1fa7f9ae91.pcap",
    ] {
        let path = shared_captures().join("real").join(name);
        if !path.exists() {
            tcpwhy_tests::skip(
                &format!("{name}: not in the shared corpus"),
                "set TCPWHY_CORPUS to the shared corpus (README: the optional corpus)",
            );
            continue;
        }
        none_of_the_three(&findings(&path), name);
    }
}

/// tlsdecode's OpenSSL/curl fixture captures (tools/pcap2jsonl/tests/fixtures/tls/, made by its
/// make.sh): each failing handshake draws its finding, the healthy TLS 1.2 and 1.3 connections
/// none; TLS 1.3's encrypted certificate_required and OpenSSL's silent close on plaintext leave
/// nothing in clear and stay silent.
#[test]
fn tls_fixture_captures() {
    let dir = tcpwhy_tests::root().join("tools/pcap2jsonl/tests/fixtures/tls");
    // (capture, words of the one finding's summary or next step)
    let handshake_failed = [
        ("alert40.pcap", "fatal alert 40 handshake_failure"),
        ("alert70.pcap", "fatal alert 70 protocol_version"),
        ("clientcert12.pcap", "client certificate"),
        ("rsthello.pcap", "reset the connection"),
    ];
    let protocol_mismatch = [
        ("plainhttp.pcap", "does not speak TLS"),
        ("plainnode.pcap", "the port speaks HTTP, not TLS"),
        ("http2java.pcap", "speaks TLS but the client sent plaintext"),
    ];
    let silent = [
        "clientcert13.pcap",
        "http2tls.pcap",
        "tls12.pcap",
        "tls13.pcap",
    ];
    let check = |name: &str, want: Option<(&str, &str)>| {
        let path = dir.join(name);
        assert!(path.exists(), "{} is missing", path.display());
        let f = findings(&path);
        match want {
            Some((kind, words)) => {
                assert_eq!(f.len(), 1, "{name}: {f:#?}");
                assert_eq!(f[0]["kind"], kind, "{name}");
                assert!(
                    s(&f[0], &["summary"]).contains(words)
                        || s(&f[0], &["next_step"]).contains(words),
                    "{name}: {}",
                    f[0]["summary"]
                );
            }
            None => assert!(f.is_empty(), "{name}: {f:#?}"),
        }
    };
    for (name, words) in handshake_failed {
        check(name, Some(("tls_handshake_failed", words)));
    }
    for (name, words) in protocol_mismatch {
        check(name, Some(("protocol_mismatch", words)));
    }
    for name in silent {
        check(name, None);
    }
}

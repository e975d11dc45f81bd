//! tls_handshake_failed and protocol_mismatch (flow.tls).

use super::*;

fn ch(max: &str) -> serde_json::Value {
    json!({"frame": 4, "ts": 1000.03, "version": if max == "TLS 1.3" { "TLS 1.2" } else { max },
           "max_version": max, "versions": [max], "sni": "app.lab.test", "alpn": ["http/1.1"],
           "cipher_suites": 31})
}

fn tls_ok() -> serde_json::Value {
    json!({
        "client_hello": ch("TLS 1.3"),
        "server_hello": {"frame": 6, "ts": 1000.05, "version": "TLS 1.3", "cipher": "0x1302"},
        "certificate_frame": null,
        "change_cipher_spec": {"client": 8, "server": 6},
        "application_data": {"client": 8, "server": 6},
        "alerts": [], "server_text": null, "client_text": null, "after_client_hello": null
    })
}

/// A TLS 1.0 ClientHello that got no ServerHello: nothing after it on either side.
fn unanswered_tls10() -> serde_json::Value {
    let mut t = tls_ok();
    t["client_hello"] = ch("TLS 1.0");
    t["server_hello"] = json!(null);
    t["change_cipher_spec"] = json!({"client": null, "server": null});
    t["application_data"] = json!({"client": null, "server": null});
    t
}

#[test]
fn tls_healthy_shapes_are_silent() {
    // A completed handshake.
    none(json!({"server_port": 443, "tls": tls_ok()}));
    // close_notify and encrypted alerts after the handshake.
    let mut t = tls_ok();
    t["alerts"] = json!([
        {"frame": 10, "ts": 1000.4, "from": "client", "level": "warning", "code": 0,
         "description": "close_notify", "encrypted": false},
        {"frame": 11, "ts": 1000.4, "from": "server", "level": null, "code": null,
         "description": null, "encrypted": true}
    ]);
    none(json!({"server_port": 443, "tls": t}));
    // A warning alert (unrecognized_name) followed by a completed handshake.
    let mut t = tls_ok();
    t["alerts"] = json!([{"frame": 5, "ts": 1000.04, "from": "server", "level": "warning",
        "code": 112, "description": "unrecognized_name", "encrypted": false}]);
    none(json!({"server_port": 443, "tls": t}));
    // No TLS at all.
    none(json!({"tls": null}));
    // No ServerHello decoded (a capture cut short) but the server sent bytes before its FIN.
    let mut t = tls_ok();
    t["server_hello"] = json!(null);
    t["after_client_hello"] = json!({"end": "fin", "by": "server", "frame": 11, "delay": 0.4});
    none(json!({"server_port": 443, "tls": t}));
    // TLS 1.2 where the client's ChangeCipherSpec was not seen, but the server's was.
    let mut t = tls_ok();
    t["server_hello"] =
        json!({"frame": 6, "ts": 1000.05, "version": "TLS 1.2", "cipher": "0xc02f"});
    t["certificate_frame"] = json!(6);
    t["change_cipher_spec"] = json!({"client": null, "server": 9});
    t["application_data"] = json!({"client": null, "server": 9});
    none(json!({"server_port": 443, "tls": t}));
    // An HTTPS request through a proxy: CONNECT in plaintext, then TLS through the tunnel.
    let mut t = tls_ok();
    t["client_text"] = json!({"frame": 4, "text": "CONNECT app.lab.test:443 HTTP/1.1"});
    none(json!({"server_port": 3128, "tls": t}));
    // A client that closes at once after its ClientHello (a probe): not a server problem.
    let mut t = tls_ok();
    t["server_hello"] = json!(null);
    t["after_client_hello"] = json!({"end": "fin", "by": "client", "frame": 5, "delay": 0.01});
    none(json!({"server_port": 443, "tls": t}));
}

#[test]
fn tls_protocol_version_alert_fires() {
    let mut t = unanswered_tls10();
    t["alerts"] = json!([{"frame": 5, "ts": 1000.04, "from": "server", "level": "fatal",
        "code": 70, "description": "protocol_version", "encrypted": false}]);
    let fd = one(json!({"server_port": 443, "tls": t}));
    assert_eq!(fd.kind, "tls_handshake_failed");
    assert_eq!(fd.severity, Severity::Error);
    assert_eq!(fd.frames, vec![4, 5]);
    assert_eq!(fd.origin.as_deref(), Some("server"));
    assert_has(&fd.summary, "fatal alert 70 protocol_version");
    assert_has(&fd.summary, "at most TLS 1.0");
    assert_has(&fd.next_step, "SchUseStrongCrypto");
    assert_has(&fd.next_step, "-tls1_2");
    assert_eq!(
        fd.evidence["messages"]["java"],
        "javax.net.ssl.SSLHandshakeException: Received fatal alert: protocol_version"
    );
    assert!(
        fd.evidence["messages"]["openssl"]
            .as_str()
            .unwrap()
            .contains("0A00042E:SSL routines::tlsv1 alert protocol version")
    );
    assert!(
        fd.evidence["messages"]["dotnet"]
            .as_str()
            .unwrap()
            .contains("'ProtocolVersion'")
    );
    assert_eq!(
        fd.socket_error.as_ref().unwrap().windows_name.as_deref(),
        Some("SEC_E_ILLEGAL_MESSAGE")
    );
}

/// A TLS 1.2 handshake as far as the server's certificate (frame 6), no application data;
/// `client_ccs`: the frame of the client's ChangeCipherSpec, if it sent one.
fn up_to_certificate(client_ccs: Option<u64>) -> serde_json::Value {
    let mut t = tls_ok();
    t["client_hello"] = ch("TLS 1.2");
    t["server_hello"] =
        json!({"frame": 6, "ts": 1000.05, "version": "TLS 1.2", "cipher": "0xc02f"});
    t["certificate_frame"] = json!(6);
    t["change_cipher_spec"] = json!({"client": client_ccs, "server": null});
    t["application_data"] = json!({"client": null, "server": null});
    t
}

#[test]
fn tls_handshake_failure_after_server_hello_is_client_cert() {
    let mut t = up_to_certificate(Some(8));
    t["alerts"] = json!([{"frame": 9, "ts": 1000.06, "from": "server", "level": "fatal",
        "code": 40, "description": "handshake_failure", "encrypted": false}]);
    let fd = one(json!({"server_port": 443, "tls": t}));
    assert_eq!(fd.kind, "tls_handshake_failed");
    assert_eq!(fd.frames, vec![4, 6, 9]);
    assert_has(&fd.next_step, "client certificate");
}

#[test]
fn tls_client_rejects_server_certificate() {
    let mut t = up_to_certificate(None);
    t["alerts"] = json!([{"frame": 8, "ts": 1000.06, "from": "client", "level": "fatal",
        "code": 48, "description": "unknown_ca", "encrypted": false}]);
    let fd = one(json!({"server_port": 443, "tls": t.clone()}));
    assert_eq!(fd.origin.as_deref(), Some("client"));
    assert_has(&fd.summary, "unknown_ca");
    assert_eq!(
        fd.socket_error.as_ref().unwrap().windows_name.as_deref(),
        Some("SEC_E_UNTRUSTED_ROOT")
    );
    // Without the alert: the client just closes after the certificate.
    t["alerts"] = json!([]);
    let fd = one(json!({"server_port": 443, "tls": t,
        "client": {"fin_frame": 8, "fin_ts": 1000.06}, "server": {"fin_frame": 9}}));
    assert_eq!(fd.evidence["shape"], "client_abort_after_certificate");
    assert_eq!(fd.frames, vec![4, 6, 8]);
}

#[test]
fn tls_server_resets_old_client_after_client_hello() {
    let mut t = unanswered_tls10();
    t["after_client_hello"] = json!({"end": "rst", "by": "server", "frame": 5, "delay": 0.001});
    let fd = one(
        json!({"server_port": 443, "tls": t, "state": "RSTR", "end": "rst",
        "history": "ShADr",
        "rst": {"from": "server", "frame": 5, "ts": 1000.031, "ttl": 126, "ip_id": 9,
                "flags": "RA", "seq_ok": true, "count": 1},
        "client": {"fin_frame": null}, "server": {"fin_frame": null, "bytes": 0}}),
    );
    assert_eq!(fd.kind, "tls_handshake_failed", "{fd:#?}");
    assert_eq!(windows_code(&fd), Some(10054));
    assert_has(&fd.summary, "reset the connection");
    assert_has(&fd.summary, "at most TLS 1.0");
    assert_has(&fd.next_step, "SystemDefaultTlsVersions");
    assert!(
        fd.evidence["messages"]["dotnet_framework"]
            .as_str()
            .unwrap()
            .contains("An unexpected error occurred on a send")
    );
}

#[test]
fn protocol_mismatch_both_ways() {
    let t = json!({"client_hello": ch("TLS 1.3"), "server_hello": null,
        "server_text": {"frame": 5, "text": "HTTP/1.1 400 Bad Request"},
        "after_client_hello": {"end": "fin", "by": "server", "frame": 6, "delay": 0.001}});
    let fd = one(json!({"server_port": 8080, "tls": t}));
    assert_eq!(fd.kind, "protocol_mismatch");
    assert_eq!(fd.frames, vec![4, 5]);
    assert_has(&fd.summary, "the port speaks HTTP, not TLS");
    assert_has(&fd.next_step, "http://app.lab.test:8080/");
    let t = json!({"client_hello": null,
        "client_text": {"frame": 4, "text": "GET / HTTP/1.1"},
        "alerts": [{"frame": 5, "ts": 1000.04, "from": "server", "level": "fatal", "code": 10,
                    "description": "unexpected_message", "encrypted": false}]});
    let fd = one(json!({"server_port": 443, "tls": t}));
    assert_eq!(fd.kind, "protocol_mismatch");
    assert_eq!(fd.frames, vec![4, 5]);
    assert_has(&fd.summary, "speaks TLS but the client sent plaintext");
}

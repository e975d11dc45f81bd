//! `pcap2jsonl | tcpflows` on the TLS captures of tools/pcap2jsonl/tests/fixtures/tls (real
//! OpenSSL and curl in network namespaces, made by its make.sh): each flow's `tls` summary says
//! what the handshake showed in clear. Assertions use what the scenario makes certain (the
//! versions, alerts, who closed), not byte counts, so they hold on regenerated captures.

use std::path::PathBuf;

use serde_json::{Value, json};
use tcpwhy_tests::{assert_has, f64v, pipeline_ok, records_of, root, strv, u64v};

fn tls_of(name: &str) -> Value {
    let cap: PathBuf = root()
        .join("tools/pcap2jsonl/tests/fixtures/tls")
        .join(name);
    let outs = pipeline_ok(&cap, &[("tcpflows", &[])]);
    let flows = records_of(&outs[1].stdout, "flow");
    assert_eq!(flows.len(), 1, "{name}: one connection");
    flows[0]["tls"].clone()
}

fn alert(t: &Value, i: usize) -> Value {
    let a = &t["alerts"][i];
    json!([
        a["from"],
        a["level"],
        a["code"],
        a["description"],
        a["encrypted"]
    ])
}

#[test]
fn healthy_tls12_and_tls13() {
    let t = tls_of("tls12.pcap");
    let ch = &t["client_hello"];
    assert_has(
        ch,
        &json!({
            "max_version": "TLS 1.2", "sni": "tls.example", "alpn": ["h2", "http/1.1"],
        }),
    );
    assert_eq!(t["server_hello"]["version"], "TLS 1.2");
    assert!(u64v(&t["certificate_frame"]) >= u64v(&t["server_hello"]["frame"]));
    for side in ["client", "server"] {
        assert!(t["change_cipher_spec"][side].is_u64(), "{t}");
        assert!(t["application_data"][side].is_u64(), "{t}");
    }
    // close_notify both ways, encrypted in TLS 1.2
    assert_eq!(t["alerts"].as_array().unwrap().len(), 2, "{t}");
    assert_eq!(t["alerts"][0]["encrypted"], true);
    assert_eq!(t["after_client_hello"], Value::Null);
    assert_eq!(t["server_text"], Value::Null);

    let t = tls_of("tls13.pcap");
    assert_has(
        &t,
        &json!({
            "client_hello": {"max_version": "TLS 1.3", "version": "TLS 1.2"},
            "server_hello": {"version": "TLS 1.3"},
        }),
    );
    assert_eq!(t["certificate_frame"], Value::Null, "encrypted in TLS 1.3");
    assert_eq!(t["alerts"], json!([]));
    assert_eq!(t["after_client_hello"], Value::Null);
}

#[test]
fn fatal_alerts_answering_the_client_hello() {
    let t = tls_of("alert40.pcap");
    assert_eq!(t["server_hello"], Value::Null);
    assert_eq!(
        alert(&t, 0),
        json!(["server", "fatal", 40, "handshake_failure", false])
    );
    assert!(t["alerts"][0]["frame"].as_u64() > t["client_hello"]["frame"].as_u64());
    assert_eq!(t["after_client_hello"]["end"], "fin");
    assert_eq!(t["after_client_hello"]["by"], "server");

    let t = tls_of("alert70.pcap");
    assert_eq!(t["client_hello"]["max_version"], "TLS 1.0");
    assert_eq!(t["client_hello"]["versions"], json!(["TLS 1.0"]));
    assert_eq!(
        alert(&t, 0),
        json!(["server", "fatal", 70, "protocol_version", false])
    );
    assert_eq!(t["after_client_hello"]["by"], "server");
    assert!(f64v(&t["after_client_hello"]["delay"]) < 1.0);
}

#[test]
fn client_certificate_required() {
    // TLS 1.2: the server's CertificateRequest is in clear, the client sends an empty
    // Certificate, the server's fatal alert is in clear
    let t = tls_of("clientcert12.pcap");
    assert_eq!(t["server_hello"]["version"], "TLS 1.2");
    assert!(t["certificate_frame"].is_u64());
    assert_eq!(
        alert(&t, 0),
        json!(["server", "fatal", 40, "handshake_failure", false])
    );
    // TLS 1.3: the alert (116 certificate_required) travels as application data: not visible
    let t = tls_of("clientcert13.pcap");
    assert_eq!(t["server_hello"]["version"], "TLS 1.3");
    assert_eq!(t["alerts"], json!([]));
}

#[test]
fn reset_after_the_client_hello() {
    let t = tls_of("rsthello.pcap");
    assert_has(
        &t,
        &json!({
            "client_hello": {"max_version": "TLS 1.0"}, "server_hello": null, "alerts": [],
        }),
    );
    let a = &t["after_client_hello"];
    assert_eq!((&a["end"], &a["by"]), (&json!("rst"), &json!("server")));
    assert!(a["frame"].as_u64() > t["client_hello"]["frame"].as_u64());
}

#[test]
fn plaintext_against_tls_and_back() {
    // curl https:// to a plain HTTP server: the server's first bytes are text
    let t = tls_of("plainhttp.pcap");
    assert!(t["client_hello"].is_object());
    let st = strv(&t["server_text"]["text"]);
    assert!(
        st.starts_with("<!DOCTYPE") || st.starts_with("HTTP/"),
        "{st}"
    );
    assert_eq!(t["after_client_hello"]["by"], "server");
    // the same against Node.js: an HTTP error status line
    let t = tls_of("plainnode.pcap");
    assert_eq!(t["server_text"]["text"], "HTTP/1.1 400 Bad Request");
    assert_eq!(t["server_hello"], Value::Null);
    assert!(t["after_client_hello"]["frame"].as_u64() > t["server_text"]["frame"].as_u64());
    // curl http:// to a TLS server: OpenSSL closes without a record, so no TLS at all
    assert_eq!(tls_of("http2tls.pcap"), Value::Null);
    // ... a Java server answers the request with a fatal alert: client_text
    let t = tls_of("http2java.pcap");
    assert_eq!(t["client_hello"], Value::Null);
    assert_eq!(t["client_text"]["text"], "GET / HTTP/1.1");
    assert_eq!(
        alert(&t, 0),
        json!(["server", "fatal", 10, "unexpected_message", false])
    );
    assert!(t["alerts"][0]["frame"].as_u64() > t["client_text"]["frame"].as_u64());
}

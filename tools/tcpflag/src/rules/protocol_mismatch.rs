//! `protocol_mismatch`: the two ends speak different protocols on the port — a TLS ClientHello
//! answered in plaintext (`tls.server_text`: the port speaks HTTP, SMTP, SSH…, not TLS), or a
//! plaintext request answered by a TLS record or alert (`tls.client_text`: the port speaks TLS).

use serde_json::json;
use tcpwhy_common::records::flow::{Flow, TlsText};
use tcpwhy_common::records::{Finding, Severity};

use super::base;
use super::ev;
use super::tls_handshake_failed::tls_of;
use crate::wording::endpoint;

/// The protocol a first line of plaintext belongs to, when it is recognisable.
fn protocol_of(text: &str) -> Option<&'static str> {
    let t = text.trim_start();
    let lower = t.get(..5).unwrap_or("").to_ascii_lowercase();
    if t.starts_with("HTTP/") || lower == "<!doc" || lower == "<html" {
        Some("HTTP")
    } else if t.starts_with("SSH-") {
        Some("SSH")
    } else if t.starts_with("+OK") || t.starts_with("-ERR") {
        Some("POP3")
    } else if t.starts_with("* OK") || t.starts_with("* BYE") {
        Some("IMAP")
    } else if t.starts_with("220") || t.starts_with("421") || t.starts_with("554") {
        Some("SMTP or FTP")
    } else if [
        "GET ", "POST ", "HEAD ", "PUT ", "OPTIONS ", "CONNECT ", "DELETE ",
    ]
    .iter()
    .any(|m| t.starts_with(m))
    {
        Some("HTTP")
    } else {
        None
    }
}

/// What both directions record: which way it went wrong, the plaintext seen (under `key`) and
/// the protocol it is. No socket error: each stack fails in its own words (`messages`).
fn plaintext_evidence(
    fd: &mut Finding,
    direction: &str,
    key: &str,
    text: &TlsText,
    proto: Option<&str>,
) {
    fd.socket_error = None;
    ev(fd, "direction", direction);
    ev(fd, key, json!({"frame": text.frame, "text": text.text}));
    ev(fd, "protocol", json!(proto));
}

/// The rule.
pub fn protocol_mismatch(f: &Flow) -> Option<Finding> {
    if !f.established {
        return None;
    }
    let tls = tls_of(f)?;
    let target = endpoint(&f.server_ip, f.server_port);
    let port = f.server_port;
    if let (Some(ch), Some(st)) = (&tls.client_hello, &tls.server_text) {
        let proto = protocol_of(&st.text);
        let speaks = proto.unwrap_or("a plaintext protocol");
        let host = ch.sni.clone().unwrap_or_else(|| f.server_ip.clone());
        let mut fd = base(f, "protocol_mismatch", Severity::Error);
        fd.frames = vec![ch.frame, st.frame];
        fd.ts = Some(ch.ts);
        fd.origin = Some("server".into());
        fd.summary = format!(
            "{target} does not speak TLS: the client sent a TLS ClientHello (frame {}) and the server answered in plaintext \"{}\" (frame {}) — the port speaks {speaks}, not TLS (an https:// URL or a TLS option pointed at a plain port)",
            ch.frame, st.text, st.frame
        );
        fd.next_step = if proto == Some("HTTP") {
            format!(
                "use http://{host}:{port}/ for this port, or the server's TLS port (usually 443) for https://; if the service should speak TLS here, enable it on the server (its HTTPS binding / certificate); check with `curl -v http://{host}:{port}/` and `openssl s_client -connect {target} -servername {host}`"
            )
        } else if proto == Some("SMTP or FTP") || proto == Some("IMAP") || proto == Some("POP3") {
            format!(
                "this port expects plaintext first and TLS by STARTTLS/STLS (explicit TLS): configure the client for STARTTLS on {port}, or use the implicit-TLS port (465 SMTP, 993 IMAP, 995 POP3, 990 FTP); `openssl s_client -connect {target} -starttls smtp` shows it"
            )
        } else {
            format!(
                "point the TLS client at the service's TLS port, or enable TLS on {target}; `openssl s_client -connect {target} -servername {host}` and `curl -v` show what answers"
            )
        };
        plaintext_evidence(&mut fd, "tls_to_plaintext", "server_text", st, proto);
        ev(
            &mut fd,
            "client_hello",
            json!({"frame": ch.frame, "max_version": ch.max_version, "sni": ch.sni}),
        );
        ev(
            &mut fd,
            "messages",
            json!({
                "dotnet": "System.Net.Http.HttpRequestException: The SSL connection could not be established, see inner exception. ---> System.IO.IOException: Cannot determine the frame size or a corrupted frame was received.",
                "dotnet_framework": "System.Net.WebException: The underlying connection was closed: An unexpected error occurred on a send. ---> System.IO.IOException: The handshake failed due to an unexpected packet format.",
                "java": "javax.net.ssl.SSLException: Unsupported or unrecognized SSL message",
                "curl": "curl: (35) OpenSSL/3.0: error:0A00010B:SSL routines::wrong version number",
                "openssl": "error:0A00010B:SSL routines::wrong version number",
                "python": "ssl.SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number",
            }),
        );
        return Some(fd);
    }
    if let Some(ct) = &tls.client_text {
        if tls.client_hello.is_some() {
            return None;
        }
        let proto = protocol_of(&ct.text);
        let alert = tls.alerts.iter().find(|a| a.from == "server");
        let reply = tls
            .alerts
            .iter()
            .filter(|a| a.from == "server")
            .map(|a| a.frame)
            .chain(tls.application_data.server)
            .chain(tls.server_hello.as_ref().map(|s| s.frame))
            .min();
        let mut fd = base(f, "protocol_mismatch", Severity::Error);
        fd.frames = vec![ct.frame];
        if let Some(r) = reply {
            fd.frames.push(r);
        }
        fd.ts = Some(f.first_ts);
        fd.origin = Some("client".into());
        let answer = match alert {
            Some(a) => format!(
                "a TLS alert{}",
                a.description
                    .as_ref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
            None => "a TLS record".into(),
        };
        fd.summary = format!(
            "{target} speaks TLS but the client sent plaintext \"{}\" (frame {}) and got {answer}{} back — {} sent to a TLS port (http:// instead of https://, or TLS not enabled in the client)",
            ct.text,
            ct.frame,
            reply.map(|r| format!(" (frame {r})")).unwrap_or_default(),
            proto.map_or("a plaintext request".to_string(), |p| format!(
                "a plaintext {p} request"
            ))
        );
        fd.next_step = format!(
            "use https://{}:{port}/ (or enable TLS/SSL in the client's connection settings) for this port; `curl -v https://{}:{port}/`, `openssl s_client -connect {target}` show the TLS service",
            f.server_ip, f.server_ip
        );
        plaintext_evidence(&mut fd, "plaintext_to_tls", "client_text", ct, proto);
        ev(
            &mut fd,
            "messages",
            json!({
                "curl": "curl: (1) Received HTTP/0.9 when not allowed (or (52) Empty reply from server)",
                "dotnet": "System.Net.Http.HttpRequestException: The response ended prematurely. (ResponseEnded)",
                "dotnet_framework": "System.Net.WebException: The server committed a protocol violation. Section=ResponseStatusLine",
                "java": "java.net.SocketException: Unexpected end of file from server / Invalid Http response",
            }),
        );
        return Some(fd);
    }
    None
}

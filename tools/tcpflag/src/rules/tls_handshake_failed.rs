//! `tls_handshake_failed`: the TCP connection worked, the TLS handshake on it did not (from the
//! flow's `tls` summary, written by tcpflows). Three shapes:
//!
//! * a fatal alert in clear — from the server in answer to the ClientHello (or to the client's
//!   certificate), or from the client after the server's certificate/ServerHello;
//! * the server closes or resets the connection right after the ClientHello without a
//!   ServerHello (SChannel and many appliances do that to a TLS 1.0/1.1 client when they require
//!   TLS 1.2), or never answers it and the client gives up;
//! * TLS ≤ 1.2: the client closes or resets after the server's certificate without sending its
//!   key exchange (it rejected the certificate without saying so).
//!
//! Silent: warning alerts (a warning `unrecognized_name` before a completed handshake),
//! `close_notify`, encrypted alerts (after the handshake, or TLS 1.3's), completed handshakes.

use serde_json::{Value, json};
use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity, SocketError};

use super::{base, ev, origin_value, rst_origin, set_error, set_frames, ttl_text};
use crate::socket_errors::Sock;
use crate::wording::{endpoint, secs};

pub use tcpwhy_common::records::flow::{
    FlowTls as Tls, TlsAlert as Alert, TlsClientHello as ClientHello, TlsEnd as After,
};

/// The flow's TLS summary, when tcpflows wrote one (docs/schema.md, `flow.tls`).
pub fn tls_of(f: &Flow) -> Option<&Tls> {
    f.tls.as_ref()
}

/// Versions compare by name: "SSL 3.0" < "TLS 1.0" < … < "TLS 1.3".
pub fn version_rank(v: &str) -> u8 {
    match v {
        "SSL 3.0" => 0,
        "TLS 1.0" => 1,
        "TLS 1.1" => 2,
        "TLS 1.2" => 3,
        "TLS 1.3" => 4,
        _ => 5,
    }
}

/// What an alert usually means in a failed handshake, by who sent it.
pub fn alert_meaning(code: u8, from_server: bool) -> &'static str {
    match (code, from_server) {
        (40, true) => {
            "the server found nothing acceptable in the ClientHello — no protocol version, cipher suite, signature algorithm or key-exchange group in common — or (after its own handshake messages) it requires a client certificate that was not sent"
        }
        (40, false) => {
            "the client found nothing acceptable in the server's choice (version, cipher, key-exchange group)"
        }
        (70, _) => {
            "protocol version: the peer does not accept the TLS version offered — the client's highest version is below the server's minimum"
        }
        (71, _) => {
            "insufficient security: the cipher suites offered are all too weak for the server's policy"
        }
        (112, _) => {
            "unrecognized name: the server has no site or certificate for the host name (SNI) the client asked for — a wrong host name, an IP address used instead of the name, or a missing SNI binding on the server"
        }
        (116, _) => {
            "certificate required: the server requires a client certificate (mutual TLS) and the client sent none"
        }
        (42 | 43 | 44 | 45 | 46 | 48, true) => {
            "the server rejected the client's certificate (mutual TLS): untrusted issuer, expired, revoked or unsupported"
        }
        (48, false) => {
            "unknown CA: the client does not trust the issuer of the server's certificate (self-signed, a private CA not in the client's trust store, or a missing intermediate certificate)"
        }
        (45, false) => {
            "certificate expired: the server's certificate has expired (or the client's clock is wrong)"
        }
        (44, false) => "certificate revoked: the server's certificate was revoked",
        (42 | 43 | 46, false) => {
            "the client rejected the server's certificate: not trusted, wrong name, wrong key usage or unverifiable"
        }
        (49, _) => "access denied: the certificate is valid but not authorised for this server",
        (47, _) => {
            "illegal parameter: a handshake field was out of range — incompatible TLS stacks, or a middlebox altering the handshake"
        }
        (50, _) => {
            "decode error: a handshake message could not be parsed — incompatible stacks or a middlebox"
        }
        (51, _) => {
            "decrypt error: a signature or Finished check failed — a wrong key, or a middlebox intercepting TLS"
        }
        (10, _) => "unexpected message: the handshake messages came in the wrong order",
        (80, _) => {
            "internal error: the server failed on its side (e.g. its certificate or private key is misconfigured)"
        }
        (86, _) => {
            "inappropriate fallback: the client retried with a lower version than it supports and the server caught the downgrade"
        }
        (109, _) => "missing extension: a required TLS extension was not sent",
        (110, _) => "unsupported extension: an extension the peer did not offer came back",
        (120, _) => {
            "no application protocol: no ALPN protocol in common (e.g. the client offered only h2 and the server speaks only http/1.1)"
        }
        _ => "the handshake was rejected",
    }
}

/// OpenSSL's reason text for a received alert (what curl, Python and `openssl s_client` print).
pub fn openssl_reason(code: u8, desc: &str) -> String {
    let words = desc.replace('_', " ");
    match code {
        112 => "tlsv1 unrecognized name".into(),
        116 => "tlsv13 alert certificate required".into(),
        109 => "tlsv13 alert missing extension".into(),
        0..=47 => format!("sslv3 alert {words}"),
        _ => format!("tlsv1 alert {words}"),
    }
}

/// "HandshakeFailure" from "handshake_failure", as .NET prints TlsAlertMessage.
fn pascal(desc: &str) -> String {
    desc.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// SChannel's error for a fatal alert received: SEC_E_ILLEGAL_MESSAGE (0x80090326).
fn schannel_alert() -> SocketError {
    SocketError {
        windows_code: Some(0x8009_0326),
        windows_name: Some("SEC_E_ILLEGAL_MESSAGE".into()),
        posix: None,
        windows_message: Some("The message received was unexpected or badly formatted.".into()),
    }
}

/// The certificate error on the client that rejected the server's certificate.
fn schannel_cert(code: u8) -> SocketError {
    let (c, n, m) = match code {
        45 => (
            0x8009_0328u32,
            "SEC_E_CERT_EXPIRED",
            "The received certificate has expired.",
        ),
        _ => (
            0x8009_0325,
            "SEC_E_UNTRUSTED_ROOT",
            "The certificate chain was issued by an authority that is not trusted.",
        ),
    };
    SocketError {
        windows_code: Some(c),
        windows_name: Some(n.into()),
        posix: None,
        windows_message: Some(m.into()),
    }
}

/// "TLS 1.0 (legacy TLS 1.0, 28 cipher suites, SNI app.example)".
fn offered(ch: &ClientHello) -> String {
    let max = if ch.max_version.is_empty() {
        "?"
    } else {
        ch.max_version.as_str()
    };
    let mut parts = vec![];
    if !ch.versions.is_empty() && ch.versions.len() > 1 {
        parts.push(format!("versions {}", ch.versions.join(", ")));
    }
    parts.push(format!("{} cipher suites", ch.cipher_suites));
    match &ch.sni {
        Some(s) => parts.push(format!("SNI {s}")),
        None => parts.push("no SNI".into()),
    }
    if !ch.alpn.is_empty() {
        parts.push(format!("ALPN {}", ch.alpn.join(", ")));
    }
    format!("at most {max} ({})", parts.join(", "))
}

/// The client offered nothing above TLS 1.1.
fn old_client(ch: &ClientHello) -> bool {
    version_rank(&ch.max_version) <= 2
}

/// How to make an old client offer TLS 1.2.
const ENABLE_TLS12: &str = "make the client offer TLS 1.2 or 1.3: on .NET Framework set \
    `SchUseStrongCrypto`=1 and `SystemDefaultTlsVersions`=1 (DWORD) under \
    HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319 and \
    HKLM\\SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework\\v4.0.30319, or in code \
    `ServicePointManager.SecurityProtocol |= SecurityProtocolType.Tls12` (and target .NET \
    Framework 4.7 or later); on Windows 7 / Server 2008 R2 also enable TLS 1.2 for SChannel \
    (KB3140245, the SCHANNEL\\Protocols\\TLS 1.2\\Client registry keys); Java: \
    `-Djdk.tls.client.protocols=TLSv1.2,TLSv1.3`; OpenSSL/curl: `--tlsv1.2`";

/// The target as the next-step commands need it.
fn target(f: &Flow, ch: &ClientHello) -> (String, String) {
    let host = ch.sni.clone().unwrap_or_else(|| f.server_ip.clone());
    let hostport = endpoint(&f.server_ip, f.server_port);
    (host, hostport)
}

fn probe(f: &Flow, ch: &ClientHello, version: &str) -> String {
    let (host, hostport) = target(f, ch);
    format!(
        "`openssl s_client -connect {hostport} -servername {host} {version}` shows what the server accepts (`-tls1_2`, `-tls1_3`), `curl -v https://{host}:{}/` the client side, `Test-NetConnection {} -Port {}` that the port itself answers",
        f.server_port, f.server_ip, f.server_port
    )
}

/// The rule.
pub fn tls_handshake_failed(f: &Flow) -> Option<Finding> {
    if !f.established {
        return None;
    }
    let tls = tls_of(f)?;
    let ch = tls.client_hello.as_ref()?;
    // A ClientHello answered in plaintext is protocol_mismatch.
    if tls.server_text.is_some() {
        return None;
    }
    if let Some(a) = tls
        .alerts
        .iter()
        .find(|a| !a.encrypted && a.level.as_deref() == Some("fatal") && a.code.is_some())
    {
        return Some(alert_finding(f, tls, ch, a));
    }
    if tls.server_hello.is_none() {
        if let Some(after) = &tls.after_client_hello {
            return closed_finding(f, tls, ch, after);
        }
        return None;
    }
    client_abort(f, tls, ch)
}

fn alert_finding(f: &Flow, tls: &Tls, ch: &ClientHello, a: &Alert) -> Finding {
    let code = a.code.unwrap_or(0);
    let desc = a
        .description
        .clone()
        .unwrap_or_else(|| format!("alert {code}"));
    let from_server = a.from == "server";
    let mut fd = base(f, "tls_handshake_failed", Severity::Error);
    fd.frames = vec![ch.frame];
    if let Some(sh) = &tls.server_hello {
        if sh.frame < a.frame {
            fd.frames.push(sh.frame);
        }
    }
    if let Some(c) = tls.certificate_frame {
        if c < a.frame && !fd.frames.contains(&c) {
            fd.frames.push(c);
        }
    }
    fd.frames.push(a.frame);
    fd.frames.sort_unstable();
    fd.ts = Some(a.ts);
    fd.origin = Some(if from_server { "server" } else { "client" }.into());
    let meaning = if from_server && code == 40 && tls.server_hello.is_some() {
        "after its own handshake messages the server found the client's side unacceptable — most often it requires a client certificate (mutual TLS) that was not sent, or it refused the one sent"
    } else {
        alert_meaning(code, from_server)
    };
    let reason = openssl_reason(code, &desc);
    let when = match (&tls.server_hello, from_server) {
        (None, true) => format!(
            "in answer to the ClientHello (frame {}, {} later)",
            ch.frame,
            secs(a.ts - ch.ts)
        ),
        (Some(sh), true) => format!(
            "after the handshake messages (ServerHello {}, frame {})",
            sh.version, sh.frame
        ),
        (_, false) => match tls.certificate_frame {
            Some(c) => format!("after the server's certificate (frame {c})"),
            None => "after the ServerHello".into(),
        },
    };
    let offered_words = offered(ch);
    let sender = if from_server {
        "the server"
    } else {
        "the client"
    };
    let version_note = if code == 70 || (old_client(ch) && from_server) {
        format!("; the client offered {offered_words}")
    } else {
        String::new()
    };
    fd.summary = format!(
        "TLS handshake with {} failed: {sender} sent a fatal alert {code} {desc} {when} — {meaning}{version_note} (frames {})",
        endpoint(&f.server_ip, f.server_port),
        fd.frames
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (host, hostport) = target(f, ch);
    let cert_problem = !from_server && matches!(code, 42..=46 | 48);
    fd.next_step = if code == 70 || (from_server && old_client(ch)) {
        format!("{ENABLE_TLS12}; then check: {}", probe(f, ch, "-tls1_2"))
    } else if code == 112 {
        format!(
            "connect with the name the server has a certificate/site for (the client sent SNI {}): check the URL or connection string and the server's SNI bindings; {}",
            ch.sni.as_deref().unwrap_or("none"),
            probe(f, ch, "")
        )
    } else if code == 116 || (from_server && matches!(code, 42..=46 | 48 | 49)) {
        format!(
            "the server wants a client certificate it accepts: configure one on the client (issued by a CA the server trusts, not expired) — `openssl s_client -connect {hostport} -servername {host} -cert client.pem -key client.key`, `curl -v --cert client.pem --key client.key https://{host}:{}/`",
            f.server_port
        )
    } else if from_server && code == 40 && tls.server_hello.is_some() {
        format!(
            "the server rejected the client after its handshake messages: usually a required client certificate (mutual TLS) was not sent — check whether the server asks for one (`openssl s_client -connect {hostport} -servername {host}` prints \"Acceptable client certificate CA names\") and configure one on the client; {}",
            probe(f, ch, "")
        )
    } else if cert_problem {
        format!(
            "the client does not accept the server's certificate: inspect it with `openssl s_client -connect {hostport} -servername {host} -showcerts` (issuer, validity dates, subject names); install the issuing CA on the client, the missing intermediate on the server, or renew the certificate; `curl -v https://{host}:{}/` names the problem",
            f.server_port
        )
    } else {
        format!(
            "compare what the client offers with what the server accepts (versions, cipher suites, groups): {}; the server's TLS configuration and its log name the reason",
            probe(f, ch, "")
        )
    };
    fd.socket_error = Some(if cert_problem {
        schannel_cert(code)
    } else {
        schannel_alert()
    });
    let msgs = if cert_problem {
        json!({
            "dotnet": "System.Net.Http.HttpRequestException: The SSL connection could not be established, see inner exception. ---> System.Security.Authentication.AuthenticationException: The remote certificate is invalid according to the validation procedure: RemoteCertificateChainErrors",
            "dotnet_framework": "System.Net.WebException: The underlying connection was closed: Could not establish trust relationship for the SSL/TLS secure channel. ---> System.Security.Authentication.AuthenticationException: The remote certificate is invalid according to the validation procedure.",
            "java": "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target",
            "curl": if code == 45 { "curl: (60) SSL certificate problem: certificate has expired" } else { "curl: (60) SSL certificate problem: self-signed certificate in certificate chain / unable to get local issuer certificate" },
            "openssl": "verify error:num=19:self-signed certificate in certificate chain (or 20: unable to get local issuer certificate, 10: certificate has expired)",
        })
    } else {
        let openssl_code = 0x0A00_0000u32 + 1000 + u32::from(code);
        json!({
            "dotnet": format!("System.Net.Http.HttpRequestException: The SSL connection could not be established, see inner exception. ---> System.Security.Authentication.AuthenticationException: Authentication failed because the remote party sent a TLS alert: '{}'.", pascal(&desc)),
            "dotnet_framework": "System.Net.WebException: The request was aborted: Could not create SSL/TLS secure channel.",
            "java": format!("javax.net.ssl.SSLHandshakeException: Received fatal alert: {desc}"),
            "curl": format!("curl: (35) OpenSSL/3.0: error:{openssl_code:08X}:SSL routines::{reason}"),
            "openssl": format!("error:{openssl_code:08X}:SSL routines::{reason}:…:SSL alert number {code}"),
            "python": format!("ssl.SSLError: [SSL: {}] {reason}", reason.to_ascii_uppercase().replace(' ', "_")),
        })
    };
    ev(&mut fd, "shape", "alert");
    ev(
        &mut fd,
        "alert",
        json!({"from": a.from, "level": a.level, "code": code, "description": desc, "frame": a.frame}),
    );
    ev(&mut fd, "meaning", meaning);
    common_evidence(&mut fd, tls, ch);
    ev(&mut fd, "messages", msgs);
    fd
}

fn closed_finding(f: &Flow, tls: &Tls, ch: &ClientHello, after: &After) -> Option<Finding> {
    let by_server = after.by == "server";
    // Nothing at all came back: no payload from the server (a capture that could not decode its
    // ServerHello, e.g. cut to a short snap length, still shows the server's bytes).
    if f.server.bytes > 0 {
        return None;
    }
    // The client closing at once is not a server problem (a probe, a cancelled request).
    if !by_server && after.delay < 1.0 {
        return None;
    }
    let rst = after.end == "rst";
    let mut fd = base(f, "tls_handshake_failed", Severity::Error);
    fd.frames = vec![ch.frame, after.frame];
    fd.ts = Some(ch.ts);
    let offered_words = offered(ch);
    let (host, hostport) = target(f, ch);
    let o = rst_origin(f).filter(|_| rst && by_server);
    let middlebox = o.is_some_and(|o| o.origin == "middlebox");
    let closer = if !by_server {
        "the client".to_string()
    } else if middlebox {
        let ttl = ttl_text(o, f.rst.as_ref().and_then(|r| r.ttl), f.ip_version == 6)
            .map(|t| format!(", {t}"))
            .unwrap_or_default();
        format!("a middlebox using the server's address{ttl}")
    } else {
        "the server".to_string()
    };
    if let Some(o) = o {
        ev(&mut fd, "rst_origin", origin_value(o));
    }
    fd.origin = Some(
        if !by_server {
            "client"
        } else if middlebox {
            "middlebox"
        } else {
            "server"
        }
        .into(),
    );
    let how = if rst { "reset" } else { "closed (FIN)" };
    let msgs;
    if by_server {
        fd.summary = format!(
            "TLS handshake with {} failed: {closer} {how} the connection {} after the ClientHello (frame {}) without a ServerHello or an alert; the client offered {offered_words}{} (frames {}, {})",
            endpoint(&f.server_ip, f.server_port),
            secs(after.delay),
            ch.frame,
            if old_client(ch) {
                " — a server that requires TLS 1.2 or later (Windows SChannel, many load balancers) drops an older client this way"
            } else if middlebox {
                " — a firewall filtering by the name in the SNI or by TLS fingerprint"
            } else {
                " — the server (or its TLS offload) accepts nothing the client offered, or it is not a TLS service"
            },
            ch.frame,
            after.frame
        );
        fd.next_step = if old_client(ch) {
            format!("{ENABLE_TLS12}; then check: {}", probe(f, ch, "-tls1_2"))
        } else if middlebox {
            format!(
                "find the firewall or proxy between the client and {} that resets TLS to {host} (its URL/SNI filtering log), and compare with {}",
                f.server_ip,
                probe(f, ch, "")
            )
        } else {
            format!(
                "see what the server accepts: {}; check the server's TLS protocol and cipher settings (Windows: the SCHANNEL\\Protocols registry keys and `Get-TlsCipherSuite`, System event log event 36874/36888)",
                probe(f, ch, "-tls1_2")
            )
        };
        if rst {
            set_error(&mut fd, Sock::Reset);
            msgs = json!({
                "dotnet": "System.Net.Http.HttpRequestException: The SSL connection could not be established, see inner exception. ---> System.IO.IOException: Unable to read data from the transport connection: An existing connection was forcibly closed by the remote host.. ---> System.Net.Sockets.SocketException (10054): An existing connection was forcibly closed by the remote host.",
                "dotnet_framework": "System.Net.WebException: The underlying connection was closed: An unexpected error occurred on a send. ---> System.IO.IOException: Unable to read data from the transport connection: An existing connection was forcibly closed by the remote host. ---> System.Net.Sockets.SocketException: An existing connection was forcibly closed by the remote host",
                "java": "javax.net.ssl.SSLException: Connection reset",
                "curl": format!("curl: (35) OpenSSL SSL_connect: Connection reset by peer in connection to {host}:{}", f.server_port),
                "openssl": "write:errno=104 (Connection reset by peer)",
                "python": "ConnectionResetError: [Errno 104] Connection reset by peer",
            });
        } else {
            fd.socket_error = None;
            msgs = json!({
                "dotnet": "System.Net.Http.HttpRequestException: The SSL connection could not be established, see inner exception. ---> System.IO.IOException: Received an unexpected EOF or 0 bytes from the transport stream.",
                "dotnet_framework": "System.Net.WebException: The underlying connection was closed: An unexpected error occurred on a send. ---> System.IO.IOException: Authentication failed because the remote party has closed the transport stream.",
                "java": "javax.net.ssl.SSLHandshakeException: Remote host terminated the handshake",
                "curl": format!("curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to {host}:{}", f.server_port),
                "openssl": "error:0A000126:SSL routines::unexpected eof while reading",
                "python": "ssl.SSLEOFError: [SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol",
            });
        }
    } else {
        fd.severity = Severity::Error;
        fd.summary = format!(
            "TLS handshake with {} failed: the server never answered the ClientHello (frame {}); the client gave up {} later and {how} the connection (frame {}); the client offered {offered_words} — a server that is not speaking TLS on this port, or a middlebox swallowing the handshake",
            endpoint(&f.server_ip, f.server_port),
            ch.frame,
            secs(after.delay),
            after.frame
        );
        fd.next_step = format!(
            "check that {hostport} is a TLS service and nothing in between holds the ClientHello (a proxy or IPS inspecting TLS): {}",
            probe(f, ch, "")
        );
        // The server's stack acknowledged the ClientHello: its answer may be what got lost.
        if f.server.ack_advance_frame.is_some_and(|a| a > ch.frame) {
            fd.summary.push_str(
                "; the server acknowledged the ClientHello, so its answer may have been lost on the way back: a Path-MTU black hole drops the first full-size packet of the handshake flight (its certificate)",
            );
            fd.next_step.push_str(
                "; capture at the server too: its handshake flight retransmitted and never acknowledged is a Path-MTU black hole (tcpflag names it pmtu_blackhole there)",
            );
        }
        set_error(&mut fd, Sock::TimedOut);
        msgs = json!({
            "dotnet": "System.Threading.Tasks.TaskCanceledException: The request was canceled due to the configured HttpClient.Timeout",
            "dotnet_framework": "System.Net.WebException: The operation has timed out",
            "java": "java.net.SocketTimeoutException: Read timed out",
            "curl": "curl: (28) SSL connection timeout",
        });
    }
    ev(
        &mut fd,
        "shape",
        if by_server {
            "closed_after_client_hello"
        } else {
            "no_answer_to_client_hello"
        },
    );
    ev(
        &mut fd,
        "closed",
        json!({"end": after.end, "by": after.by, "frame": after.frame, "delay": after.delay}),
    );
    common_evidence(&mut fd, tls, ch);
    ev(&mut fd, "messages", msgs);
    Some(fd)
}

/// TLS ≤ 1.2: the client closes after the server's certificate without a key exchange.
fn client_abort(f: &Flow, tls: &Tls, ch: &ClientHello) -> Option<Finding> {
    let sh = tls.server_hello.as_ref()?;
    let cert = tls.certificate_frame?;
    if version_rank(&sh.version) >= 4 {
        return None;
    }
    if tls.change_cipher_spec.client.is_some() || tls.application_data.client.is_some() {
        return None;
    }
    // The server never got to finish either (its ChangeCipherSpec or data would show a
    // handshake that went on, whatever the capture missed of the client's side).
    if tls.change_cipher_spec.server.is_some() || tls.application_data.server.is_some() {
        return None;
    }
    // The client ended the connection: its RST, or its FIN before the server's.
    let (end_frame, end_ts, how) = match (&f.rst, f.client.fin_frame) {
        (Some(r), _) if r.from == "client" && r.frame > cert => (r.frame, r.ts, "reset"),
        (_, Some(fin)) if fin > cert && f.server.fin_frame.is_none_or(|s| s > fin) => {
            (fin, f.client.fin_ts.unwrap_or(f.last_ts), "closed")
        }
        _ => return None,
    };
    let mut fd = base(f, "tls_handshake_failed", Severity::Error);
    set_frames(&mut fd, vec![ch.frame, sh.frame, cert, end_frame]);
    fd.ts = Some(end_ts);
    fd.origin = Some("client".into());
    let (host, hostport) = target(f, ch);
    fd.summary = format!(
        "TLS handshake with {} failed: the client {how} the connection (frame {end_frame}) right after the server's certificate (frame {cert}, {}) without continuing the handshake and without an alert — it did not accept the certificate (untrusted issuer, expired, or not valid for {host})",
        endpoint(&f.server_ip, f.server_port),
        sh.version,
    );
    fd.next_step = format!(
        "inspect the server's certificate: `openssl s_client -connect {hostport} -servername {host} -showcerts` (issuer, validity dates, subject alternative names), `curl -v https://{host}:{}/` names the problem; install the issuing CA on the client, the missing intermediate on the server, or renew the certificate",
        f.server_port
    );
    fd.socket_error = Some(schannel_cert(0));
    ev(&mut fd, "shape", "client_abort_after_certificate");
    common_evidence(&mut fd, tls, ch);
    ev(
        &mut fd,
        "messages",
        json!({
            "dotnet": "System.Security.Authentication.AuthenticationException: The remote certificate is invalid according to the validation procedure: RemoteCertificateChainErrors",
            "dotnet_framework": "System.Net.WebException: The underlying connection was closed: Could not establish trust relationship for the SSL/TLS secure channel.",
            "java": "javax.net.ssl.SSLHandshakeException: PKIX path building failed",
            "curl": "curl: (60) SSL certificate problem",
        }),
    );
    Some(fd)
}

fn common_evidence(fd: &mut Finding, tls: &Tls, ch: &ClientHello) {
    ev(
        fd,
        "client_hello",
        json!({
            "frame": ch.frame,
            "version": ch.version,
            "max_version": ch.max_version,
            "versions": ch.versions,
            "sni": ch.sni,
            "alpn": ch.alpn,
            "cipher_suites": ch.cipher_suites,
        }),
    );
    ev(
        fd,
        "server_hello",
        match &tls.server_hello {
            Some(s) => json!({"frame": s.frame, "version": s.version, "cipher": s.cipher}),
            None => Value::Null,
        },
    );
}

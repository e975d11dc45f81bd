//! TLS records at the start of a TCP payload (any port), and the first line of a plaintext
//! payload.
//!
//! No reassembly: the decoder looks at one segment. When the payload starts with a plausible
//! TLS record header (content type 20..24, version 3.0..3.4, length at most 2^14 + 2048) it lists
//! the records whose headers lie in the segment; a record that runs past the captured bytes is
//! `partial` and nothing of it is invented. Handshake messages, ClientHello, ServerHello and
//! Alert contents are parsed with the `tls-parser` crate. Any other payload whose first four
//! bytes are printable ASCII gives `text`: its first line (at most 64 characters).
//!
//! The cost on bulk data is one comparison of the first bytes.

use tls_parser::{
    TlsExtension, TlsMessage, parse_tls_client_hello_extension, parse_tls_handshake_client_hello,
    parse_tls_handshake_server_hello, parse_tls_message_alert, parse_tls_server_hello_extension,
};

use super::{Dec, be16, json};

/// Largest record length accepted in a header (TLSCiphertext: 2^14 + 2048).
const MAX_RECORD: usize = 16384 + 2048;
/// At most this many records listed per segment.
const MAX_RECORDS: usize = 16;
/// At most this many handshake message types listed per record.
const MAX_MESSAGES: usize = 16;
/// At most this many characters of `text`.
const MAX_TEXT: usize = 64;

/// Whether `p` starts with a plausible TLS record header.
#[inline]
fn is_record_header(p: &[u8]) -> bool {
    p.len() >= 5
        && (20..=24).contains(&p[0])
        && p[1] == 3
        && p[2] <= 4
        && (be16(p, 3) as usize) <= MAX_RECORD
}

/// The TCP payload `data[start..end]` (captured part). Writes `,"tls":{…}` or `,"text":"…"` or
/// nothing.
pub(crate) fn decode(d: &mut Dec, start: usize, end: usize) {
    let p = d.data.get(start..end).unwrap_or(&[]);
    if p.len() < 4 {
        return;
    }
    if is_record_header(p) {
        records(d.out, p);
    } else if p[..4].iter().all(|c| (0x20..0x7f).contains(c)) {
        let n = p
            .iter()
            .take(MAX_TEXT)
            .position(|c| !(0x20..0x7f).contains(c))
            .unwrap_or(p.len().min(MAX_TEXT));
        json::raw(d.out, b",\"text\":");
        json::string(d.out, &p[..n]);
    }
}

/// Record-layer version name.
fn write_version(out: &mut Vec<u8>, v: u16) {
    let n: &[u8] = match v {
        0x0300 => b"\"SSL 3.0\"",
        0x0301 => b"\"TLS 1.0\"",
        0x0302 => b"\"TLS 1.1\"",
        0x0303 => b"\"TLS 1.2\"",
        0x0304 => b"\"TLS 1.3\"",
        _ => {
            hex16(out, v);
            return;
        }
    };
    json::raw(out, n);
}

/// `"0x1302"`.
fn hex16(out: &mut Vec<u8>, v: u16) {
    const H: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(b"\"0x");
    for s in [12, 8, 4, 0] {
        out.push(H[((v >> s) & 0xf) as usize]);
    }
    out.push(b'"');
}

/// A version ordering key: SSL 3.0 < TLS 1.0 < … < TLS 1.3; unknown values (drafts) below all.
fn rank(v: u16) -> u16 {
    if (0x0300..=0x0304).contains(&v) { v } else { 0 }
}

fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a
}

fn content_type(t: u8) -> &'static [u8] {
    match t {
        20 => b"change_cipher_spec",
        21 => b"alert",
        22 => b"handshake",
        23 => b"application_data",
        _ => b"heartbeat",
    }
}

/// Handshake message type names (RFC 8446 and the TLS registry), None for unassigned values.
fn handshake_name(t: u8) -> Option<&'static [u8]> {
    Some(match t {
        0 => b"hello_request",
        1 => b"client_hello",
        2 => b"server_hello",
        3 => b"hello_verify_request",
        4 => b"new_session_ticket",
        5 => b"end_of_early_data",
        6 => b"hello_retry_request",
        8 => b"encrypted_extensions",
        11 => b"certificate",
        12 => b"server_key_exchange",
        13 => b"certificate_request",
        14 => b"server_hello_done",
        15 => b"certificate_verify",
        16 => b"client_key_exchange",
        20 => b"finished",
        21 => b"certificate_url",
        22 => b"certificate_status",
        23 => b"supplemental_data",
        24 => b"key_update",
        25 => b"compressed_certificate",
        67 => b"next_protocol",
        254 => b"message_hash",
        _ => return None,
    })
}

/// Alert description names (TLS alert registry).
pub(crate) fn alert_name(c: u8) -> Option<&'static str> {
    Some(match c {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        _ => return None,
    })
}

/// The records of one segment's payload `p` (which starts with a record header).
fn records(out: &mut Vec<u8>, p: &[u8]) {
    json::raw(out, b",\"tls\":{\"records\":[");
    let mut at = 0;
    let mut n = 0;
    let mut after_ccs = false;
    // the first ClientHello / ServerHello message bytes seen (possibly cut), to decode after
    let mut hello: Option<(u8, &[u8])> = None;
    while n < MAX_RECORDS && is_record_header(&p[at..]) {
        let h = &p[at..];
        let ct = h[0];
        let len = be16(h, 3) as usize;
        let partial = 5 + len > h.len();
        let body = &h[5..(5 + len).min(h.len())];
        if n > 0 {
            out.push(b',');
        }
        json::raw(out, b"{\"type\":\"");
        json::raw(out, content_type(ct));
        json::raw(out, b"\",\"version\":");
        write_version(out, be16(h, 1));
        json::raw(out, b",\"length\":");
        json::uint(out, len as u64);
        json::raw(
            out,
            if partial {
                b",\"partial\":true"
            } else {
                b",\"partial\":false"
            },
        );
        json::raw(out, b",\"handshake\":");
        if ct == 22 && !after_ccs {
            let first = messages(out, body, len);
            if let (Some((t, m)), None) = (first, hello) {
                if t == 1 || t == 2 {
                    hello = Some((t, m));
                }
            }
        } else {
            json::raw(out, b"null,\"messages\":[]");
        }
        json::raw(out, b",\"alert\":");
        if ct == 21 && len == 2 && !after_ccs && body.len() == 2 {
            alert(out, body);
        } else {
            json::raw(out, b"null");
        }
        out.push(b'}');
        after_ccs |= ct == 20;
        n += 1;
        at += 5 + len;
        if at >= p.len() {
            break;
        }
    }
    out.push(b']');
    match hello {
        Some((1, m)) => client_hello(out, m),
        Some((_, m)) => server_hello(out, m),
        None => {}
    }
    out.push(b'}');
}

/// Writes `"first type"|null,"messages":[…]` for the handshake record body `b` (captured part of
/// a record of length `len`). Returns the first message's type and bytes (without its 4-byte
/// header, possibly cut) when it has a known type and a length that fits the record; a record
/// whose first message does not (an encrypted Finished after ChangeCipherSpec) gives null.
fn messages<'a>(out: &mut Vec<u8>, b: &'a [u8], len: usize) -> Option<(u8, &'a [u8])> {
    let mut at = 0;
    let mut first = None;
    let mark = out.len();
    let mut listed = 0;
    json::raw(out, b"null,\"messages\":[");
    while at + 4 <= b.len() && listed < MAX_MESSAGES {
        let t = b[at];
        let mlen = ((b[at + 1] as usize) << 16) | ((b[at + 2] as usize) << 8) | b[at + 3] as usize;
        let Some(name) = handshake_name(t) else { break };
        if at + 4 + mlen > len {
            break;
        }
        if listed == 0 {
            first = Some((t, &b[at + 4..(at + 4 + mlen).min(b.len())]));
            // rewrite the head now that the first type is known
            out.truncate(mark);
            out.push(b'"');
            json::raw(out, name);
            json::raw(out, b"\",\"messages\":[");
        } else {
            out.push(b',');
        }
        out.push(b'"');
        json::raw(out, name);
        out.push(b'"');
        listed += 1;
        at += 4 + mlen;
    }
    out.push(b']');
    first
}

fn alert(out: &mut Vec<u8>, body: &[u8]) {
    match parse_tls_message_alert(body) {
        Ok((_, TlsMessage::Alert(a))) if matches!(a.severity.0, 1 | 2) => {
            json::raw(
                out,
                if a.severity.0 == 2 {
                    b"{\"level\":\"fatal\",\"code\":"
                } else {
                    b"{\"level\":\"warning\",\"code\":"
                },
            );
            json::uint(out, a.code.0 as u64);
            json::raw(out, b",\"description\":");
            match alert_name(a.code.0) {
                Some(n) => json::string(out, n.as_bytes()),
                None => json::raw(out, b"null"),
            }
            out.push(b'}');
        }
        _ => json::raw(out, b"null"),
    }
}

/// Calls `f` on each extension of the extensions block `e` (possibly cut) that parses; an
/// extension that does not parse is skipped, one that is cut ends the walk.
fn each_extension<'a>(
    mut e: &'a [u8],
    parse: fn(&'a [u8]) -> tls_parser::IResult<&'a [u8], TlsExtension<'a>>,
    mut f: impl FnMut(TlsExtension<'a>),
) {
    while e.len() >= 4 {
        let l = 4 + be16(e, 2) as usize;
        if l > e.len() {
            break;
        }
        if let Ok((_, x)) = parse(&e[..l]) {
            f(x);
        }
        e = &e[l..];
    }
}

/// The extensions block after the fixed fields of a hello whose `ext` tls-parser could not
/// take (the message is cut): `rest` starts at the 2-byte extensions length.
fn cut_extensions(rest: &[u8]) -> &[u8] {
    rest.get(2..).unwrap_or(&[])
}

fn client_hello(out: &mut Vec<u8>, m: &[u8]) {
    let Ok((rest, ch)) = parse_tls_handshake_client_hello(m) else {
        return;
    };
    let legacy = ch.version.0;
    let ext = ch.ext.unwrap_or_else(|| cut_extensions(rest));
    let mut sni: Option<&[u8]> = None;
    let mut alpn: Vec<&[u8]> = Vec::new();
    let mut versions: Vec<u16> = Vec::new();
    each_extension(ext, parse_tls_client_hello_extension, |x| match x {
        TlsExtension::SNI(v) if sni.is_none() => {
            sni = v.iter().find(|(t, _)| t.0 == 0).map(|(_, n)| *n);
        }
        TlsExtension::ALPN(v) => alpn = v,
        TlsExtension::SupportedVersions(v) => {
            versions = v.iter().map(|v| v.0).filter(|v| !is_grease(*v)).collect();
        }
        _ => {}
    });
    if versions.is_empty() {
        versions.push(legacy);
    }
    let max = versions
        .iter()
        .copied()
        .chain([legacy])
        .max_by_key(|v| rank(*v))
        .unwrap_or(legacy);
    json::raw(out, b",\"client_hello\":{\"version\":");
    write_version(out, legacy);
    json::raw(out, b",\"max_version\":");
    write_version(out, max);
    json::raw(out, b",\"versions\":[");
    for (i, v) in versions.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_version(out, *v);
    }
    json::raw(out, b"],\"sni\":");
    match sni {
        Some(s) => json::string(out, s),
        None => json::raw(out, b"null"),
    }
    json::raw(out, b",\"alpn\":[");
    for (i, a) in alpn.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::string(out, a);
    }
    json::raw(out, b"],\"cipher_suites\":");
    json::uint(out, ch.ciphers.len() as u64);
    out.push(b'}');
}

fn server_hello(out: &mut Vec<u8>, m: &[u8]) {
    let Ok((rest, sh)) = parse_tls_handshake_server_hello(m) else {
        return;
    };
    let mut version = sh.version.0;
    let ext = sh.ext.unwrap_or_else(|| cut_extensions(rest));
    each_extension(ext, parse_tls_server_hello_extension, |x| {
        if let TlsExtension::SupportedVersions(v) = x {
            if let Some(v) = v.first() {
                version = v.0;
            }
        }
    });
    json::raw(out, b",\"server_hello\":{\"version\":");
    write_version(out, version);
    json::raw(out, b",\"cipher\":");
    hex16(out, sh.cipher.0);
    out.push(b'}');
}

#[cfg(test)]
mod test {
    use super::super::testutil::*;
    use serde_json::{Value, json};

    fn tcp(payload: &str) -> Value {
        let f = ip4(
            6,
            &format!("c350 01bb 00000001 00000001 5018 0100 0000 0000 {payload}"),
        );
        decode(228, &f)
    }

    #[test]
    fn fatal_alert_and_text() {
        let v = tcp("15 0303 0002 02 46");
        assert_eq!(
            v["tls"],
            json!({"records":[{"type":"alert","version":"TLS 1.2","length":2,"partial":false,
                "handshake":null,"messages":[],"alert":{"level":"fatal","code":70,"description":"protocol_version"}}]})
        );
        assert!(v.get("text").is_none());
        let v = tcp("485454502f312e3120343030204261642052657175657374 0d0a 5365727665723a");
        assert_eq!(v["text"], "HTTP/1.1 400 Bad Request");
        assert!(v.get("tls").is_none());
        // binary data: nothing
        let v = tcp("00010203 41424344");
        assert!(v.get("text").is_none() && v.get("tls").is_none());
        // encrypted alert (TLS 1.2, length 26)
        let v = tcp(&format!("15 0303 001a {}", "ab".repeat(26)));
        assert_eq!(v["tls"]["records"][0]["alert"], Value::Null);
        assert_eq!(v["tls"]["records"][0]["type"], "alert");
    }

    #[test]
    fn partial_and_after_ccs() {
        // a certificate record of 3000 bytes of which 10 are here
        let v = tcp("16 0303 0bb8 0b 000bb4 000bb1 0000");
        let r = &v["tls"]["records"][0];
        assert_eq!(r["partial"], true);
        assert_eq!(r["handshake"], "certificate");
        // CCS then an encrypted Finished (40 bytes) in one segment
        let v = tcp(&format!("14 0303 0001 01 16 0303 0028 {}", "5a".repeat(40)));
        let rs = &v["tls"]["records"];
        assert_eq!(rs[0]["type"], "change_cipher_spec");
        assert_eq!(rs[1]["handshake"], Value::Null);
        // an encrypted Finished alone: its first byte is no message type with a fitting length
        let v = tcp(&format!("16 0303 0028 {}", "5a".repeat(40)));
        assert_eq!(v["tls"]["records"][0]["handshake"], Value::Null);
        // a record header followed by garbage: only the first record
        let v = tcp("17 0303 0002 aaaa ffff");
        assert_eq!(v["tls"]["records"].as_array().unwrap().len(), 1);
    }

    /// A TLS 1.3 ClientHello from curl 8 / OpenSSL 3 (SNI, ALPN, GREASE-free supported_versions).
    #[test]
    fn client_and_server_hello() {
        // handshake: client_hello, legacy 0x0303, random, empty sid, 2 ciphers, null comp,
        // extensions: SNI "a.example", ALPN h2 + http/1.1, supported_versions 1.3 1.2
        let ext = "0000 000e 000c 00 0009 612e6578616d706c65
                   0010 000e 000c 02 6832 08 687474702f312e31
                   002b 0005 04 0304 0303";
        let ext_len = crate::decode::testutil::hex(ext).len();
        let body = format!(
            "0303 {} 00 0004 1302 1301 01 00 {:04x} {ext}",
            "11".repeat(32),
            ext_len
        );
        let blen = crate::decode::testutil::hex(&body).len();
        let hs = format!("01 {blen:06x} {body}");
        let v = tcp(&format!("16 0301 {:04x} {hs}", blen + 4));
        assert_eq!(
            v["tls"]["client_hello"],
            json!({"version":"TLS 1.2","max_version":"TLS 1.3","versions":["TLS 1.3","TLS 1.2"],
                   "sni":"a.example","alpn":["h2","http/1.1"],"cipher_suites":2})
        );
        assert_eq!(v["tls"]["records"][0]["version"], "TLS 1.0");
        assert_eq!(v["tls"]["records"][0]["handshake"], "client_hello");
        // the same cut after the ALPN extension: partial, SNI and ALPN kept, versions legacy
        let full = crate::decode::testutil::hex(&format!("16 0301 {:04x} {hs}", blen + 4));
        let cut: String = full[..full.len() - 9]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let v = tcp(&cut);
        assert_eq!(v["tls"]["records"][0]["partial"], true);
        assert_eq!(v["tls"]["client_hello"]["sni"], "a.example");
        assert_eq!(v["tls"]["client_hello"]["versions"], json!(["TLS 1.2"]));
        // ServerHello TLS 1.3 (supported_versions 0x0304), cipher 0x1302
        let body = format!("0303 {} 00 1302 00 0006 002b 0002 0304", "22".repeat(32));
        let blen = crate::decode::testutil::hex(&body).len();
        let v = tcp(&format!("16 0303 {:04x} 02 {:06x} {body}", blen + 4, blen));
        assert_eq!(
            v["tls"]["server_hello"],
            json!({"version":"TLS 1.3","cipher":"0x1302"})
        );
    }
}

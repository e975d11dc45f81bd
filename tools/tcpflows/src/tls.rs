//! The per-flow TLS summary (`flow.tls`) from the `tls` and `text` fields of `packet` records.
//!
//! pcap2jsonl decodes each segment on its own; here a connection's segments are put together:
//! the first ClientHello and ServerHello, the server's Certificate, each side's first
//! ChangeCipherSpec and application data, the alerts (at most [`MAX_ALERTS`]), a plaintext answer
//! to a ClientHello (`server_text`) or a TLS answer to a plaintext request (`client_text`), and
//! the first FIN/RST after a ClientHello that no ServerHello answered. Memory per flow is bounded
//! (the lists are capped, texts are at most 64 characters as pcap2jsonl writes them).
//!
//! Segments carrying only application data records are recognised without parsing their JSON
//! (they are most TLS segments of a transfer).

use serde::Deserialize;
use tcpwhy_common::records::{
    FlowTls, TlsAlert, TlsClientHello, TlsEnd, TlsServerHello, TlsSides, TlsText,
};

use crate::scan::Ts;

/// At most this many alerts are kept per flow.
pub const MAX_ALERTS: usize = 16;
/// Texts longer than this (in bytes) are cut (pcap2jsonl writes at most 64 characters).
const MAX_TEXT: usize = 256;

/// Record kinds in a segment (bits).
pub const HANDSHAKE: u8 = 1;
pub const ALERT: u8 = 2;
pub const CCS: u8 = 4;
pub const APPDATA: u8 = 8;

/// What one segment carried, as the flow summary needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsSeg {
    /// Record kinds present (bits above); 0 for a `text` segment.
    pub kinds: u8,
    pub certificate: bool,
    pub client_hello: Option<TlsClientHello>,
    pub server_hello: Option<TlsServerHello>,
    /// (level, code, description) of each alert record; all None when encrypted.
    pub alerts: Vec<(Option<String>, Option<u8>, Option<String>)>,
    pub text: Option<String>,
}

#[derive(Deserialize)]
struct RawTls<'a> {
    #[serde(borrow, default)]
    records: Vec<RawRecord<'a>>,
    #[serde(default)]
    client_hello: Option<RawClientHello>,
    #[serde(default)]
    server_hello: Option<RawServerHello>,
}

#[derive(Deserialize)]
struct RawRecord<'a> {
    #[serde(borrow, rename = "type")]
    ty: &'a str,
    #[serde(borrow, default)]
    messages: Vec<&'a str>,
    #[serde(default)]
    alert: Option<RawAlert>,
}

#[derive(Deserialize)]
struct RawAlert {
    level: Option<String>,
    code: Option<u8>,
    description: Option<String>,
}

#[derive(Deserialize)]
struct RawClientHello {
    version: String,
    max_version: String,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    sni: Option<String>,
    #[serde(default)]
    alpn: Vec<String>,
    #[serde(default)]
    cipher_suites: u32,
}

#[derive(Deserialize)]
struct RawServerHello {
    version: String,
    cipher: String,
}

/// Reads a segment's `tls` object and/or `text` string (their JSON texts). None when neither
/// is usable.
pub fn parse_seg(tls: Option<&str>, text: Option<&str>) -> Option<TlsSeg> {
    if let Some(t) = tls {
        let b = t.as_bytes();
        let interesting = [
            &b"\"type\":\"handshake\""[..],
            b"\"type\":\"alert\"",
            b"\"type\":\"change_cipher_spec\"",
        ]
        .iter()
        .any(|k| memchr::memmem::find(b, k).is_some());
        if !interesting {
            // application data (or heartbeat) records only
            return Some(TlsSeg {
                kinds: if memchr::memmem::find(b, b"\"application_data\"").is_some() {
                    APPDATA
                } else {
                    0
                },
                ..TlsSeg::default()
            });
        }
        let raw: RawTls<'_> = serde_json::from_str(t).ok()?;
        let mut s = TlsSeg::default();
        for r in &raw.records {
            match r.ty {
                "handshake" => {
                    s.kinds |= HANDSHAKE;
                    s.certificate |= r.messages.contains(&"certificate");
                }
                "alert" => {
                    s.kinds |= ALERT;
                    s.alerts.push(match &r.alert {
                        Some(a) => (a.level.clone(), a.code, a.description.clone()),
                        None => (None, None, None),
                    });
                }
                "change_cipher_spec" => s.kinds |= CCS,
                "application_data" => s.kinds |= APPDATA,
                _ => {}
            }
        }
        s.client_hello = raw.client_hello.map(|c| TlsClientHello {
            frame: 0,
            ts: 0.0,
            version: c.version,
            max_version: c.max_version,
            versions: c.versions,
            sni: c.sni,
            alpn: c.alpn,
            cipher_suites: c.cipher_suites,
        });
        s.server_hello = raw.server_hello.map(|h| TlsServerHello {
            frame: 0,
            ts: 0.0,
            version: h.version,
            cipher: h.cipher,
        });
        return Some(s);
    }
    let mut text: String = serde_json::from_str(text?).ok()?;
    if text.len() > MAX_TEXT {
        let mut n = MAX_TEXT;
        while !text.is_char_boundary(n) {
            n -= 1;
        }
        text.truncate(n);
    }
    Some(TlsSeg {
        text: Some(text),
        ..TlsSeg::default()
    })
}

/// The flow's TLS state while it is tracked.
#[derive(Debug, Clone, Default)]
pub struct TlsState {
    /// A TLS record was seen (else the flow's `tls` is null).
    pub any_record: bool,
    pub summary: FlowTls,
    client_hello_ts: Option<Ts>,
    /// The client's first payload, when it was plaintext (waiting for a TLS answer).
    client_first_text: Option<TlsText>,
}

impl TlsState {
    /// Adds a segment from `from_client`'s side. `first_payload`: the first payload bytes of its
    /// sender.
    pub fn segment(
        &mut self,
        seg: TlsSeg,
        from_client: bool,
        first_payload: bool,
        frame: u64,
        ts: Ts,
    ) {
        let sum = &mut self.summary;
        if let Some(text) = seg.text {
            if first_payload {
                if !from_client && sum.client_hello.is_some() && sum.server_hello.is_none() {
                    sum.server_text = Some(TlsText { frame, text });
                } else if from_client && !self.any_record {
                    self.client_first_text = Some(TlsText { frame, text });
                }
            }
            return;
        }
        self.any_record = true;
        if !from_client && sum.client_text.is_none() {
            sum.client_text = self.client_first_text.take();
        }
        if let Some(mut ch) = seg.client_hello {
            if sum.client_hello.is_none() {
                ch.frame = frame;
                ch.ts = ts.to_f64();
                sum.client_hello = Some(ch);
                self.client_hello_ts = Some(ts);
            }
        }
        if let Some(mut sh) = seg.server_hello {
            if sum.server_hello.is_none() {
                sh.frame = frame;
                sh.ts = ts.to_f64();
                sum.server_hello = Some(sh);
            }
        }
        if seg.certificate && !from_client && sum.certificate_frame.is_none() {
            sum.certificate_frame = Some(frame);
        }
        let first = |sides: &mut TlsSides| {
            let s = if from_client {
                &mut sides.client
            } else {
                &mut sides.server
            };
            if s.is_none() {
                *s = Some(frame);
            }
        };
        if seg.kinds & CCS != 0 {
            first(&mut sum.change_cipher_spec);
        }
        if seg.kinds & APPDATA != 0 {
            first(&mut sum.application_data);
        }
        for (level, code, description) in seg.alerts {
            if sum.alerts.len() >= MAX_ALERTS {
                break;
            }
            sum.alerts.push(TlsAlert {
                frame,
                ts: ts.to_f64(),
                from: if from_client { "client" } else { "server" }.into(),
                encrypted: level.is_none() && code.is_none(),
                level,
                code,
                description,
            });
        }
    }

    /// A FIN or RST (`rst`) from `from_client`'s side.
    pub fn end(&mut self, rst: bool, from_client: bool, frame: u64, ts: Ts) {
        let sum = &mut self.summary;
        if sum.after_client_hello.is_some() || sum.server_hello.is_some() {
            return;
        }
        let Some(ch_ts) = self.client_hello_ts else {
            return;
        };
        sum.after_client_hello = Some(TlsEnd {
            end: if rst { "rst" } else { "fin" }.into(),
            by: if from_client { "client" } else { "server" }.into(),
            frame,
            delay: ts.secs_since(ch_ts),
        });
    }

    /// The flow record's `tls`.
    pub fn output(&self) -> Option<FlowTls> {
        self.any_record.then(|| self.summary.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appdata_only_is_not_parsed_and_alerts_are_kept() {
        let s = parse_seg(
            Some(r#"{"records":[{"type":"application_data","version":"TLS 1.2","length":5,"partial":true,"handshake":null,"messages":[],"alert":null}]}"#),
            None,
        )
        .unwrap();
        assert_eq!(s.kinds, APPDATA);
        let s = parse_seg(
            Some(r#"{"records":[{"type":"alert","version":"TLS 1.2","length":2,"partial":false,"handshake":null,"messages":[],"alert":{"level":"fatal","code":70,"description":"protocol_version"}},{"type":"alert","version":"TLS 1.2","length":26,"partial":false,"handshake":null,"messages":[],"alert":null}]}"#),
            None,
        )
        .unwrap();
        assert_eq!(s.alerts.len(), 2);
        let mut st = TlsState::default();
        st.segment(s, false, true, 6, Ts::default());
        let out = st.output().unwrap();
        assert_eq!(out.alerts[0].code, Some(70));
        assert!(!out.alerts[0].encrypted);
        assert!(out.alerts[1].encrypted);
        assert_eq!(
            parse_seg(None, Some(r#""GET / \"x\"""#))
                .unwrap()
                .text
                .as_deref(),
            Some("GET / \"x\"")
        );
        // text only: no tls
        let mut st = TlsState::default();
        st.segment(
            parse_seg(None, Some(r#""GET /""#)).unwrap(),
            true,
            true,
            4,
            Ts::default(),
        );
        assert_eq!(st.output(), None);
        // ... and the server answers with a TLS alert: client_text
        st.segment(
            parse_seg(
                Some(r#"{"records":[{"type":"alert","version":"TLS 1.2","length":2,"partial":false,"handshake":null,"messages":[],"alert":{"level":"fatal","code":10,"description":"unexpected_message"}}]}"#),
                None,
            )
            .unwrap(),
            false,
            true,
            6,
            Ts::default(),
        );
        let out = st.output().unwrap();
        assert_eq!(
            out.client_text.as_ref().map(|t| (t.frame, t.text.as_str())),
            Some((4, "GET /"))
        );
        assert_eq!(out.alerts[0].from, "server");
        assert_eq!(out.server_text, None);
        assert_eq!(out.after_client_hello, None);
    }

    #[test]
    fn alerts_are_capped() {
        let one = r#"{"records":[{"type":"alert","version":"TLS 1.2","length":26,"partial":false,"handshake":null,"messages":[],"alert":null}]}"#;
        let mut st = TlsState::default();
        for f in 0..100 {
            st.segment(
                parse_seg(Some(one), None).unwrap(),
                f % 2 == 0,
                false,
                f,
                Ts::default(),
            );
        }
        assert_eq!(st.output().unwrap().alerts.len(), MAX_ALERTS);
    }
}

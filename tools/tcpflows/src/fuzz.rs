//! Fuzz target body for the `packet` line scanner (`fuzz/fuzz_targets/tcpflows_scan.rs`),
//! callable from stable tests: `tests/tests/fuzz_corpus.rs` replays the committed seeds in
//! `make test`.
//!
//! Differential: the fast scanner ([`scan::scan_packet`]) against serde reading the same fields
//! with the same types (the reference, as on the slow path). On every line: the scanner refuses
//! only what serde refuses too (malformed, not an object, a value of the wrong type); what it
//! accepts, serde reads to the same values; otherwise it hands the line to serde (`Unsupported`),
//! and what the slow path then reads (`scan::from_serde`) has serde's values too. Its `validate`
//! agrees with serde on every line.

use serde::Deserialize;
use serde::de::IgnoredAny;

use tcpwhy_common::records::Packet;

use crate::scan::{self, Pkt, ScanError};

/// The fields tcpflows reads from a `packet` line, typed as the scanner types them; absent or
/// null = `None`.
#[derive(Deserialize, Debug)]
struct Ref {
    frame: Option<u64>,
    ts: Option<serde_json::Number>,
    len: Option<u32>,
    ip_version: Option<u8>,
    src_ip: Option<String>,
    dst_ip: Option<String>,
    ttl: Option<u8>,
    ip_id: Option<u32>,
    frag_offset: Option<u32>,
    mf: Option<bool>,
    ip_proto: Option<u8>,
    src_port: Option<u16>,
    dst_port: Option<u16>,
    seq: Option<u32>,
    ack: Option<u32>,
    tcp_flags: Option<String>,
    window: Option<u16>,
    payload_len: Option<u32>,
    mss: Option<u16>,
    wscale: Option<u8>,
    sack_perm: Option<bool>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    icmp_inner: Option<RefInner>,
    dns: Option<IgnoredAny>,
}

#[derive(Deserialize, Debug)]
struct RefInner {
    src_ip: Option<String>,
    dst_ip: Option<String>,
    ip_proto: Option<u8>,
    ttl: Option<u8>,
    ip_id: Option<u32>,
    src_port: Option<u16>,
    dst_port: Option<u16>,
    seq: Option<u32>,
}

/// Runs the differential on every line of `data` (split at `\n`; lines that are not UTF-8 are
/// refused before the scanner, as tcpflows does).
pub fn scan_differential(data: &[u8]) {
    for line in data.split(|b| *b == b'\n') {
        if let Ok(text) = std::str::from_utf8(line) {
            one_line(text);
        }
    }
}

fn one_line(text: &str) {
    let json_ok = serde_json::from_str::<IgnoredAny>(text).is_ok();
    // serde_json's whitespace is ASCII; anything else before the `{` is malformed anyway.
    let object = json_ok && text.trim_start().starts_with('{');
    assert_eq!(
        scan::validate(text).is_ok(),
        json_ok,
        "scan::validate and serde disagree on {text:?}"
    );
    let reference = serde_json::from_str::<Ref>(text);
    match scan::scan_packet(text) {
        // Malformed, not an object (a `packet` record must be one), or a value of the wrong
        // type (`"ts":"x"`): serde refuses it too.
        Err(ScanError::Syntax(at)) => assert!(
            !object || reference.is_err(),
            "the scanner refuses (column {}) a line serde reads: {text:?}",
            at + 1
        ),
        // The slow path reads it: what tcpflows then has must be serde's values too.
        Err(ScanError::Unsupported(_)) => {
            if let (Ok(p), Ok(r)) = (serde_json::from_str::<Packet<'_>>(text), &reference) {
                if let Ok(pk) = scan::from_serde(&p, text) {
                    same(&pk, r, text);
                }
            }
        }
        Ok(p) => {
            assert!(
                object,
                "the scanner accepts what is not a JSON object: {text:?}"
            );
            match reference {
                Ok(r) => same(&p, &r, text),
                // Two values for one key: serde refuses the line, the scanner reads one of them.
                Err(e) if e.to_string().starts_with("duplicate field") => {}
                // Anything else the scanner reads must be readable by serde.
                Err(e) => panic!("the scanner reads what serde refuses ({e}): {text:?}"),
            }
        }
    }
}

/// The scanner's values equal serde's.
fn same(p: &Pkt<'_>, r: &Ref, text: &str) {
    macro_rules! eq {
        ($ours:expr; $($f:ident = $g:ident),*) => {$(
            assert_eq!($ours.$f, r.$g, concat!(stringify!($g), " of {:?}"), text);
        )*};
    }
    eq!(p; frame = frame, len = len, src_port = src_port, dst_port = dst_port,
        icmp_type = icmp_type, icmp_code = icmp_code);
    eq!(p.ip; version = ip_version, ttl = ttl, id = ip_id, frag_offset = frag_offset, mf = mf,
        proto = ip_proto);
    eq!(p.tcp; seq = seq, ack = ack, window = window, payload_len = payload_len, mss = mss,
        wscale = wscale, sack_perm = sack_perm);
    assert_eq!(p.ip.src, r.src_ip.as_deref(), "src_ip of {text:?}");
    assert_eq!(p.ip.dst, r.dst_ip.as_deref(), "dst_ip of {text:?}");
    assert_eq!(
        p.tcp.flags,
        r.tcp_flags
            .as_deref()
            .and_then(|s| scan::flags::parse(s.as_bytes())),
        "tcp_flags of {text:?}"
    );
    assert_eq!(p.has_dns, r.dns.is_some(), "dns of {text:?}");
    match (&p.icmp_inner, &r.icmp_inner) {
        (None, None) => {}
        (Some(a), Some(b)) => {
            assert_eq!(a.ip.src, b.src_ip.as_deref(), "icmp_inner of {text:?}");
            assert_eq!(a.ip.dst, b.dst_ip.as_deref(), "icmp_inner of {text:?}");
            assert_eq!(a.ip.proto, b.ip_proto, "icmp_inner of {text:?}");
            assert_eq!(a.ip.ttl, b.ttl, "icmp_inner of {text:?}");
            assert_eq!(a.ip.id, b.ip_id, "icmp_inner of {text:?}");
            assert_eq!(a.src_port, b.src_port, "icmp_inner of {text:?}");
            assert_eq!(a.dst_port, b.dst_port, "icmp_inner of {text:?}");
            assert_eq!(a.seq, b.seq, "icmp_inner of {text:?}");
        }
        (a, b) => panic!("icmp_inner of {text:?}: scanner {a:?}, serde {b:?}"),
    }
    match (p.ts, &r.ts) {
        (None, None) => {}
        (Some(t), Some(n)) => {
            // The scanner keeps exact nanoseconds; serde's f64 is within its rounding of them.
            let want = n.as_f64().expect("a JSON number has an f64 value") * 1e9;
            let got = t.ns as f64;
            assert!(
                (got - want).abs() <= want.abs() * 4e-16 + 1.0,
                "ts of {text:?}: scanner {} ns, serde {want} ns",
                t.ns
            );
        }
        (a, b) => panic!("ts of {text:?}: scanner {a:?}, serde {b:?}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_few_lines() {
        super::scan_differential(
            b"{\"type\":\"packet\",\"frame\":1,\"ts\":1700000000.5,\"len\":60,\"ttl\":64}\n\
              {\"type\":\"packet\",\"frame\":2,\"ttl\":300}\n\
              {\"type\":\"packet\",\"frame\":\"x\"}\n[1,2]\n{\"a\":}\n",
        );
    }
}

//! DNS over UDP (port 53, and mDNS 5353) and TCP (port 53), parsed with `simple-dns`.
//!
//! The header fields (`id`, `response`, `rcode`) are read from the raw header (so `rcode` is the
//! 4-bit header code, as tshark's `dns.flags.rcode`); the question and the answers come from
//! `simple_dns::Packet::parse`. A message it rejects leaves `dns` absent and sets
//! `decode_error`. Names are printed as tshark prints them: labels joined by `.`, no trailing
//! dot, `<Root>` for the root, control bytes as `\t`-style or `\ooo` octal escapes, bytes that
//! are not UTF-8 as U+FFFD.

use simple_dns::rdata::RData;
use simple_dns::{Name, Packet, SimpleDnsError};

use super::{Dec, What, be16, json};

/// UDP ports that carry DNS messages: DNS and multicast DNS (tshark decodes both as `dns`).
pub(crate) fn is_dns_udp(sport: u16, dport: u16) -> bool {
    matches!(sport, 53 | 5353) || matches!(dport, 53 | 5353)
}

/// The UDP payload `data[start..end]` (captured part).
pub(crate) fn decode_udp(d: &mut Dec, start: usize, end: usize) {
    let msg = d.data.get(start..end).unwrap_or(&[]);
    message(d, start, msg);
}

/// The TCP payload `data[start..end]`: a 2-byte length, then the message. Decoded only when the
/// segment holds a whole message (a continuation segment is not an error).
pub(crate) fn decode_tcp(d: &mut Dec, start: usize, end: usize) {
    let p = d.data.get(start..end).unwrap_or(&[]);
    if p.len() < 2 {
        return;
    }
    let len = be16(p, 0) as usize;
    if len < 12 || p.len() < 2 + len {
        return; // not the start of a message, or the rest comes in later segments
    }
    message(d, start + 2, &p[2..2 + len]);
}

fn message(d: &mut Dec, start: usize, msg: &[u8]) {
    if msg.len() < 12 {
        d.fail(
            "dns",
            start,
            What::Short {
                need: 12,
                have: msg.len(),
            },
        );
        return;
    }
    let pkt = match Packet::parse(msg) {
        Ok(p) => p,
        Err(e) => {
            d.fail("dns", start, What::text(error_text(&e)));
            return;
        }
    };
    let out = &mut *d.out;
    json::raw(out, b",\"dns\":{\"id\":");
    json::uint(out, be16(msg, 0) as u64);
    json::raw(out, b",\"response\":");
    json::boolean(out, msg[2] & 0x80 != 0);
    json::raw(out, b",\"rcode\":");
    json::uint(out, (msg[3] & 0x0f) as u64);
    json::raw(out, b",\"qname\":");
    match pkt.questions.first() {
        Some(q) => {
            name(out, &q.qname);
            json::raw(out, b",\"qtype\":");
            type_name(out, u16::from(q.qtype));
        }
        None => json::raw(out, b"null,\"qtype\":null"),
    }
    json::raw(out, b",\"answers\":[");
    for (i, rr) in pkt.answers.iter().enumerate() {
        json::raw(
            out,
            if i == 0 {
                b"{\"name\":"
            } else {
                b",{\"name\":"
            },
        );
        name(out, &rr.name);
        json::raw(out, b",\"type\":");
        type_name(out, u16::from(rr.rdata.type_code()));
        json::raw(out, b",\"ttl\":");
        json::uint(out, rr.ttl as u64);
        json::raw(out, b",\"data\":");
        rdata(out, &rr.rdata);
        json::raw(out, b"}");
    }
    json::raw(out, b"]}");
}

fn error_text(e: &SimpleDnsError) -> String {
    match e {
        SimpleDnsError::InvalidClass(c) | SimpleDnsError::InvalidQClass(c) => {
            format!("unknown class {c}")
        }
        SimpleDnsError::InvalidQType(t) => format!("unknown question type {t}"),
        SimpleDnsError::InvalidServiceLabel => "label longer than 63 bytes".into(),
        SimpleDnsError::InsufficientData => "message cut short".into(),
        SimpleDnsError::InvalidDnsPacket => {
            "malformed message (name too long, bad compression pointer or bad record)".into()
        }
        SimpleDnsError::InvalidCharacterString | SimpleDnsError::InvalidUtf8String(_) => {
            "malformed character string".into()
        }
        other => format!("malformed message ({other})"),
    }
}

/// Writes a record's data: address, target name, `pref exchange` for MX, TXT strings; `null`
/// for the other types.
fn rdata(out: &mut Vec<u8>, r: &RData) {
    match r {
        RData::A(a) => {
            out.push(b'"');
            json::ipv4(out, a.address.to_be_bytes());
            out.push(b'"');
        }
        RData::AAAA(a) => {
            out.push(b'"');
            json::ipv6(out, &a.address.to_be_bytes());
            out.push(b'"');
        }
        RData::CNAME(n) => name(out, &n.0),
        RData::NS(n) => name(out, &n.0),
        RData::PTR(n) => name(out, &n.0),
        RData::MX(mx) => {
            // "10 mail.example.com"
            let mut tmp = Vec::new();
            name(&mut tmp, &mx.exchange);
            out.push(b'"');
            json::uint(out, mx.preference as u64);
            out.push(b' ');
            out.extend_from_slice(&tmp[1..]); // the name's opening quote dropped
        }
        RData::TXT(t) => {
            let mut text = Vec::new();
            for (i, (k, v)) in t.iter_raw().enumerate() {
                if i > 0 {
                    text.push(b' ');
                }
                text.extend_from_slice(k);
                if let Some(v) = v {
                    text.push(b'=');
                    text.extend_from_slice(v);
                }
            }
            json::string(out, &text);
        }
        _ => json::raw(out, b"null"),
    }
}

/// Writes a domain name as a JSON string, formatted as tshark formats it.
fn name(out: &mut Vec<u8>, n: &Name) {
    let labels = n.get_labels();
    if labels.is_empty() {
        json::raw(out, b"\"<Root>\"");
        return;
    }
    out.push(b'"');
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        label(out, l.as_ref());
    }
    out.push(b'"');
}

/// One label's bytes, escaped like Wireshark's `format_text` and then for JSON.
fn label(out: &mut Vec<u8>, b: &[u8]) {
    for chunk in b.utf8_chunks() {
        for &c in chunk.valid().as_bytes() {
            match c {
                b'"' => json::raw(out, b"\\\""),
                b'\\' => json::raw(out, b"\\\\"),
                0x07 => json::raw(out, b"\\\\a"),
                0x08 => json::raw(out, b"\\\\b"),
                0x0c => json::raw(out, b"\\\\f"),
                b'\n' => json::raw(out, b"\\\\n"),
                b'\r' => json::raw(out, b"\\\\r"),
                b'\t' => json::raw(out, b"\\\\t"),
                0x0b => json::raw(out, b"\\\\v"),
                0..0x20 | 0x7f => {
                    json::raw(out, b"\\\\");
                    out.push(b'0' + (c >> 6));
                    out.push(b'0' + ((c >> 3) & 7));
                    out.push(b'0' + (c & 7));
                }
                _ => out.push(c),
            }
        }
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
}

/// Record type mnemonics (IANA DNS parameters), `TYPEn` otherwise.
fn type_name(out: &mut Vec<u8>, t: u16) {
    let n: &str = match t {
        1 => "A",
        2 => "NS",
        3 => "MD",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        23 => "NSAP-PTR",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        28 => "AAAA",
        29 => "LOC",
        30 => "NXT",
        31 => "EID",
        32 => "NIMLOC",
        33 => "SRV",
        34 => "ATMA",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        38 => "A6",
        39 => "DNAME",
        40 => "SINK",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        53 => "SMIMEA",
        55 => "HIP",
        59 => "CDS",
        60 => "CDNSKEY",
        61 => "OPENPGPKEY",
        62 => "CSYNC",
        63 => "ZONEMD",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        108 => "EUI48",
        109 => "EUI64",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        253 => "MAILB",
        254 => "MAILA",
        255 => "ANY",
        256 => "URI",
        257 => "CAA",
        _ => {
            json::raw(out, b"\"TYPE");
            json::uint(out, t as u64);
            out.push(b'"');
            return;
        }
    };
    out.push(b'"');
    out.extend_from_slice(n.as_bytes());
    out.push(b'"');
}

/// The number of a type mnemonic written by `type_name` (for tests comparing with tshark).
#[cfg(test)]
pub(crate) fn type_number(name: &str) -> Option<u16> {
    if let Some(n) = name.strip_prefix("TYPE") {
        return n.parse().ok();
    }
    (0..=u16::MAX).find(|&t| {
        let mut v = Vec::new();
        type_name(&mut v, t);
        v == format!("\"{name}\"").as_bytes()
    })
}

#[cfg(test)]
mod test {
    use super::super::testutil::*;
    use serde_json::{Value, json};

    /// A query for www.example.com A from port 40000 to 53.
    const QUERY: &str =
        "abcd 0100 0001 0000 0000 0000 03777777 076578616d706c65 03636f6d 00 0001 0001";

    #[test]
    fn udp_query() {
        let v = decode(
            228,
            &ip4(17, &format!("9c40 0035 {:04x} 0000 {QUERY}", 8 + 33)),
        );
        assert_eq!(
            v["dns"],
            json!({"id":0xabcd,"response":false,"rcode":0,"qname":"www.example.com","qtype":"A","answers":[]})
        );
        assert_eq!(v["decode_error"], Value::Null);
    }

    #[test]
    fn udp_response_with_cname_and_a() {
        let msg = "abcd 8180 0001 0002 0000 0000 03777777 076578616d706c65 03636f6d 00 0001 0001
                   c00c 0005 0001 0000012c 0006 03616263 c010
                   c02d 0001 0001 0000003c 0004 5db8d822";
        let n = hex(msg).len();
        let v = decode(
            228,
            &ip4(17, &format!("0035 9c40 {:04x} 0000 {msg}", 8 + n)),
        );
        assert_eq!(
            v["dns"],
            json!({"id":0xabcd,"response":true,"rcode":0,"qname":"www.example.com","qtype":"A",
                   "answers":[{"name":"www.example.com","type":"CNAME","ttl":300,"data":"abc.example.com"},
                              {"name":"abc.example.com","type":"A","ttl":60,"data":"93.184.216.34"}]})
        );
    }

    #[test]
    fn tcp_length_prefixed() {
        let tcp = "d431 0035 00000001 00000001 5018 0100 0000 0000";
        let v = decode(228, &ip4(6, &format!("{tcp} 0021 {QUERY}")));
        assert_eq!(v["dns"]["qname"], "www.example.com");
        // a continuation segment (length beyond the segment): no dns, no error
        let v = decode(228, &ip4(6, &format!("{tcp} 0400 {QUERY}")));
        assert!(v.get("dns").is_none());
        assert_eq!(v["decode_error"], Value::Null);
    }

    #[test]
    fn malformed_message_is_an_error() {
        // compression pointer loop in the question
        let msg = "0001 0100 0001 0000 0000 0000 c00c 0001 0001";
        let v = decode(228, &ip4(17, &format!("9c40 0035 0017 0000 {msg}")));
        assert!(v.get("dns").is_none());
        assert_eq!(v["src_port"], 40000);
        let e = v["decode_error"].as_str().unwrap();
        assert!(e.starts_with("dns at byte 28: "), "{e}");
        let v = decode(228, &ip4(17, "9c40 0035 000c 0000 0001 0100 0001"));
        assert_eq!(
            v["decode_error"],
            "dns at byte 28: cut short: 12 bytes needed, 4 captured"
        );
    }

    #[test]
    fn names_are_escaped_like_tshark() {
        // label a.b\<01><e9>" then com; and the root
        let mut out = Vec::new();
        let labels = [
            simple_dns::Label::new_unchecked(&b"a.b\\\x01\xe9\""[..]),
            simple_dns::Label::new_unchecked(&b"com"[..]),
        ];
        super::name(&mut out, &simple_dns::Name::new_with_labels(&labels));
        let s: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(s, "a.b\\\\001\u{fffd}\".com");
        out.clear();
        super::name(&mut out, &simple_dns::Name::new_with_labels(&[]));
        assert_eq!(out, b"\"<Root>\"");
        let mut out = Vec::new();
        super::label(&mut out, b"x\t\x7f\x1f\\y");
        assert_eq!(out, br"x\\t\\177\\037\\y");
        assert_eq!(super::type_number("AAAA"), Some(28));
        assert_eq!(super::type_number("TYPE4000"), Some(4000));
    }
}

//! DNS over UDP (port 53, and mDNS 5353) and TCP (port 53).
//!
//! A lenient reader written for this decoder: it reads the header, the first question and the
//! answer section, straight into JSON (no allocation), and keeps what it decoded when a message
//! is cut short. (`simple-dns` rejects whole messages that tshark decodes: a question type it does
//! not know, such as SSHFP in dnssec.pcap, or a message cut by the snaplen after its first
//! answer; the unit tests cross-check this reader against it on messages it accepts.)
//!
//! `id`, `response` and `rcode` come from the header (`rcode` is the 4-bit header code, as
//! tshark's `dns.flags.rcode`, and null for queries as tshark shows none). Names are printed as
//! tshark prints them: labels joined by `.`, no trailing dot, `<Root>` for the root, control
//! bytes as `\t`-style or `\ooo` octal escapes, bytes that are not UTF-8 as U+FFFD.

use std::borrow::Cow;

use super::{Dec, What, be16, be32, json};

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

/// Why a name or record did not decode, and at which offset in the message.
struct Bad(usize, Cow<'static, str>);

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
    let qd = be16(msg, 4);
    let an = be16(msg, 6);
    let response = msg[2] & 0x80 != 0;
    let mark = d.out.len();
    let out = &mut *d.out;
    json::raw(out, b",\"dns\":{\"id\":");
    json::uint(out, be16(msg, 0) as u64);
    json::raw(out, b",\"response\":");
    json::boolean(out, response);
    json::raw(out, b",\"opcode\":");
    json::uint(out, ((msg[2] >> 3) & 0x0f) as u64);
    json::raw(out, b",\"aa\":");
    json::boolean(out, msg[2] & 0x04 != 0);
    json::raw(out, b",\"tc\":");
    json::boolean(out, msg[2] & 0x02 != 0);
    json::raw(out, b",\"rd\":");
    json::boolean(out, msg[2] & 0x01 != 0);
    json::raw(out, b",\"ra\":");
    json::boolean(out, msg[3] & 0x80 != 0);
    json::raw(out, b",\"rcode\":");
    if response {
        json::uint(out, (msg[3] & 0x0f) as u64);
    } else {
        json::raw(out, b"null");
    }
    json::raw(out, b",\"qname\":");
    let mut pos = 12;
    // questions: the first is output, the others read and dropped
    for i in 0..qd {
        let first = i == 0;
        let m = out.len();
        let r = name(msg, pos, out).and_then(|e| {
            if e + 4 <= msg.len() {
                Ok(e)
            } else {
                Err(Bad(e, "cut short".into()))
            }
        });
        match r {
            Ok(end) => {
                if first {
                    json::raw(out, b",\"qtype\":");
                    type_name(out, be16(msg, end));
                } else {
                    out.truncate(m);
                }
                pos = end + 4;
            }
            Err(b) => {
                out.truncate(m);
                question_failed(d, mark, start, b, first);
                return;
            }
        }
    }
    if qd == 0 {
        json::raw(out, b"null,\"qtype\":null");
    }
    json::raw(out, b",\"answers\":[");
    let mut err = None;
    for i in 0..an {
        let rec = out.len();
        json::raw(
            out,
            if i == 0 {
                b"{\"name\":"
            } else {
                b",{\"name\":"
            },
        );
        match answer(msg, pos, out) {
            Ok(next) => pos = next,
            Err(Bad(at, why)) => {
                out.truncate(rec);
                err = Some(Bad(at, format!("answer {}: {why}", i + 1).into()));
                break;
            }
        }
    }
    json::raw(out, b"]}");
    if let Some(Bad(at, why)) = err {
        d.fail("dns", start + at, What::Text(why));
    }
}

fn question_failed(d: &mut Dec, mark: usize, start: usize, b: Bad, first: bool) {
    if first {
        d.out.truncate(mark); // no `dns` without its question
    }
    let Bad(at, why) = b;
    d.fail("dns", start + at, What::text(format!("question: {why}")));
    if !first {
        // the first question is out: close the object without answers
        json::raw(d.out, b",\"answers\":[]}");
    }
}

/// One resource record at `pos` (its name already announced by the caller): writes the rest
/// of the object (`name` value, `type`, `ttl`, `data`) and returns the offset after it.
fn answer(msg: &[u8], pos: usize, out: &mut Vec<u8>) -> Result<usize, Bad> {
    let end = name(msg, pos, out)?;
    if end + 10 > msg.len() {
        return Err(Bad(pos, "cut short".into()));
    }
    let rtype = be16(msg, end);
    let ttl = be32(msg, end + 4);
    let rdlen = be16(msg, end + 8) as usize;
    let rd = end + 10;
    if rd + rdlen > msg.len() {
        return Err(Bad(pos, "cut short".into()));
    }
    let rdata = &msg[rd..rd + rdlen];
    json::raw(out, b",\"type\":");
    type_name(out, rtype);
    json::raw(out, b",\"ttl\":");
    json::uint(out, ttl as u64);
    json::raw(out, b",\"data\":");
    match (rtype, rdlen) {
        (1, 4) => {
            out.push(b'"');
            json::ipv4(out, [rdata[0], rdata[1], rdata[2], rdata[3]]);
            out.push(b'"');
        }
        (28, 16) => {
            out.push(b'"');
            json::ipv6(out, rdata.try_into().unwrap_or(&[0; 16]));
            out.push(b'"');
        }
        (2 | 5 | 12, _) => {
            let mark = out.len();
            if name(msg, rd, out).is_err() {
                out.truncate(mark);
                json::raw(out, b"null");
            }
        }
        (15, 3..) => {
            let mark = out.len();
            out.push(b'"');
            json::uint(out, be16(rdata, 0) as u64);
            out.push(b' ');
            let tmp = out.len();
            match name(msg, rd + 2, out) {
                Ok(_) => {
                    out.remove(tmp); // the name's opening quote
                }
                Err(_) => {
                    out.truncate(mark);
                    json::raw(out, b"null");
                }
            }
        }
        (16, _) => {
            // character strings, separated by spaces
            out.push(b'"');
            let mut i = 0;
            while i < rdata.len() {
                let l = rdata[i] as usize;
                let s = &rdata[i + 1..(i + 1 + l).min(rdata.len())];
                if i > 0 {
                    out.push(b' ');
                }
                for chunk in s.utf8_chunks() {
                    json::escape_str(out, chunk.valid().as_bytes());
                    if !chunk.invalid().is_empty() {
                        out.extend_from_slice("\u{fffd}".as_bytes());
                    }
                }
                i += 1 + l;
            }
            out.push(b'"');
        }
        _ => json::raw(out, b"null"),
    }
    json::raw(out, b"}");
    Ok(rd + rdlen)
}

/// Reads the (possibly compressed) name at `pos` and writes it as a JSON string. Returns the
/// offset after the name where it started (after the first pointer, if any).
fn name(msg: &[u8], mut pos: usize, out: &mut Vec<u8>) -> Result<usize, Bad> {
    let start = pos;
    let mut end = None;
    let mut hops = 0;
    let mut wire_len = 0;
    let mut labels = 0;
    out.push(b'"');
    loop {
        let Some(&l) = msg.get(pos) else {
            return Err(Bad(pos, "name cut short".into()));
        };
        match l & 0xc0 {
            0x00 if l == 0 => {
                if end.is_none() {
                    end = Some(pos + 1);
                }
                break;
            }
            0x00 => {
                let l = l as usize;
                let Some(label_bytes) = msg.get(pos + 1..pos + 1 + l) else {
                    return Err(Bad(pos, "name cut short".into()));
                };
                wire_len += l + 1;
                if wire_len > 255 {
                    return Err(Bad(start, "name longer than 255 bytes".into()));
                }
                if labels > 0 {
                    out.push(b'.');
                }
                label(out, label_bytes);
                labels += 1;
                pos += 1 + l;
            }
            0xc0 => {
                let Some(&lo) = msg.get(pos + 1) else {
                    return Err(Bad(pos, "name cut short".into()));
                };
                if end.is_none() {
                    end = Some(pos + 2);
                }
                hops += 1;
                let target = (((l & 0x3f) as usize) << 8) | lo as usize;
                if hops > 64 || target >= msg.len() {
                    return Err(Bad(
                        pos,
                        if hops > 64 {
                            "compression pointer loop".into()
                        } else {
                            format!("compression pointer to {target} beyond the message").into()
                        },
                    ));
                }
                pos = target;
            }
            _ => {
                return Err(Bad(pos, format!("unsupported label type 0x{l:02x}").into()));
            }
        }
    }
    if labels == 0 {
        out.extend_from_slice(b"<Root>");
    }
    out.push(b'"');
    Ok(end.unwrap_or(pos + 1))
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
mod test;

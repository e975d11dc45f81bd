//! A targeted, allocation-free reader of `packet` lines.
//!
//! `tcpflows` sees one `packet` line per captured frame, so parsing them is most of its work. This
//! scanner walks the JSON object once, picks out the fields the tracker needs (numbers decoded in
//! place, strings borrowed from the line), and skips everything else while still checking that the
//! line is well-formed JSON. It never allocates. When it meets something it does not handle (an
//! escaped key, an exponent in a timestamp…) it says so and the caller falls back to serde, which
//! is the reference: the scanner is only a fast path, never a second opinion.
//!
//! The generic JSON walking lives in [`cursor`], the exact timestamp in [`ts`]; this module knows
//! the `packet` record: its fields, the key order pcap2jsonl writes, the serde fallback.

mod cursor;
mod ts;

pub use cursor::ScanError;
use cursor::{Cur, R, is_ws};
pub use ts::{Ts, parse_ts};

/// TCP flag bits and letters, shared with pcap2jsonl's writer.
pub use tcpwhy_common::tcp_flags as flags;

/// The datagram an ICMP error quotes: its IP header (`src_ip`, `dst_ip`, `ip_proto`, `ttl`,
/// `ip_id`: what `icmp_inner` carries of it) and its first transport bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Inner<'a> {
    pub ip: Ip<'a>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub seq: Option<u32>,
}

/// The fields of a `packet` line that tcpflows reads, by layer as docs/schema.md lists them.
/// `None` = absent or null.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pkt<'a> {
    pub frame: Option<u64>,
    pub ts: Option<Ts>,
    /// Frame length on the wire.
    pub len: Option<u32>,
    pub ip: Ip<'a>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub tcp: Tcp,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    pub icmp_inner: Option<Inner<'a>>,
    /// A `dns` object is present.
    pub has_dns: bool,
    /// The `tls` object's JSON text, unparsed (read by `crate::tls` only for such segments).
    pub tls: Option<&'a str>,
    /// The `text` string's JSON text (with its quotes and any escapes).
    pub text: Option<&'a str>,
    /// The `tunnel` array's JSON text, when present.
    pub tunnel: Option<&'a str>,
}

/// The IP layer: `ip_version`, `src_ip`, `dst_ip`, `ttl`, `ip_id`, `frag_offset`, `mf`,
/// `ip_proto`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Ip<'a> {
    pub version: Option<u8>,
    pub src: Option<&'a str>,
    pub dst: Option<&'a str>,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: Option<u8>,
    pub id: Option<u32>,
    pub frag_offset: Option<u32>,
    pub mf: Option<bool>,
    pub proto: Option<u8>,
}

/// The TCP layer: `seq`, `ack`, `tcp_flags`, `window`, `payload_len`, `mss`, `wscale`,
/// `sack_perm`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tcp {
    /// The line has a `tcp_flags` key: the TCP layer was decoded.
    pub decoded: bool,
    /// `tcp_flags` parsed to bits.
    pub flags: Option<u8>,
    pub seq: Option<u32>,
    pub ack: Option<u32>,
    pub window: Option<u16>,
    pub payload_len: Option<u32>,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_perm: Option<bool>,
}

fn scan_inner<'a>(c: &mut Cur<'a>) -> R<Option<Inner<'a>>> {
    if c.peek()? == b'n' {
        c.literal(b"null")?;
        return Ok(None);
    }
    if c.peek()? != b'{' {
        return Err(ScanError::Unsupported(c.i));
    }
    let mut inner = Inner::default();
    c.object(|c, key| {
        match key {
            b"src_ip" => inner.ip.src = c.opt_str()?,
            b"dst_ip" => inner.ip.dst = c.opt_str()?,
            b"ip_proto" => inner.ip.proto = c.opt_uint(255)?.map(|v| v as u8),
            b"ttl" => inner.ip.ttl = c.opt_uint(255)?.map(|v| v as u8),
            b"ip_id" => inner.ip.id = c.opt_uint(u32::MAX as u64)?.map(|v| v as u32),
            b"src_port" => inner.src_port = c.opt_uint(65535)?.map(|v| v as u16),
            b"dst_port" => inner.dst_port = c.opt_uint(65535)?.map(|v| v as u16),
            b"seq" => inner.seq = c.opt_uint(u32::MAX as u64)?.map(|v| v as u32),
            _ => c.skip_value(1)?,
        }
        Ok(())
    })?;
    Ok(Some(inner))
}

const F_OTHER: u8 = 0;
const F_FRAME: u8 = 1;
const F_TS: u8 = 2;
const F_LEN: u8 = 3;
const F_IP_VERSION: u8 = 4;
const F_SRC_IP: u8 = 5;
const F_DST_IP: u8 = 6;
const F_TTL: u8 = 7;
const F_IP_ID: u8 = 8;
const F_FRAG_OFFSET: u8 = 9;
const F_MF: u8 = 10;
const F_IP_PROTO: u8 = 11;
const F_SRC_PORT: u8 = 12;
const F_DST_PORT: u8 = 13;
const F_SEQ: u8 = 14;
const F_ACK: u8 = 15;
const F_TCP_FLAGS: u8 = 16;
const F_WINDOW: u8 = 17;
const F_PAYLOAD_LEN: u8 = 18;
const F_MSS: u8 = 19;
const F_WSCALE: u8 = 20;
const F_SACK_PERM: u8 = 21;
const F_ICMP_TYPE: u8 = 22;
const F_ICMP_CODE: u8 = 23;
const F_ICMP_INNER: u8 = 24;
const F_DNS: u8 = 25;
const F_TLS: u8 = 26;
const F_TEXT: u8 = 27;
const F_TUNNEL: u8 = 28;

/// The field a key names: a switch on the length first, then one comparison or two.
#[inline]
fn field_id(k: &[u8]) -> u8 {
    let cand: &[(&[u8], u8)] = match k.len() {
        2 => &[(b"ts", F_TS), (b"mf", F_MF)],
        3 => &[
            (b"len", F_LEN),
            (b"ttl", F_TTL),
            (b"seq", F_SEQ),
            (b"ack", F_ACK),
            (b"mss", F_MSS),
            (b"dns", F_DNS),
            (b"tls", F_TLS),
        ],
        4 => &[(b"text", F_TEXT)],
        5 => &[(b"frame", F_FRAME), (b"ip_id", F_IP_ID)],
        6 => &[
            (b"src_ip", F_SRC_IP),
            (b"dst_ip", F_DST_IP),
            (b"window", F_WINDOW),
            (b"wscale", F_WSCALE),
            (b"tunnel", F_TUNNEL),
        ],
        8 => &[
            (b"ip_proto", F_IP_PROTO),
            (b"src_port", F_SRC_PORT),
            (b"dst_port", F_DST_PORT),
        ],
        9 => &[
            (b"tcp_flags", F_TCP_FLAGS),
            (b"sack_perm", F_SACK_PERM),
            (b"icmp_type", F_ICMP_TYPE),
            (b"icmp_code", F_ICMP_CODE),
        ],
        10 => &[(b"ip_version", F_IP_VERSION), (b"icmp_inner", F_ICMP_INNER)],
        11 => &[
            (b"frag_offset", F_FRAG_OFFSET),
            (b"payload_len", F_PAYLOAD_LEN),
        ],
        _ => return F_OTHER,
    };
    for (name, id) in cand {
        if k == *name {
            return *id;
        }
    }
    F_OTHER
}

/// A key pattern (`"key":`, at most 16 bytes) packed for a single masked 16-byte comparison.
struct Pat {
    val: u128,
    mask: u128,
    len: usize,
    id: u8,
}

const fn pat(s: &[u8], id: u8) -> Pat {
    let mut val = 0u128;
    let mut i = 0;
    while i < s.len() {
        val |= (s[i] as u128) << (8 * i);
        i += 1;
    }
    let mask = if s.len() >= 16 {
        u128::MAX
    } else {
        (1u128 << (8 * s.len())) - 1
    };
    Pat {
        val,
        mask,
        len: s.len(),
        id,
    }
}

impl Pat {
    #[inline]
    fn matches(&self, b: &[u8]) -> bool {
        match b.get(..16) {
            Some(w) => u128::from_le_bytes(w.try_into().expect("16 bytes")) & self.mask == self.val,
            None => {
                b.len() >= self.len && {
                    let mut a = [0u8; 16];
                    a[..self.len].copy_from_slice(&b[..self.len]);
                    u128::from_le_bytes(a) == self.val
                }
            }
        }
    }

    /// Whether the pattern is `"key":` for this key.
    fn matches_key(&self, key: &[u8]) -> bool {
        key.len() + 3 == self.len && {
            let mut a = [0u8; 16];
            a[0] = b'"';
            a[1..1 + key.len()].copy_from_slice(key);
            a[1 + key.len()] = b'"';
            a[2 + key.len()] = b':';
            u128::from_le_bytes(a) == self.val
        }
    }
}

/// The keys of a `packet` record in the order pcap2jsonl writes them (as `"key":`), with the
/// field they fill. The scanner first checks whether the next key is the expected one (one short
/// comparison, no scanning); any other order still works through the generic path.
static ORDER: &[Pat] = &[
    pat(b"\"type\":", F_OTHER),
    pat(b"\"frame\":", F_FRAME),
    pat(b"\"ts\":", F_TS),
    pat(b"\"iface\":", F_OTHER),
    pat(b"\"link\":", F_OTHER),
    pat(b"\"len\":", F_LEN),
    pat(b"\"caplen\":", F_OTHER),
    pat(b"\"src_mac\":", F_OTHER),
    pat(b"\"dst_mac\":", F_OTHER),
    pat(b"\"vlan\":", F_OTHER),
    pat(b"\"ethertype\":", F_OTHER),
    pat(b"\"ip_version\":", F_IP_VERSION),
    pat(b"\"src_ip\":", F_SRC_IP),
    pat(b"\"dst_ip\":", F_DST_IP),
    pat(b"\"ttl\":", F_TTL),
    pat(b"\"ip_id\":", F_IP_ID),
    pat(b"\"df\":", F_OTHER),
    pat(b"\"mf\":", F_MF),
    pat(b"\"frag_offset\":", F_FRAG_OFFSET),
    pat(b"\"ip_proto\":", F_IP_PROTO),
    pat(b"\"proto\":", F_OTHER),
    pat(b"\"src_port\":", F_SRC_PORT),
    pat(b"\"dst_port\":", F_DST_PORT),
    pat(b"\"seq\":", F_SEQ),
    pat(b"\"ack\":", F_ACK),
    pat(b"\"tcp_flags\":", F_TCP_FLAGS),
    pat(b"\"window\":", F_WINDOW),
    pat(b"\"payload_len\":", F_PAYLOAD_LEN),
    pat(b"\"mss\":", F_MSS),
    pat(b"\"wscale\":", F_WSCALE),
    pat(b"\"sack_perm\":", F_SACK_PERM),
    pat(b"\"sack\":", F_OTHER),
    pat(b"\"tsval\":", F_OTHER),
    pat(b"\"tsecr\":", F_OTHER),
    pat(b"\"decode_error\":", F_OTHER),
];

/// Scans one `packet` line. The caller has already checked that the line is UTF-8.
pub fn scan_packet(line: &str) -> Result<Pkt<'_>, ScanError> {
    let mut c = Cur {
        b: line.as_bytes(),
        s: line,
        i: 0,
    };
    let mut p = Pkt::default();
    c.ws();
    c.expect(b'{')?;
    c.ws();
    if c.peek()? == b'}' {
        c.i += 1;
        c.end()?;
        return Ok(p);
    }
    let mut next = 0usize;
    loop {
        let id = match ORDER.get(next) {
            Some(pt) if pt.matches(&c.b[c.i..]) => {
                c.i += pt.len;
                next += 1;
                pt.id
            }
            _ => {
                if c.b.get(c.i) != Some(&b'"') {
                    c.ws();
                }
                let key = c.plain_str()?;
                c.ws();
                c.expect(b':')?;
                if let Some(pos) = ORDER.iter().position(|pt| pt.matches_key(key)) {
                    next = pos + 1;
                }
                field_id(key)
            }
        };
        if c.b.get(c.i).is_some_and(|ch| is_ws(*ch)) {
            c.ws();
        }
        match id {
            F_FRAME => p.frame = c.opt_uint(u64::MAX)?,
            F_TS => p.ts = c.opt_ts()?,
            F_LEN => p.len = c.opt_uint(u32::MAX as u64)?.map(|v| v as u32),
            F_IP_VERSION => p.ip.version = c.opt_uint(255)?.map(|v| v as u8),
            F_SRC_IP => p.ip.src = c.opt_str()?,
            F_DST_IP => p.ip.dst = c.opt_str()?,
            F_TTL => p.ip.ttl = c.opt_uint(255)?.map(|v| v as u8),
            F_IP_ID => p.ip.id = c.opt_uint(u32::MAX as u64)?.map(|v| v as u32),
            F_FRAG_OFFSET => p.ip.frag_offset = c.opt_uint(u32::MAX as u64)?.map(|v| v as u32),
            F_MF => p.ip.mf = c.opt_bool()?,
            F_IP_PROTO => p.ip.proto = c.opt_uint(255)?.map(|v| v as u8),
            F_SRC_PORT => p.src_port = c.opt_uint(65535)?.map(|v| v as u16),
            F_DST_PORT => p.dst_port = c.opt_uint(65535)?.map(|v| v as u16),
            F_SEQ => p.tcp.seq = c.opt_uint(u32::MAX as u64)?.map(|v| v as u32),
            F_ACK => p.tcp.ack = c.opt_uint(u32::MAX as u64)?.map(|v| v as u32),
            F_TCP_FLAGS => {
                p.tcp.decoded = true;
                match c.opt_str()? {
                    None => p.tcp.flags = None,
                    Some(s) => {
                        p.tcp.flags =
                            Some(flags::parse(s.as_bytes()).ok_or(ScanError::Unsupported(c.i))?)
                    }
                }
            }
            F_WINDOW => p.tcp.window = c.opt_uint(65535)?.map(|v| v as u16),
            F_PAYLOAD_LEN => p.tcp.payload_len = c.opt_uint(u32::MAX as u64)?.map(|v| v as u32),
            F_MSS => p.tcp.mss = c.opt_uint(65535)?.map(|v| v as u16),
            F_WSCALE => p.tcp.wscale = c.opt_uint(255)?.map(|v| v as u8),
            F_SACK_PERM => p.tcp.sack_perm = c.opt_bool()?,
            F_ICMP_TYPE => p.icmp_type = c.opt_uint(255)?.map(|v| v as u8),
            F_ICMP_CODE => p.icmp_code = c.opt_uint(255)?.map(|v| v as u8),
            F_ICMP_INNER => p.icmp_inner = scan_inner(&mut c)?,
            F_TUNNEL => {
                let at = c.i;
                c.skip_value(1)?;
                p.tunnel = Some(&c.s[at..c.i]).filter(|t| !t.starts_with('n'));
            }
            F_DNS => {
                p.has_dns = c.peek()? != b'n';
                c.skip_value(1)?;
            }
            F_TLS | F_TEXT => {
                let start = c.i;
                let present = c.peek()? != b'n';
                c.skip_value(1)?;
                let v = present.then(|| c.s.get(start..c.i)).flatten();
                if id == F_TLS {
                    p.tls = v;
                } else {
                    p.text = v;
                }
            }
            _ => c.skip_fast()?,
        }
        if !c.member_end()? {
            break;
        }
    }
    c.end()?;
    Ok(p)
}

/// Checks that a line is one well-formed JSON value (for records passed through unread).
pub fn validate(line: &str) -> Result<(), ScanError> {
    let mut c = Cur {
        b: line.as_bytes(),
        s: line,
        i: 0,
    };
    c.ws();
    c.skip_value(0)?;
    c.end()
}

/// The text of the top-level `ts` number of a line serde accepted (the fast path refused it for
/// something else, or for the number itself), found by walking the object: never a `"ts"` inside
/// a string or a nested object; escaped keys are decoded. `None` when `ts` is absent or not a
/// number.
fn raw_ts(line: &str) -> Option<&[u8]> {
    let mut c = Cur {
        b: line.as_bytes(),
        s: line,
        i: 0,
    };
    let mut found = None;
    c.ws();
    c.expect(b'{').ok()?;
    c.ws();
    if c.peek().ok()? == b'}' {
        return None;
    }
    loop {
        c.ws();
        let at = c.i;
        let (key, escaped) = c.string().ok()?;
        let is_ts = if escaped {
            serde_json::from_str::<String>(&line[at..c.i]).ok()? == "ts"
        } else {
            key == b"ts"
        };
        c.ws();
        c.expect(b':').ok()?;
        c.ws();
        if is_ts && matches!(c.peek().ok()?, b'-' | b'0'..=b'9') {
            found = Some(c.number().ok()?);
        } else {
            // Nested deeper than 128 levels: `None`, and serde's f64 is used.
            c.skip_value(1).ok()?;
        }
        c.ws();
        match c.peek().ok()? {
            b',' => c.i += 1,
            _ => return found,
        }
    }
}

/// A timestamp outside what tcpflows holds: the error, quoting the number.
fn ts_range_error(text: &str) -> String {
    format!(
        "`ts` {} is out of range: timestamps are seconds since 1970, read to the nanosecond, \
         between the years 1677 and 2262",
        tcpwhy_common::quote::quote(text)
    )
}

/// The slow path: the same fields read with serde through `tcpwhy_common::records::Packet`.
/// `ts` is read from its text, exactly as the fast path reads it; an error (to be given the
/// line) when it is out of range.
pub fn from_serde<'a>(
    p: &'a tcpwhy_common::records::Packet<'a>,
    raw: &'a str,
) -> Result<Pkt<'a>, String> {
    let tcp_flags_key = memchr::memmem::find(raw.as_bytes(), b"\"tcp_flags\"").is_some();
    let ts = match raw_ts(raw) {
        Some(text) => parse_ts(text)
            .ok_or_else(|| ts_range_error(std::str::from_utf8(text).unwrap_or("?")))?,
        None => {
            let ns = (p.ts * 1e9).round();
            if ns.is_nan() || ns.abs() >= 9.2e18 {
                return Err(ts_range_error(&p.ts.to_string()));
            }
            Ts {
                ns: ns as i64,
                digits: 9,
            }
        }
    };
    Ok(Pkt {
        frame: Some(p.frame),
        ts: Some(ts),
        len: Some(p.len),
        ip: Ip {
            version: p.ip_version,
            src: p.src_ip.as_deref(),
            dst: p.dst_ip.as_deref(),
            ttl: p.ttl,
            id: p.ip_id,
            frag_offset: p.frag_offset,
            mf: p.mf,
            proto: p.ip_proto,
        },
        src_port: p.src_port,
        dst_port: p.dst_port,
        tcp: Tcp {
            decoded: tcp_flags_key,
            flags: p
                .tcp_flags
                .as_deref()
                .and_then(|s| flags::parse(s.as_bytes())),
            seq: p.seq,
            ack: p.ack,
            window: p.window,
            payload_len: p.payload_len,
            mss: p.mss,
            wscale: p.wscale,
            sack_perm: p.sack_perm,
        },
        icmp_type: p.icmp_type,
        icmp_code: p.icmp_code,
        icmp_inner: p.icmp_inner.as_ref().map(|i| Inner {
            ip: Ip {
                src: i.src_ip.as_deref(),
                dst: i.dst_ip.as_deref(),
                proto: i.ip_proto,
                ttl: i.ttl,
                id: i.ip_id,
                ..Ip::default()
            },
            src_port: i.src_port,
            dst_port: i.dst_port,
            seq: i.seq,
        }),
        has_dns: p.dns.is_some(),
        tls: raw_value(raw.as_bytes(), b"\"tls\":{"),
        text: raw_value(raw.as_bytes(), b"\"text\":\""),
        tunnel: raw_tunnel(raw.as_bytes()),
    })
}

/// The JSON text of the value after `key` (`"tls":{` with the value's first byte) in a line the
/// fast path refused: inside a JSON string every quote is escaped, so the key cannot match there.
fn raw_value<'a>(raw: &'a [u8], key: &[u8]) -> Option<&'a str> {
    let at = memchr::memmem::find(raw, key)? + key.len() - 1;
    let s = std::str::from_utf8(raw).ok()?;
    let mut c = Cur { b: raw, s, i: at };
    c.skip_value(1).ok()?;
    s.get(at..c.i)
}

/// The `tunnel` value's text in a line the fast path refused (it is written without escapes).
fn raw_tunnel(raw: &[u8]) -> Option<&str> {
    let at = memchr::memmem::find(raw, b"\"tunnel\"")? + 8;
    let s = std::str::from_utf8(raw).ok()?;
    let mut c = Cur { b: raw, s, i: at };
    c.ws();
    c.expect(b':').ok()?;
    c.ws();
    let start = c.i;
    c.skip_value(1).ok()?;
    Some(&s[start..c.i]).filter(|t| t.starts_with('['))
}

#[cfg(test)]
mod tests;

//! Frames of Microsoft Network Monitor files (read by `crate::capture::netmon`): the NetMon
//! media type mapped to its pcap `LINKTYPE_*`, NetMon's own frames (filter, network info, ETW
//! event, DNS cache, payload header) and the `netmon` object of a record: parsing and JSON
//! writing. docs/netmon.md describes every field.
//!
//! Layouts as Wireshark's `epan/dissectors/packet-netmon.c` dissects them: the filter and
//! network info frames use big-endian integers and NUL-terminated UTF-16LE strings; events are
//! an ETW `EVENT_HEADER` (little-endian). Every read is bounds-checked: content that ends early
//! keeps what was read and sets `decode_error`.

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{Map, Value, json};

use super::write_packet;
use crate::frame::{FrameMeta, NetmonComment, NetmonFrame, NetmonProcess};

/// The size of the ATM pseudo-header NetMon puts before ATM frames.
const ATM_HEADER: u32 = 16;

/// The kinds of NetMon metadata frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// 0xFFFF: the capture or display filter in use.
    Filter,
    /// 0xFFFB: the capturing machine's adapters (NetMon 3.x writes it as frame 1).
    NetworkInfoEx,
    /// 0xFFFD: the older network info frame (tshark skips it).
    NetworkInfo,
    /// 0xFFFE: resolved names (tshark skips it).
    DnsCache,
    /// 0xFFFC: header of a frame rebuilt by reassembly (tshark skips it).
    PayloadHeader,
    /// 0xFFE0: an ETW event.
    Event,
}

impl Kind {
    /// The record's `link`.
    fn link(self) -> &'static str {
        match self {
            Kind::Filter => "netmon_filter",
            Kind::NetworkInfoEx | Kind::NetworkInfo => "netmon_network_info",
            Kind::DnsCache => "netmon_dns_cache",
            Kind::PayloadHeader => "netmon_payload_header",
            Kind::Event => "netmon_event",
        }
    }

    /// False for the frames Wireshark/tshark skips without giving them a frame number.
    pub(crate) fn numbered(self) -> bool {
        !matches!(
            self,
            Kind::NetworkInfo | Kind::DnsCache | Kind::PayloadHeader
        )
    }
}

/// What a NetMon media type is, for reading and for the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Media {
    /// Decoded through the pcap LINKTYPE_* value.
    Pcap(u32),
    /// ATM with NetMon's 16-byte pseudo-header (addresses, VPI, VCI).
    Atm,
    /// A NetMon metadata frame.
    Special(Kind),
    /// A media type tshark does not decode either: a record with `link` and `decode_error`.
    Undecoded(&'static str),
}

/// The LINKTYPE (or special kind) of a NetMon media type, as Wireshark maps them.
pub(crate) fn classify(media: u16) -> Media {
    match media {
        0 | 1 => Media::Pcap(1), // Ethernet (0 is seen in NetMon 3.4 VPN captures)
        2 => Media::Pcap(6),     // Token Ring (LINKTYPE_IEEE802_5)
        3 => Media::Pcap(10),    // FDDI (NetMon's is bit-swapped)
        4 => Media::Atm,
        6 => Media::Undecoded("802.11 with NetMon radio metadata"),
        7..=9 => Media::Pcap(101), // tunnel, wireless WAN, raw IP: LINKTYPE_RAW
        0xE080 => Media::Pcap(105), // "WiFi message": plain 802.11
        0xE081..=0xE08A => Media::Undecoded("Message Analyzer / WFP message"),
        m if m & 0xF000 == 0xE000 => Media::Pcap(u32::from(m & 0x0FFF)),
        0xFFE0 => Media::Special(Kind::Event),
        0xFFFB => Media::Special(Kind::NetworkInfoEx),
        0xFFFC => Media::Special(Kind::PayloadHeader),
        0xFFFD => Media::Special(Kind::NetworkInfo),
        0xFFFE => Media::Special(Kind::DnsCache),
        0xFFFF => Media::Special(Kind::Filter),
        _ => Media::Undecoded("unknown"),
    }
}

/// Everything about one frame but its bytes.
struct FrameInfo<'a> {
    /// tshark's frame number; 0 for the metadata frames tshark does not number.
    pub frame: u64,
    /// NetMon's own frame number (1-based position in the frame table).
    pub netmon_frame: u64,
    pub ts_sec: i64,
    pub ts_frac: u64,
    pub ts_digits: u8,
    pub media: u16,
    pub len: u32,
    pub comment: Option<&'a NetmonComment>,
    pub process: Option<&'a NetmonProcess>,
}

impl FrameInfo<'_> {
    /// True when an ordinary frame's record needs a `netmon` object.
    fn has_extra(&self) -> bool {
        self.comment.is_some() || self.process.is_some() || self.frame != self.netmon_frame
    }
}

/// Appends the record of a frame read from a NetMon file (no trailing newline): an ordinary
/// frame through [`write_packet`] (with the `netmon` object added when it has more to say), or
/// NetMon's own frame kinds written here.
pub fn write(meta: &FrameMeta, nm: &NetmonFrame, data: &[u8], buf: &mut Vec<u8>) {
    let fr = FrameInfo {
        frame: meta.frame,
        netmon_frame: nm.netmon_frame,
        ts_sec: meta.ts_sec,
        ts_frac: meta.ts_frac,
        ts_digits: meta.ts_digits,
        media: nm.media,
        len: meta.len,
        comment: nm.comment,
        process: nm.process,
    };
    let fr = &fr;
    match classify(nm.media) {
        Media::Pcap(linktype) => {
            let meta = FrameMeta {
                linktype,
                iface: 0,
                netmon: None,
                ..*meta
            };
            let start = buf.len();
            write_packet(&meta, data, buf);
            if fr.has_extra() && buf.len() > start && buf.last() == Some(&b'}') {
                // The decoder's record, with the `netmon` object added at its end.
                buf.pop();
                buf.extend_from_slice(b",\"netmon\":");
                push_json(buf, &netmon_object(fr, Default::default()));
                buf.push(b'}');
            }
        }
        Media::Atm => {
            let (link, error, content) = atm(data);
            let (len, caplen) = if data.len() >= ATM_HEADER as usize {
                (
                    fr.len.saturating_sub(ATM_HEADER),
                    data.len() - ATM_HEADER as usize,
                )
            } else {
                (fr.len, data.len())
            };
            let obj = netmon_object(fr, content);
            write_record(buf, fr, link, len, caplen, error.as_deref(), &obj);
        }
        Media::Special(k) => {
            let (error, content) = parse(k, data);
            let obj = netmon_object(fr, content);
            write_record(
                buf,
                fr,
                k.link(),
                fr.len,
                data.len(),
                error.as_deref(),
                &obj,
            );
        }
        Media::Undecoded(what) => {
            let link = match fr.media {
                6 => "netmon_802_11".to_string(),
                m => format!("netmon_media_{m}"),
            };
            let error = format!(
                "{link}: NetMon media type {} ({what}) is not decoded",
                fr.media
            );
            let obj = netmon_object(fr, Default::default());
            write_record(buf, fr, &link, fr.len, data.len(), Some(&error), &obj);
        }
    }
}

/// Decodes UTF-16LE up to the first NUL (or the end), replacing invalid units.
pub(crate) fn utf16_lossy(b: &[u8]) -> String {
    let units = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0);
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// A bounds-checked cursor over a frame's bytes.
struct Cur<'a> {
    b: &'a [u8],
    at: usize,
}

/// Content ended early (the offset where the missing field starts).
struct Short(usize);

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Short> {
        if self.b.len() - self.at < n {
            return Err(Short(self.at));
        }
        let s = &self.b[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    /// The next `N` bytes, as the integers below read them.
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], Short> {
        let mut v = [0u8; N];
        v.copy_from_slice(self.take(N)?);
        Ok(v)
    }
    fn be16(&mut self) -> Result<u16, Short> {
        self.bytes().map(u16::from_be_bytes)
    }
    fn be32(&mut self) -> Result<u32, Short> {
        self.bytes().map(u32::from_be_bytes)
    }
    fn be64(&mut self) -> Result<u64, Short> {
        self.bytes().map(u64::from_be_bytes)
    }
    fn le16(&mut self) -> Result<u16, Short> {
        self.bytes().map(u16::from_le_bytes)
    }
    fn le32(&mut self) -> Result<u32, Short> {
        self.bytes().map(u32::from_le_bytes)
    }
    /// A NUL-terminated UTF-16LE string (the terminator must be present).
    fn utf16z(&mut self) -> Result<String, Short> {
        let rest = &self.b[self.at..];
        let end = rest
            .chunks_exact(2)
            .position(|c| c == [0, 0])
            .ok_or(Short(self.b.len()))?;
        let s = utf16_lossy(&rest[..end * 2]);
        self.at += end * 2 + 2;
        Ok(s)
    }
    fn ipv4(&mut self) -> Result<Value, Short> {
        let s = self.take(4)?;
        Ok(Value::String(
            Ipv4Addr::new(s[0], s[1], s[2], s[3]).to_string(),
        ))
    }
    fn ipv6(&mut self) -> Result<Value, Short> {
        let mut a = [0u8; 16];
        a.copy_from_slice(self.take(16)?);
        Ok(Value::String(Ipv6Addr::from(a).to_string()))
    }
}

fn mac(b: &[u8]) -> String {
    let mut s = String::with_capacity(17);
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = std::fmt::Write::write_fmt(&mut s, format_args!("{x:02x}"));
    }
    s
}

/// A GUID as Windows prints it (the first three groups little-endian).
fn guid(b: &[u8]) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_le_bytes([b[4], b[5]]),
        u16::from_le_bytes([b[6], b[7]]),
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    )
}

/// Parses a metadata frame: (`decode_error`, content fields of the `netmon` object).
fn parse(kind: Kind, data: &[u8]) -> (Option<String>, Map<String, Value>) {
    let mut m = Map::new();
    let res = match kind {
        Kind::Filter => filter(data, &mut m),
        Kind::NetworkInfoEx => network_info(data, &mut m),
        Kind::Event => event(data, &mut m),
        Kind::NetworkInfo | Kind::DnsCache | Kind::PayloadHeader => Ok(()),
    };
    let err = res.err().map(|Short(at)| {
        format!(
            "{}: content cut short at byte {at} of the frame",
            kind.link()
        )
    });
    (err, m)
}

fn filter(b: &[u8], m: &mut Map<String, Value>) -> Result<(), Short> {
    let mut c = Cur { b, at: 0 };
    let _version = c.be16()?;
    let ty = c.be32()?;
    m.insert(
        "filter_type".into(),
        json!(if ty == 1 { "capture" } else { "display" }),
    );
    let major = c.be32()?;
    let minor = c.be32()?;
    let app = c.utf16z()?;
    m.insert("application".into(), json!(app));
    m.insert(
        "application_version".into(),
        json!(format!("{major}.{minor}")),
    );
    let f = c.utf16z()?;
    m.insert("filter".into(), json!(f));
    Ok(())
}

fn network_info(b: &[u8], m: &mut Map<String, Value>) -> Result<(), Short> {
    let mut c = Cur { b, at: 0 };
    let _version = c.be16()?;
    let count = c.be16()?;
    let computer = c.utf16z()?;
    m.insert("computer_name".into(), json!(computer));
    m.insert("adapters".into(), json!([]));
    for _ in 0..count {
        let mut a = Map::new();
        let res = adapter(&mut c, &mut a);
        if let Some(Value::Array(list)) = m.get_mut("adapters") {
            list.push(Value::Object(a));
        }
        res?;
    }
    Ok(())
}

fn adapter(c: &mut Cur, a: &mut Map<String, Value>) -> Result<(), Short> {
    a.insert("name".into(), json!(c.utf16z()?));
    a.insert("description".into(), json!(c.utf16z()?));
    a.insert("guid".into(), json!(c.utf16z()?));
    a.insert("media_type".into(), json!(c.be32()?));
    a.insert("mtu".into(), json!(c.be32()?));
    let speed = c.be64()?;
    a.insert(
        "link_speed".into(),
        if speed == u64::MAX {
            Value::Null
        } else {
            json!(speed)
        },
    );
    a.insert("mac".into(), json!(mac(c.take(6)?)));
    let mut counts = [0u16; 6];
    for n in &mut counts {
        *n = c.be16()?;
    }
    let [v4, v6, gw, dhcp, dns4, dns6] = counts;
    let list = |c: &mut Cur, n: u16, v6: bool| -> Result<Value, Short> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(if v6 { c.ipv6()? } else { c.ipv4()? });
        }
        Ok(Value::Array(v))
    };
    a.insert("ipv4".into(), list(c, v4, false)?);
    a.insert("ipv4_masks".into(), list(c, v4, false)?);
    a.insert("ipv6".into(), list(c, v6, true)?);
    a.insert("gateways".into(), list(c, gw, false)?);
    a.insert("dhcp_servers".into(), list(c, dhcp, false)?);
    let mut dns = list(c, dns4, false)?;
    if let (Value::Array(d), Value::Array(d6)) = (&mut dns, list(c, dns6, true)?) {
        d.extend(d6);
    }
    a.insert("dns_servers".into(), dns);
    Ok(())
}

fn event(b: &[u8], m: &mut Map<String, Value>) -> Result<(), Short> {
    let mut c = Cur { b, at: 0 };
    // EVENT_HEADER: size, header type, flags, event property, each 16 bits and not shown (a
    // cut names the one it falls in).
    for _ in 0..4 {
        c.le16()?;
    }
    let thread = c.le32()?;
    let pid = c.le32()?;
    m.insert("pid".into(), json!(pid));
    m.insert("thread_id".into(), json!(thread));
    let _ts = c.take(8)?;
    m.insert("provider_id".into(), json!(guid(c.take(16)?)));
    let id = c.le16()?;
    let d = c.take(4)?; // version, channel, level, opcode
    m.insert("event_id".into(), json!(id));
    m.insert("level".into(), json!(d[2]));
    m.insert("opcode".into(), json!(d[3]));
    Ok(())
}

/// The ATM pseudo-header: (`link`, `decode_error`, content).
fn atm(data: &[u8]) -> (&'static str, Option<String>, Map<String, Value>) {
    let mut m = Map::new();
    if data.len() < 16 {
        return (
            "netmon_atm",
            Some(format!(
                "netmon_atm: {} bytes, too short for the 16-byte ATM pseudo-header",
                data.len()
            )),
            m,
        );
    }
    m.insert(
        "vpi".into(),
        json!(u16::from_be_bytes([data[12], data[13]])),
    );
    m.insert(
        "vci".into(),
        json!(u16::from_be_bytes([data[14], data[15]])),
    );
    (
        "netmon_atm",
        Some("netmon_atm: ATM frames are not decoded".to_string()),
        m,
    )
}

/// The `netmon` object: NetMon's frame number and media type, `content`, then the frame's
/// comment and process when it has them.
fn netmon_object(fr: &FrameInfo, content: Map<String, Value>) -> Value {
    let mut o = Map::new();
    o.insert("frame".into(), json!(fr.netmon_frame));
    o.insert("media_type".into(), json!(fr.media));
    o.extend(content);
    if let Some(c) = fr.comment {
        o.insert("comment_title".into(), json!(c.title));
        o.insert("comment_description".into(), json!(c.description));
    }
    if let Some(p) = fr.process {
        let name = p.path.rsplit(['\\', '/']).next().unwrap_or(&p.path);
        let addr = |a: &[u8; 16]| -> String {
            if p.ipv6 {
                Ipv6Addr::from(*a).to_string()
            } else {
                Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string()
            }
        };
        o.insert(
            "process".into(),
            json!({
                "name": name,
                "path": p.path,
                "pid": p.pid,
                "local_ip": addr(&p.local_addr),
                "local_port": p.local_port,
                "remote_ip": addr(&p.remote_addr),
                "remote_port": p.remote_port,
            }),
        );
    }
    Value::Object(o)
}

/// Appends a JSON value.
fn push_json(buf: &mut Vec<u8>, v: &Value) {
    // Serializing a Value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buf, v);
}

/// Appends a time stamp with exactly `digits` decimals (negative times included).
fn push_ts(buf: &mut Vec<u8>, sec: i64, frac: u64, digits: u8) {
    if digits == 0 {
        let _ = write!(buf, "{sec}");
    } else if sec >= 0 || frac == 0 {
        let _ = write!(buf, "{sec}.{frac:0w$}", w = usize::from(digits));
    } else {
        // sec + frac/10^d with sec < 0: -( (|sec| - 1) + (10^d - frac)/10^d )
        let whole = (-(sec + 1)) as u64;
        let f = 10u64.pow(u32::from(digits)) - frac;
        let _ = write!(buf, "-{whole}.{f:0w$}", w = usize::from(digits));
    }
}

/// Appends a whole `packet` record written here (no newline): the core fields in the decoder's
/// order (`comment` when the frame has one, `decode_error`), then the `netmon` object.
fn write_record(
    buf: &mut Vec<u8>,
    fr: &FrameInfo,
    link: &str,
    len: u32,
    caplen: usize,
    error: Option<&str>,
    netmon: &Value,
) {
    let _ = write!(buf, "{{\"type\":\"packet\",\"frame\":{},\"ts\":", fr.frame);
    push_ts(buf, fr.ts_sec, fr.ts_frac, fr.ts_digits);
    buf.extend_from_slice(b",\"iface\":0,\"link\":");
    push_json(buf, &json!(link));
    let _ = write!(buf, ",\"len\":{len},\"caplen\":{caplen}");
    if let Some(c) = fr.comment {
        buf.extend_from_slice(b",\"comment\":");
        push_json(buf, &json!(c.title));
    }
    buf.extend_from_slice(b",\"decode_error\":");
    push_json(buf, &json!(error));
    buf.extend_from_slice(b",\"netmon\":");
    push_json(buf, netmon);
    buf.push(b'}');
}

#[cfg(test)]
mod tests;

//! Frame decoding: link layer → IP → TCP/UDP/ICMP → DNS, written straight to JSON.
//!
//! `write_packet` appends one `packet` record (a JSON object, no newline) to `out`. It never
//! fails and never panics: a frame that does not decode still yields a record with the core
//! fields and `decode_error` saying what and where (layer and byte offset in the frame); the
//! layers decoded before the error are present.
//!
//! Each layer module reads its header through bounds-checked accessors (`be16`, `be32` on a
//! slice whose length was checked once) and writes its fields with the helpers in [`json`]:
//! no allocation on the TCP/UDP path.

mod dns;
mod icmp;
mod ip;
pub mod json;
mod link;
mod transport;

use std::borrow::Cow;

use crate::frame::FrameMeta;

/// Appends the `packet` record for one frame to `out` (no trailing newline).
pub fn write_packet(meta: &FrameMeta, data: &[u8], out: &mut Vec<u8>) {
    json::raw(out, b"{\"type\":\"packet\",\"frame\":");
    json::uint(out, meta.frame);
    json::raw(out, b",\"ts\":");
    json::timestamp(out, meta.ts_sec, meta.ts_frac, meta.ts_digits);
    json::raw(out, b",\"iface\":");
    json::uint(out, meta.iface as u64);
    json::raw(out, b",\"link\":\"");
    match link::name(meta.linktype) {
        Some(n) => json::raw(out, n.as_bytes()),
        None => {
            json::raw(out, b"linktype_");
            json::uint(out, meta.linktype as u64);
        }
    }
    json::raw(out, b"\",\"len\":");
    json::uint(out, meta.len as u64);
    json::raw(out, b",\"caplen\":");
    json::uint(out, data.len() as u64);
    if let Some(c) = meta.comment {
        json::raw(out, b",\"comment\":");
        json::string(out, c.as_bytes());
    }

    let mut d = Dec {
        data,
        // what the frame had on the wire (a broken file may claim less than it captured)
        wire_len: (meta.len as usize).max(data.len()),
        out,
        err: None,
    };
    link::decode(&mut d, meta.linktype);

    let Dec { err, out, .. } = d;
    match err {
        None => json::raw(out, b",\"decode_error\":null}"),
        Some(e) => {
            json::raw(out, b",\"decode_error\":\"");
            e.write(out);
            json::raw(out, b"\"}");
        }
    }
}

/// Decoder state for one frame.
pub(crate) struct Dec<'a, 'o> {
    /// The captured bytes.
    pub data: &'a [u8],
    /// Original frame length (at least the captured length).
    pub wire_len: usize,
    pub out: &'o mut Vec<u8>,
    /// The first error met; later ones are dropped.
    pub err: Option<DecodeError>,
}

impl Dec<'_, '_> {
    /// Records an error unless one is already recorded.
    pub fn fail(&mut self, layer: &'static str, offset: usize, what: What) {
        if self.err.is_none() {
            self.err = Some(DecodeError {
                layer,
                offset,
                what,
            });
        }
    }

    /// Records "header cut short" for `layer` starting at `offset` needing `need` bytes.
    pub fn short(&mut self, layer: &'static str, offset: usize, need: usize) {
        let have = self.data.len().saturating_sub(offset);
        self.fail(layer, offset, What::Short { need, have });
    }

    #[inline]
    pub fn raw(&mut self, s: &[u8]) {
        self.out.extend_from_slice(s);
    }

    #[inline]
    pub fn uint(&mut self, v: u64) {
        json::uint(self.out, v);
    }
}

/// Why decoding stopped (or what was wrong), and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError {
    /// The layer being decoded: `ether`, `vlan`, `ipv4`, `ipv6`, `tcp`, `udp`, `icmp`, `dns`…
    pub layer: &'static str,
    /// Byte offset in the frame where that layer (or the bad field) starts.
    pub offset: usize,
    pub what: What,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum What {
    /// Fewer bytes captured than the header needs.
    Short { need: usize, have: usize },
    /// Anything else.
    Text(Cow<'static, str>),
}

impl What {
    pub fn text(s: impl Into<Cow<'static, str>>) -> What {
        What::Text(s.into())
    }
}

impl DecodeError {
    /// Writes `"<layer> at byte <offset>: <what>"`, JSON-escaped (no quotes).
    fn write(&self, out: &mut Vec<u8>) {
        json::raw(out, self.layer.as_bytes());
        json::raw(out, b" at byte ");
        json::uint(out, self.offset as u64);
        json::raw(out, b": ");
        match &self.what {
            What::Short { need, have } => {
                json::raw(out, b"cut short: ");
                json::uint(out, *need as u64);
                json::raw(out, b" bytes needed, ");
                json::uint(out, *have as u64);
                json::raw(out, b" captured");
            }
            What::Text(t) => json::escape_str(out, t.as_bytes()),
        }
    }
}

/// Big-endian u16 at `i` (caller checked the length).
#[inline]
pub(crate) fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

/// Big-endian u32 at `i` (caller checked the length).
#[inline]
pub(crate) fn be32(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    /// Decodes `data` as a frame of `linktype` and parses the record.
    pub fn decode(linktype: u32, data: &[u8]) -> serde_json::Value {
        let meta = FrameMeta {
            frame: 1,
            ts_sec: 1,
            ts_frac: 5,
            ts_digits: 6,
            iface: 0,
            linktype,
            len: data.len() as u32,
            comment: None,
        };
        decode_meta(&meta, data)
    }

    pub fn decode_meta(meta: &FrameMeta, data: &[u8]) -> serde_json::Value {
        let mut out = Vec::new();
        write_packet(meta, data, &mut out);
        let s = String::from_utf8(out).expect("utf-8");
        let v: serde_json::Value =
            serde_json::from_str(&s).unwrap_or_else(|e| panic!("bad JSON {s}: {e}"));
        assert_eq!(v["type"], "packet");
        v
    }

    /// An IPv4 packet (10.0.0.1 -> 10.0.0.2, TTL 64, DF) of `proto` around the payload `hexdump`,
    /// with a correct total length.
    pub fn ip4(proto: u8, hexdump: &str) -> Vec<u8> {
        let payload = hex(hexdump);
        let total = (20 + payload.len()) as u16;
        let mut v = vec![0x45, 0];
        v.extend_from_slice(&total.to_be_bytes());
        v.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        v.extend_from_slice(&payload);
        v
    }

    /// Parses a hex dump (whitespace ignored).
    pub fn hex(s: &str) -> Vec<u8> {
        let s: Vec<u8> = s.bytes().filter(|c| c.is_ascii_hexdigit()).collect();
        s.chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }
}

#[cfg(test)]
mod test {
    use super::testutil::*;
    use super::*;

    #[test]
    fn core_fields_and_comment() {
        let meta = FrameMeta {
            frame: 7,
            ts_sec: 1_700_000_000,
            ts_frac: 42,
            ts_digits: 9,
            iface: 2,
            linktype: 147,
            len: 100,
            comment: Some("say \"hi\"\n"),
        };
        let v = decode_meta(&meta, &[1, 2, 3]);
        assert_eq!(v["frame"], 7);
        assert_eq!(v["iface"], 2);
        assert_eq!(v["link"], "linktype_147");
        assert_eq!(v["len"], 100);
        assert_eq!(v["caplen"], 3);
        assert_eq!(v["comment"], "say \"hi\"\n");
        assert_eq!(
            v["decode_error"],
            "link at byte 0: unsupported link type 147"
        );
        let mut out = Vec::new();
        write_packet(&meta, &[], &mut out);
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with(r#"{"type":"packet","frame":7,"ts":1700000000.000000042,"#));
        // only core fields
        assert_eq!(v.as_object().unwrap().len(), 9);
    }
}

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
//!
//! Why not etherparse's slices: they refuse a header as a whole (an IPv4 total length of 0 in a
//! TSO capture, a TCP header whose options the snaplen cut, an IP length beyond the frame), and
//! we must still output every field that is there, with an error naming the layer and byte
//! offset. etherparse serves as an independent oracle instead: tests/etherparse_differential.rs
//! checks that every frame it does slice decodes to the same values here.

mod dns;
mod icmp;
mod ip;
pub mod json;
mod link;
mod links;
pub(crate) mod netmon;
mod tls;
mod transport;
mod tunnel;

use std::borrow::Cow;

use crate::frame::FrameMeta;

/// Appends the `packet` record for one frame to `out` (no trailing newline).
pub fn write_packet(meta: &FrameMeta, data: &[u8], out: &mut Vec<u8>) {
    if let Some(nm) = meta.netmon {
        return netmon::write(meta, nm, data, out);
    }
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
            netmon: None,
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

    /// Asserts that a record holds each field given (null matching a missing one), naming the
    /// field that differs.
    pub use tcpwhy_tests::assert_has;

    /// Decodes each frame (link type, hex dump) and asserts the fields given (see
    /// [`assert_has`]).
    #[track_caller]
    pub fn check(cases: &[(u32, &str, serde_json::Value)]) {
        for (linktype, frame, want) in cases {
            assert_has(&decode(*linktype, &hex(frame)), want);
        }
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
        let s: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
        s.chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }
}

#[cfg(test)]
mod test {
    use super::testutil::*;
    use super::*;
    use serde_json::json;

    /// Frames of every layer we decode, to mutate.
    fn corpus() -> Vec<(u32, Vec<u8>)> {
        let eth = |et: &str, payload: &[u8]| {
            let mut f = hex(&format!("020000000001 020000000002 {et}"));
            f.extend_from_slice(payload);
            f
        };
        let tcp_syn = ip4(
            6,
            "9c40 0050 00000064 00000000 d002 faf0 0000 0000
             020405b4 0402 080a 00000011 00000000 01 030307 0101 050a 00000001 00000002",
        );
        let dns = ip4(
            17,
            "0035 9c40 004b 0000 abcd 8180 0001 0002 0000 0000 03777777 076578616d706c65 03636f6d 00
             0001 0001 c00c 0005 0001 0000012c 0006 03616263 c010 c02d 0001 0001 0000003c 0004
             5db8d822",
        );
        let icmp = ip4(
            1,
            "0303 0000 0000 0000 4500 0028 1234 4000 3f06 0000 0a000001 0a000002 4f53 0050 01020304",
        );
        let v6 = hex(
            "6000 0000 0038 00 40 20010db8000000000000000000000001 20010db8000000000000000000000002
             3a00 0000 00000000 0104 0000 00000000
             6000 0000 0014 2c 3f 20010db8000000000000000000000001 20010db8000000000000000000000002
             0600 0000 01020304 c000 0050 0000000a",
        );
        let mut qinq = hex("88a8 0064 8100 00c8 0800");
        qinq.extend_from_slice(&tcp_syn);
        let mut sll = hex("0000 0001 0006 020000000001 0000 0800");
        sll.extend_from_slice(&dns);
        let mut sll2 = hex("86dd 0000 00000003 0001 04 06 020000000001 0000");
        sll2.extend_from_slice(&v6);
        let mut null = vec![2, 0, 0, 0];
        null.extend_from_slice(&icmp);
        let mut ppp = hex("ff03 0021");
        ppp.extend_from_slice(&tcp_syn);
        // a ClientHello (openssl s_client -tls1_2, SNI tls.example) and a fatal alert
        let tls_ch = ip4(
            6,
            "c350 01bb 00000001 00000001 5018 0100 0000 0000
             16030100970100009303034fbfeb73ae3686ea32df35ff83edb82a9c429762184e71b9e791d5c032a2785b000004c030
             00ff0100006600000010000e00000b746c732e6578616d706c65000b000403000102000a000c000a001d0017001e0019
             0018002300000016000000170000000d002a0028040305030603080708080809080a080b080408050806040105010601
             030303010302040205020602",
        );
        let tls_alert = ip4(
            6,
            "01bb c350 00000001 00000001 5018 0100 0000 0000 15 0303 0002 02 28 48545450",
        );
        let mut tcp_dns = ip4(6, "d431 0035 00000001 00000001 5018 0100 0000 0000 0021");
        tcp_dns.extend_from_slice(&dns[28..]);
        vec![
            (1, eth("0800", &tcp_syn)),
            (1, eth("0800", &dns)),
            (1, eth("0800", &icmp)),
            (1, eth("86dd", &v6)),
            (
                1,
                hex(&format!("020000000001 020000000002 {}", "00".repeat(0)))
                    .into_iter()
                    .chain(qinq)
                    .collect(),
            ),
            (1, eth("8847", &[&hex("000111ff")[..], &dns].concat())),
            (
                1,
                eth("8864", &[&hex("1100 0001 0016 0021")[..], &icmp].concat()),
            ),
            (113, sll),
            (276, sll2),
            (0, null),
            (9, ppp),
            (101, tcp_dns),
            (229, v6.clone()),
            (228, tls_ch),
            (228, tls_alert),
        ]
    }

    /// Micro benchmark of the decoder alone (no file reading, no output I/O):
    /// `python3 ../shared/bench/gen_pcap.py -n 200000 --seed 1 -o /tmp/x.pcap`, then
    /// `PCAP2JSONL_BENCH=/tmp/x.pcap cargo test --release -p pcap2jsonl --lib bench_decode -- --ignored --nocapture`
    /// (a classic little-endian pcap).
    #[test]
    #[ignore]
    fn bench_decode() {
        let path = std::env::var("PCAP2JSONL_BENCH").unwrap_or_else(|_| "/tmp/x.pcap".into());
        let file = std::fs::read(&path).expect("PCAP2JSONL_BENCH: a classic pcap file");
        assert_eq!(
            &file[..4],
            &[0xd4, 0xc3, 0xb2, 0xa1],
            "little-endian µs pcap only"
        );
        let linktype = u32::from_le_bytes(file[20..24].try_into().unwrap());
        let mut frames = Vec::new();
        let mut at = 24;
        while at + 16 <= file.len() {
            let h = &file[at..at + 16];
            let sec = u32::from_le_bytes(h[0..4].try_into().unwrap());
            let usec = u32::from_le_bytes(h[4..8].try_into().unwrap());
            let cap = u32::from_le_bytes(h[8..12].try_into().unwrap()) as usize;
            let len = u32::from_le_bytes(h[12..16].try_into().unwrap());
            if at + 16 + cap > file.len() {
                break;
            }
            frames.push((sec, usec, len, at + 16..at + 16 + cap));
            at += 16 + cap;
        }
        let mut out = Vec::with_capacity(1 << 20);
        let mut bytes = 0usize;
        let t = std::time::Instant::now();
        for round in 0..5 {
            for (i, (sec, usec, len, r)) in frames.iter().enumerate() {
                let meta = FrameMeta {
                    frame: (round * frames.len() + i + 1) as u64,
                    ts_sec: *sec as i64,
                    ts_frac: *usec as u64,
                    ts_digits: 6,
                    iface: 0,
                    linktype,
                    len: *len,
                    comment: None,
                    netmon: None,
                };
                write_packet(&meta, &file[r.clone()], &mut out);
                out.push(b'\n');
                if out.len() > (1 << 20) - 4096 {
                    bytes += out.len();
                    out.clear();
                }
            }
        }
        bytes += out.len();
        let el = t.elapsed().as_secs_f64();
        let n = 5 * frames.len();
        println!(
            "decode: {n} frames in {el:.3} s: {:.0} ns/frame, {:.2} M frames/s, {:.0} MB/s of JSON ({} bytes/record)",
            el * 1e9 / n as f64,
            n as f64 / el / 1e6,
            bytes as f64 / el / 1e6,
            bytes / n.max(1)
        );
    }

    /// Thousands of seeded byte mutations and truncations of every kind of frame: each gives
    /// one valid JSON record with the core fields, and `decode_error` names a layer and offset.
    #[test]
    fn mutated_frames_always_give_a_valid_record() {
        let corpus = corpus();
        for (lt, f) in &corpus {
            let v = decode(*lt, f);
            assert_eq!(v["decode_error"], serde_json::Value::Null, "{lt} {v}");
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut out = Vec::new();
        let mut errors = 0;
        for i in 0..30_000 {
            let (lt, base) = &corpus[i % corpus.len()];
            let mut f = base.clone();
            for _ in 0..=(rnd() % 4) {
                let at = (rnd() as usize) % f.len();
                f[at] = rnd() as u8;
            }
            if rnd() % 3 == 0 {
                f.truncate((rnd() as usize) % (f.len() + 1));
            }
            let meta = FrameMeta {
                frame: i as u64 + 1,
                ts_sec: 1,
                ts_frac: 0,
                ts_digits: 6,
                iface: 0,
                linktype: *lt,
                len: if rnd() % 5 == 0 {
                    rnd() as u32
                } else {
                    f.len() as u32
                },
                comment: None,
                netmon: None,
            };
            out.clear();
            write_packet(&meta, &f, &mut out);
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap_or_else(|e| {
                panic!("{e}: {}", String::from_utf8_lossy(&out));
            });
            assert_eq!(v["frame"], i as u64 + 1);
            assert_eq!(v["caplen"], f.len());
            if let Some(e) = v["decode_error"].as_str() {
                assert!(e.contains(" at byte "), "{e}");
                errors += 1;
            }
        }
        assert!(
            errors > 1000,
            "mutations should break many frames: {errors}"
        );
    }

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
            netmon: None,
        };
        let v = decode_meta(&meta, &[1, 2, 3]);
        assert_has(
            &v,
            &json!({"frame": 7, "iface": 2, "link": "linktype_147", "len": 100, "caplen": 3,
                    "comment": "say \"hi\"\n"}),
        );
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

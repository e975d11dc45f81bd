//! Hand-built captures for the reader's unit tests (only for what no real capture in the corpus
//! has: every tsresol form, several sections of both byte orders, obsolete blocks, damage).

use std::io;

use tcpwhy_common::jsonl::Flush;

use super::{Fail, Finish, FrameSink, read_capture};
use crate::frame::FrameMeta;

/// A minimal Ethernet + IPv4 frame (34 bytes).
pub const PKT: &[u8] = &[
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x08, 0x00, 0x45, 0x00,
    0x00, 0x14, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00,
    0x00, 0x02,
];

/// What the reader handed over for one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    pub frame: u64,
    pub ts: String,
    pub iface: u32,
    pub linktype: u32,
    pub len: u32,
    pub caplen: usize,
    pub comment: Option<String>,
}

#[derive(Default)]
pub struct Collect(pub Vec<Got>);

impl Flush for Collect {
    fn flush_output(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl FrameSink for Collect {
    fn frame(&mut self, m: &FrameMeta, data: &[u8]) -> io::Result<()> {
        let mut ts = vec![];
        m.write_ts(&mut ts);
        self.0.push(Got {
            frame: m.frame,
            ts: String::from_utf8(ts).unwrap(),
            iface: m.iface,
            linktype: m.linktype,
            len: m.len,
            caplen: data.len(),
            comment: m.comment.map(str::to_string),
        });
        Ok(())
    }
}

/// Reads `bytes` as one input named `t`.
pub fn read(bytes: Vec<u8>) -> (Vec<Got>, Result<Finish, Fail>) {
    let mut c = Collect::default();
    let r = read_capture("t", Box::new(io::Cursor::new(bytes)), &mut c);
    (c.0, r)
}

/// The message of an input error (panics on anything else).
pub fn input_error(r: Result<Finish, Fail>) -> String {
    match r {
        Err(Fail::Input(m)) => m,
        other => panic!("expected an input error, got {other:?}"),
    }
}

/// A pcapng writer for one byte order.
pub struct Ng {
    pub be: bool,
    pub out: Vec<u8>,
}

impl Ng {
    pub fn new(be: bool) -> Self {
        Ng { be, out: vec![] }
    }
    fn u16(&self, v: u16) -> [u8; 2] {
        if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    fn u32(&self, v: u32) -> [u8; 4] {
        if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
    pub fn opt(&self, code: u16, val: &[u8]) -> Vec<u8> {
        let mut o = vec![];
        o.extend_from_slice(&self.u16(code));
        o.extend_from_slice(&self.u16(val.len() as u16));
        o.extend_from_slice(val);
        o.resize(o.len().next_multiple_of(4), 0);
        o
    }
    /// Appends a block with the given body; returns its offset.
    pub fn block(&mut self, btype: u32, body: &[u8]) -> usize {
        let at = self.out.len();
        let n = (body.len() + 12) as u32;
        let (t, l) = (self.u32(btype), self.u32(n));
        self.out.extend_from_slice(&t);
        self.out.extend_from_slice(&l);
        self.out.extend_from_slice(body);
        self.out.extend_from_slice(&l);
        at
    }
    pub fn shb(&mut self) -> usize {
        let mut b = vec![];
        b.extend_from_slice(&self.u32(0x1a2b_3c4d));
        b.extend_from_slice(&self.u16(1));
        b.extend_from_slice(&self.u16(0));
        b.extend_from_slice(&[0xff; 8]);
        self.block(0x0a0d_0d0a, &b)
    }
    pub fn idb(&mut self, linktype: u16, tsresol: Option<u8>, tsoffset: Option<i64>) -> usize {
        let mut b = vec![];
        b.extend_from_slice(&self.u16(linktype));
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&self.u32(0));
        if let Some(r) = tsresol {
            b.extend(self.opt(9, &[r]));
        }
        if let Some(o) = tsoffset {
            let v = if self.be {
                o.to_be_bytes()
            } else {
                o.to_le_bytes()
            };
            b.extend(self.opt(14, &v));
        }
        if tsresol.is_some() || tsoffset.is_some() {
            b.extend(self.opt(0, &[]));
        }
        self.block(1, &b)
    }
    /// The part an enhanced and an obsolete packet block share after the interface: timestamp,
    /// captured and original length, the data padded to 4 bytes.
    fn packet(&self, b: &mut Vec<u8>, ticks: u64, data: &[u8]) {
        b.extend_from_slice(&self.u32((ticks >> 32) as u32));
        b.extend_from_slice(&self.u32(ticks as u32));
        b.extend_from_slice(&self.u32(data.len() as u32));
        b.extend_from_slice(&self.u32(data.len() as u32));
        b.extend_from_slice(data);
        b.resize(b.len().next_multiple_of(4), 0);
    }
    pub fn epb(&mut self, iface: u32, ticks: u64, data: &[u8], comment: Option<&str>) -> usize {
        let mut b = vec![];
        b.extend_from_slice(&self.u32(iface));
        self.packet(&mut b, ticks, data);
        if let Some(c) = comment {
            b.extend(self.opt(1, c.as_bytes()));
            b.extend(self.opt(0, &[]));
        }
        self.block(6, &b)
    }
    pub fn spb(&mut self, data: &[u8]) -> usize {
        let mut b = vec![];
        b.extend_from_slice(&self.u32(data.len() as u32));
        b.extend_from_slice(data);
        b.resize(b.len().next_multiple_of(4), 0);
        self.block(3, &b)
    }
    pub fn pb(&mut self, iface: u16, ticks: u64, data: &[u8]) -> usize {
        let mut b = vec![];
        b.extend_from_slice(&self.u16(iface));
        b.extend_from_slice(&self.u16(0));
        self.packet(&mut b, ticks, data);
        self.block(2, &b)
    }
}

/// A classic pcap file: `magic` as written (4 bytes), header fields in `be` order.
pub fn pcap(
    magic: [u8; 4],
    be: bool,
    snaplen: u32,
    linktype: u32,
    recs: &[(u32, u32, &[u8])],
) -> Vec<u8> {
    let u32b = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
    let u16b = |v: u16| if be { v.to_be_bytes() } else { v.to_le_bytes() };
    let modified = magic == [0x34, 0xcd, 0xb2, 0xa1] || magic == [0xa1, 0xb2, 0xcd, 0x34];
    let mut o = magic.to_vec();
    o.extend_from_slice(&u16b(2));
    o.extend_from_slice(&u16b(4));
    o.extend_from_slice(&[0; 8]);
    o.extend_from_slice(&u32b(snaplen));
    o.extend_from_slice(&u32b(linktype));
    for &(sec, sub, data) in recs {
        o.extend_from_slice(&u32b(sec));
        o.extend_from_slice(&u32b(sub));
        o.extend_from_slice(&u32b(data.len() as u32));
        o.extend_from_slice(&u32b(data.len() as u32 + 10));
        if modified {
            o.extend_from_slice(&[0; 8]);
        }
        o.extend_from_slice(data);
    }
    o
}

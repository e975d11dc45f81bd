//! Tunnels: the packet record describes the innermost IP packet and its transport; the layers
//! around it go in `tunnel`, outermost first (Zeek's tunnel.log / conn's `tunnel_parents` are the
//! model).
//!
//! Followed: VXLAN (UDP 4789), GENEVE (UDP 6081), GRE (version 0, with checksum, key and
//! sequence number; IPv4, IPv6, transparent Ethernet bridging, Cisco MetaData), ERSPAN types I,
//! II and III (GRE 0x88be / 0x22eb), IP-in-IP (IPv4 in IPv4, 6in4, 4in6, IPv6 in IPv6, through
//! IPv4 AH and IPv6 extension headers) and MPLS label stacks (over Ethernet and PPP; the IP or
//! Ethernet pseudowire under the labels). At most [`MAX_DEPTH`] layers are followed; below that
//! the packet is decoded as it stands.
//!
//! A layer is followed only when the packet inside it is an IP packet whose first byte is
//! captured: a VXLAN datagram carrying ARP, or a tunnel header cut short, stays a plain UDP (or
//! GRE…) record without `tunnel`. An IP fragment is not followed (the inner packet is
//! incomplete). Untunnelled packets take one comparison of the protocol byte (and for UDP the
//! destination port) more than before, and their record is unchanged.

use super::link::Net;
use super::{Dec, be16, be32, ip, json};

/// At most this many tunnel layers are followed.
pub(crate) const MAX_DEPTH: usize = 8;
/// At most this many MPLS labels are listed per layer (more are skipped).
const MAX_LABELS: usize = 8;
/// At most this many VLAN tags of a carried Ethernet header are listed.
const MAX_VLANS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Vxlan,
    Geneve,
    Gre,
    Erspan1,
    Erspan2,
    Erspan3,
    Ipip,
    SixIn4,
    FourIn6,
    Ip6Ip6,
    Mpls,
}

impl Kind {
    fn name(self) -> &'static [u8] {
        match self {
            Kind::Vxlan => b"vxlan",
            Kind::Geneve => b"geneve",
            Kind::Gre => b"gre",
            Kind::Erspan1 => b"erspan1",
            Kind::Erspan2 => b"erspan2",
            Kind::Erspan3 => b"erspan3",
            Kind::Ipip => b"ipip",
            Kind::SixIn4 => b"6in4",
            Kind::FourIn6 => b"4in6",
            Kind::Ip6Ip6 => b"ip6ip6",
            Kind::Mpls => b"mpls",
        }
    }
}

/// One outer layer.
#[derive(Debug, Clone, Copy)]
struct Layer {
    kind: Kind,
    /// The outer IP header (absent for MPLS): IPv6?, source, destination, TTL / hop limit.
    ip: Option<(bool, [u8; 16], [u8; 16], u8)>,
    /// An IPv4 AH header was walked in the outer IP packet.
    ah: bool,
    /// UDP ports of VXLAN / GENEVE.
    ports: Option<(u16, u16)>,
    vni: Option<u32>,
    key: Option<u32>,
    seq: Option<u32>,
    session: Option<u16>,
    erspan_vlan: Option<u16>,
    erspan_port: Option<u32>,
    labels: [u32; MAX_LABELS],
    n_labels: usize,
    /// The Ethernet header the layer carries (VXLAN, GENEVE, GRE bridging, ERSPAN, pseudowire).
    eth: Option<([u8; 6], [u8; 6])>,
    vlans: [u16; MAX_VLANS],
    n_vlans: usize,
}

impl Layer {
    fn new(kind: Kind) -> Layer {
        Layer {
            kind,
            ip: None,
            ah: false,
            ports: None,
            vni: None,
            key: None,
            seq: None,
            session: None,
            erspan_vlan: None,
            erspan_port: None,
            labels: [0; MAX_LABELS],
            n_labels: 0,
            eth: None,
            vlans: [0; MAX_VLANS],
            n_vlans: 0,
        }
    }
}

struct Stack {
    layers: [Option<Layer>; MAX_DEPTH],
    n: usize,
}

impl Stack {
    fn new() -> Stack {
        Stack {
            layers: [None; MAX_DEPTH],
            n: 0,
        }
    }
    fn push(&mut self, l: Layer) {
        if self.n < MAX_DEPTH {
            self.layers[self.n] = Some(l);
            self.n += 1;
        }
    }
}

/// Could the IP packet at `off` be a tunnel? One or two byte comparisons; false for TCP, ICMP…
#[inline]
fn maybe(b: &[u8], off: usize, net: Net) -> bool {
    let v = match net {
        Net::V4 => 4,
        Net::V6 => 6,
        Net::ByVersion => match b.get(off) {
            Some(x) => x >> 4,
            None => return false,
        },
    };
    match v {
        4 => match b.get(off + 9) {
            Some(4 | 41 | 47 | 51) => true,
            Some(17) => {
                let hl = (b[off] & 0x0f) as usize * 4;
                tunnel_port(b, off + hl)
            }
            _ => false,
        },
        6 => match b.get(off + 6) {
            Some(0 | 4 | 41 | 43 | 44 | 47 | 51 | 60 | 135 | 139 | 140) => true,
            Some(17) => tunnel_port(b, off + 40),
            _ => false,
        },
        _ => false,
    }
}

/// Is the UDP destination port of the header at `u` VXLAN's or GENEVE's?
#[inline]
fn tunnel_port(b: &[u8], u: usize) -> bool {
    matches!(b.get(u + 2..u + 4), Some([0x12, 0xb5] | [0x17, 0xc1]))
}

/// Called for every IP packet at `off`: when it is a tunnel, writes `tunnel` and decodes the
/// innermost packet, and returns true; otherwise writes nothing and returns false.
#[inline]
pub(crate) fn follow(d: &mut Dec, off: usize, net: Net) -> bool {
    maybe(d.data, off, net) && follow_slow(d, off, net)
}

/// [`follow`] once the protocol says it may be a tunnel (kept out of line: untunnelled packets
/// never get here).
#[cold]
#[inline(never)]
fn follow_slow(d: &mut Dec, off: usize, net: Net) -> bool {
    let mut st = Stack::new();
    let (ioff, inet) = peel(d.data, off, net, &mut st);
    if st.n == 0 {
        return false;
    }
    write(d, &st);
    ip::decode_plain(d, ioff, inet);
    true
}

/// Follows tunnels from the IP packet at `off` while the stack has room; returns the innermost
/// IP packet.
fn peel(b: &[u8], mut off: usize, mut net: Net, st: &mut Stack) -> (usize, Net) {
    while st.n < MAX_DEPTH {
        match outer(b, off, net) {
            Some((l, o, n)) => {
                st.push(l);
                off = o;
                net = n;
            }
            None => break,
        }
    }
    (off, net)
}

/// The inner IP packet of the tunnel whose outer IP header is at `off`, if it is one.
fn outer(b: &[u8], off: usize, net: Net) -> Option<(Layer, usize, Net)> {
    let version = match net {
        Net::V4 => 4,
        Net::V6 => 6,
        Net::ByVersion => b.get(off)? >> 4,
    };
    let (v6, mut proto, mut p, end, ttl, src, dst, mut ah);
    if version == 4 {
        let h = b.get(off..off + 20)?;
        if h[0] >> 4 != 4 || be16(h, 6) & 0x3fff != 0 {
            return None; // not IPv4, or a fragment
        }
        let hl = ((h[0] & 0x0f) as usize) * 4;
        let total = be16(h, 2) as usize;
        if hl < 20 {
            return None;
        }
        v6 = false;
        proto = h[9];
        p = off + hl;
        end = if total >= hl {
            (off + total).min(b.len())
        } else {
            b.len()
        };
        ttl = h[8];
        src = v4_16(&h[12..16]);
        dst = v4_16(&h[16..20]);
        ah = false;
        // AH (RFC 4302) in transport mode: walk it
        let mut n = 0;
        while proto == 51 && n < 4 && p + 8 <= end {
            proto = b[p];
            p += (b[p + 1] as usize + 2) * 4;
            ah = true;
            n += 1;
        }
    } else if version == 6 {
        let h = b.get(off..off + 40)?;
        if h[0] >> 4 != 6 {
            return None;
        }
        let plen = be16(h, 4) as usize;
        end = if plen == 0 {
            b.len()
        } else {
            (off + 40 + plen).min(b.len())
        };
        v6 = true;
        ttl = h[7];
        src = h[8..24].try_into().ok()?;
        dst = h[24..40].try_into().ok()?;
        let w = ip::walk_v6(&b[off..end], end - off);
        if w.frag.is_some() || w.err.is_some() {
            return None;
        }
        proto = w.nh;
        p = off + w.upper;
        ah = w.exts[..w.n_ext].contains(&51);
    } else {
        return None;
    }
    if p > end {
        return None;
    }
    let mut l = Layer::new(Kind::Ipip);
    l.ip = Some((v6, src, dst, ttl));
    l.ah = ah;
    let (q, inner) = match proto {
        4 => {
            l.kind = if v6 { Kind::FourIn6 } else { Kind::Ipip };
            (p, Net::V4)
        }
        41 => {
            l.kind = if v6 { Kind::Ip6Ip6 } else { Kind::SixIn4 };
            (p, Net::V6)
        }
        47 => gre(b, p, end, &mut l)?,
        17 => {
            let u = b.get(p..p + 8)?;
            let (sp, dp) = (be16(u, 0), be16(u, 2));
            l.ports = Some((sp, dp));
            match dp {
                4789 => {
                    let x = b.get(p + 8..p + 16)?;
                    if x[0] & 0x08 == 0 {
                        return None; // no valid VNI: not VXLAN as RFC 7348 has it
                    }
                    l.kind = Kind::Vxlan;
                    l.vni = Some(be32(x, 4) >> 8);
                    ether(b, p + 16, end, &mut l)?
                }
                6081 => {
                    let x = b.get(p + 8..p + 16)?;
                    if x[0] >> 6 != 0 {
                        return None; // GENEVE version 0 only
                    }
                    l.kind = Kind::Geneve;
                    l.vni = Some(be32(x, 4) >> 8);
                    let q = p + 16 + (x[0] & 0x3f) as usize * 4;
                    by_ethertype(b, be16(x, 2), q, end, &mut l)?
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    check_ip(b, q, inner).map(|n| (l, q, n))
}

/// The IPv4 address `a` in the 16 bytes of a layer's address.
fn v4_16(a: &[u8]) -> [u8; 16] {
    let mut x = [0; 16];
    x[..4].copy_from_slice(a);
    x
}

/// Is there an IP packet of `net` at `q` (its first byte captured, the version right)?
fn check_ip(b: &[u8], q: usize, net: Net) -> Option<Net> {
    let v = b.get(q)? >> 4;
    match (net, v) {
        (Net::V4, 4) | (Net::ByVersion, 4) => Some(Net::V4),
        (Net::V6, 6) | (Net::ByVersion, 6) => Some(Net::V6),
        _ => None,
    }
}

/// GRE (RFC 2784, RFC 2890) at `p`, version 0 without routing; ERSPAN under it.
fn gre(b: &[u8], p: usize, end: usize, l: &mut Layer) -> Option<(usize, Net)> {
    let h = b.get(p..p + 4)?;
    let flags = be16(h, 0);
    if flags & 0x4007 != 0 {
        return None; // routing present, or version 1 (PPTP)
    }
    let proto = be16(h, 2);
    let mut q = p + 4;
    if flags & 0x8000 != 0 {
        q += 4; // checksum + reserved
    }
    if flags & 0x2000 != 0 {
        l.key = Some(be32(b.get(q..q + 4)?, 0));
        q += 4;
    }
    if flags & 0x1000 != 0 {
        l.seq = Some(be32(b.get(q..q + 4)?, 0));
        q += 4;
    }
    l.kind = Kind::Gre;
    match proto {
        0x88be if flags & 0x1000 != 0 => {
            // ERSPAN type II: ver 4, VLAN 12 | COS 3, En 2, T 1, session 10 | reserved 12, index 20
            let e = b.get(q..q + 8)?;
            l.kind = Kind::Erspan2;
            l.erspan_vlan = Some(be16(e, 0) & 0x0fff);
            l.session = Some(be16(e, 2) & 0x03ff);
            l.erspan_port = Some(be32(e, 4) & 0x000f_ffff);
            ether(b, q + 8, end, l)
        }
        0x88be => {
            // ERSPAN type I: the mirrored frame right after GRE
            l.kind = Kind::Erspan1;
            ether(b, q, end, l)
        }
        0x22eb => {
            // ERSPAN type III: ver 4, VLAN 12 | COS 3, BSO 2, T 1, session 10 | timestamp 32 |
            // SGT 16 | P 1, FT 5, HW ID 6, D 1, Gra 2, O 1 [| platform sub-header 8]
            let e = b.get(q..q + 12)?;
            l.kind = Kind::Erspan3;
            l.erspan_vlan = Some(be16(e, 0) & 0x0fff);
            l.session = Some(be16(e, 2) & 0x03ff);
            let w = be16(e, 10);
            let r = q + 12 + if w & 1 != 0 { 8 } else { 0 };
            match (w >> 10) & 0x1f {
                0 => ether(b, r, end, l),
                2 => Some((r, Net::ByVersion)),
                _ => None,
            }
        }
        0x8909 => {
            // Cisco MetaData in GRE: the EtherType first, then version, length, option, SGT
            let c = b.get(q..q + 8)?;
            by_ethertype(b, be16(c, 0), q + 8, end, l)
        }
        et => by_ethertype(b, et, q, end, l),
    }
}

/// The payload of EtherType `et` at `q`: IP, or a bridged Ethernet frame (0x6558).
fn by_ethertype(b: &[u8], et: u16, q: usize, end: usize, l: &mut Layer) -> Option<(usize, Net)> {
    match et {
        0x0800 => Some((q, Net::V4)),
        0x86dd => Some((q, Net::V6)),
        0x6558 => ether(b, q, end, l),
        _ => None,
    }
}

/// A carried Ethernet header at `q` (with VLAN tags): its addresses go in the layer; the IP
/// packet it carries is returned.
fn ether(b: &[u8], q: usize, end: usize, l: &mut Layer) -> Option<(usize, Net)> {
    if q + 14 > end {
        return None;
    }
    let h = b.get(q..q + 14)?;
    let mut dst = [0; 6];
    let mut src = [0; 6];
    dst.copy_from_slice(&h[0..6]);
    src.copy_from_slice(&h[6..12]);
    l.eth = Some((src, dst));
    let mut et = be16(h, 12);
    let mut r = q + 14;
    while matches!(et, 0x8100 | 0x88a8 | 0x9100) {
        let t = b.get(r..r + 4)?;
        if l.n_vlans < MAX_VLANS {
            l.vlans[l.n_vlans] = be16(t, 0) & 0x0fff;
            l.n_vlans += 1;
        }
        et = be16(t, 2);
        r += 4;
    }
    match et {
        0x0800 => Some((r, Net::V4)),
        0x86dd => Some((r, Net::V6)),
        _ => None,
    }
}

/// MPLS label stack (RFC 3032) at `p` (over Ethernet or PPP), then IPv4/IPv6 by the version
/// nibble, or an Ethernet pseudowire with a control word (RFC 4448; tshark's heuristic: first
/// nibble 0). The labels go in `tunnel`, with the tunnels inside followed.
pub(crate) fn mpls(d: &mut Dec, mut p: usize) {
    let b = d.data;
    let mut l = Layer::new(Kind::Mpls);
    loop {
        if b.len() < p + 4 {
            d.short("mpls", p, 4);
            return;
        }
        if l.n_labels < MAX_LABELS {
            l.labels[l.n_labels] = be32(b, p) >> 12;
            l.n_labels += 1;
        }
        let bottom = b[p + 2] & 1 == 1;
        p += 4;
        if bottom {
            break;
        }
    }
    let inner = match b.get(p).map(|x| x >> 4) {
        Some(4) => Some((p, Net::V4)),
        Some(6) => Some((p, Net::V6)),
        Some(0) => {
            // control word, then an Ethernet frame
            let e = p + 4;
            if b.len() < e + 14 {
                d.short("mpls pseudowire", e, 14);
                return;
            }
            ether(b, e, b.len(), &mut l)
        }
        _ => None, // another payload (or none): not an error
    };
    let Some((q, net)) = inner else { return };
    let mut st = Stack::new();
    st.push(l);
    let (ioff, inet) = if maybe(b, q, net) {
        peel(b, q, net, &mut st)
    } else {
        (q, net)
    };
    write(d, &st);
    ip::decode_plain(d, ioff, inet);
}

/// Writes `,"tunnel":[…]`.
fn write(d: &mut Dec, st: &Stack) {
    d.raw(b",\"tunnel\":[");
    for (i, l) in st.layers[..st.n].iter().flatten().enumerate() {
        if i > 0 {
            d.raw(b",");
        }
        d.raw(b"{\"type\":\"");
        d.raw(l.kind.name());
        d.raw(b"\"");
        if let Some((v6, src, dst, ttl)) = &l.ip {
            d.raw(b",\"src_ip\":\"");
            addr(d, *v6, src);
            d.raw(b"\",\"dst_ip\":\"");
            addr(d, *v6, dst);
            d.raw(b"\",\"ttl\":");
            d.uint(*ttl as u64);
        }
        if l.ah {
            d.raw(b",\"ah\":true");
        }
        if let Some((sp, dp)) = l.ports {
            d.raw(b",\"src_port\":");
            d.uint(sp as u64);
            d.raw(b",\"dst_port\":");
            d.uint(dp as u64);
        }
        for (name, v) in [
            (&b"vni"[..], l.vni),
            (b"key", l.key),
            (b"seq", l.seq),
            (b"session_id", l.session.map(u32::from)),
            (b"erspan_vlan", l.erspan_vlan.map(u32::from)),
            (b"erspan_port", l.erspan_port),
        ] {
            if let Some(v) = v {
                d.raw(b",\"");
                d.raw(name);
                d.raw(b"\":");
                d.uint(v as u64);
            }
        }
        if l.n_labels > 0 {
            list(d, b",\"labels\":[", l.labels[..l.n_labels].iter().copied());
        }
        if let Some((src, dst)) = &l.eth {
            d.raw(b",\"inner_src_mac\":\"");
            json::mac(d.out, src);
            d.raw(b"\",\"inner_dst_mac\":\"");
            json::mac(d.out, dst);
            d.raw(b"\"");
            if l.n_vlans > 0 {
                list(
                    d,
                    b",\"inner_vlan\":[",
                    l.vlans[..l.n_vlans].iter().map(|&v| v as u32),
                );
            }
        }
        d.raw(b"}");
    }
    d.raw(b"]");
}

fn list(d: &mut Dec, head: &[u8], it: impl Iterator<Item = u32>) {
    d.raw(head);
    for (i, v) in it.enumerate() {
        if i > 0 {
            d.raw(b",");
        }
        d.uint(v as u64);
    }
    d.raw(b"]");
}

fn addr(d: &mut Dec, v6: bool, a: &[u8; 16]) {
    if v6 {
        json::ipv6(d.out, a);
    } else {
        json::ipv4(d.out, [a[0], a[1], a[2], a[3]]);
    }
}

#[cfg(test)]
mod test;

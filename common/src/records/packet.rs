//! `packet`: one per captured frame, written by `pcap2jsonl`.
//!
//! `pcap2jsonl` writes these by hand (for speed and for timestamps exact to the capture's
//! resolution); this struct is the reading side, borrowing strings from the input line.
//! Layer rule (docs/schema.md): the fields of a layer the frame does not carry are absent;
//! within a present layer every field is present, `null` when unknown. `Option` covers both.

use std::borrow::Cow;

use serde::Deserialize;

/// The keys of a TCP `packet` record from an Ethernet frame, in the order pcap2jsonl writes them.
/// tcpflows' scanner expects this order on its fast path (any other order still parses, more
/// slowly); a test in each of the two tools checks it against this list, so they cannot drift
/// apart silently.
pub const TCP_KEY_ORDER: &[&str] = &[
    "type",
    "frame",
    "ts",
    "iface",
    "link",
    "len",
    "caplen",
    "src_mac",
    "dst_mac",
    "vlan",
    "ethertype",
    "ip_version",
    "src_ip",
    "dst_ip",
    "ttl",
    "ip_id",
    "df",
    "mf",
    "frag_offset",
    "ip_proto",
    "proto",
    "src_port",
    "dst_port",
    "seq",
    "ack",
    "tcp_flags",
    "window",
    "payload_len",
    "mss",
    "wscale",
    "sack_perm",
    "sack",
    "tsval",
    "tsecr",
    "decode_error",
];

/// A `packet` record as consumers read it. Unknown fields are ignored (consumers pass the raw
/// line through when they do not consume it).
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
pub struct Packet<'a> {
    // core: always present
    pub frame: u64,
    /// Epoch seconds (exact decimal in the JSON; f64 here is ~0.2 µs precise for today's dates).
    pub ts: f64,
    #[serde(default)]
    pub iface: Option<u32>,
    #[serde(borrow, default)]
    pub link: Option<Cow<'a, str>>,
    pub len: u32,
    pub caplen: u32,
    #[serde(borrow, default)]
    pub decode_error: Option<Cow<'a, str>>,

    // link layer
    #[serde(borrow, default)]
    pub src_mac: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub dst_mac: Option<Cow<'a, str>>,
    #[serde(default)]
    pub vlan: Option<Vec<u16>>,
    #[serde(default)]
    pub ethertype: Option<u16>,
    /// SLL/SLL2 only: `host`, `broadcast`, `multicast`, `otherhost`, `outgoing`.
    #[serde(borrow, default)]
    pub pkt_type: Option<Cow<'a, str>>,
    /// SLL2 only: interface index of a `tcpdump -i any` capture.
    #[serde(default)]
    pub ifindex: Option<u32>,

    // IP layer (IPv4 or IPv6)
    #[serde(default)]
    pub ip_version: Option<u8>,
    #[serde(borrow, default)]
    pub src_ip: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub dst_ip: Option<Cow<'a, str>>,
    /// IPv4 TTL or IPv6 hop limit.
    #[serde(default)]
    pub ttl: Option<u8>,
    #[serde(default)]
    pub ip_id: Option<u32>,
    #[serde(default)]
    pub df: Option<bool>,
    #[serde(default)]
    pub mf: Option<bool>,
    #[serde(default)]
    pub frag_offset: Option<u32>,
    #[serde(default)]
    pub ip_proto: Option<u8>,
    #[serde(borrow, default)]
    pub proto: Option<Cow<'a, str>>,
    /// IPv6 extension headers walked, in order (IPv6 only).
    #[serde(default)]
    pub ipv6_ext: Option<Vec<u8>>,

    // TCP / UDP
    #[serde(default)]
    pub src_port: Option<u16>,
    #[serde(default)]
    pub dst_port: Option<u16>,
    #[serde(default)]
    pub seq: Option<u32>,
    #[serde(default)]
    pub ack: Option<u32>,
    #[serde(borrow, default)]
    pub tcp_flags: Option<Cow<'a, str>>,
    #[serde(default)]
    pub window: Option<u16>,
    #[serde(default)]
    pub payload_len: Option<u32>,
    #[serde(default)]
    pub mss: Option<u16>,
    #[serde(default)]
    pub wscale: Option<u8>,
    #[serde(default)]
    pub sack_perm: Option<bool>,
    #[serde(default)]
    pub sack: Option<Vec<[u32; 2]>>,
    #[serde(default)]
    pub tsval: Option<u32>,
    #[serde(default)]
    pub tsecr: Option<u32>,

    // ICMP / ICMPv6
    #[serde(default)]
    pub icmp_type: Option<u8>,
    #[serde(default)]
    pub icmp_code: Option<u8>,
    #[serde(borrow, default)]
    pub icmp_inner: Option<IcmpInner<'a>>,

    // DNS
    #[serde(borrow, default)]
    pub dns: Option<Dns<'a>>,
}

/// The IP header (and first transport bytes) quoted inside an ICMP/ICMPv6 error.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
pub struct IcmpInner<'a> {
    #[serde(borrow, default)]
    pub src_ip: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub dst_ip: Option<Cow<'a, str>>,
    #[serde(default)]
    pub ip_proto: Option<u8>,
    #[serde(default)]
    pub ttl: Option<u8>,
    #[serde(default)]
    pub ip_id: Option<u32>,
    #[serde(default)]
    pub src_port: Option<u16>,
    #[serde(default)]
    pub dst_port: Option<u16>,
    /// The quoted TCP sequence number (TCP only).
    #[serde(default)]
    pub seq: Option<u32>,
}

/// A decoded DNS message (UDP/53 or TCP/53).
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
pub struct Dns<'a> {
    pub id: u16,
    pub response: bool,
    #[serde(default)]
    pub rcode: Option<u8>,
    #[serde(borrow, default)]
    pub qname: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub qtype: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub answers: Vec<DnsAnswer<'a>>,
}

/// One DNS answer record.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
pub struct DnsAnswer<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow, rename = "type")]
    pub rtype: Cow<'a, str>,
    pub ttl: u32,
    /// The address for A/AAAA, the target for CNAME, text for others; `null` when not decoded.
    #[serde(borrow, default)]
    pub data: Option<Cow<'a, str>>,
}

impl Packet<'_> {
    /// True when this is a TCP segment with the given flag letter (`S`, `A`, `R`, `F`, `P`…).
    pub fn has_flag(&self, f: char) -> bool {
        self.tcp_flags.as_deref().is_some_and(|s| s.contains(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_tcp_packet_line() {
        let line = r#"{"type":"packet","frame":3,"ts":1278472579.466743000,"iface":0,"link":"ether","len":66,"caplen":66,"decode_error":null,"src_mac":"f8:1e:df:e5:84:3a","dst_mac":"00:1f:f3:3c:e1:13","vlan":null,"ip_version":4,"src_ip":"10.0.0.1","dst_ip":"172.16.0.1","ttl":126,"ip_id":14341,"df":false,"mf":false,"frag_offset":0,"ip_proto":6,"proto":"tcp","src_port":2383,"dst_port":20531,"seq":0,"ack":655839664,"tcp_flags":"RA","window":0,"payload_len":0,"mss":null,"wscale":null,"sack_perm":false,"sack":null,"tsval":null,"tsecr":null}"#;
        let p: Packet = serde_json::from_str(line).unwrap();
        assert_eq!(p.frame, 3);
        assert_eq!(p.ttl, Some(126));
        assert!(p.has_flag('R') && p.has_flag('A') && !p.has_flag('S'));
        assert_eq!(p.dns, None);
    }
}

//! What `ttlhops` adds: `flow.ttlhops` and `host` records. Owned by the ttlhops issue.
//!
//! Distances are counted the way the seed write-up counts them: `hops` is the number of routers
//! between the sender and the capture point, i.e. how much the TTL (IPv4) or hop limit (IPv6)
//! went down on the way (`initial_ttl - observed_ttl`). `at_hop` is the sender's position as
//! traceroute numbers it from the capture point (`hops + 1`: the first router is hop 1; a server
//! behind two routers is hop 3). docs/ttlhops.md explains the method and its limits.

use serde::{Deserialize, Serialize};

use super::Extra;

fn host_type() -> String {
    "host".to_string()
}

/// `flow.ttlhops`: hop distances of both sides and the origin of the RST / ICMP errors.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct FlowHops {
    /// Distance of the client, from its non-RST packets (null when it sent none with a TTL).
    pub client: Option<SideHops>,
    /// Distance of the server, from its non-RST packets (SYN-ACK, data, FIN); null when the
    /// server's address sent nothing but RSTs (then `rst` has the verdict).
    pub server: Option<SideHops>,
    /// Who really sent the flow's first RST (null when the flow has none).
    pub rst: Option<Origin>,
    /// Who really sent each ICMP error of `flow.icmp`, in the same order.
    #[serde(default)]
    pub icmp: Vec<Origin>,
}

/// Hop distance of one side, from the TTL its (non-RST) packets arrived with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SideHops {
    /// The TTL / hop limit used: the side's first non-RST packet's.
    pub observed_ttl: u8,
    /// `observed_ttl` rounded up to 32, 64, 128 or 255.
    pub initial_ttl: u8,
    /// Routers between this side and the capture point (`initial_ttl - observed_ttl`).
    pub hops: u8,
    /// True when this side's packets did not all arrive with the same TTL (route change,
    /// load balancer, or a RST/ICMP from elsewhere counted in the side's TTL range).
    #[serde(default)]
    pub varies: bool,
}

/// Who really sent a RST or an ICMP error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Origin {
    /// "endpoint" (the host whose address it carries), "middlebox" (a router, firewall or other
    /// device on the path) or "unknown" (the capture cannot tell; see `settle`).
    pub origin: String,
    pub frame: u64,
    /// The source address the packet carries.
    #[serde(default)]
    pub from_ip: Option<String>,
    pub observed_ttl: Option<u8>,
    pub initial_ttl: Option<u8>,
    /// Routers between the sender and the capture point, from the TTL.
    pub hops: Option<u8>,
    /// The sender's position counted like traceroute from the capture point (`hops + 1`).
    #[serde(default)]
    pub at_hop: Option<u8>,
    /// The claimed sender's own hop distance this was compared with, when known.
    pub expected_hops: Option<u8>,
    /// The claimed sender's own initial TTL, when the capture shows it.
    #[serde(default)]
    pub expected_initial_ttl: Option<u8>,
    /// IPv4 ID of the RST (null for ICMP errors and IPv6).
    #[serde(default)]
    pub ip_id: Option<u32>,
    /// IPv4 ID of the claimed sender's first packet in this flow, when it sent other packets.
    #[serde(default)]
    pub peer_ip_id: Option<u32>,
    /// The evidence that decided: `same_flow`, `other_flows`, `user_hops` (--hops ADDR=N),
    /// `user_expect` (--expect-hops N), `icmp_path` (a router on the path answered from a
    /// farther hop), `source_address` (an ICMP error from an address that is not an endpoint),
    /// `none`.
    #[serde(default)]
    pub basis: String,
    /// "high", "medium" or "low"; null when `origin` is "unknown".
    #[serde(default)]
    pub confidence: Option<String>,
    /// One sentence: the evidence and the numbers behind the verdict.
    pub reason: String,
    /// When `origin` is "unknown" (or the evidence conflicts): what would settle it.
    #[serde(default)]
    pub settle: Option<String>,
    /// When `origin` is "unknown" because nothing in the input shows the sender's distance:
    /// which way the initial TTL alone points, "endpoint" (128, the Windows default, which
    /// routers and firewalls rarely use) or "middlebox" (255, typical of routers and firewalls).
    /// A lean, not a verdict; null otherwise.
    #[serde(default)]
    pub lean: Option<String>,
    /// RSTs only: what in the flow shows that the claimed sender did not send it —
    /// `sender_carried_on` (it kept sending after its own RST), `ip_id_copied` (the RST's IP ID
    /// is the receiver's last packet's), `ttl_differs` (another TTL than the sender's last
    /// packet), `ip_id_out_of_sequence` (not the sender's IP ID counter), `seq_out_of_window`
    /// (a sequence number the receiver ignores). Absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signs: Vec<String>,
}

/// `host`: per-address summary, written by ttlhops at the end of its input.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Host {
    #[serde(default = "host_type")]
    pub r#type: String,
    pub ip: String,
    pub ip_version: u8,
    /// Packets this address sent: counted from `packet` records when the input has them,
    /// otherwise summed from the flows' per-side counts.
    pub packets: u64,
    /// Distinct TTL / hop-limit values of its non-RST packets (at most 16, ascending). When the
    /// address sent nothing but RSTs, the RSTs' values.
    pub ttls: Vec<u8>,
    /// Distinct TTL values of RSTs carrying this address (at most 16, ascending).
    #[serde(default)]
    pub rst_ttls: Vec<u8>,
    /// From the most common value in `ttls`.
    pub initial_ttl: Option<u8>,
    /// Routers between this host and the capture point, from the most common value in `ttls`.
    pub hops: Option<u8>,
    /// "linux/macos/unix", "windows", "network device" — from the initial TTL only.
    pub os_hint: Option<String>,
    /// Flows in which this address was the client or the server.
    #[serde(default)]
    pub flows: u64,
    /// ICMP errors this address sent (it is a router or firewall on some path, or the host).
    #[serde(default)]
    pub icmp_errors: u64,
    /// RSTs / ICMP errors carrying this address that ttlhops judged to come from a middlebox.
    #[serde(default)]
    pub middlebox_rsts: u64,
    /// "packets" or "flows": what the numbers were counted from.
    #[serde(default)]
    pub source: String,
    /// The caveats, in words.
    pub note: String,
    #[serde(flatten)]
    pub extra: Extra,
}

//! `flow`: one per TCP connection attempt, written by `tcpflows` when the connection is over.
//! Owned by the tcpflows issue; `ttlhops` adds `ttlhops`, `portmap` adds `portmap`.

use serde::{Deserialize, Serialize};

use super::Extra;
use super::hops::FlowHops;
use super::listener::PortInfo;

fn flow_type() -> String {
    "flow".to_string()
}

/// A TCP connection (attempt), client = the side that sent the first SYN.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Flow {
    #[serde(default = "flow_type")]
    pub r#type: String,
    /// Deterministic id: the same capture always gives the same uids.
    pub uid: String,
    pub ip_version: u8,
    pub client_ip: String,
    pub client_port: u16,
    pub server_ip: String,
    pub server_port: u16,
    pub first_frame: u64,
    pub last_frame: u64,
    pub first_ts: f64,
    pub last_ts: f64,
    /// Seconds from first to last packet.
    pub duration: f64,
    /// Zeek conn_state: S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH.
    pub state: String,
    /// Zeek history letters (upper case = client).
    pub history: String,
    /// Why the record was emitted: fin, rst, timeout, evicted, capture_end, reuse.
    pub end: String,
    /// True when the capture started after the connection's handshake.
    #[serde(default)]
    pub midstream: bool,
    /// True when the three-way handshake completed.
    #[serde(default)]
    pub established: bool,
    #[serde(default)]
    pub attempts: Attempts,
    #[serde(default)]
    pub synack_frame: Option<u64>,
    /// SYN-ACKs seen (more than 1: the server repeated it, so its SYN-ACK or the client's ACK was
    /// lost).
    #[serde(default)]
    pub synack_count: u32,
    #[serde(default)]
    pub rtt: Rtt,
    pub client: Side,
    pub server: Side,
    #[serde(default)]
    pub rst: Option<Rst>,
    /// ICMP/ICMPv6 errors quoting this connection (at most 8; `icmp_count` has the total).
    #[serde(default)]
    pub icmp: Vec<IcmpError>,
    #[serde(default)]
    pub icmp_count: u32,
    /// The connection's packets, bounded, for ladder diagrams (tcpflows' `ladder` module;
    /// docs/schema.md): `{"steps": [[frame, us, dir, flags, seq, ack, len, win, ttl], …],
    /// "omitted": N}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ladder: Option<serde_json::Value>,
    /// Added by ttlhops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttlhops: Option<FlowHops>,
    /// Added by portmap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portmap: Option<PortInfo>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The client's SYNs: a retransmitted SYN (same ISN) is another attempt of the same flow.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Attempts {
    pub syn_count: u32,
    /// Frames of the SYNs (at most 16).
    pub frames: Vec<u64>,
    /// Their times (at most 16).
    pub ts: Vec<f64>,
    /// Seconds between consecutive SYNs.
    pub intervals: Vec<f64>,
}

/// Handshake round-trip times, seconds (null when not observed).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Rtt {
    /// Last SYN to SYN-ACK (the server side of the path as seen from the capture point).
    pub syn_synack: Option<f64>,
    /// SYN-ACK to the client's ACK (the client side).
    pub synack_ack: Option<f64>,
    /// First SYN to the client's handshake ACK (tshark `tcp.analysis.initial_rtt`).
    #[serde(default)]
    pub initial: Option<f64>,
}

/// What one side of the connection sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Side {
    pub packets: u64,
    /// TCP payload bytes.
    pub bytes: u64,
    /// Frame bytes on the wire (tshark `-z conv,tcp` bytes).
    #[serde(default)]
    pub wire_bytes: u64,
    /// Initial sequence number of this side's SYN or SYN-ACK.
    #[serde(default)]
    pub isn: Option<u32>,
    /// Raw window of this side's SYN or SYN-ACK (unscaled, as on the wire).
    pub initial_window: Option<u16>,
    pub wscale: Option<u8>,
    pub mss: Option<u16>,
    pub sack_perm: bool,
    pub ttl: Option<TtlStats>,
    /// IP ID of this side's first packet (IPv4 only).
    pub first_ip_id: Option<u32>,
    /// IP ID of this side's last packet (IPv4 only).
    #[serde(default)]
    pub last_ip_id: Option<u32>,
    /// Segments tshark flags `tcp.analysis.retransmission` (incl. fast and spurious).
    pub retransmissions: u32,
    /// Segments tshark flags `tcp.analysis.out_of_order`.
    #[serde(default)]
    pub out_of_order: u32,
    /// Keep-alives (tshark `tcp.analysis.keep_alive`, minus Linux zero-window probes).
    #[serde(default)]
    pub keep_alives: u32,
    /// Duplicate ACKs (tshark `tcp.analysis.duplicate_ack`).
    #[serde(default)]
    pub dup_acks: u32,
    /// Zero windows this side advertised (null when none).
    pub zero_window: Option<ZeroWindow>,
    pub fin_frame: Option<u64>,
    #[serde(default)]
    pub fin_ts: Option<f64>,
}

/// TTL (IPv4) or hop limit (IPv6) seen on a side's packets.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct TtlStats {
    pub first: u8,
    pub min: u8,
    pub max: u8,
}

/// Zero-window events advertised by one side (the receiver that closed its window).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ZeroWindow {
    /// Segments advertising window 0.
    pub count: u32,
    pub first_frame: u64,
    pub first_ts: f64,
    /// The SYN or SYN-ACK itself advertised window 0 (the seed's first case).
    pub in_handshake: bool,
    /// Zero-window probes the peer sent (1-byte Windows-style or 0-byte Linux-style).
    pub probes: u32,
    /// Frames of the first probes (at most 8).
    pub probe_frames: Vec<u64>,
    /// "one_byte" (Windows style), "zero_byte" (Linux style), "mixed"; null without probes.
    #[serde(default)]
    pub probe_kind: Option<String>,
    /// Separate closed-window periods.
    #[serde(default)]
    pub episodes: u32,
    /// Longest time, seconds, the window stayed closed.
    pub longest_stall: f64,
    /// True when the window opened again.
    pub reopened: bool,
    pub reopen_frame: Option<u64>,
}

/// The first RST of the connection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Rst {
    /// "client" or "server".
    pub from: String,
    pub frame: u64,
    pub ts: f64,
    pub ttl: Option<u8>,
    pub ip_id: Option<u32>,
    /// TCP flags letters of the RST segment ("R" or "RA").
    pub flags: String,
    /// True when its sequence number was acceptable to the receiver (RFC 793/5961).
    pub seq_ok: bool,
    /// "exact", "in_window", "unacceptable" or "unknown" (no reference seen).
    #[serde(default)]
    pub seq_check: String,
    #[serde(default)]
    pub seq: u32,
    /// Its acknowledgement number (null without the ACK flag).
    #[serde(default)]
    pub ack: Option<u32>,
    /// All RSTs seen in the flow.
    pub count: u32,
}

/// An ICMP/ICMPv6 error whose quoted header matches this connection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct IcmpError {
    /// Who sent the ICMP message.
    pub from_ip: String,
    /// "icmp" or "icmpv6".
    pub proto: String,
    pub icmp_type: u8,
    pub icmp_code: u8,
    /// Plain words: "port unreachable", "host unreachable", "administratively prohibited"…
    pub description: String,
    pub frame: u64,
    pub ts: f64,
    pub ttl: Option<u8>,
    /// Whose packet the error quotes: "client" or "server".
    #[serde(default)]
    pub quoted: String,
}

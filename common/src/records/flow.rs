//! `flow`: one per TCP connection attempt, written by `tcpflows` when the connection is over.
//! Owned by the tcpflows issue; `ttlhops` adds `ttlhops`, `portmap` adds `portmap`.

use serde::{Deserialize, Serialize};

use super::Raw;
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
    /// Frames of the SYN-ACKs (the first 16).
    #[serde(default)]
    pub synack_frames: Vec<u64>,
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
    /// What the connection carried of TLS (docs/schema.md, `flow.tls`); null without a TLS record.
    #[serde(default)]
    pub tls: Option<FlowTls>,
    /// The client's request on a connection the server had closed: its FIN came before the
    /// request or crossed it (the keep-alive race; tcpflows' `reuse` module). Absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_request: Option<LateRequest>,
    /// The server answered the client's SYN with a bare ACK for another connection on the same
    /// 4-tuple (one it still holds, in TIME_WAIT): a challenge ACK. Absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge_ack: Option<ChallengeAck>,
    /// The connection's packets, bounded, for ladder diagrams (tcpflows' `ladder` module;
    /// docs/schema.md): `{"steps": [[frame, us, dir, flags, seq, ack, len, win, ttl], …],
    /// "omitted": N}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ladder: Option<Raw>,
    /// The handshake waited (SYN retries, an ignored handshake ACK) while the same server port
    /// answered other connections (a full accept queue); absent otherwise (tcpflows' `setup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub others_answered: Option<OthersAnswered>,
    /// An ECN-setup SYN (ECE+CWR) reset, or followed by a plain SYN; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecn_setup: Option<EcnSetup>,
    /// The silence before a failure: the connection sat idle this long, then one side's data went
    /// unanswered or drew a RST (null otherwise; tcpflows' `idle` module).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle: Option<IdleGap>,
    /// Added by ttlhops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttlhops: Option<FlowHops>,
    /// Added by portmap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portmap: Option<PortInfo>,
    /// The tunnel the connection was carried in (pcap2jsonl's packet `tunnel`, docs/schema.md);
    /// absent when it was not tunnelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<Raw>,
}

/// Other connections the same server address and port answered (SYN-ACKs, first packets after
/// a handshake) while this one waited in its handshake, or within 2 s before its first SYN.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct OthersAnswered {
    /// Answers to other connections.
    pub count: u32,
    /// Frames of such answers: the last one before the first SYN, the last one during the wait.
    pub frames: Vec<u64>,
    /// Seconds from the first SYN to the end of the wait (the SYN-ACK that was answered, or the
    /// server's first packet after the handshake, or the last SYN).
    pub waited: f64,
    /// SYNs before the first SYN-ACK (all of them when none came).
    pub unanswered_syns: u32,
    /// The client's handshake ACK was ignored: the server repeated its SYN-ACK after it, or the
    /// client's data was retransmitted 3 times (once after unanswered SYNs) before the server's
    /// first packet after the handshake.
    pub ignored_ack: bool,
    /// The client's data retransmissions before the server's first packet after the handshake.
    #[serde(default)]
    pub retransmissions: u32,
    /// SYN-ACKs the server repeated after the client's handshake ACK.
    #[serde(default)]
    pub synacks_after_ack: u32,
    /// The server reset the connection right after the client's handshake ACK, before sending
    /// anything else (Linux with `net.ipv4.tcp_abort_on_overflow=1`).
    #[serde(default)]
    pub reset_after_ack: bool,
}

/// An ECN-setup SYN (ECE and CWR set, RFC 3168) that got a RST, or that the client gave up on
/// for a plain SYN.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct EcnSetup {
    pub ecn_syns: u32,
    /// Frames of the ECN-setup SYNs (the first 8).
    pub ecn_syn_frames: Vec<u64>,
    /// The first SYN without ECE/CWR after them.
    #[serde(default)]
    pub plain_syn_frame: Option<u64>,
    /// A RST that answered an ECN-setup SYN (before any SYN-ACK and any plain SYN).
    #[serde(default)]
    pub rst_frame: Option<u64>,
    /// Whether the SYN-ACK carried ECE (ECN agreed); null without a SYN-ACK.
    #[serde(default)]
    pub synack_ece: Option<bool>,
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
    /// This side's last packet (any kind).
    #[serde(default)]
    pub last_frame: Option<u64>,
    #[serde(default)]
    pub last_ts: Option<f64>,
    /// This side's last segment carrying payload (a retransmission counts).
    #[serde(default)]
    pub last_data_frame: Option<u64>,
    #[serde(default)]
    pub last_data_ts: Option<f64>,
    /// This side's last segment whose ACK acknowledged new data (or a FIN) of the peer.
    #[serde(default)]
    pub ack_advance_frame: Option<u64>,
    #[serde(default)]
    pub ack_advance_ts: Option<f64>,
    /// What this side was still waiting for when the record was written (null when nothing:
    /// no unacknowledged data after retransmissions, no unanswered keep-alive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stuck: Option<Stuck>,
    /// Segments of this side that filled the peer's advertised window (null when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_full: Option<WindowFull>,
    /// Sequence space of the peer (payload bytes, SYN and FIN count 1) that this side
    /// acknowledged but the capture never showed: the capture misses the peer's direction.
    #[serde(default)]
    pub acked_unseen: u64,
    /// This side's data is stuck and every segment it retransmitted is larger than any segment
    /// the peer acknowledged (null otherwise; tcpflows' `pmtu` module).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<SizeLimit>,
}

/// Large segments lost while small ones passed: the shape of a Path-MTU black hole.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SizeLimit {
    /// Payload bytes of the largest segment of this side the peer acknowledged (0: none, only
    /// the SYN passed).
    pub largest_acked: u32,
    /// That segment's frame.
    #[serde(default)]
    pub largest_acked_frame: Option<u64>,
    /// Payload bytes of the smallest and the largest segment retransmitted since the peer last
    /// acknowledged new data.
    pub smallest_lost: u32,
    pub largest_lost: u32,
    /// Those retransmissions.
    pub retransmissions: u32,
    /// The first segment lost: the original of the earliest large segment never acknowledged
    /// (the first of those retransmissions when the original is not known).
    pub first_lost_frame: u64,
}

/// A silence before a failure (see `Flow::idle`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct IdleGap {
    /// Seconds without any packet, both directions.
    pub seconds: f64,
    /// The last packet before the silence and the first after it (new data, not a retransmission
    /// nor a keep-alive).
    pub from_frame: u64,
    pub frame: u64,
    /// Who sent the data that ended the silence: "client" or "server".
    pub by: String,
    /// What the data met: "unanswered" (retransmitted, never acknowledged, nothing else from
    /// the peer) or "reset" (a RST in the peer's name and nothing else).
    pub outcome: String,
}

/// A side left waiting at the end of the record: its data unacknowledged in spite of
/// retransmissions, or its keep-alives unanswered.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Stuck {
    /// Sequence space this side sent that the peer had not acknowledged (a FIN counts 1).
    pub unacked_bytes: u64,
    /// Retransmissions since the peer last acknowledged new data.
    pub retransmissions: u32,
    /// Frames and times of those retransmissions (the last 16).
    pub frames: Vec<u64>,
    pub ts: Vec<f64>,
    /// Keep-alives sent since the peer's last packet.
    pub keep_alives: u32,
    /// Frames and times of those keep-alives (the last 16).
    pub keep_alive_frames: Vec<u64>,
    pub keep_alive_ts: Vec<f64>,
}

/// Window-limited sending: segments whose end reached the right edge of the peer's advertised
/// window (tshark `tcp.analysis.window_full`), so the sender had to wait for the peer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct WindowFull {
    /// Segments that filled the window.
    pub count: u32,
    /// Separate waits (a window-full segment to the peer's next opening of the window).
    pub episodes: u32,
    pub first_frame: u64,
    /// Frames of the first 8 window-full segments.
    pub frames: Vec<u64>,
    /// Seconds spent waiting for the window, in total and the longest wait.
    pub waited: f64,
    pub longest: f64,
    /// Smallest and largest window (bytes, scaled) the sender ran into.
    pub min_window: u64,
    pub max_window: u64,
    /// Non-zero windows the peer advertised after the handshake that were below one full
    /// segment (its MSS).
    pub peer_small_windows: u32,
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
    /// Frames of the RSTs (the first 16).
    #[serde(default)]
    pub frames: Vec<u64>,
    /// TTL / hop limit of the claimed sender's last other (non-RST) packet before the RST.
    #[serde(default)]
    pub sender_ttl: Option<u8>,
    /// IPv4 ID of the claimed sender's last packet before the RST.
    #[serde(default)]
    pub sender_ip_id: Option<u32>,
    /// IPv4 ID of the receiver's last packet before the RST (an injector that copies the ID of
    /// the packet it reacts to gives the RST this value).
    #[serde(default)]
    pub receiver_ip_id: Option<u32>,
    /// Packets other than RSTs the claimed sender sent after it (a stack that reset a
    /// connection sends nothing more on it).
    #[serde(default)]
    pub sender_after: u32,
    /// Packets other than RSTs the receiver sent after it.
    #[serde(default)]
    pub receiver_after: u32,
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

/// The TLS handshake of a connection as seen in clear, segment by segment (no reassembly).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct FlowTls {
    #[serde(default)]
    pub client_hello: Option<TlsClientHello>,
    #[serde(default)]
    pub server_hello: Option<TlsServerHello>,
    /// The frame of the server's Certificate message (visible in clear up to TLS 1.2).
    #[serde(default)]
    pub certificate_frame: Option<u64>,
    /// First frame of each side's ChangeCipherSpec.
    #[serde(default)]
    pub change_cipher_spec: TlsSides,
    /// First frame of each side's application data record.
    #[serde(default)]
    pub application_data: TlsSides,
    /// Alert records, in order (at most 16).
    #[serde(default)]
    pub alerts: Vec<TlsAlert>,
    /// The server's first payload was plaintext after a ClientHello.
    #[serde(default)]
    pub server_text: Option<TlsText>,
    /// The client's first payload was plaintext and the server answered with TLS records.
    #[serde(default)]
    pub client_text: Option<TlsText>,
    /// The first FIN or RST after the ClientHello while no ServerHello had come.
    #[serde(default)]
    pub after_client_hello: Option<TlsEnd>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct TlsClientHello {
    pub frame: u64,
    pub ts: f64,
    /// Legacy version field (`TLS 1.2` for TLS 1.3 clients).
    pub version: String,
    /// Highest version offered.
    pub max_version: String,
    #[serde(default)]
    pub versions: Vec<String>,
    #[serde(default)]
    pub sni: Option<String>,
    #[serde(default)]
    pub alpn: Vec<String>,
    #[serde(default)]
    pub cipher_suites: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct TlsServerHello {
    pub frame: u64,
    pub ts: f64,
    /// The version chosen (supported_versions if present).
    pub version: String,
    /// The cipher suite chosen, `"0x1302"`.
    pub cipher: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct TlsSides {
    #[serde(default)]
    pub client: Option<u64>,
    #[serde(default)]
    pub server: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct TlsAlert {
    pub frame: u64,
    pub ts: f64,
    /// `client` or `server`.
    pub from: String,
    /// `fatal` / `warning`; null when encrypted.
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub code: Option<u8>,
    #[serde(default)]
    pub description: Option<String>,
    pub encrypted: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct TlsText {
    pub frame: u64,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct TlsEnd {
    /// `fin` or `rst`.
    pub end: String,
    /// `client` or `server`.
    pub by: String,
    pub frame: u64,
    /// Seconds after the ClientHello.
    pub delay: f64,
}

/// A request the client sent on a connection after the server's FIN (or crossing it: sent
/// before the FIN arrived, not acknowledged by it), after an earlier request and answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct LateRequest {
    /// The request's (first) segment.
    pub frame: u64,
    pub ts: f64,
    /// Its payload bytes (crossed: the bytes the server's FIN did not acknowledge).
    pub bytes: u64,
    /// The server's FIN.
    pub fin_frame: u64,
    pub fin_ts: f64,
    /// True when the request was on its way when the FIN came (sent before it, not
    /// acknowledged by it).
    pub crossed: bool,
    /// Seconds without payload either way before the request (how long the connection sat
    /// idle in the client's pool).
    pub idle: f64,
    /// Seconds without payload either way before the server's FIN (at least its keep-alive
    /// timeout).
    pub fin_idle: f64,
}

/// A SYN answered by a bare ACK (no SYN flag) whose acknowledgement number is not the SYN's
/// sequence number + 1: the server holds another connection on this 4-tuple (TIME_WAIT) and
/// acknowledges that one (RFC 793 / 5961 challenge ACK).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ChallengeAck {
    /// The first such ACK.
    pub frame: u64,
    pub ts: f64,
    /// Its acknowledgement number (the old connection's next sequence number).
    pub ack: u32,
    /// What a SYN-ACK would have acknowledged: the client's ISN + 1.
    pub expected: u32,
    /// The SYN it answered.
    pub syn_frame: u64,
    pub syn_ts: f64,
    /// Such ACKs seen.
    pub count: u32,
    /// The client's RST answering it (null when none was seen).
    #[serde(default)]
    pub client_rst_frame: Option<u64>,
    /// The client's next SYN after it (its retry; null when none).
    #[serde(default)]
    pub retry_frame: Option<u64>,
    #[serde(default)]
    pub retry_ts: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_options_read_as_none_and_an_absent_required_field_is_named() {
        let side = r#"{"packets":1,"bytes":0,"sack_perm":false,"retransmissions":0}"#;
        let line = format!(
            r#"{{"uid":"C1","ip_version":4,"client_ip":"10.0.0.1","client_port":1,"server_ip":"10.0.0.2","server_port":2,"first_frame":1,"last_frame":1,"first_ts":0.5,"last_ts":0.5,"duration":0.0,"state":"S0","history":"S","end":"timeout","client":{side},"server":{side}}}"#
        );
        let f: Flow = serde_json::from_str(&line).unwrap();
        assert_eq!(f.r#type, "flow");
        assert_eq!(
            (f.synack_frame, f.tls, f.rst, f.ttlhops),
            (None, None, None, None)
        );
        assert_eq!(
            (f.client.isn, f.client.ttl, f.server.zero_window),
            (None, None, None)
        );
        assert_eq!(f.rtt, Rtt::default());
        let e = serde_json::from_str::<Flow>(&line.replace(r#""uid":"C1","#, "")).unwrap_err();
        assert!(e.to_string().contains("missing field `uid`"), "{e}");
        assert_eq!(
            serde_json::from_str::<FlowTls>("{}").unwrap(),
            FlowTls::default()
        );
    }
}

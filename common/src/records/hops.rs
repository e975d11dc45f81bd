//! What `ttlhops` adds: `flow.ttlhops` and `host` records. Owned by the ttlhops issue.

use serde::{Deserialize, Serialize};

use super::Extra;

fn host_type() -> String {
    "host".to_string()
}

/// `flow.ttlhops`: hop distances and the origin of the RST / ICMP errors.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct FlowHops {
    pub client: Option<SideHops>,
    pub server: Option<SideHops>,
    pub rst: Option<Origin>,
    #[serde(default)]
    pub icmp: Vec<Origin>,
}

/// Hop distance of one side, from the TTL it arrived with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SideHops {
    pub observed_ttl: u8,
    pub initial_ttl: u8,
    pub hops: u8,
}

/// Who really sent a RST or an ICMP error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Origin {
    /// "endpoint", "middlebox" or "unknown".
    pub origin: String,
    pub frame: u64,
    pub observed_ttl: Option<u8>,
    pub initial_ttl: Option<u8>,
    pub hops: Option<u8>,
    /// The server's own hop distance this was compared with, when known.
    pub expected_hops: Option<u8>,
    /// One sentence: the evidence and the numbers behind the verdict.
    pub reason: String,
}

/// `host`: per-address summary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Host {
    #[serde(default = "host_type")]
    pub r#type: String,
    pub ip: String,
    pub ip_version: u8,
    pub packets: u64,
    /// Distinct TTL / hop-limit values seen (at most 16, ascending).
    pub ttls: Vec<u8>,
    pub initial_ttl: Option<u8>,
    pub hops: Option<u8>,
    /// "linux/macos/unix", "windows", "network device" — from the initial TTL only.
    pub os_hint: Option<String>,
    pub note: String,
    #[serde(flatten)]
    pub extra: Extra,
}

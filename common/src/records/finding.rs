//! `finding`: one per problem, written by `tcpflag`. Owned by the tcpflag issue.

use serde::{Deserialize, Serialize};

use super::Extra;
use super::listener::PortInfo;

fn finding_type() -> String {
    "finding".to_string()
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Default)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Info,
    Warning,
    Error,
}

/// The error an application sees, per platform.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SocketError {
    /// Windows Winsock code, e.g. 10061.
    pub windows_code: Option<u32>,
    /// e.g. "WSAECONNREFUSED".
    pub windows_name: Option<String>,
    /// POSIX errno name, e.g. "ECONNREFUSED".
    pub posix: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Finding {
    #[serde(default = "finding_type")]
    pub r#type: String,
    /// The rule: refused, refused_by_middlebox, syn_timeout, icmp_unreachable, …
    pub kind: String,
    pub severity: Severity,
    /// The flows behind the finding.
    pub uids: Vec<String>,
    pub client_ip: Option<String>,
    pub client_port: Option<u16>,
    pub server_ip: Option<String>,
    pub server_port: Option<u16>,
    /// Evidence frames, 1-based as Wireshark numbers them.
    pub frames: Vec<u64>,
    /// Time of the first evidence frame.
    pub ts: Option<f64>,
    /// One sentence that tells the story.
    pub summary: String,
    pub socket_error: Option<SocketError>,
    /// What to check next.
    pub next_step: String,
    /// Rule-specific numbers (documented per rule in docs/rules.md).
    #[serde(default)]
    pub evidence: Extra,
    /// Added by portmap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portmap: Option<PortInfo>,
    #[serde(flatten)]
    pub extra: Extra,
}

//! `finding`: one per problem, written by `tcpflag`. Owned by the tcpflag issue.

use serde::{Deserialize, Serialize};

use super::Extra;
use super::listener::PortInfo;

fn finding_type() -> String {
    "finding".to_string()
}

/// How bad a finding is: `error` (the application failed), `warning` (it was slowed down or a
/// failure is likely), `info` (worth knowing, not a failure). Ordered: info < warning < error.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Default)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Info,
    Warning,
    Error,
}

/// The error an application sees, per platform (documented per rule in docs/rules.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SocketError {
    /// Windows Winsock code, e.g. 10061.
    pub windows_code: Option<u32>,
    /// e.g. "WSAECONNREFUSED".
    pub windows_name: Option<String>,
    /// POSIX errno name, e.g. "ECONNREFUSED" (as Linux reports it).
    pub posix: Option<String>,
    /// The Windows message text, as .NET's `SocketException` prints it, e.g. "No connection could
    /// be made because the target machine actively refused it."
    #[serde(default)]
    pub windows_message: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Finding {
    #[serde(default = "finding_type")]
    pub r#type: String,
    /// The rule: refused, refused_by_middlebox, syn_timeout, no_response, icmp_unreachable,
    /// zero_window_at_handshake, zero_window_stall, reset_mid_connection, handshake_incomplete,
    /// retransmission_storm, slow_connect, intermittent_backend, dns_failure,
    /// tls_handshake_failed, protocol_mismatch (docs/rules.md).
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
    /// Where the failure came from: "server", "middlebox", "network" (a router's ICMP), "client"
    /// or null when the rule does not say (ttlhops' verdict when it is in the pipeline).
    #[serde(default)]
    pub origin: Option<String>,
    /// Connection attempts behind the finding (SYNs, or connections for intermittent_backend).
    #[serde(default)]
    pub attempts: Option<u32>,
    /// Rule-specific numbers (documented per rule in docs/rules.md).
    #[serde(default)]
    pub evidence: Extra,
    /// Added by portmap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portmap: Option<PortInfo>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Finding {
    /// A finding of `kind` at `severity`, every other field empty: a rule fills in what it knows
    /// with `Finding { frames, summary, .., ..Finding::new(kind, severity) }`.
    pub fn new(kind: &str, severity: Severity) -> Self {
        Finding {
            r#type: finding_type(),
            kind: kind.to_string(),
            severity,
            ..Default::default()
        }
    }
}

impl Severity {
    /// The lower-case name used in records and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

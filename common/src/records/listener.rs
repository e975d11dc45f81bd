//! `listener` records and what `portmap` adds to flows and findings. Owned by the portmap issue.

use serde::{Deserialize, Serialize};

use super::Extra;

fn listener_type() -> String {
    "listener".to_string()
}

/// A listening socket read from netstat / ss / lsof / Get-NetTCPConnection output.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Listener {
    #[serde(default = "listener_type")]
    pub r#type: String,
    /// The server the listing came from (`--host`, or inferred), null when unknown.
    pub host: Option<String>,
    pub proto: String,
    /// Local address as listed ("0.0.0.0", "::", "10.0.0.5").
    pub address: String,
    pub port: u16,
    pub pid: Option<u32>,
    pub process: Option<String>,
    /// Well-known service of the port, when known.
    pub service: Option<String>,
    /// The input format it was read from (netstat-ano, ss, lsof, …).
    pub source: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `portmap` on a flow or finding: the server port's service and what listens.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct PortInfo {
    pub port: u16,
    pub service: Option<String>,
    /// Products that default to this port, with version notes.
    #[serde(default)]
    pub products: Vec<String>,
    /// Whether something listens on the port, when listeners for the host are known.
    pub listening: Option<bool>,
    /// The listeners on that port (or, when none, on the related ports / same process).
    #[serde(default)]
    pub listeners: Vec<Listener>,
    /// The conclusion in one sentence, e.g. "nothing listens on 2383 (SSAS 2005+); msmdsrv.exe
    /// PID 2344 listens on 2725 (SSAS 2000 default)".
    pub hint: Option<String>,
}

//! `listener` records and what `portmap` adds to flows and findings. Owned by the portmap issue.

use serde::{Deserialize, Serialize};

use super::Extra;

fn listener_type() -> String {
    "listener".to_string()
}

fn tcp() -> String {
    "tcp".to_string()
}

/// A listening socket read from netstat / ss / lsof / Get-NetTCPConnection output.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Listener {
    #[serde(default = "listener_type")]
    pub r#type: String,
    /// The server the listing came from (`--host`, or inferred), null when unknown.
    pub host: Option<String>,
    /// "tcp" or "udp".
    pub proto: String,
    /// Local address as listed, brackets and zone removed ("0.0.0.0", "::", "10.0.0.5",
    /// a host name when the listing was not numeric).
    pub address: String,
    pub port: u16,
    /// Socket state, upper case as Linux prints it: "LISTEN"; "UNCONN" for UDP; "ESTABLISHED"
    /// when the port was inferred from accepted connections (`inferred` is then true).
    #[serde(default)]
    pub state: String,
    /// True when no LISTEN line was listed and the port is known to serve only because
    /// established connections use it as their local port with several peers.
    #[serde(default)]
    pub inferred: bool,
    pub pid: Option<u32>,
    pub process: Option<String>,
    /// Windows services hosted by the process (`netstat -b` component lines, `tasklist /svc`).
    #[serde(default)]
    pub components: Vec<String>,
    /// Well-known service of the port, when known.
    pub service: Option<String>,
    /// The input format it was read from (netstat-windows, ss, netstat-linux, lsof, …).
    pub source: String,
    /// The file it was read from (`-` for standard input) and its 1-based line.
    #[serde(default)]
    pub file: String,
    #[serde(default)]
    pub line: u64,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A port related to another one in portmap's service table ("2725: SSAS 2000 default").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct RelatedPort {
    pub port: u16,
    /// Last port of a range ("49152-65535"); equal to `port` for a single port.
    pub last: u16,
    #[serde(default = "tcp")]
    pub proto: String,
    pub note: String,
}

/// `portmap` on a flow or finding: the server port's service and what listens.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct PortInfo {
    pub port: u16,
    #[serde(default = "tcp")]
    pub proto: String,
    pub service: Option<String>,
    /// Short human name used in hints ("SSAS 2005+", "PostgreSQL").
    #[serde(default)]
    pub label: Option<String>,
    /// Products that default to this port, with version notes.
    #[serde(default)]
    pub products: Vec<String>,
    /// Ports that go with this one (other versions' defaults, companions, dynamic ranges).
    #[serde(default)]
    pub related: Vec<RelatedPort>,
    /// The host whose listeners were consulted, null when none are known for the server.
    #[serde(default)]
    pub host: Option<String>,
    /// How the listing was tied to the server: "host" (`--host`), "address" (the listing
    /// shows the server's address), "assumed" (the only listing, its host unknown); null when
    /// no listing applies.
    #[serde(default)]
    pub matched_by: Option<String>,
    /// Whether something listens on the port, when listeners for the host are known.
    pub listening: Option<bool>,
    /// The listeners on that port (or, when none, on the related ports / same process).
    #[serde(default)]
    pub listeners: Vec<Listener>,
    /// The conclusion in one sentence, e.g. "nothing listens on 2383 (SSAS 2005+); msmdsrv.exe
    /// PID 2344 listens on 2725 (SSAS 2000 default)".
    pub hint: Option<String>,
}

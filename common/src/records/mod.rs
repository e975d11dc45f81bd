//! The record kinds of the tcpwhy pipeline, one module each. `docs/schema.md` documents every
//! field; a test (`tests/tests/schema.rs`) checks real output against it.
//!
//! Every record is a JSON object whose first field is `"type"`. Owned records (`Flow`, `Finding`,
//! `Host`, `Listener`) keep the fields they do not know in `extra` (`#[serde(flatten)]`), so a
//! stage that reads, enriches and rewrites a record loses nothing another stage added.

pub mod finding;
pub mod flow;
pub mod hops;
pub mod listener;
pub mod packet;
pub mod tick;

pub use finding::{Finding, Severity, SocketError};
pub use flow::{Flow, Side};
pub use flow::{FlowTls, TlsAlert, TlsClientHello, TlsEnd, TlsServerHello, TlsSides, TlsText};
pub use hops::{FlowHops, Host};
pub use listener::{Listener, PortInfo};
pub use packet::Packet;
pub use tick::Tick;

/// Unknown fields preserved by owned records.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// The `type` values defined by tcpwhy.
pub mod types {
    pub const PACKET: &str = "packet";
    pub const FLOW: &str = "flow";
    pub const FINDING: &str = "finding";
    pub const HOST: &str = "host";
    pub const LISTENER: &str = "listener";
    pub const TICK: &str = "tick";
}

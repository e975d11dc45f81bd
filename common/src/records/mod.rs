//! The record kinds of the tcpwhy pipeline, one module each. `docs/schema.md` documents every
//! field; a test (`tests/tests/schema.rs`) checks real output against it.
//!
//! Every record is a JSON object whose first field is `"type"`. Owned records that a stage reads,
//! enriches and rewrites (`Finding`, `Host`, `Listener`) keep the fields they do not know in
//! `extra` (`#[serde(flatten)]`), so that stage loses nothing another stage added. `Flow` has no
//! `extra`: no stage rewrites a flow through serde (ttlhops and portmap splice their field into
//! the original bytes), and `flatten` buffers the whole record before parsing it — on the
//! pipeline's largest record that cost more than all the rules together. Its unknown fields are
//! skipped unread.

use serde::{Deserialize, Serialize};

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

/// A JSON value kept as its text: read without building a tree, written back verbatim. For
/// fields that most readers only carry (a flow's `ladder`, `tunnel`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Raw(pub Box<serde_json::value::RawValue>);

impl Raw {
    /// `text` if it is one JSON value.
    pub fn new(text: String) -> Result<Self, serde_json::Error> {
        serde_json::value::RawValue::from_string(text).map(Raw)
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Parsed into a tree.
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(self.get()).unwrap_or(serde_json::Value::Null)
    }
}

impl PartialEq for Raw {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

/// The `type` values defined by tcpwhy.
pub mod types {
    pub const PACKET: &str = "packet";
    pub const FLOW: &str = "flow";
    pub const FINDING: &str = "finding";
    pub const HOST: &str = "host";
    pub const LISTENER: &str = "listener";
    pub const TICK: &str = "tick";
}

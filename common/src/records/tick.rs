//! `tick`: capture time moving on while no packet arrives (live captures only).
//!
//! `pcap2jsonl` writes `{"type":"tick","ts":…}` when it reads a stream (stdin, a pipe, a FIFO)
//! and no packet has arrived for about a second: `ts` is the last packet's capture time plus the
//! wall time elapsed since that packet arrived. Every stage advances its timers to `ts` exactly
//! as a packet of that time would, then passes the tick on unchanged (docs/contract.md).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// Capture time "now", seconds since 1970 (as `packet.ts`).
    pub ts: f64,
}

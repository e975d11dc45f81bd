//! `tcpwhy-common`: what every tcpwhy tool shares.
//!
//! - [`records`]: the serde types of every record kind (`packet`, `flow`, `finding`, `host`,
//!   `listener`), documented field by field in `docs/schema.md`.
//! - [`jsonl`]: a JSON-lines reader (one reused buffer, line numbers in errors, records of unknown
//!   types handed back as raw bytes so they pass through untouched) and writer (64 KiB buffer,
//!   flushed before the reader blocks on input so live pipelines see records at once).
//! - [`quote`]: input quoted in messages, cut to 200 bytes with its length.
//! - [`cli`]: `main` glue: input files or `-`, `tool: context: cause` errors, exit codes 0/1/2, a
//!   closed stdout (`| head`) is success.
//!
//! - [`stage`]: the stage driver (a [`stage::Stage`] trait: records in, records out, ticks,
//!   `finish` at the end of the input) and the [`stage::CommonArgs`] every JSON stage takes.
//! - [`tcp_flags`]: TCP flag bits and their `FSRPAUEC` letters (pcap2jsonl writes them, tcpflows
//!   reads them back).
//! - [`icmp`]: plain words for ICMP/ICMPv6 error types and codes (tshark's wording).
//!
//! `common` has no pcap dependency: only `pcap2jsonl` decodes captures.

pub mod cli;
#[doc(hidden)]
pub mod fuzz;
pub mod generate;
pub mod icmp;
pub mod jsonl;
pub mod live;
mod man;
pub mod quote;
pub mod records;
pub mod stage;
pub mod tcp_flags;

pub use cli::{Exit, Input};
pub use jsonl::{JsonlReader, JsonlWriter, Line};

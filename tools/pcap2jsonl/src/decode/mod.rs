//! Frame decoding: link layer → IP → TCP/UDP/ICMP → DNS, written straight to JSON.
//!
//! `write_packet` appends one `packet` record (a JSON object, no newline) to `out`. It never
//! fails and never panics: a frame that does not decode still yields a record with the core
//! fields and `decode_error` saying what and where.

use crate::frame::FrameMeta;

/// Appends the `packet` record for one frame to `out` (no trailing newline).
pub fn write_packet(meta: &FrameMeta, data: &[u8], out: &mut Vec<u8>) {
    // Placeholder until the decoder lands: core fields only.
    use std::io::Write;
    let _ = write!(
        out,
        "{{\"type\":\"packet\",\"frame\":{},\"ts\":{}.{:0width$},\"iface\":{},\"link\":\"linktype_{}\",\"len\":{},\"caplen\":{},\"decode_error\":\"not decoded yet\"}}",
        meta.frame,
        meta.ts_sec,
        meta.ts_frac,
        meta.iface,
        meta.linktype,
        meta.len,
        data.len(),
        width = meta.ts_digits as usize
    );
}

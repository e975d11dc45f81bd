//! The side tables of NetMon 2.2 and later: frame comments and the processes that owned the
//! connections.

use std::collections::HashMap;
use std::io::{Read, Seek};

use super::input::Input;
use super::{Comment, Header, MAX_SIDE_TABLE, Outcome, Process, le16, le32};
use crate::decode::netmon::utf16_lossy;

/// Reads the comment table (2.2 and later): comments keyed by the file offset of their frame.
pub(super) fn read_comments<R: Read + Seek>(
    inp: &mut Input<R>,
    h: &Header,
    name: &str,
    outcome: &mut Outcome,
) -> HashMap<u32, Comment> {
    let mut map = HashMap::new();
    let off = u64::from(h.comment_offset);
    let size = u64::from(h.comment_length);
    if size == 0 {
        return map;
    }
    // The tables follow the frames and the frame table: a file cut short loses them first.
    // Frames are complete then, so this is a warning; inconsistent contents are an error.
    if !inp.fits(off, size) {
        outcome.warnings.push(format!(
            "{name}: cut short or damaged: the comment table ({size} bytes at byte {off}, \
             header byte 40) lies past the end of the file ({} bytes); comments were not read",
            inp.len
        ));
        return map;
    }
    let errors = &mut outcome.errors;
    if size > MAX_SIDE_TABLE {
        errors.push(format!(
            "{name}: the comment table at byte {off} is {size} bytes, more than the {} MiB \
             read; comments were not read",
            MAX_SIDE_TABLE >> 20
        ));
        return map;
    }
    let mut b = vec![0u8; size as usize];
    if let Err(e) = inp.read_at(off, &mut b) {
        errors.push(format!("{name}: read error at byte {off}: {e}"));
        return map;
    }
    let mut at = 0usize;
    let bad = |at: usize, what: &str| {
        format!(
            "{name}: damaged or corrupt at byte {}: {what} in the comment table; the comments \
             after it were not read",
            off + at as u64
        )
    };
    while b.len() - at > 16 {
        let frame_offset = le32(&b, at + 4);
        let title_len = le32(&b, at + 8) as usize;
        if title_len == 0 || title_len > b.len() - at - 12 {
            errors.push(bad(at, &format!("comment title length {title_len}")));
            break;
        }
        let title = utf16_lossy(&b[at + 12..at + 12 + title_len]);
        let p = at + 12 + title_len;
        if b.len() - p < 4 {
            errors.push(bad(p, "comment cut short"));
            break;
        }
        let desc_len = le32(&b, p) as usize;
        if desc_len > b.len() - p - 4 {
            errors.push(bad(p, &format!("comment description length {desc_len}")));
            break;
        }
        let d = &b[p + 4..p + 4 + desc_len];
        let d = d.split(|&c| c == 0).next().unwrap_or(d);
        let description = String::from_utf8_lossy(d).into_owned();
        map.insert(frame_offset, Comment { title, description });
        at = p + 4 + desc_len;
    }
    map
}

/// Reads the process table (2.2 and later): application path, PID and the connection's ends.
pub(super) fn read_processes<R: Read + Seek>(
    inp: &mut Input<R>,
    h: &Header,
    name: &str,
    outcome: &mut Outcome,
) -> Vec<Process> {
    let mut v = Vec::new();
    let off = u64::from(h.process_offset);
    let count = h.process_count;
    if off == 0 || count == 0 {
        return v;
    }
    if off >= inp.len {
        outcome.warnings.push(format!(
            "{name}: cut short or damaged: the process table (at byte {off}, header byte 48) \
             lies past the end of the file ({} bytes); process names were not read",
            inp.len
        ));
        return v;
    }
    // The table's size is not in the header: read up to the end of the file (or the bound).
    let reaches_eof = off + MAX_SIDE_TABLE >= inp.len;
    let size = (inp.len - off).min(MAX_SIDE_TABLE);
    let mut b = vec![0u8; size as usize];
    if let Err(e) = inp.read_at(off, &mut b) {
        outcome
            .errors
            .push(format!("{name}: read error at byte {off}: {e}"));
        return v;
    }
    // An entry running past the end of the file: cut short (a warning, frames are complete);
    // past the bound, or an impossible path length: damage.
    let mut problem = |at: usize, i: u32, short: bool, what: &str| {
        let at = off + at as u64;
        if short && reaches_eof {
            outcome.warnings.push(format!(
                "{name}: cut short at byte {at}: process table entry {i} {what} ({} bytes); \
                 the entries from it on were not read",
                inp.len
            ));
        } else {
            outcome.errors.push(format!(
                "{name}: damaged or corrupt at byte {at}: process table entry {i} {what}; the \
                 entries from it on were not read"
            ));
        }
    };
    // A 2-byte version, then the entries.
    let mut at = 2usize;
    let need = |at: usize, n: usize| b.len() >= at && b.len() - at >= n;
    for i in 0..count {
        if !need(at, 4) {
            problem(at, i, true, "runs past the end of the file");
            break;
        }
        let path_len = le32(&b, at) as usize;
        if path_len > 65_536 {
            problem(at, i, false, &format!("has a path of {path_len} bytes"));
            break;
        }
        if !need(at, 4 + path_len + 4) {
            problem(at, i, true, "runs past the end of the file");
            break;
        }
        let path = utf16_lossy(&b[at + 4..at + 4 + path_len]);
        at += 4 + path_len;
        let icon_len = le32(&b, at) as usize;
        at += 4;
        if !need(at, icon_len.saturating_add(48)) {
            problem(at, i, true, "runs past the end of the file");
            break;
        }
        at += icon_len;
        let pid = le32(&b, at);
        let local_port = le16(&b, at + 4);
        let remote_port = le16(&b, at + 8);
        let ipv6 = le32(&b, at + 12) != 0;
        let mut local_addr = [0u8; 16];
        local_addr.copy_from_slice(&b[at + 16..at + 32]);
        let mut remote_addr = [0u8; 16];
        remote_addr.copy_from_slice(&b[at + 32..at + 48]);
        at += 48;
        v.push(Process {
            path,
            pid,
            local_port,
            remote_port,
            ipv6,
            local_addr,
            remote_addr,
        });
    }
    v
}

//! `--format text`: findings for people.

use std::fmt::Write as _;

use tcpwhy_common::records::Finding;

use crate::util::frames;

/// One finding as a short paragraph (no trailing newline).
pub fn finding(buf: &mut Vec<u8>, fd: &Finding) {
    let mut s = String::new();
    let _ = write!(
        s,
        "{:<7} {}: {}",
        fd.severity.as_str().to_uppercase(),
        fd.kind,
        fd.summary
    );
    if let Some(e) = &fd.socket_error {
        let mut parts = vec![];
        match (e.windows_code, &e.windows_name) {
            // SChannel / HRESULT statuses read in hex (0x80090326), Winsock codes in decimal.
            (Some(c), Some(n)) if c >= 0x8000_0000 => parts.push(format!("Windows 0x{c:08X} {n}")),
            (Some(c), Some(n)) => parts.push(format!("Windows {c} {n}")),
            (None, Some(n)) => parts.push(format!("Windows {n}")),
            _ => {}
        }
        if let Some(p) = &e.posix {
            parts.push(format!("POSIX {p}"));
        }
        if !parts.is_empty() {
            let _ = write!(s, "\n        socket error: {}", parts.join(", "));
            if let Some(m) = &e.windows_message {
                let _ = write!(s, " (\"{m}\")");
            }
        }
    }
    if !fd.frames.is_empty() {
        let _ = write!(s, "\n        evidence: {}", frames(&fd.frames, 12));
    }
    if !fd.next_step.is_empty() {
        let _ = write!(s, "\n        next step: {}", fd.next_step);
    }
    s.push('\n');
    buf.extend_from_slice(s.as_bytes());
}

/// The closing line.
pub fn footer(buf: &mut Vec<u8>, counts: &[u64; 3], flows: u64, packets: u64) {
    let total: u64 = counts.iter().sum();
    let line = if total == 0 {
        if flows == 0 && packets > 0 {
            "no flow records in the input: pipe packets through tcpflows first \
             (pcap2jsonl cap.pcap | tcpflows | ttlhops | tcpflag --format text)"
                .to_string()
        } else {
            format!(
                "no findings: {} look healthy",
                crate::util::plural(flows, "connection", "connections")
            )
        }
    } else {
        let mut parts = vec![];
        for (i, name) in [(2usize, "error"), (1, "warning"), (0, "info")] {
            if counts[i] > 0 {
                parts.push(format!(
                    "{} {name}{}",
                    counts[i],
                    if counts[i] == 1 || name == "info" {
                        ""
                    } else {
                        "s"
                    }
                ));
            }
        }
        format!(
            "{} ({}) in {}",
            crate::util::plural(total, "finding", "findings"),
            parts.join(", "),
            crate::util::plural(flows, "connection", "connections")
        )
    };
    buf.extend_from_slice(line.as_bytes());
}

//! `--format text`: findings for people — a verdict block (one line per problem, most severe
//! first), one paragraph per group of findings (kind, server, port: see [`crate::render::group`])
//! and the totals.

use std::fmt::Write as _;

use tcpwhy_common::records::{Finding, Severity};

use crate::render::group::{self, Group, Groups, LadderOf};
use crate::wording::{frames, plural};

/// What was read, for honest totals.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    /// Findings written, by severity (info, warning, error).
    pub counts: [u64; 3],
    /// Input records of any type.
    pub records: u64,
    /// Flow records.
    pub flows: u64,
    /// Packet records, and those that are TCP or carry DNS.
    pub packets: u64,
    pub tcp_packets: u64,
    pub dns_packets: u64,
    /// The lowest severity written (`--min-severity`).
    pub min: Option<Severity>,
}

/// "Windows 10061 WSAECONNREFUSED, POSIX ECONNREFUSED (\"…\")", if the finding has one.
pub fn socket_error(fd: &Finding) -> Option<String> {
    let e = fd.socket_error.as_ref()?;
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
    if parts.is_empty() {
        return None;
    }
    let mut s = parts.join(", ");
    if let Some(m) = &e.windows_message {
        let _ = write!(s, " (\"{m}\")");
    }
    Some(s)
}

const INDENT: &str = "        ";

/// One finding as a short paragraph (with a trailing newline).
pub fn finding(buf: &mut Vec<u8>, fd: &Finding) {
    let mut s = String::new();
    let _ = write!(
        s,
        "{:<7} {}: {}",
        fd.severity.as_str().to_uppercase(),
        fd.kind,
        fd.summary
    );
    if let Some(e) = socket_error(fd) {
        let _ = write!(s, "\n{INDENT}socket error: {e}");
    }
    if !fd.frames.is_empty() {
        let _ = write!(s, "\n{INDENT}evidence: {}", frames(&fd.frames, 12));
    }
    if !fd.next_step.is_empty() {
        let _ = write!(s, "\n{INDENT}next step: {}", fd.next_step);
    }
    s.push('\n');
    buf.extend_from_slice(s.as_bytes());
}

/// One group: a single finding as [`finding`] writes it; several as a headline with the count
/// and time span, then the first and the worst example with their frames.
pub fn paragraph(buf: &mut Vec<u8>, g: &Group, ladder: Option<&str>) {
    if g.findings == 1 {
        finding(buf, &g.first);
    } else {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<7} {} ×{}: {}",
            g.severity.as_str().to_uppercase(),
            g.kind,
            g.findings,
            group::headline(g)
        );
        let _ = writeln!(s, "{INDENT}first: {}", g.first.summary);
        if !g.first.frames.is_empty() {
            let _ = writeln!(s, "{INDENT}evidence: {}", frames(&g.first.frames, 12));
        }
        if let Some(w) = &g.worst {
            let _ = writeln!(s, "{INDENT}worst: {}", w.summary);
            if !w.frames.is_empty() {
                let _ = writeln!(s, "{INDENT}evidence: {}", frames(&w.frames, 12));
            }
        }
        if let Some(e) = socket_error(&g.first) {
            let _ = writeln!(s, "{INDENT}socket error: {e}");
        }
        if !g.first.next_step.is_empty() {
            let _ = writeln!(s, "{INDENT}next step: {}", g.first.next_step);
        }
        buf.extend_from_slice(s.as_bytes());
    }
    if let Some(l) = ladder {
        let what = if g.findings == 1 {
            ""
        } else {
            " of the first example"
        };
        buf.extend_from_slice(format!("{INDENT}ladder{what}:\n").as_bytes());
        for line in l.lines() {
            buf.extend_from_slice(INDENT.as_bytes());
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
        }
    }
}

/// "2 problems:", "1 problem, 1 note:", "no problems, 2 notes:".
pub fn verdict_title(groups: &[&Group]) -> String {
    let problems = groups.iter().filter(|g| g.is_problem()).count() as u64;
    let notes = groups.len() as u64 - problems;
    let p = if problems == 0 {
        "no problems".to_string()
    } else {
        plural(problems, "problem", "problems")
    };
    if notes == 0 {
        format!("{p}:")
    } else {
        format!("{p}, {}:", plural(notes, "note", "notes"))
    }
}

/// The verdict block: one line per group, most severe first.
pub fn verdict(buf: &mut Vec<u8>, groups: &[&Group]) {
    let mut s = verdict_title(groups);
    s.push('\n');
    for g in groups {
        let _ = writeln!(
            s,
            "  {:<7} {}: {}",
            g.severity.as_str().to_uppercase(),
            g.kind,
            group::headline(g)
        );
    }
    buf.extend_from_slice(s.as_bytes());
}

/// The whole report: verdict, paragraphs (each followed by its ladder from `ladder`), totals.
pub fn report(buf: &mut Vec<u8>, groups: &Groups, totals: &Totals, ladder: &mut LadderOf) {
    let sorted = groups.sorted();
    if !sorted.is_empty() {
        verdict(buf, &sorted);
        buf.push(b'\n');
        for g in &sorted {
            let l = ladder(g);
            paragraph(buf, g, l.as_deref());
            buf.push(b'\n');
        }
    }
    if groups.dropped > 0 {
        let line = format!(
            "{} not shown above (more than {} groups of findings)\n",
            plural(groups.dropped, "finding", "findings"),
            group::MAX_GROUPS
        );
        buf.extend_from_slice(line.as_bytes());
    }
    // No trailing newline: the writer's end_record adds it.
    buf.extend_from_slice(footer(totals, sorted.len()).as_bytes());
}

/// The end of a streamed report (`--line-buffered`: the findings were written as they came):
/// the verdict block and the totals.
pub fn summary(buf: &mut Vec<u8>, groups: &Groups, totals: &Totals) {
    let sorted = groups.sorted();
    if !sorted.is_empty() {
        buf.push(b'\n');
        verdict(buf, &sorted);
        buf.push(b'\n');
    }
    buf.extend_from_slice(footer(totals, sorted.len()).as_bytes());
}

/// The closing line, honest about what was read.
pub fn footer(t: &Totals, groups: usize) -> String {
    let total: u64 = t.counts.iter().sum();
    if total > 0 {
        let mut parts = vec![];
        for (i, name) in [(2usize, "error"), (1, "warning"), (0, "info")] {
            if t.counts[i] > 0 {
                parts.push(format!(
                    "{} {name}{}",
                    t.counts[i],
                    if t.counts[i] == 1 || name == "info" {
                        ""
                    } else {
                        "s"
                    }
                ));
            }
        }
        let grouped = if groups > 1 && (groups as u64) < total {
            format!(", shown as {groups} groups")
        } else {
            String::new()
        };
        return format!(
            "{} ({}) in {}{grouped}",
            plural(total, "finding", "findings"),
            parts.join(", "),
            plural(t.flows, "connection", "connections")
        );
    }
    if t.records == 0 {
        return "no input records (did the previous stage fail?)".to_string();
    }
    if t.flows == 0 {
        if t.tcp_packets > 0 {
            return "no flow records in the input: pipe packets through tcpflows first \
                    (pcap2jsonl cap.pcap | tcpflows | ttlhops | tcpflag --format text)"
                .to_string();
        }
        let what = if t.packets == 0 {
            format!(
                "{} read, none a flow or a packet",
                plural(t.records, "record", "records")
            )
        } else if t.dns_packets == t.packets {
            plural(t.dns_packets, "DNS packet", "DNS packets")
        } else if t.dns_packets > 0 {
            format!(
                "{}, {} of them DNS",
                plural(t.packets, "other packet", "other packets"),
                t.dns_packets
            )
        } else {
            plural(t.packets, "other packet", "other packets")
        };
        return format!("no TCP connections ({what})");
    }
    let healthy = if t.flows == 1 {
        "1 connection looks healthy".to_string()
    } else {
        format!("{} connections look healthy", t.flows)
    };
    match t.min {
        Some(m) if m > Severity::Info => format!(
            "no findings at or above {}: {healthy} at that level",
            m.as_str()
        ),
        _ => format!("no findings: {healthy}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn honest_totals() {
        let t = Totals::default();
        assert_eq!(
            footer(&t, 0),
            "no input records (did the previous stage fail?)"
        );
        let t = Totals {
            records: 12,
            packets: 12,
            dns_packets: 12,
            ..Totals::default()
        };
        assert_eq!(footer(&t, 0), "no TCP connections (12 DNS packets)");
        let t = Totals {
            records: 3,
            flows: 1,
            ..Totals::default()
        };
        assert_eq!(footer(&t, 0), "no findings: 1 connection looks healthy");
        let t = Totals {
            records: 3,
            flows: 3,
            counts: [0, 0, 1],
            ..Totals::default()
        };
        assert_eq!(footer(&t, 1), "1 finding (1 error) in 3 connections");
    }
}

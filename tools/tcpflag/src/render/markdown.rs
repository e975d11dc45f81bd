//! `--format markdown`: the report for a ticket or a wiki page — the verdict, a table of the
//! groups of findings, each group's example with its ladder in a code block, the next steps as
//! a checklist, the totals.

use std::fmt::Write as _;

use super::group::{self, Group, Groups, LadderOf};
use crate::text::{self, Totals};
use crate::wording::frames;

/// A table cell: no line breaks, `|` escaped.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The whole report.
pub fn report(buf: &mut Vec<u8>, groups: &Groups, totals: &Totals, ladder: &mut LadderOf) {
    let sorted = groups.sorted();
    let mut s = String::new();
    let footer = text::footer(totals, sorted.len());
    if sorted.is_empty() {
        let _ = writeln!(s, "# tcpflag: {footer}");
        buf.extend_from_slice(s.trim_end().as_bytes());
        return;
    }
    let title = text::verdict_title(&sorted);
    let _ = writeln!(s, "# tcpflag: {}\n", title.trim_end_matches(':'));
    for g in &sorted {
        let _ = writeln!(
            s,
            "- **{}** `{}`: {}",
            g.severity.as_str().to_uppercase(),
            g.kind,
            group::headline(g)
        );
    }
    let _ = writeln!(s, "\n## Findings\n");
    let _ = writeln!(
        s,
        "| # | severity | kind | server | findings | connections | clients | time (UTC) | evidence (first example) |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
    for (i, g) in sorted.iter().enumerate() {
        let span = match (g.first_ts, g.last_ts) {
            (Some(a), Some(b)) if group::clock(a) != group::clock(b) => {
                format!("{}-{}", group::clock(a), group::clock(b))
            }
            (Some(a), _) => group::clock(a),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | `{}` | {} | {} | {} | {} | {} | {} |",
            i + 1,
            g.severity.as_str(),
            g.kind,
            cell(&group::server(g)),
            g.findings,
            g.connections,
            cell(&group::clients(g).unwrap_or_default()),
            span,
            cell(&frames(&g.first.frames, 12))
        );
    }
    for (i, g) in sorted.iter().enumerate() {
        let _ = writeln!(
            s,
            "\n## {}. {} `{}`: {}\n",
            i + 1,
            g.severity.as_str().to_uppercase(),
            g.kind,
            cell(&group::server(g))
        );
        let lead = if g.findings > 1 {
            "First example: "
        } else {
            ""
        };
        let _ = writeln!(s, "{lead}{}\n", g.first.summary);
        if let Some(w) = &g.worst {
            let _ = writeln!(s, "Worst example: {}\n", w.summary);
        }
        if let Some(e) = text::socket_error(&g.first) {
            let _ = writeln!(s, "Socket error: {e}\n");
        }
        if !g.first.frames.is_empty() {
            let _ = writeln!(s, "Evidence: {}\n", frames(&g.first.frames, 24));
        }
        if let Some(l) = ladder(g) {
            let _ = writeln!(s, "```text\n{l}\n```");
        }
    }
    let steps: Vec<&&Group> = sorted
        .iter()
        .filter(|g| !g.first.next_step.is_empty())
        .collect();
    if !steps.is_empty() {
        let _ = writeln!(s, "\n## Next steps\n");
        for g in steps {
            let _ = writeln!(
                s,
                "- [ ] **`{}` {}**: {}",
                g.kind,
                group::server(g),
                g.first.next_step.replace('\n', " ")
            );
        }
    }
    if groups.dropped > 0 {
        let _ = writeln!(
            s,
            "\n{} not shown (more than {} groups of findings)",
            crate::wording::plural(groups.dropped, "finding", "findings"),
            group::MAX_GROUPS
        );
    }
    let _ = writeln!(s, "\n---\n\n{footer}");
    while s.contains("\n\n\n") {
        s = s.replace("\n\n\n", "\n\n");
    }
    // The writer's end_record adds the last newline.
    buf.extend_from_slice(s.trim_end().as_bytes());
}

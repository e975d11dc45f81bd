//! The man page of one tool: clap_mangen's title, name, description and options, a synopsis
//! that shows option values, and the tool's `--help` notes split into EXAMPLES, EXIT STATUS and
//! NOTES (instead of one "EXTRA" section), then SEE ALSO with the installed documentation path.

use std::fmt::Write as _;
use std::io;

use clap::{ArgAction, Command};

/// roff-escaped text: backslashes, leading dots and quotes, dashes.
fn esc(s: &str) -> String {
    let s = s.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    }
}

/// `[\fB\-\-format\fR \fIjson|text|markdown\fR]` for each option, `[\fIFILES\fR]...` for
/// positionals.
pub fn synopsis(cmd: &Command) -> String {
    let mut cmd = cmd.clone();
    cmd.build();
    let mut s = format!(".SH SYNOPSIS\n\\fB{}\\fR", cmd.get_name());
    for a in cmd.get_arguments() {
        if a.is_hide_set() || matches!(a.get_action(), ArgAction::Help | ArgAction::Version) {
            continue;
        }
        let values: Vec<String> = a
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_string())
            .collect();
        let value = if !values.is_empty() && values.len() <= 6 {
            values.join("|")
        } else {
            a.get_value_names()
                .map(|v| {
                    v.iter()
                        .map(std::string::ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_else(|| a.get_id().to_string().to_uppercase())
        };
        let takes = a.get_num_args().is_some_and(|n| n.takes_values())
            && !matches!(
                a.get_action(),
                ArgAction::SetTrue | ArgAction::SetFalse | ArgAction::Count
            );
        let _ = write!(s, " ");
        if a.is_positional() {
            let _ = write!(s, "[\\fI{}\\fR]...", esc(&value));
            continue;
        }
        let name = match (a.get_long(), a.get_short()) {
            (Some(l), _) => format!("\\-\\-{}", esc(l)),
            (None, Some(c)) => format!("\\-{c}"),
            _ => continue,
        };
        if takes {
            let _ = write!(s, "[\\fB{name}\\fR \\fI{}\\fR]", esc(&value));
        } else {
            let _ = write!(s, "[\\fB{name}\\fR]");
        }
    }
    s.push('\n');
    s
}

/// The `--help` notes (after_help) as EXAMPLES, EXIT STATUS and NOTES sections.
pub fn sections(after_help: &str) -> String {
    let mut examples: Vec<String> = vec![];
    let mut exit: Vec<String> = vec![];
    let mut notes: Vec<String> = vec![];
    for para in after_help.split("\n\n") {
        let para = para.trim_matches('\n');
        let first = para.lines().next().unwrap_or("");
        if first.starts_with("Example") || first.starts_with("Pipeline:") {
            for l in para.lines().skip(1) {
                examples.push(l.trim().to_string());
            }
            examples.push(String::new());
        } else if let Some(rest) = para.strip_prefix("Exit status:") {
            // The shared note ("see the tool's own notes for 1") only when the tool has none.
            if rest.contains("see the tool's own notes") && !exit.is_empty() {
                continue;
            }
            exit.push(rest.trim().replace('\n', " "));
        } else if let Some((a, b)) = para.split_once("\nExit status:") {
            notes.push(a.replace('\n', " "));
            exit.push(b.trim().replace('\n', " "));
        } else if !para.trim().is_empty() {
            notes.push(para.replace('\n', " "));
        }
    }
    let mut s = String::new();
    if !examples.is_empty() {
        s.push_str(".SH EXAMPLES\n");
        for e in examples.iter().filter(|e| !e.is_empty()) {
            let _ = writeln!(s, ".PP\n.nf\n{}\n.fi", esc(e));
        }
    }
    if !exit.is_empty() {
        s.push_str(".SH \"EXIT STATUS\"\n");
        for e in &exit {
            let _ = writeln!(s, ".PP\n{}", esc(e));
        }
    }
    if !notes.is_empty() {
        s.push_str(".SH NOTES\n");
        for n in &notes {
            let _ = writeln!(s, ".PP\n{}", esc(n));
        }
    }
    s
}

/// The whole page (SEE ALSO is added by the caller).
pub fn render(man: &clap_mangen::Man, cmd: &Command) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    buf.extend_from_slice(synopsis(cmd).as_bytes());
    man.render_description_section(&mut buf)?;
    man.render_options_section(&mut buf)?;
    if let Some(h) = cmd.get_after_help() {
        buf.extend_from_slice(sections(&h.to_string()).as_bytes());
    }
    man.render_version_section(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synopsis_shows_option_values() {
        use clap::Arg;
        let cmd = Command::new("tcpflag")
            .arg(
                Arg::new("format")
                    .long("format")
                    .value_parser(["json", "text", "markdown"]),
            )
            .arg(
                Arg::new("retry_window")
                    .long("retry-window")
                    .value_name("SECS"),
            )
            .arg(Arg::new("all").long("all").action(ArgAction::SetTrue))
            .arg(Arg::new("files").value_name("FILES").num_args(0..));
        let s = synopsis(&cmd);
        assert!(
            s.contains("[\\fB\\-\\-format\\fR \\fIjson|text|markdown\\fR]"),
            "{s}"
        );
        assert!(
            s.contains("[\\fB\\-\\-retry\\-window\\fR \\fISECS\\fR]"),
            "{s}"
        );
        assert!(s.contains("[\\fB\\-\\-all\\fR]"), "{s}");
        assert!(s.contains("[\\fIFILES\\fR]..."), "{s}");
    }

    #[test]
    fn after_help_becomes_sections() {
        let s = sections(
            "Examples:\n  a | b\n  c --x\n\nSome note\nwrapped.\n\nExit status: 0 ok, 1 matched.\n\n\
             Pipeline:\n  p | q\n\nExit status: 0 ok (see the tool's own notes for 1).",
        );
        assert!(
            s.contains(".SH EXAMPLES\n.PP\n.nf\na | b\n.fi\n.PP\n.nf\nc \\-\\-x\n.fi"),
            "{s}"
        );
        assert!(
            s.contains(".SH \"EXIT STATUS\"\n.PP\n0 ok, 1 matched.\n"),
            "{s}"
        );
        assert!(!s.contains("see the tool"), "{s}");
        assert!(s.contains(".SH NOTES\n.PP\nSome note wrapped.\n"), "{s}");
        assert!(!s.contains("EXTRA"));
    }
}

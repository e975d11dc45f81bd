//! Colour and wrapping for a terminal: severities in colour (`--color auto|always|never`, as
//! ripgrep does: `auto` colours only a terminal, and not when `NO_COLOR` is set to anything
//! non-empty or `TERM` is `dumb`), long lines wrapped to the terminal's width with the
//! paragraph's indent. Piped output is left as it is: no colour, no wrapping.

use std::io::IsTerminal;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour (even when piped, even with NO_COLOR).
    Always,
    /// Never colour.
    Never,
}

/// Whether to colour, from the choice and the environment.
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        }
    }
}

/// The terminal's width when standard output is one (None when piped: no wrapping).
pub fn terminal_width() -> Option<usize> {
    let out = std::io::stdout();
    if !out.is_terminal() {
        return None;
    }
    let cols = rustix::termios::tcgetwinsize(&out)
        .ok()
        .map(|w| w.ws_col as usize)
        .filter(|&c| c > 0)
        .or_else(|| std::env::var("COLUMNS").ok()?.parse().ok())
        .unwrap_or(80);
    Some(cols.max(40))
}

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

fn paint(line: &str) -> String {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    for (word, c) in [("ERROR", RED), ("WARNING", YELLOW), ("INFO", CYAN)] {
        if let Some(rest) = trimmed.strip_prefix(word) {
            if rest.starts_with(' ') && indent.len() <= 2 {
                return format!("{indent}{c}{word}{RESET}{rest}");
            }
        }
    }
    if line.contains('◆') {
        return line.replace('◆', &format!("{BOLD}◆{RESET}"));
    }
    line.to_string()
}

/// `line` wrapped at spaces to `width` columns, continuation lines indented like the
/// paragraph's body (8 spaces, or 2 more than the line's own indent). Ladder lines (box
/// drawing) are never wrapped.
fn wrap(line: &str, width: usize, out: &mut Vec<String>) {
    if line.chars().count() <= width || line.contains('│') || line.contains('┊') {
        out.push(line.to_string());
        return;
    }
    let body = line.trim_start();
    let own = line.len() - body.len();
    let hang = if own == 0 { 8 } else { own + 2 };
    let mut cur = line[..own].to_string();
    let mut cur_w = own;
    let mut fresh = true;
    for word in body.split(' ') {
        let ww = word.chars().count();
        if !fresh && !word.is_empty() && cur_w + 1 + ww > width {
            out.push(cur.trim_end().to_string());
            cur = " ".repeat(hang);
            cur_w = hang;
            fresh = true;
        }
        if !fresh {
            cur.push(' ');
            cur_w += 1;
        }
        cur.push_str(word);
        cur_w += ww;
        fresh = false;
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
}

/// The report as it goes to the terminal.
pub fn finish(report: &str, color: bool, width: Option<usize>) -> String {
    let mut lines = vec![];
    for l in report.split('\n') {
        match width {
            Some(w) => wrap(l, w, &mut lines),
            None => lines.push(l.to_string()),
        }
    }
    if color {
        lines = lines.iter().map(|l| paint(l)).collect();
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_with_a_hanging_indent() {
        let s = finish(
            "ERROR   refused: aaaa bbbb cccc dddd eeee\n        next step: ffff gggg hhhh",
            false,
            Some(24),
        );
        assert_eq!(
            s,
            "ERROR   refused: aaaa\n        bbbb cccc dddd\n        eeee\n        next step: ffff\n          gggg hhhh"
        );
        assert!(s.lines().all(|l| l.chars().count() <= 24));
    }

    #[test]
    fn colours_severities() {
        let s = finish("  ERROR   x\nWARNING y\nINFO    z\nplain", true, None);
        assert_eq!(
            s,
            "  \x1b[1;31mERROR\x1b[0m   x\n\x1b[1;33mWARNING\x1b[0m y\n\x1b[36mINFO\x1b[0m    z\nplain"
        );
    }
}

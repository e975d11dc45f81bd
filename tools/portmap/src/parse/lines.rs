//! A listing's text as lines: line ends of every style, and the sections of a file that holds
//! a netstat table and a tasklist one after the other.

use super::windows;

/// The lines of a text, ended by `\n`, `\r\n` or a lone `\r` (old Mac style, or a listing
/// that went through a tool that rewrote its line ends); `\r\r\n` (a CRLF text written once
/// more in text mode) is one line end. The line ends are not part of the lines.
pub fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let b = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        if i >= b.len() {
            return None;
        }
        let start = i;
        while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
            i += 1;
        }
        let line = &text[start..i];
        if i < b.len() {
            if b[i] == b'\n' {
                i += 1;
            } else {
                // A run of \r followed by \n is one line end; else only this \r is.
                let mut j = i;
                while j < b.len() && b[j] == b'\r' {
                    j += 1;
                }
                i = if j < b.len() && b[j] == b'\n' {
                    j + 1
                } else {
                    i + 1
                };
            }
        }
        Some(line)
    })
}

/// True when the text ends with a line end (or is empty).
pub(super) fn ends_with_line_end(text: &str) -> bool {
    text.is_empty() || text.ends_with('\n') || text.ends_with('\r')
}

/// A text cut where a Windows netstat table and a tasklist follow each other (one appended to
/// the other's file): (lines before the section, its text). One section when there is no such
/// boundary.
pub(super) fn sections(text: &str) -> Vec<(u64, std::borrow::Cow<'_, str>)> {
    let lines: Vec<&str> = split_lines(text).collect();
    let row = |l: &str| windows::is_netstat_row(l.trim());
    let underline = |l: &str| {
        let t = l.trim();
        t.starts_with("===") && t.chars().all(|c| c == '=' || c == ' ')
    };
    let digits = |l: &str| l.chars().any(|c| c.is_ascii_digit());
    let mut cuts = vec![0usize];
    let mut kind = None; // Some(true): in a netstat table; Some(false): in a tasklist
    for i in 0..lines.len() {
        let l = lines[i];
        if row(l) {
            if kind == Some(false) {
                // The netstat title and header (no digits) and blank lines before the row.
                let mut j = i;
                while j > *cuts.last().unwrap_or(&0) && !digits(lines[j - 1]) {
                    j -= 1;
                }
                cuts.push(j);
            }
            kind = Some(true);
        } else if underline(l) || (l.starts_with('"') && l.contains("\",\"PID\"")) {
            if kind == Some(true) {
                let mut j = i;
                if underline(l) {
                    // The tasklist header: the non-blank line above the underline.
                    j -= 1;
                    while j > 0 && lines[j].trim().is_empty() {
                        j -= 1;
                    }
                }
                cuts.push(j);
            }
            kind = Some(false);
        }
    }
    if cuts.len() == 1 {
        return vec![(0, std::borrow::Cow::Borrowed(text))];
    }
    cuts.push(lines.len());
    cuts.windows(2)
        .filter(|w| w[1] > w[0])
        .map(|w| (w[0] as u64, lines[w[0]..w[1]].join("\n").into()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_lf_crlf_cr() {
        let v: Vec<&str> = split_lines("a\nb\r\nc\rd\r\r\ne\r\rf").collect();
        assert_eq!(v, ["a", "b", "c", "d", "e", "", "f"]);
        assert_eq!(split_lines("a\n").count(), 1);
        assert_eq!(split_lines("").count(), 0);
        assert!(ends_with_line_end("x\r") && !ends_with_line_end("x"));
    }

    #[test]
    fn netstat_and_tasklist_in_one_file_are_two_sections() {
        let t = "\r\nActive Connections\r\n\r\n  Proto  Local Address  Foreign Address  State  PID\r\n  TCP    0.0.0.0:2725  0.0.0.0:0  LISTENING  2344\r\n\r\nImage Name   PID\r\n=========== ====\r\nmsmdsrv.exe 2344\r\n\r\nAktive Verbindungen\r\n  TCP    0.0.0.0:135  0.0.0.0:0  LISTENING  956\r\n";
        let s = sections(t);
        let offs: Vec<u64> = s.iter().map(|(o, _)| *o).collect();
        assert_eq!(offs, [0, 6, 9]);
        assert!(s[1].1.starts_with("Image Name"));
        assert!(s[2].1.starts_with("\nAktive Verbindungen"));
        assert_eq!(
            sections("  TCP    0.0.0.0:2725  0.0.0.0:0  LISTENING  2344\n").len(),
            1
        );
    }
}

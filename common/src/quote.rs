//! Input quoted in messages, at most [`QUOTE_MAX`] bytes of it.
//!
//! An error about a wrong-typed value quotes the value; serde quotes it whole, so a 10 MiB string
//! in a record gave 10 MiB on stderr. Every message about a line goes through [`shorten`]
//! ([`Line::error`](crate::jsonl::Line::error)), and `main` shortens the final message again, so
//! no tool ever prints more than a few hundred bytes of its input in one message.

use std::borrow::Cow;
use std::fmt::Write;

/// The most bytes of one quoted value a message shows.
pub const QUOTE_MAX: usize = 200;

/// The longest message printed whole; a longer one (after [`shorten`]) is cut with its length.
pub const MESSAGE_MAX: usize = 4096;

/// `s` itself when it is at most [`QUOTE_MAX`] bytes, else its first bytes (cut on a character
/// boundary), `…` and how long it was: `AAAA… (10485760 bytes)`.
pub fn quote(s: &str) -> Cow<'_, str> {
    if s.len() <= QUOTE_MAX {
        return Cow::Borrowed(s);
    }
    Cow::Owned(format!("{}… ({} bytes)", head(s, QUOTE_MAX), s.len()))
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn head(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A message with every value it quotes (between `"…"`, with `\"` escapes, or between backticks,
/// as serde and the tools quote) cut to [`QUOTE_MAX`] bytes, the quote closed and the length said
/// after it: `invalid type: string "AAAA…" (10485760 bytes), expected u16`. Then the whole
/// message is cut to [`MESSAGE_MAX`] bytes (with its length) should it still be longer.
pub fn shorten(msg: &str) -> Cow<'_, str> {
    if msg.len() <= QUOTE_MAX {
        return Cow::Borrowed(msg);
    }
    let b = msg.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        let d = b[i];
        if d != b'"' && d != b'`' {
            i += 1;
            continue;
        }
        // The closing delimiter (a `"` escaped by an odd number of backslashes does not close).
        let open = i + 1;
        let mut j = open;
        let close = loop {
            match b[j..].iter().position(|c| *c == d) {
                None => break None,
                Some(p) => {
                    let at = j + p;
                    let slashes = b[open..at]
                        .iter()
                        .rev()
                        .take_while(|c| **c == b'\\')
                        .count();
                    if d == b'"' && slashes % 2 == 1 {
                        j = at + 1;
                        continue;
                    }
                    break Some(at);
                }
            }
        };
        let end = close.unwrap_or(b.len());
        let inner = &msg[open..end];
        // (a value already cut, 200 bytes and `…`, is left alone: shortening twice is harmless)
        if inner.len() > QUOTE_MAX + '…'.len_utf8() {
            out.push_str(&msg[copied..open]);
            out.push_str(head(inner, QUOTE_MAX));
            out.push('…');
            out.push(d as char);
            let _ = write!(out, " ({} bytes)", inner.len());
            copied = (end + 1).min(b.len());
        }
        i = end + 1;
    }
    let text: Cow<'_, str> = if copied == 0 {
        Cow::Borrowed(msg)
    } else {
        out.push_str(&msg[copied..]);
        Cow::Owned(out)
    };
    if text.len() <= MESSAGE_MAX {
        return text;
    }
    Cow::Owned(format!(
        "{}… (message of {} bytes cut)",
        head(&text, MESSAGE_MAX),
        text.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_quoted_whole() {
        assert_eq!(quote("1.5e9"), "1.5e9");
        let m = "invalid type: string \"abc\", expected u16 at line 1 column 20";
        assert_eq!(shorten(m), m);
    }

    #[test]
    fn long_values_are_cut_and_their_length_said() {
        let big = "A".repeat(10 << 20);
        assert_eq!(
            quote(&big),
            format!("{}… ({} bytes)", &big[..200], 10 << 20)
        );
        let m = format!("invalid type: string \"{big}\", expected u16 at line 1 column 10485790");
        let s = shorten(&m);
        assert_eq!(
            s,
            format!(
                "invalid type: string \"{}…\" ({} bytes), expected u16 at line 1 column 10485790",
                &big[..200],
                10 << 20
            )
        );
        let m = format!("unknown variant `{big}`, expected `a` or `b`");
        assert!(shorten(&m).starts_with(&format!("unknown variant `{}…` (", &big[..200])));
        assert!(shorten(&m).ends_with("bytes), expected `a` or `b`"));
    }

    #[test]
    fn escaped_quotes_and_multibyte_text_are_respected() {
        let big = "é\\\"x".repeat(100);
        let m = format!("string \"{big}\" here");
        let s = shorten(&m);
        assert!(
            s.ends_with(&format!("…\" ({} bytes) here", big.len())),
            "{s}"
        );
        // cut on a character boundary
        assert!(s.len() < m.len());
        let m = format!("x \"{}", "é".repeat(500));
        assert!(shorten(&m).ends_with("(1000 bytes)"));
    }

    #[test]
    fn shortening_twice_changes_nothing() {
        let m = format!("string \"{}\", expected u16", "A".repeat(5000));
        let once = shorten(&m).into_owned();
        assert_eq!(shorten(&once), once);
    }

    #[test]
    fn unquoted_long_messages_are_cut_too() {
        let m = "x".repeat(100_000);
        let s = shorten(&m);
        assert!(s.len() < MESSAGE_MAX + 100);
        assert!(s.ends_with("(message of 100000 bytes cut)"));
    }
}

//! Which command printed a listing, from its first meaningful lines.

use super::{Format, split_lines};

/// Guesses the format from the first meaningful lines.
pub fn detect(text: &str) -> Option<Format> {
    let lines: Vec<&str> = split_lines(text)
        .filter(|l| !l.trim().is_empty())
        .take(12)
        .collect();
    let first = lines.first()?.trim();
    let lower = first.to_ascii_lowercase();
    if lower.starts_with("#type") {
        return Some(Format::NetTcpCsv);
    }
    if first.starts_with('"') {
        let f = lower.replace('"', "");
        if f.contains("localaddress") && f.contains("localport") {
            return Some(Format::NetTcpCsv);
        }
        if f.contains("pid")
            || first
                .split("\",\"")
                .nth(1)
                .is_some_and(|x| x.chars().all(|c| c.is_ascii_digit()))
        {
            return Some(Format::TasklistCsv);
        }
    }
    for l in &lines {
        let t = l.trim();
        let tl = t.to_ascii_lowercase();
        let toks: Vec<&str> = t.split_whitespace().collect();
        if tl.starts_with("active internet connections") {
            return Some(Format::NetstatLinux);
        }
        if tl.starts_with("active connections") {
            return Some(Format::NetstatWindows);
        }
        if toks.first() == Some(&"Proto") {
            if tl.contains("recv-q") {
                return Some(Format::NetstatLinux);
            }
            return Some(Format::NetstatWindows);
        }
        if (toks.first() == Some(&"State") || toks.first() == Some(&"Netid"))
            && tl.contains("recv-q")
        {
            return Some(Format::Ss);
        }
        if toks.first() == Some(&"COMMAND") && toks.contains(&"PID") && toks.contains(&"NAME") {
            return Some(Format::Lsof);
        }
        if toks.contains(&"LocalAddress") && toks.contains(&"LocalPort") {
            return Some(Format::NetTcpTable);
        }
        if t.starts_with("Image Name:") || (t.contains(':') && toks.first() == Some(&"PID:")) {
            return Some(Format::TasklistList);
        }
        if t.starts_with("Image Name") && toks.contains(&"PID") {
            return Some(Format::Tasklist);
        }
        if t.starts_with("====") && t.contains(' ') {
            return Some(Format::Tasklist);
        }
        if matches!(toks.first(), Some(&"TCP") | Some(&"UDP")) {
            return Some(Format::NetstatWindows);
        }
        if matches!(
            toks.first(),
            Some(&"tcp") | Some(&"tcp6") | Some(&"udp") | Some(&"udp6")
        ) && toks.len() >= 6
            && toks[1].chars().all(|c| c.is_ascii_digit())
        {
            return Some(Format::NetstatLinux);
        }
        if matches!(
            toks.first(),
            Some(&"LISTEN") | Some(&"ESTAB") | Some(&"UNCONN")
        ) {
            return Some(Format::Ss);
        }
        // `ss -H` with a Netid column: "tcp   LISTEN 0 4096 …".
        if toks.len() >= 6
            && matches!(
                toks.get(1),
                Some(&"LISTEN") | Some(&"ESTAB") | Some(&"UNCONN")
            )
        {
            return Some(Format::Ss);
        }
    }
    None
}

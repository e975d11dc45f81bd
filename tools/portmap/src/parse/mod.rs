//! Listener listings: the formats portmap reads, their detection, and the model they parse to.
//!
//! Every parser turns one file into a [`Listing`]: the sockets it shows (any state: the
//! listeners are picked later) and, for process lists (`tasklist`), PID → image name.

use std::fmt;

use anyhow::{Context, bail};

use crate::services::{Proto, Services};

pub mod linux;
pub mod windows;

/// An accepted listing format (`--format` names them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Windows `netstat -ano`, `-an`, `-anob`, `-abo`, `-b` (names or numbers).
    NetstatWindows,
    /// Windows `tasklist` default table (also `/svc`, `/v`).
    Tasklist,
    /// `tasklist /FO CSV` (with or without `/NH`).
    TasklistCsv,
    /// `tasklist /FO LIST`.
    TasklistList,
    /// PowerShell `Get-NetTCPConnection` as the console prints it.
    NetTcpTable,
    /// `Get-NetTCPConnection | Export-Csv` (with or without the `#TYPE` line).
    NetTcpCsv,
    /// Linux `ss -ltnp`, `ss -tanp`, `ss -lntup`, `ss -anp`.
    Ss,
    /// Linux `netstat -tlnp`, `-tanp`, `-lntup`.
    NetstatLinux,
    /// `lsof -iTCP -sTCP:LISTEN -nP` (and `-i -nP`).
    Lsof,
}

impl Format {
    pub const ALL: [Format; 9] = [
        Format::NetstatWindows,
        Format::Tasklist,
        Format::TasklistCsv,
        Format::TasklistList,
        Format::NetTcpTable,
        Format::NetTcpCsv,
        Format::Ss,
        Format::NetstatLinux,
        Format::Lsof,
    ];

    /// The name used by `--format` and in `listener.source`.
    pub fn name(self) -> &'static str {
        match self {
            Format::NetstatWindows => "netstat-windows",
            Format::Tasklist => "tasklist",
            Format::TasklistCsv => "tasklist-csv",
            Format::TasklistList => "tasklist-list",
            Format::NetTcpTable => "get-nettcpconnection",
            Format::NetTcpCsv => "get-nettcpconnection-csv",
            Format::Ss => "ss",
            Format::NetstatLinux => "netstat-linux",
            Format::Lsof => "lsof",
        }
    }

    pub fn from_name(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == s)
    }

    /// True for the formats that list sockets (not processes).
    pub fn lists_sockets(self) -> bool {
        !matches!(
            self,
            Format::Tasklist | Format::TasklistCsv | Format::TasklistList
        )
    }

    /// True for Windows listings (where `[::]` usually means IPv6 only).
    pub fn is_windows(self) -> bool {
        matches!(
            self,
            Format::NetstatWindows
                | Format::Tasklist
                | Format::TasklistCsv
                | Format::TasklistList
                | Format::NetTcpTable
                | Format::NetTcpCsv
        )
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One socket as listed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Socket {
    pub proto: Option<Proto>,
    /// Local address, brackets removed ("0.0.0.0", "::", "*", "fe80::1%4", a host name).
    pub local_addr: String,
    pub local_port: u16,
    pub remote_addr: Option<String>,
    /// None for `*`.
    pub remote_port: Option<u16>,
    /// Normalized state: LISTEN, ESTABLISHED, TIME_WAIT, SYN_SENT, SYN_RECV, CLOSE_WAIT,
    /// FIN_WAIT1, FIN_WAIT2, LAST_ACK, CLOSING, CLOSED, BOUND, UNCONN (UDP).
    pub state: String,
    pub pid: Option<u32>,
    pub process: Option<String>,
    pub components: Vec<String>,
    /// 1-based line in the file.
    pub line: u64,
}

/// A process from a process list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Process {
    pub pid: u32,
    pub name: String,
    /// Windows services hosted (`tasklist /svc`).
    pub services: Vec<String>,
}

/// One parsed file.
#[derive(Debug, Clone)]
pub struct Listing {
    pub file: String,
    pub format: Format,
    pub sockets: Vec<Socket>,
    pub processes: Vec<Process>,
}

/// Errors name the file and the line: `FILE: line N: what`.
pub struct Ctx<'a> {
    pub file: &'a str,
    pub services: &'a Services,
}

impl Ctx<'_> {
    pub fn err(&self, line: u64, msg: impl fmt::Display) -> anyhow::Error {
        anyhow::anyhow!("{}: line {line}: {msg}", self.file)
    }
}

/// Normalizes a state word from any listing to the Linux spelling.
pub fn normalize_state(s: &str) -> Option<String> {
    let up: String = s
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .collect::<String>()
        .to_ascii_uppercase();
    let st = match up.as_str() {
        "LISTEN" | "LISTENING" => "LISTEN",
        "ESTAB" | "ESTABLISHED" => "ESTABLISHED",
        "TIMEWAIT" => "TIME_WAIT",
        "CLOSEWAIT" => "CLOSE_WAIT",
        "SYNSENT" => "SYN_SENT",
        "SYNRECV" | "SYNRECEIVED" => "SYN_RECV",
        "FINWAIT1" => "FIN_WAIT1",
        "FINWAIT2" => "FIN_WAIT2",
        "LASTACK" => "LAST_ACK",
        "CLOSING" => "CLOSING",
        "CLOSED" | "CLOSE" => "CLOSED",
        "DELETETCB" => "CLOSED",
        "BOUND" => "BOUND",
        "UNCONN" => "UNCONN",
        // German and Spanish Windows (netstat prints the states translated).
        "HERGESTELLT" | "ESTABLECIDO" => "ESTABLISHED",
        "ESCUCHANDO" => "LISTEN",
        "WARTEND" => "TIME_WAIT",
        "SCHLIESSENWARTEN" => "CLOSE_WAIT",
        // "ABHÖREN" (German LISTENING), whatever code page the Ö came through.
        x if x.starts_with("ABH") && x.ends_with("REN") && x.chars().count() <= 8 => "LISTEN",
        _ => return None,
    };
    Some(st.to_string())
}

/// Splits `addr:port` as netstat, ss and lsof print it: `0.0.0.0:22`, `[::]:22`, `:::22`,
/// `*:22`, `[fe80::1%4]:546`, `127.0.0.53%lo:53`, `host:http`. Returns the address without
/// brackets and the port text (`*` when none).
pub fn split_endpoint(s: &str) -> Option<(String, String)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (addr, tail) = rest.split_once(']')?;
        let port = tail.strip_prefix(':')?;
        return Some((addr.to_string(), port.to_string()));
    }
    let (addr, port) = s.rsplit_once(':')?;
    if addr.is_empty() {
        return None;
    }
    Some((addr.to_string(), port.to_string()))
}

/// A port as listed: a number, `*`, or (Windows netstat without -n) a service name.
pub fn parse_port(ctx: &Ctx, proto: Proto, s: &str) -> Result<Option<u16>, String> {
    if s == "*" {
        return Ok(None);
    }
    if let Ok(p) = s.parse::<u16>() {
        return Ok(Some(p));
    }
    let namelike = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
    if !s.is_empty() && s.chars().all(namelike) && !s.chars().all(|c| c.is_ascii_digit()) {
        if let Some(p) = ctx.services.port_by_name(proto, s) {
            return Ok(Some(p));
        }
        return Err(format!(
            "unknown port name {s:?} (netstat without -n resolves ports through the services file; use --services FILE or run netstat -ano)"
        ));
    }
    Err(format!("bad port {s:?}"))
}

/// Decodes a listing file's bytes: UTF-8 (BOM removed) or UTF-16 with a BOM (what
/// `netstat -ano > file.txt` writes in Windows PowerShell 5.1), or Latin-1 as a last resort
/// (code-page output from cmd.exe).
pub fn decode_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    let utf16 = |rest: &[u8], le: bool| {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, true);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, false);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

/// Guesses the format from the first meaningful lines.
pub fn detect(text: &str) -> Option<Format> {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
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

/// Parses one listing.
pub fn parse(
    file: &str,
    text: &str,
    format: Format,
    services: &Services,
) -> anyhow::Result<Listing> {
    let ctx = Ctx { file, services };
    let mut listing = Listing {
        file: file.to_string(),
        format,
        sockets: vec![],
        processes: vec![],
    };
    match format {
        Format::NetstatWindows => windows::netstat(&ctx, text, &mut listing)?,
        Format::Tasklist => windows::tasklist_table(&ctx, text, &mut listing)?,
        Format::TasklistCsv => windows::tasklist_csv(&ctx, text, &mut listing)?,
        Format::TasklistList => windows::tasklist_list(&ctx, text, &mut listing)?,
        Format::NetTcpTable => windows::nettcp_table(&ctx, text, &mut listing)?,
        Format::NetTcpCsv => windows::nettcp_csv(&ctx, text, &mut listing)?,
        Format::Ss => linux::ss(&ctx, text, &mut listing)?,
        Format::NetstatLinux => linux::netstat(&ctx, text, &mut listing)?,
        Format::Lsof => linux::lsof(&ctx, text, &mut listing)?,
    }
    let process_list = !format.lists_sockets();
    if process_list && listing.processes.is_empty() {
        bail!("{file}: no processes found in this {format} listing");
    }
    if !process_list && listing.sockets.is_empty() {
        // A header and nothing else: nothing listens there (`ss -6ltnp` on an IPv4-only host).
        tcpwhy_common::cli::warn(format!(
            "{file}: no sockets in this {format} listing: nothing listens there"
        ));
    }
    Ok(listing)
}

/// Reads, decodes, detects (unless forced) and parses a listing file (`-` is standard input).
pub fn load(path: &str, forced: Option<Format>, services: &Services) -> anyhow::Result<Listing> {
    use std::io::Read;
    const MAX: u64 = 256 * 1024 * 1024;
    let mut bytes = vec![];
    if path == "-" {
        std::io::stdin()
            .take(MAX + 1)
            .read_to_end(&mut bytes)
            .context("<stdin>")?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX + 1).read_to_end(&mut bytes))
            .with_context(|| path.to_string())?;
    }
    if bytes.len() as u64 > MAX {
        bail!("{path}: listing larger than 256 MiB: not a netstat/ss/lsof/tasklist output");
    }
    let name = if path == "-" { "<stdin>" } else { path };
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        bail!("{name}: empty listing (no output captured?)");
    }
    let text = decode_text(&bytes);
    let format = match forced {
        Some(f) => f,
        None => detect(&text).ok_or_else(|| {
            anyhow::anyhow!(
                "{name}: cannot tell the listing format (expected netstat, ss, lsof, tasklist or Get-NetTCPConnection output); use --format"
            )
        })?,
    };
    parse(name, &text, format, services)
}

/// Lines of a text with 1-based numbers, `\r` removed.
pub fn numbered(text: &str) -> impl Iterator<Item = (u64, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l.trim_end_matches('\r')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_split() {
        assert_eq!(
            split_endpoint("0.0.0.0:22"),
            Some(("0.0.0.0".into(), "22".into()))
        );
        assert_eq!(
            split_endpoint("[::]:135"),
            Some(("::".into(), "135".into()))
        );
        assert_eq!(split_endpoint(":::22"), Some(("::".into(), "22".into())));
        assert_eq!(split_endpoint("*:*"), Some(("*".into(), "*".into())));
        assert_eq!(
            split_endpoint("[fe80::1%4]:546"),
            Some(("fe80::1%4".into(), "546".into()))
        );
        assert_eq!(
            split_endpoint("svp020064:2725"),
            Some(("svp020064".into(), "2725".into()))
        );
        assert_eq!(split_endpoint("nocolon"), None);
    }

    #[test]
    fn states_normalize() {
        assert_eq!(normalize_state("LISTENING").unwrap(), "LISTEN");
        assert_eq!(normalize_state("ESTAB").unwrap(), "ESTABLISHED");
        assert_eq!(normalize_state("TIME-WAIT").unwrap(), "TIME_WAIT");
        assert_eq!(normalize_state("FIN_WAIT_1").unwrap(), "FIN_WAIT1");
        assert_eq!(normalize_state("SynReceived").unwrap(), "SYN_RECV");
        assert_eq!(normalize_state("Listen").unwrap(), "LISTEN");
        assert!(normalize_state("bogus").is_none());
        assert_eq!(normalize_state("ABHÖREN").unwrap(), "LISTEN");
        assert_eq!(normalize_state("ABH\u{99}REN").unwrap(), "LISTEN");
        assert_eq!(normalize_state("HERGESTELLT").unwrap(), "ESTABLISHED");
        assert_eq!(normalize_state("ESCUCHANDO").unwrap(), "LISTEN");
    }

    #[test]
    fn utf16_bom_is_decoded() {
        let mut b = vec![0xFF, 0xFE];
        for u in "  TCP    0.0.0.0:135".encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_text(&b), "  TCP    0.0.0.0:135");
        assert_eq!(decode_text(b"\xEF\xBB\xBFabc"), "abc");
    }
}

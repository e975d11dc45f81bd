//! Listener listings: the formats portmap reads, their detection, and the model they parse to.
//!
//! Every parser turns one file into a [`Listing`]: the sockets it shows (any state: the
//! listeners are picked later) and, for process lists (`tasklist`), PID → image name.

use std::fmt;

use anyhow::{Context, bail};

use crate::services::{Proto, Services};

pub mod decode;
mod detect;
mod lines;
pub mod linux;
mod state;
pub mod windows;

pub use detect::detect;
pub use lines::split_lines;
use lines::{ends_with_line_end, sections};
pub use state::normalize_state;

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
    /// Lines of the file before this part (a file can hold parts in different encodings).
    pub base: u64,
}

impl Ctx<'_> {
    pub fn err(&self, line: u64, msg: impl fmt::Display) -> anyhow::Error {
        anyhow::anyhow!("{}: line {line}: {msg}", self.file)
    }

    pub fn warn(&self, line: u64, msg: impl fmt::Display) {
        tcpwhy_common::cli::warn(format!("{}: line {line}: {msg}", self.file));
    }

    /// The part's lines with their 1-based numbers in the file.
    pub fn lines<'t>(&self, text: &'t str) -> impl Iterator<Item = (u64, &'t str)> + use<'t> {
        let base = self.base;
        split_lines(text)
            .enumerate()
            .map(move |(i, l)| (base + i as u64 + 1, l))
    }

    /// The part's lines that are not blank, with their 1-based numbers in the file.
    pub fn nonblank_lines<'t>(
        &self,
        text: &'t str,
    ) -> impl Iterator<Item = (u64, &'t str)> + use<'t> {
        self.lines(text).filter(|(_, l)| !l.trim().is_empty())
    }

    /// Line `no`'s socket as far as its endpoints tell (`addr:port` each, see
    /// [`split_endpoint`]; the local port is required); the caller fills in the state and the
    /// owner. `column` is the listing's word for the remote endpoint in errors ("foreign",
    /// "peer").
    pub fn socket(
        &self,
        no: u64,
        proto: Proto,
        local: &str,
        remote: &str,
        column: &str,
    ) -> anyhow::Result<Socket> {
        let (local_addr, local_port) = self.local_endpoint(no, proto, local)?;
        let (remote_addr, remote_port) = self.remote_endpoint(no, proto, remote, column)?;
        Ok(Socket {
            proto: Some(proto),
            local_addr,
            local_port,
            remote_addr: Some(remote_addr),
            remote_port,
            line: no,
            ..Socket::default()
        })
    }

    /// The local endpoint of line `no`'s socket: its address and port.
    fn local_endpoint(&self, no: u64, proto: Proto, s: &str) -> anyhow::Result<(String, u16)> {
        let (addr, port) =
            split_endpoint(s).ok_or_else(|| self.err(no, format!("bad local address {s:?}")))?;
        let port = parse_port(self, proto, &port)
            .map_err(|e| self.err(no, e))?
            .ok_or_else(|| self.err(no, format!("local address without a port: {s:?}")))?;
        Ok((addr, port))
    }

    /// The remote endpoint of line `no`'s socket: its address and port (None for `*`);
    /// `column` is the listing's word for it in errors ("foreign", "peer").
    fn remote_endpoint(
        &self,
        no: u64,
        proto: Proto,
        s: &str,
        column: &str,
    ) -> anyhow::Result<(String, Option<u16>)> {
        let (addr, port) =
            split_endpoint(s).ok_or_else(|| self.err(no, format!("bad {column} address {s:?}")))?;
        let port = parse_port(self, proto, &port).map_err(|e| self.err(no, e))?;
        Ok((addr, port))
    }
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

/// Parses one listing (or one part of a file: `base` lines come before it).
pub fn parse(
    file: &str,
    text: &str,
    base: u64,
    format: Format,
    services: &Services,
) -> anyhow::Result<Listing> {
    let ctx = Ctx {
        file,
        services,
        base,
    };
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
/// A file whose parts are in different encodings (a UTF-16 netstat with a tasklist appended
/// by cmd.exe) gives one listing per part.
pub fn load(
    path: &str,
    forced: Option<Format>,
    encoding: Option<decode::Encoding>,
    services: &Services,
) -> anyhow::Result<Vec<Listing>> {
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
    if bytes.iter().all(u8::is_ascii_whitespace) {
        bail!("{name}: empty listing (no output captured?)");
    }
    let mut parts = decode::decode(&bytes, encoding);
    // A last line without a line end was cut (a copy stopped early, a file still being
    // written): "LISTENING 23" may be PID 2344. It is dropped, not misread.
    let total_lines: u64 = parts
        .iter()
        .map(|p| split_lines(&p.text).count() as u64)
        .sum();
    if let Some(last) = parts.last_mut() {
        if !ends_with_line_end(&last.text) {
            let cut = last.text.rfind(['\n', '\r']).map(|i| i + 1).unwrap_or(0);
            let tail = last.text[cut..].to_string();
            last.text.truncate(cut);
            if !tail.trim().is_empty() {
                tcpwhy_common::cli::warn(format!(
                    "{name}: line {total_lines}: the last line has no line end (the listing was cut?): skipped: {:?}",
                    tail.trim()
                ));
            }
        }
    }
    let mut listings = vec![];
    let mut base = 0u64;
    let n_parts = parts.len();
    for part in &parts {
        let lines = split_lines(&part.text).count() as u64;
        if part.text.trim().is_empty() {
            base += lines;
            continue;
        }
        let Some(f) = forced else {
            // `netstat -ano > f.txt & tasklist >> f.txt`: one encoding, two listings.
            for (off, text) in sections(&part.text) {
                let format = detect(&text).ok_or_else(|| {
                    let which = if n_parts > 1 || off > 0 {
                        format!(" (the {} part from line {})", part.encoding, base + off + 1)
                    } else {
                        String::new()
                    };
                    anyhow::anyhow!(
                        "{name}{which}: cannot tell the listing format (expected netstat, ss, lsof, tasklist or Get-NetTCPConnection output); use --format"
                    )
                })?;
                listings.push(parse(name, &text, base + off, format, services)?);
            }
            base += lines;
            continue;
        };
        listings.push(parse(name, &part.text, base, f, services)?);
        base += lines;
    }
    if listings.is_empty() {
        bail!("{name}: empty listing (no output captured?)");
    }
    Ok(listings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_split() {
        for (text, addr, port) in [
            ("0.0.0.0:22", "0.0.0.0", "22"),
            ("[::]:135", "::", "135"),
            (":::22", "::", "22"),
            ("*:*", "*", "*"),
            ("[fe80::1%4]:546", "fe80::1%4", "546"),
            ("svp020064:2725", "svp020064", "2725"),
        ] {
            assert_eq!(
                split_endpoint(text),
                Some((addr.into(), port.into())),
                "{text}"
            );
        }
        assert_eq!(split_endpoint("nocolon"), None);
    }

    /// Mutated real listings (bytes flipped, NULs, CRs, cuts, UTF-16 halves) never panic the
    /// decoder, the detector or any parser.
    #[test]
    fn mutated_listings_never_panic() {
        let seeds: [&[u8]; 6] = [
            include_bytes!("../../tests/fixtures/netstat-anob.txt"),
            include_bytes!("../../tests/fixtures/tasklist-svc.txt"),
            include_bytes!("../../tests/fixtures/localized/netstat-ano-ja-cp932.txt"),
            include_bytes!("../../tests/fixtures/localized/netstat-utf16-tasklist-cp850.txt"),
            include_bytes!("../../tests/fixtures/localized/netstat-anob-fr-utf16.txt"),
            include_bytes!("../../tests/fixtures/linux/ss-lntup.txt"),
        ];
        let services = Services::builtin();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..600 {
            let mut b = seeds[round % seeds.len()].to_vec();
            for _ in 0..(rnd() % 6) {
                if b.is_empty() {
                    break;
                }
                let at = (rnd() % b.len() as u64) as usize;
                match rnd() % 5 {
                    0 => b[at] = (rnd() & 0xFF) as u8,
                    1 => b.insert(at, 0),
                    2 => b.insert(at, b'\r'),
                    3 => b.truncate(at),
                    _ => b.insert(at, 0x80 | (rnd() & 0x7F) as u8),
                }
            }
            for part in decode::decode(&b, None) {
                for f in Format::ALL {
                    let _ = parse("f", &part.text, 0, f, &services);
                }
                let _ = detect(&part.text);
            }
        }
    }
}

//! Listener listings: the formats portmap reads, their detection, and the model they parse to.
//!
//! Every parser turns one file into a [`Listing`]: the sockets it shows (any state: the
//! listeners are picked later) and, for process lists (`tasklist`), PID → image name.

use std::fmt;

use anyhow::{Context, bail};

use crate::services::{Proto, Services};

pub mod decode;
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
}

/// A state word folded for lookup: uppercase, accents removed, `-`, `_`, spaces and
/// apostrophes dropped ("FIN_WARTEN_2" → "FINWARTEN2", "ÉCOUTE" → "ECOUTE"). A character that is
/// neither ASCII nor a known accented letter (a misdecoded byte) becomes `?`.
fn fold_state(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '-' | '_' | ' ' | '\'' | '’' | '.') {
            continue;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_uppercase());
            continue;
        }
        let base = match c.to_uppercase().next().unwrap_or(c) {
            'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ą' => "A",
            'Ç' | 'Ć' | 'Č' => "C",
            'Ď' => "D",
            'È' | 'É' | 'Ê' | 'Ë' | 'Ę' | 'Ě' => "E",
            'Ğ' => "G",
            'Ì' | 'Í' | 'Î' | 'Ï' | 'İ' => "I",
            'Ł' => "L",
            'Ñ' | 'Ń' | 'Ň' => "N",
            'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ő' | 'Ø' => "O",
            'Ř' => "R",
            'Ś' | 'Š' | 'Ş' => "S",
            'Ť' => "T",
            'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ů' | 'Ű' => "U",
            'Ý' => "Y",
            'Ź' | 'Ż' | 'Ž' => "Z",
            'ß' | 'ẞ' => "SS",
            _ => "?",
        };
        out.push_str(base);
    }
    out
}

/// The state words Windows `netstat` prints, in English and translated (German, Spanish,
/// French, Italian, Portuguese, Polish, Czech, Swedish, Dutch, Turkish …; Japanese, Chinese,
/// Korean and Russian Windows print them in English), `ss`, `lsof` and PowerShell spellings,
/// all folded (see [`fold_state`]) → the Linux spelling.
const STATES: &[(&str, &[&str])] = &[
    (
        "LISTEN",
        &[
            "LISTEN",
            "LISTENING",
            "ABHOREN",
            "ABHOEREN",
            "ESCUCHANDO",
            "ESCUCHA",
            "ECOUTE",
            "ENECOUTE",
            "ALECOUTE",
            "INASCOLTO",
            "ASCOLTO",
            "ESCUTANDO",
            "AESCUTAR",
            "NASLUCHIWANIE",
            "NASLOUCHANI",
            "LYSSNAR",
            "LUISTEREN",
            "LYTTER",
            "KUUNTELEE",
            "DINLIYOR",
            "DINLENIYOR",
            "FIGYELES",
            "ASCULTARE",
        ],
    ),
    (
        "ESTABLISHED",
        &[
            "ESTAB",
            "ESTABLISHED",
            "HERGESTELLT",
            "ESTABLECIDO",
            "ESTABLECIDA",
            "ETABLI",
            "ETABLIE",
            "STABILITO",
            "STABILITA",
            "ESTABELECIDO",
            "ESTABELECIDA",
            "USTANOWIONO",
            "USTANOWIONE",
            "NAVAZANO",
            "UPPRATTAD",
            "TOTSTANDGEKOMEN",
            "ETABLERET",
            "KURULDU",
            "LETREJOTT",
            "STABILITA",
        ],
    ),
    (
        "TIME_WAIT",
        &[
            "TIMEWAIT",
            "WARTEND",
            "ATTENTETEMPOREL",
            "TEMPSATTENTE",
            "ESPERATIEMPO",
            "CZASOCZEKIWANIA",
        ],
    ),
    (
        "CLOSE_WAIT",
        &[
            "CLOSEWAIT",
            "SCHLIESSENWARTEN",
            "SCHLIEENWARTEN",
            "ATTENTEFERMEE",
            "ATTENTEFERMETURE",
            "ESPERACIERRE",
            "CIERREESPERA",
            "ATTESACHIUSURA",
            "ESPERAFECHAR",
            "ZAMKNIJCZEKAJ",
        ],
    ),
    (
        "SYN_SENT",
        &[
            "SYNSENT",
            "SYNGESENDET",
            "SYNENVIADO",
            "SYNENVOYE",
            "SYNINVIATO",
            "SYNWYSLANY",
            "SYNWYSLANO",
        ],
    ),
    (
        "SYN_RECV",
        &[
            "SYNRECV",
            "SYNRECEIVED",
            "SYNEMPFANGEN",
            "SYNRECIBIDO",
            "SYNRECU",
            "SYNRICEVUTO",
            "SYNRECEBIDO",
            "SYNODEBRANY",
            "SYNODEBRANO",
        ],
    ),
    (
        "FIN_WAIT1",
        &[
            "FINWAIT1",
            "FINWARTEN1",
            "FINESPERA1",
            "FINATTENTE1",
            "ATTENTEFIN1",
            "FINATTESA1",
            "FINCZEKANIE1",
        ],
    ),
    (
        "FIN_WAIT2",
        &[
            "FINWAIT2",
            "FINWARTEN2",
            "FINESPERA2",
            "FINATTENTE2",
            "ATTENTEFIN2",
            "FINATTESA2",
            "FINCZEKANIE2",
        ],
    ),
    (
        "LAST_ACK",
        &[
            "LASTACK",
            "LETZTESACK",
            "ULTIMOACK",
            "DERNIERACK",
            "OSTATNIACK",
        ],
    ),
    (
        "CLOSING",
        &[
            "CLOSING",
            "SCHLIESSEND",
            "SCHLIEEND",
            "CERRANDO",
            "FERMETURE",
            "ENCOURSDEFERMETURE",
            "INCHIUSURA",
            "CHIUSURA",
            "FECHANDO",
            "ZAMYKANIE",
        ],
    ),
    (
        "CLOSED",
        &[
            "CLOSED",
            "CLOSE",
            "DELETETCB",
            "GESCHLOSSEN",
            "CERRADO",
            "FERME",
            "FERMEE",
            "CHIUSO",
            "CHIUSA",
            "FECHADO",
            "FECHADA",
            "ZAMKNIETE",
            "ZAMKNIETY",
        ],
    ),
    (
        "BOUND",
        &[
            "BOUND",
            "GEBUNDEN",
            "ENLAZADO",
            "VINCULADO",
            "LIE",
            "ASSOCIE",
            "ASSOCIATO",
            "POWIAZANY",
        ],
    ),
    ("UNCONN", &["UNCONN"]),
];

/// Normalizes a state word from any listing to the Linux spelling: LISTEN, ESTABLISHED,
/// TIME_WAIT, CLOSE_WAIT, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, LAST_ACK, CLOSING, CLOSED,
/// BOUND, UNCONN. A misdecoded letter (`?` after folding) matches any one letter.
pub fn normalize_state(s: &str) -> Option<String> {
    let f = fold_state(s);
    let exact = STATES
        .iter()
        .find(|(_, words)| words.contains(&f.as_str()))
        .map(|(st, _)| *st);
    let st = exact.or_else(|| {
        if !f.contains('?') {
            return None;
        }
        let fits = |w: &str| {
            w.len() == f.len() && w.chars().zip(f.chars()).all(|(a, b)| b == '?' || a == b)
        };
        STATES
            .iter()
            .find(|(_, words)| words.iter().any(|w| fits(w)))
            .map(|(st, _)| *st)
    })?;
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
fn ends_with_line_end(text: &str) -> bool {
    text.is_empty() || text.ends_with('\n') || text.ends_with('\r')
}

/// A text cut where a Windows netstat table and a tasklist follow each other (one appended to
/// the other's file): (lines before the section, its text). One section when there is no such
/// boundary.
fn sections(text: &str) -> Vec<(u64, std::borrow::Cow<'_, str>)> {
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
    fn line_ends_lf_crlf_cr() {
        let v: Vec<&str> = split_lines("a\nb\r\nc\rd\r\r\ne\r\rf").collect();
        assert_eq!(v, ["a", "b", "c", "d", "e", "", "f"]);
        assert_eq!(split_lines("a\n").count(), 1);
        assert_eq!(split_lines("").count(), 0);
        assert!(ends_with_line_end("x\r") && !ends_with_line_end("x"));
    }

    #[test]
    fn localized_states() {
        for (w, st) in [
            ("FIN_WARTEN_2", "FIN_WAIT2"),
            ("FIN_WARTEN_1", "FIN_WAIT1"),
            ("SYN_GESENDET", "SYN_SENT"),
            ("SYN_EMPFANGEN", "SYN_RECV"),
            ("LETZTES_ACK", "LAST_ACK"),
            ("GESCHLOSSEN", "CLOSED"),
            ("SCHLIESSEND", "CLOSING"),
            ("SCHLIESSEN_WARTEN", "CLOSE_WAIT"),
            ("WARTEND", "TIME_WAIT"),
            ("ÉCOUTE", "LISTEN"),
            ("ÉTABLI", "ESTABLISHED"),
            ("ATTENTE_FERMÉE", "CLOSE_WAIT"),
            ("ESTABLECIDO", "ESTABLISHED"),
            ("SYN_ENVIADO", "SYN_SENT"),
            ("IN_ASCOLTO", "LISTEN"),
            ("NASŁUCHIWANIE", "LISTEN"),
            ("FIN_WAIT_2", "FIN_WAIT2"),
            ("DELETE_TCB", "CLOSED"),
            ("Bound", "BOUND"),
        ] {
            assert_eq!(normalize_state(w).as_deref(), Some(st), "{w}");
        }
        // A misdecoded letter still matches, but only a word of the same length.
        assert_eq!(normalize_state("\u{90}COUTE").as_deref(), Some("LISTEN"));
        assert_eq!(normalize_state("\u{90}COUTEX"), None);
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

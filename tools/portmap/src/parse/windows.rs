//! Windows listings: `netstat -ano` / `-anob` / `-b`, `tasklist` (table, CSV, LIST), PowerShell
//! `Get-NetTCPConnection` (console table and `Export-Csv`).

use super::{Ctx, Listing, Process, Socket, normalize_state, parse_port, split_endpoint};
use crate::services::Proto;

fn parse_pid(s: &str) -> Option<u32> {
    s.trim().parse().ok()
}

/// True for a socket row of Windows netstat: the protocol column is never translated.
pub(crate) fn is_netstat_row(t: &str) -> bool {
    matches!(
        t.split_whitespace().next(),
        Some("TCP" | "UDP" | "TCPv6" | "UDPv6")
    )
}

/// "Can not obtain ownership information" (`netstat -b` for a socket of PID 4 or of a process
/// it may not inspect), in the languages whose wording is known. Other languages are
/// recognised by where the line is (see [`netstat`]).
fn is_no_owner_message(t: &str) -> bool {
    let l = t.to_lowercase();
    const KEYS: [&str; 16] = [
        "obtain ownership",
        "ownership information",
        "informations de propriétaire",
        "informations de propri",
        "obtenir les informations",
        "información de propiedad",
        "informacion de propiedad",
        "informazioni sulla propriet",
        "informações de propriedade",
        "informacoes de propriedade",
        "besitzinformationen",
        "besitzerinformationen",
        "informacji o właścicielu",
        "所有者情報",
        "所有权信息",
        "сведения о владельце",
    ];
    KEYS.iter().any(|k| l.contains(k))
}

/// What a line of a `-b` owner block is.
enum Owner<'a> {
    /// `[svchost.exe]`
    Exe(&'a str),
    /// "Can not obtain ownership information" in some language.
    Unknown,
}

/// The line that ends a `-b` owner block: the executable in brackets, or the no-ownership
/// message (known wording, or any sentence indented by exactly one space, as netstat prints
/// it, right where the owner belongs).
fn owner_line(raw: &str) -> Option<Owner<'_>> {
    let t = raw.trim();
    if t.len() >= 2 && t.starts_with('[') && t.ends_with(']') {
        return Some(Owner::Exe(&t[1..t.len() - 1]));
    }
    let one_space = raw.starts_with(' ') && !raw.starts_with("  ");
    if is_no_owner_message(t) || (one_space && t.split_whitespace().count() >= 3) {
        return Some(Owner::Unknown);
    }
    None
}

/// A `-b` component line: one word (a Windows service name), not bracketed.
fn is_component(t: &str) -> bool {
    !t.contains(char::is_whitespace) && !t.starts_with('[')
}

/// A title or column header of any language ("Active Connections", "アクティブな接続",
/// "  Proto  Lokale Adresse  Remoteadresse  Status  PID", "プロトコル  ローカル アドレス …"):
/// they hold no digits, every data line does.
fn is_title_or_header(t: &str) -> bool {
    !t.chars().any(|c| c.is_ascii_digit())
}

/// One Windows netstat socket row; `None` when it is a connection in a state not known
/// (warned and skipped).
fn netstat_row(ctx: &Ctx, no: u64, t: &str) -> anyhow::Result<Option<Socket>> {
    let toks: Vec<&str> = t.split_whitespace().collect();
    let first = toks[0];
    let proto = if first.starts_with("TCP") {
        Proto::Tcp
    } else {
        Proto::Udp
    };
    let n = toks.len();
    let shape_err = || {
        ctx.err(
            no,
            format!(
                "expected \"{first}  local-address  foreign-address{}  [PID]\", found {n} columns: {t:?}",
                if proto == Proto::Tcp { "  state" } else { "" }
            ),
        )
    };
    if n < 3 {
        return Err(shape_err());
    }
    let rest = &toks[3..];
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    // The state is every word between the foreign address and the PID (translations may be
    // two words); the PID is the last column when it is a number (absent without -o).
    let (state, pid): (Option<String>, Option<&str>) = match proto {
        Proto::Tcp => match rest {
            [] => return Err(shape_err()),
            [.., p] if rest.len() >= 2 && digits(p) => {
                (Some(rest[..rest.len() - 1].join(" ")), Some(*p))
            }
            _ => (Some(rest.join(" ")), None),
        },
        Proto::Udp => match rest {
            [] => (None, None),
            [p] => (None, Some(*p)),
            _ => return Err(shape_err()),
        },
    };
    if state.as_ref().is_some_and(|s| s.split(' ').count() > 3) {
        return Err(shape_err());
    }
    let (local, remote) = (toks[1], toks[2]);
    let (laddr, lport) =
        split_endpoint(local).ok_or_else(|| ctx.err(no, format!("bad local address {local:?}")))?;
    let lport = parse_port(ctx, proto, &lport)
        .map_err(|e| ctx.err(no, e))?
        .ok_or_else(|| ctx.err(no, format!("local address without a port: {local:?}")))?;
    let (raddr, rport) = split_endpoint(remote)
        .ok_or_else(|| ctx.err(no, format!("bad foreign address {remote:?}")))?;
    let rport = parse_port(ctx, proto, &rport).map_err(|e| ctx.err(no, e))?;
    let state = match state {
        Some(s) => match normalize_state(&s) {
            Some(st) => st,
            // A listener shows no foreign port (0.0.0.0:0): a state word not known there
            // could be LISTENING in a language not known, and guessing either way would put
            // a listener where there is none or hide one.
            None if matches!(rport, None | Some(0)) => {
                return Err(ctx.err(no, format!("unknown TCP state {s:?}")));
            }
            // A connection (foreign port set) is never a listener: one state word not known
            // does not cost the whole listing.
            None => {
                ctx.warn(
                    no,
                    format!(
                        "unknown TCP state {s:?} of a connection to {remote} (not a listener): line skipped"
                    ),
                );
                return Ok(None);
            }
        },
        None => "UNCONN".to_string(),
    };
    let pid = match pid {
        Some(p) => Some(parse_pid(p).ok_or_else(|| ctx.err(no, format!("bad PID {p:?}")))?),
        None => None,
    };
    Ok(Some(Socket {
        proto: Some(proto),
        local_addr: laddr,
        local_port: lport,
        remote_addr: Some(raddr),
        remote_port: rport,
        state,
        pid,
        process: None,
        components: vec![],
        line: no,
    }))
}

/// Windows `netstat`: `-an`, `-ano`, `-anob`, `-abo`, `-b`, numeric or with names, in any
/// display language.
///
/// ```text
/// Active Connections
///
///   Proto  Local Address          Foreign Address        State           PID
///   TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       1012
///   RpcSs
///  [svchost.exe]
///   UDP    [::]:500               *:*                                    3456
/// ```
///
/// The table is recognised by its rows (`TCP`/`UDP` first, never translated), not by its
/// title and header, which are translated ("アクティブな接続", "プロトコル  ローカル アドレス …"):
/// lines without digits before and between rows are taken as titles and headers.
///
/// With `-b` each socket row is followed by the components (Windows services) that own it and
/// the executable in brackets, or "Can not obtain ownership information" (translated too).
/// Component lines count only when that owner line follows them. A one-word line after the
/// last row ("Done.") is skipped with a warning.
pub fn netstat(ctx: &Ctx, text: &str, out: &mut Listing) -> anyhow::Result<()> {
    let lines: Vec<(u64, &str)> = ctx
        .lines(text)
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    let not_netstat = |no: u64, t: &str| {
        ctx.err(
            no,
            format!("not a netstat line (expected \"TCP …\", \"UDP …\", a header or a -b owner line): {t:?}"),
        )
    };
    // The socket the -b owner lines after a row belong to (None: the row was skipped).
    let mut owner_of: Option<Option<usize>> = None;
    let mut i = 0;
    while i < lines.len() {
        let (no, raw) = lines[i];
        let t = raw.trim();
        if is_netstat_row(t) {
            let s = netstat_row(ctx, no, t)?;
            owner_of = Some(s.map(|s| {
                out.sockets.push(s);
                out.sockets.len() - 1
            }));
            i += 1;
            continue;
        }
        // A run of other lines, up to the next row or the end.
        let end = lines[i..]
            .iter()
            .position(|(_, l)| is_netstat_row(l.trim()))
            .map_or(lines.len(), |k| i + k);
        let run = &lines[i..end];
        let mut k = 0;
        if let Some(sock) = owner_of {
            let comps = run
                .iter()
                .take_while(|(_, l)| is_component(l.trim()))
                .count();
            if let Some(owner) = run.get(comps).and_then(|(_, l)| owner_line(l)) {
                if let Some(si) = sock {
                    let s = &mut out.sockets[si];
                    s.components
                        .extend(run[..comps].iter().map(|(_, l)| l.trim().to_string()));
                    if let Owner::Exe(exe) = owner {
                        s.process = Some(exe.to_string());
                    }
                }
                k = comps + 1;
            }
        }
        let trailing = end == lines.len() && owner_of.is_some();
        for &(no, raw) in &run[k..] {
            let t = raw.trim();
            let lower = t.to_ascii_lowercase();
            if lower.starts_with("active connections") || t.starts_with("Proto ") {
                continue;
            }
            if trailing {
                // After the last row: a word a script printed ("Done.") is not a service.
                if !t.contains(char::is_whitespace) {
                    ctx.warn(
                        no,
                        format!("{t:?} after the last netstat row is not a netstat line: skipped"),
                    );
                    continue;
                }
                return Err(not_netstat(no, t));
            }
            if !is_title_or_header(t) {
                return Err(not_netstat(no, t));
            }
        }
        i = end;
    }
    Ok(())
}

/// Column spans of a fixed-width table from its underline (`=====  ====` or `-----  ----`).
fn spans(underline: &str) -> Vec<(usize, usize)> {
    let chars: Vec<char> = underline.chars().collect();
    let mut v = vec![];
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ' ' {
            i += 1;
            continue;
        }
        let s = i;
        while i < chars.len() && chars[i] != ' ' {
            i += 1;
        }
        v.push((s, i));
    }
    v
}

/// A line as console columns: a full-width character (kana, CJK, Hangul, full-width forms)
/// takes two, so it is followed by a NUL placeholder. A Japanese or Chinese console pads
/// tasklist's columns by display width ("監視サービス.exe" is 16 columns wide, 10 characters).
fn console_columns(line: &str) -> Vec<char> {
    let mut v = Vec::with_capacity(line.len());
    for c in line.chars() {
        v.push(c);
        if matches!(c as u32, 0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6)
        {
            v.push('\0');
        }
    }
    v
}

fn cut(line: &[char], (s, e): (usize, usize), last: bool) -> String {
    if s >= line.len() {
        return String::new();
    }
    let e = if last { line.len() } else { e.min(line.len()) };
    line[s..e]
        .iter()
        .filter(|&&c| c != '\0')
        .collect::<String>()
        .trim()
        .to_string()
}

/// Where a fixed-width table's columns are.
struct Columns {
    spans: Vec<(usize, usize)>,
    pid: usize,
    services: Option<usize>,
}

/// `tasklist` (default table, `/svc`, `/v`); the columns come from the `====` underline, so
/// image names with spaces ("System Idle Process") and localized headers work. The image is
/// the first column, the PID the column headed "PID" (else the second).
pub fn tasklist_table(ctx: &Ctx, text: &str, out: &mut Listing) -> anyhow::Result<()> {
    let mut header: Option<String> = None;
    let mut cols: Option<Columns> = None;
    for (no, raw) in ctx.lines(text) {
        if raw.trim().is_empty() {
            continue;
        }
        if cols.is_none() {
            let t = raw.trim();
            if t.starts_with('=') {
                let sp = spans(raw);
                if sp.len() < 2 {
                    return Err(ctx.err(no, "tasklist underline has fewer than 2 columns"));
                }
                let hdr = console_columns(header.as_deref().unwrap_or_default());
                let names: Vec<String> = sp
                    .iter()
                    .enumerate()
                    .map(|(i, s)| cut(&hdr, *s, i + 1 == sp.len()))
                    .collect();
                let pid = names.iter().position(|n| n == "PID").unwrap_or(1);
                let svc = names.iter().position(|n| n == "Services" || n == "Dienste");
                cols = Some(Columns {
                    spans: sp,
                    pid,
                    services: svc,
                });
            } else {
                header = Some(raw.to_string());
            }
            continue;
        }
        let Some(Columns {
            spans: sp,
            pid: pidc,
            services: svcc,
        }) = &cols
        else {
            unreachable!("set when the underline was read")
        };
        let chars = console_columns(raw);
        let get = |i: usize| cut(&chars, sp[i], i + 1 == sp.len());
        let image = get(0);
        let pid_s = get(*pidc);
        if image.is_empty() && pid_s.is_empty() {
            // tasklist /svc continues a long service list on the next line.
            if let (Some(c), Some(p)) = (svcc, out.processes.last_mut()) {
                p.services.extend(
                    get(*c)
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                );
                continue;
            }
        }
        let pid = parse_pid(&pid_s).ok_or_else(|| {
            ctx.err(
                no,
                format!(
                    "bad PID {pid_s:?} in tasklist row (columns from the ==== line): {:?}",
                    raw.trim()
                ),
            )
        })?;
        let services = match svcc {
            Some(c) => get(*c)
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty() && *s != "N/A")
                .map(str::to_string)
                .collect(),
            None => vec![],
        };
        out.processes.push(Process {
            pid,
            name: image,
            services,
        });
    }
    if cols.is_none() {
        return Err(ctx.err(1, "no ==== line under the tasklist header"));
    }
    Ok(())
}

/// One CSV line's fields (tasklist and Export-Csv never break a row across lines, so line
/// numbers stay exact).
fn csv_fields(ctx: &Ctx, no: u64, line: &str) -> anyhow::Result<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    match rdr.records().next() {
        Some(Ok(r)) => Ok(r.iter().map(str::to_string).collect()),
        Some(Err(e)) => Err(ctx.err(no, format!("bad CSV: {e}"))),
        None => Ok(vec![]),
    }
}

/// `tasklist /FO CSV` (header row unless `/NH`).
pub fn tasklist_csv(ctx: &Ctx, text: &str, out: &mut Listing) -> anyhow::Result<()> {
    let mut pid_col: Option<usize> = None;
    let mut svc_col: Option<usize> = None;
    for (no, raw) in ctx.lines(text) {
        if raw.trim().is_empty() {
            continue;
        }
        let rec = csv_fields(ctx, no, raw)?;
        if pid_col.is_none() {
            if let Some(i) = rec.iter().position(|f| f == "PID") {
                pid_col = Some(i);
                svc_col = rec.iter().position(|f| f == "Services");
                continue;
            }
            pid_col = Some(1);
        }
        let pc = pid_col.unwrap_or(1);
        let pid_s = rec.get(pc).map(String::as_str).unwrap_or("");
        let pid = parse_pid(pid_s)
            .ok_or_else(|| ctx.err(no, format!("bad PID {pid_s:?} in tasklist CSV row")))?;
        let services = svc_col
            .and_then(|c| rec.get(c))
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty() && *s != "N/A")
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        out.processes.push(Process {
            pid,
            name: rec.first().cloned().unwrap_or_default(),
            services,
        });
    }
    Ok(())
}

/// `tasklist /FO LIST`: blocks of `Key: value` lines separated by blank lines; the first key of
/// a block is the image name, `PID` the process id.
pub fn tasklist_list(ctx: &Ctx, text: &str, out: &mut Listing) -> anyhow::Result<()> {
    let mut name: Option<(u64, String)> = None;
    let mut pid: Option<u32> = None;
    let mut services: Vec<String> = vec![];
    let flush = |name: &mut Option<(u64, String)>,
                 pid: &mut Option<u32>,
                 services: &mut Vec<String>,
                 out: &mut Listing|
     -> anyhow::Result<()> {
        if let Some((no, n)) = name.take() {
            let p = pid
                .take()
                .ok_or_else(|| ctx.err(no, format!("process {n:?} has no PID line")))?;
            out.processes.push(Process {
                pid: p,
                name: n,
                services: std::mem::take(services),
            });
        }
        Ok(())
    };
    for (no, raw) in ctx.lines(text) {
        let t = raw.trim();
        if t.is_empty() {
            flush(&mut name, &mut pid, &mut services, out)?;
            continue;
        }
        let Some((k, v)) = t.split_once(':') else {
            // A /svc list continues on the next line without a key.
            if name.is_some() && raw.starts_with(' ') {
                services.push(t.to_string());
                continue;
            }
            return Err(ctx.err(
                no,
                format!("expected \"Key: value\" (tasklist /FO LIST), found {t:?}"),
            ));
        };
        let (k, v) = (k.trim(), v.trim());
        if k == "PID" {
            pid = Some(parse_pid(v).ok_or_else(|| ctx.err(no, format!("bad PID {v:?}")))?);
        } else if k == "Services" {
            services.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty() && *s != "N/A")
                    .map(str::to_string),
            );
        } else if name.is_none() {
            name = Some((no, v.to_string()));
        }
    }
    flush(&mut name, &mut pid, &mut services, out)?;
    Ok(())
}

/// `MSFT_NetTCPConnection.State` numbers, for exports that kept them numeric.
fn nettcp_state(s: &str) -> Option<String> {
    let named = match s.trim() {
        "1" => "Closed",
        "2" => "Listen",
        "3" => "SynSent",
        "4" => "SynReceived",
        "5" => "Established",
        "6" => "FinWait1",
        "7" => "FinWait2",
        "8" => "CloseWait",
        "9" => "Closing",
        "10" => "LastAck",
        "11" => "TimeWait",
        "12" => "DeleteTCB",
        "100" => "Bound",
        other => other,
    };
    normalize_state(named)
}

struct NetTcpRow<'a> {
    local: &'a str,
    lport: &'a str,
    remote: Option<&'a str>,
    rport: Option<&'a str>,
    state: Option<&'a str>,
    pid: Option<&'a str>,
    process: Option<&'a str>,
}

fn nettcp_socket(ctx: &Ctx, no: u64, r: NetTcpRow) -> anyhow::Result<Socket> {
    let lport: u16 = r
        .lport
        .trim()
        .parse()
        .map_err(|_| ctx.err(no, format!("bad LocalPort {:?}", r.lport)))?;
    let rport = match r.rport.map(str::trim) {
        None | Some("") => None,
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| ctx.err(no, format!("bad RemotePort {p:?}")))?,
        ),
    };
    let state = match r.state.map(str::trim) {
        None | Some("") => "LISTEN".to_string(),
        Some(s) => nettcp_state(s).ok_or_else(|| ctx.err(no, format!("unknown State {s:?}")))?,
    };
    let pid = match r.pid.map(str::trim) {
        None | Some("") => None,
        Some(p) => {
            Some(parse_pid(p).ok_or_else(|| ctx.err(no, format!("bad OwningProcess {p:?}")))?)
        }
    };
    let local = r.local.trim();
    if local.is_empty() {
        return Err(ctx.err(no, "empty LocalAddress"));
    }
    Ok(Socket {
        proto: Some(Proto::Tcp),
        local_addr: local.to_string(),
        local_port: lport,
        remote_addr: r
            .remote
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        remote_port: rport,
        state,
        pid,
        process: r
            .process
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        components: vec![],
        line: no,
    })
}

/// `Get-NetTCPConnection` as the console prints it (the default view, or any `Select-Object`
/// / `Format-Table` of its properties that includes LocalAddress and LocalPort).
///
/// ```text
/// LocalAddress                        LocalPort RemoteAddress                       RemotePort State       AppliedSetting OwningProcess
/// ------------                        --------- -------------                       ---------- -----       -------------- -------------
/// ::                                  49669     ::                                  0          Listen                     2344
/// ```
pub fn nettcp_table(ctx: &Ctx, text: &str, out: &mut Listing) -> anyhow::Result<()> {
    let mut header: Option<Vec<String>> = None;
    let mut underline_seen = false;
    for (no, raw) in ctx.lines(text) {
        let t = raw.trim();
        if t.is_empty() {
            continue;
        }
        let toks: Vec<&str> = t.split_whitespace().collect();
        if header.is_none() {
            if toks.contains(&"LocalAddress") && toks.contains(&"LocalPort") {
                header = Some(toks.iter().map(std::string::ToString::to_string).collect());
                continue;
            }
            return Err(ctx.err(no, format!("expected the Get-NetTCPConnection header (LocalAddress LocalPort …), found {t:?}")));
        }
        if !underline_seen && t.chars().all(|c| c == '-' || c == ' ') {
            underline_seen = true;
            continue;
        }
        let hdr = header.as_ref().expect("header set above");
        // AppliedSetting is often blank: with one token fewer than columns, drop it.
        let mut names: Vec<&str> = hdr.iter().map(String::as_str).collect();
        if toks.len() + 1 == names.len() {
            if let Some(i) = names.iter().position(|n| *n == "AppliedSetting") {
                names.remove(i);
            }
        }
        if toks.len() != names.len() {
            return Err(ctx.err(
                no,
                format!(
                    "expected {} columns ({}), found {}: {t:?}",
                    names.len(),
                    names.join(" "),
                    toks.len()
                ),
            ));
        }
        let col = |n: &str| names.iter().position(|x| *x == n).map(|i| toks[i]);
        let row = NetTcpRow {
            local: col("LocalAddress").unwrap_or(""),
            lport: col("LocalPort").unwrap_or(""),
            remote: col("RemoteAddress"),
            rport: col("RemotePort"),
            state: col("State"),
            pid: col("OwningProcess"),
            process: col("ProcessName")
                .or(col("OwningProcessName"))
                .or(col("Process")),
        };
        out.sockets.push(nettcp_socket(ctx, no, row)?);
    }
    Ok(())
}

/// `Get-NetTCPConnection | Export-Csv` (Windows PowerShell writes a `#TYPE` line first;
/// PowerShell 7 does not). Columns are found by name.
pub fn nettcp_csv(ctx: &Ctx, text: &str, out: &mut Listing) -> anyhow::Result<()> {
    let mut header: Option<Vec<String>> = None;
    for (no, raw) in ctx.lines(text) {
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        let rec = csv_fields(ctx, no, raw)?;
        let Some(hdr) = &header else {
            if !rec.iter().any(|x| x == "LocalAddress") || !rec.iter().any(|x| x == "LocalPort") {
                return Err(ctx.err(no, "CSV header has no LocalAddress and LocalPort columns (expected Get-NetTCPConnection | Export-Csv)"));
            }
            header = Some(rec);
            continue;
        };
        let col = |n: &str| {
            hdr.iter()
                .position(|x| x == n)
                .and_then(|i| rec.get(i))
                .map(String::as_str)
        };
        let row = NetTcpRow {
            local: col("LocalAddress").unwrap_or(""),
            lport: col("LocalPort").unwrap_or(""),
            remote: col("RemoteAddress"),
            rport: col("RemotePort"),
            state: col("State"),
            pid: col("OwningProcess"),
            process: col("ProcessName")
                .or(col("OwningProcessName"))
                .or(col("Process")),
        };
        out.sockets.push(nettcp_socket(ctx, no, row)?);
    }
    Ok(())
}

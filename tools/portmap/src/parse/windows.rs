//! Windows listings: `netstat -ano` / `-anob` / `-b`, `tasklist` (table, CSV, LIST), PowerShell
//! `Get-NetTCPConnection` (console table and `Export-Csv`).

use super::{Ctx, Listing, Process, Socket, normalize_state, numbered, parse_port, split_endpoint};
use crate::services::Proto;

fn parse_pid(s: &str) -> Option<u32> {
    s.trim().parse().ok()
}

/// Windows `netstat`: `-an`, `-ano`, `-anob`, `-abo`, `-b`, numeric or with names.
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
/// With `-b` each socket line is followed by the components (Windows services) that own it and
/// the executable in brackets, or "Can not obtain ownership information".
pub fn netstat(ctx: &Ctx, text: &str, out: &mut Listing) -> anyhow::Result<()> {
    // Sockets whose -b owner lines are still to come (the lines after a socket line).
    let mut pending: Option<usize> = None;
    let mut header_seen = false;
    for (no, raw) in numbered(text) {
        let t = raw.trim();
        if t.is_empty() {
            continue;
        }
        let toks: Vec<&str> = t.split_whitespace().collect();
        let first = toks[0];
        if first == "TCP" || first == "UDP" || first == "TCPv6" || first == "UDPv6" {
            let proto = if first.starts_with("TCP") {
                Proto::Tcp
            } else {
                Proto::Udp
            };
            let n = toks.len();
            let (local, remote, state, pid) = match (proto, n) {
                (Proto::Tcp, 5) => (toks[1], toks[2], Some(toks[3]), Some(toks[4])),
                (Proto::Tcp, 4) => (toks[1], toks[2], Some(toks[3]), None),
                (Proto::Udp, 4) => (toks[1], toks[2], None, Some(toks[3])),
                (Proto::Udp, 3) => (toks[1], toks[2], None, None),
                _ => {
                    return Err(ctx.err(
                        no,
                        format!(
                            "expected \"{first}  local-address  foreign-address{}  [PID]\", found {n} columns: {t:?}",
                            if proto == Proto::Tcp { "  state" } else { "" }
                        ),
                    ));
                }
            };
            let (laddr, lport) = split_endpoint(local)
                .ok_or_else(|| ctx.err(no, format!("bad local address {local:?}")))?;
            let lport = parse_port(ctx, proto, &lport)
                .map_err(|e| ctx.err(no, e))?
                .ok_or_else(|| ctx.err(no, format!("local address without a port: {local:?}")))?;
            let (raddr, rport) = split_endpoint(remote)
                .ok_or_else(|| ctx.err(no, format!("bad foreign address {remote:?}")))?;
            let rport = parse_port(ctx, proto, &rport).map_err(|e| ctx.err(no, e))?;
            let state = match state {
                Some(s) => normalize_state(s)
                    .ok_or_else(|| ctx.err(no, format!("unknown TCP state {s:?}")))?,
                None => "UNCONN".to_string(),
            };
            let pid = match pid {
                Some(p) => Some(parse_pid(p).ok_or_else(|| ctx.err(no, format!("bad PID {p:?}")))?),
                None => None,
            };
            out.sockets.push(Socket {
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
            });
            pending = Some(out.sockets.len() - 1);
            continue;
        }
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("active connections") || first == "Proto" {
            pending = None;
            header_seen = true;
            continue;
        }
        // A translated title ("Aktive Verbindungen", "Conexiones activas") before the header.
        if !header_seen
            && out.sockets.is_empty()
            && toks.len() <= 3
            && !t.chars().any(|c| c.is_ascii_digit())
        {
            continue;
        }
        if let Some(i) = pending {
            if t.starts_with('[') && t.ends_with(']') {
                out.sockets[i].process = Some(t[1..t.len() - 1].to_string());
                pending = None;
                continue;
            }
            if lower.starts_with("can not obtain ownership")
                || lower.starts_with("cannot obtain ownership")
            {
                pending = None;
                continue;
            }
            if toks.len() == 1 {
                out.sockets[i].components.push(t.to_string());
                continue;
            }
        }
        return Err(ctx.err(
            no,
            format!("not a netstat line (expected \"TCP …\", \"UDP …\", a header or a -b owner line): {t:?}"),
        ));
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

fn cut(line: &[char], (s, e): (usize, usize), last: bool) -> String {
    if s >= line.len() {
        return String::new();
    }
    let e = if last { line.len() } else { e.min(line.len()) };
    line[s..e].iter().collect::<String>().trim().to_string()
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
    for (no, raw) in numbered(text) {
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
                let hdr: Vec<char> = header.clone().unwrap_or_default().chars().collect();
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
        let chars: Vec<char> = raw.chars().collect();
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
    for (no, raw) in numbered(text) {
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
    for (no, raw) in numbered(text) {
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
    for (no, raw) in numbered(text) {
        let t = raw.trim();
        if t.is_empty() {
            continue;
        }
        let toks: Vec<&str> = t.split_whitespace().collect();
        if header.is_none() {
            if toks.contains(&"LocalAddress") && toks.contains(&"LocalPort") {
                header = Some(toks.iter().map(|s| s.to_string()).collect());
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
    for (no, raw) in numbered(text) {
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

//! PowerShell `Get-NetTCPConnection`: the console table and `Export-Csv`.

use super::{csv_fields, parse_pid};
use crate::parse::{Ctx, Listing, Socket, normalize_state};
use crate::services::Proto;

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

impl<'a> NetTcpRow<'a> {
    /// The row's fields by their property names, wherever the columns stand.
    fn by_name(col: impl Fn(&str) -> Option<&'a str>) -> Self {
        NetTcpRow {
            local: col("LocalAddress").unwrap_or(""),
            lport: col("LocalPort").unwrap_or(""),
            remote: col("RemoteAddress"),
            rport: col("RemotePort"),
            state: col("State"),
            pid: col("OwningProcess"),
            process: col("ProcessName")
                .or(col("OwningProcessName"))
                .or(col("Process")),
        }
    }
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
    for (no, raw) in ctx.nonblank_lines(text) {
        let t = raw.trim();
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
        out.sockets
            .push(nettcp_socket(ctx, no, NetTcpRow::by_name(col))?);
    }
    Ok(())
}

/// `Get-NetTCPConnection | Export-Csv` (Windows PowerShell writes a `#TYPE` line first;
/// PowerShell 7 does not). Columns are found by name.
pub fn nettcp_csv(ctx: &Ctx, text: &str, out: &mut Listing) -> anyhow::Result<()> {
    let mut header: Option<Vec<String>> = None;
    for (no, raw) in ctx.nonblank_lines(text) {
        if raw.starts_with('#') {
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
        out.sockets
            .push(nettcp_socket(ctx, no, NetTcpRow::by_name(col))?);
    }
    Ok(())
}

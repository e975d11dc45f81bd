//! Windows `netstat` (`-ano`, `-anob`, `-b`, any display language).

use super::parse_pid;
use crate::parse::{Ctx, Listing, Socket, normalize_state};
use crate::services::Proto;

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
    let sock = ctx.socket(no, proto, local, remote, "foreign")?;
    let state = match state {
        Some(s) => match normalize_state(&s) {
            Some(st) => st,
            // A listener shows no foreign port (0.0.0.0:0): a state word not known there
            // could be LISTENING in a language not known, and guessing either way would put
            // a listener where there is none or hide one.
            None if matches!(sock.remote_port, None | Some(0)) => {
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
    Ok(Some(Socket { state, pid, ..sock }))
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
    let lines: Vec<(u64, &str)> = ctx.nonblank_lines(text).collect();
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

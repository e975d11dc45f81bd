//! Linux (and macOS lsof) listings: `ss`, `netstat -tlnp`, `lsof -iTCP -sTCP:LISTEN -nP`.

use super::{Ctx, Listing, Socket, normalize_state, parse_port, split_endpoint};
use crate::services::Proto;

/// Removes an interface suffix (`127.0.0.53%lo`, `fe80::1%eth0`): ss prints it for sockets
/// bound to a device.
fn strip_zone(a: &str) -> String {
    match a.split_once('%') {
        Some((x, _)) => x.to_string(),
        None => a.to_string(),
    }
}

/// The processes of an ss `users:(("name",pid=N,fd=N),…)` field.
pub fn ss_users(s: &str) -> Vec<(String, Option<u32>)> {
    let mut v = vec![];
    let mut rest = s;
    while let Some(i) = rest.find("(\"") {
        rest = &rest[i + 2..];
        let Some(end) = rest.find("\",") else { break };
        let name = rest[..end].to_string();
        rest = &rest[end + 2..];
        let close = rest.find(')').unwrap_or(rest.len());
        let attrs = &rest[..close];
        let pid = attrs
            .split(',')
            .find_map(|a| a.strip_prefix("pid="))
            .and_then(|p| p.parse().ok());
        v.push((name, pid));
        rest = &rest[close..];
    }
    v
}

/// `ss -ltnp`, `ss -tanp`, `ss -lntup` (Netid column), `ss -anp` (unix sockets skipped).
///
/// ```text
/// State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess
/// LISTEN 0      128          0.0.0.0:22        0.0.0.0:*    users:(("sshd",pid=812,fd=3))
/// ```
pub fn ss(ctx: &Ctx, text: &str, out: &mut Listing) -> anyhow::Result<()> {
    let mut netid_col = false;
    for (no, raw) in ctx.nonblank_lines(text) {
        let t = raw.trim();
        let toks: Vec<&str> = t.split_whitespace().collect();
        if toks[0] == "State" || toks[0] == "Netid" {
            netid_col = toks[0] == "Netid";
            continue;
        }
        let mut i = 0;
        let mut proto = None;
        // `ss -H` prints no header: a Netid column shows as a non-state word before the state.
        let netid_col = netid_col
            || (normalize_state(toks[0]).is_none()
                && toks.get(1).is_some_and(|s| normalize_state(s).is_some()));
        if netid_col {
            match toks[0] {
                "tcp" | "mptcp" => proto = Some(Proto::Tcp),
                "udp" => proto = Some(Proto::Udp),
                // unix, raw, netlink, packet, sctp…: not TCP/UDP endpoints.
                _ => continue,
            }
            i = 1;
        }
        if toks.len() < i + 5 {
            return Err(ctx.err(no, format!("expected \"{}State Recv-Q Send-Q Local:Port Peer:Port [Process]\", found {t:?}", if netid_col { "Netid " } else { "" })));
        }
        let state = normalize_state(toks[i])
            .ok_or_else(|| ctx.err(no, format!("unknown socket state {:?}", toks[i])))?;
        if toks[i + 1].parse::<u64>().is_err() || toks[i + 2].parse::<u64>().is_err() {
            return Err(ctx.err(no, format!("bad Recv-Q/Send-Q in {t:?}")));
        }
        let proto = proto.unwrap_or(if state == "UNCONN" {
            Proto::Udp
        } else {
            Proto::Tcp
        });
        let sock = ctx.socket(no, proto, toks[i + 3], toks[i + 4], "peer")?;
        let rest = toks[i + 5..].join(" ");
        let users = ss_users(&rest);
        let base = Socket {
            local_addr: strip_zone(&sock.local_addr),
            remote_addr: sock.remote_addr.as_deref().map(strip_zone),
            state,
            ..sock
        };
        if users.is_empty() {
            out.sockets.push(base);
        } else {
            // A socket shared by several processes (nginx master and workers) is listed once
            // per process.
            for (name, pid) in users {
                let mut s = base.clone();
                s.process = Some(name);
                s.pid = pid;
                out.sockets.push(s);
            }
        }
    }
    Ok(())
}

/// Linux `netstat -tlnp` / `-tanp` / `-lntup` (net-tools).
///
/// ```text
/// Active Internet connections (only servers)
/// Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name
/// tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN      812/sshd: /usr/sbin
/// tcp6       0      0 :::22                   :::*                    LISTEN      812/sshd: /usr/sbin
/// udp        0      0 0.0.0.0:68              0.0.0.0:*                           600/dhclient
/// ```
pub fn netstat(ctx: &Ctx, text: &str, out: &mut Listing) -> anyhow::Result<()> {
    let mut in_inet = true;
    // Columns the header announces: -e adds User and Inode, -o adds Timer.
    let mut user_inode = false;
    let mut timer = false;
    for (no, raw) in ctx.nonblank_lines(text) {
        let t = raw.trim();
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("active internet connections") {
            in_inet = true;
            continue;
        }
        // "(Not all processes could be identified, non-owned process info
        //  will not be shown, you would have to be root to see it all.)"
        if t.starts_with('(') || lower.starts_with("will not be shown") {
            continue;
        }
        if lower.starts_with("active ") {
            // "Active UNIX domain sockets", "Active Bluetooth connections": not IP.
            in_inet = false;
            continue;
        }
        if !in_inet {
            continue;
        }
        let toks: Vec<&str> = t.split_whitespace().collect();
        if toks[0] == "Proto" {
            user_inode = toks.contains(&"Inode");
            timer = toks.contains(&"Timer");
            continue;
        }
        let proto = match toks[0] {
            "tcp" | "tcp6" => Proto::Tcp,
            "udp" | "udp6" | "udpl" | "udpl6" => Proto::Udp,
            "raw" | "raw6" => continue,
            _ => {
                return Err(ctx.err(
                    no,
                    format!("not a netstat line (expected tcp, tcp6, udp or udp6 first): {t:?}"),
                ));
            }
        };
        if toks.len() < 5 || toks[1].parse::<u64>().is_err() || toks[2].parse::<u64>().is_err() {
            return Err(ctx.err(no, format!("expected \"Proto Recv-Q Send-Q Local Foreign [State] [PID/Program]\", found {t:?}")));
        }
        let sock = ctx.socket(no, proto, toks[3], toks[4], "foreign")?;
        let mut rest = &toks[5..];
        let mut state = if proto == Proto::Udp {
            "UNCONN".to_string()
        } else {
            "LISTEN".to_string()
        };
        if let Some(s) = rest.first().and_then(|s| normalize_state(s)) {
            state = s;
            rest = &rest[1..];
        } else if proto == Proto::Tcp {
            return Err(ctx.err(no, format!("missing TCP state in {t:?}")));
        }
        if timer {
            // "off (0.00/0/0)", "keepalive (7174.71/0/0)": the last two words.
            if rest.len() < 2 {
                return Err(ctx.err(no, format!("missing Timer column in {t:?}")));
            }
            rest = &rest[..rest.len() - 2];
        }
        if user_inode {
            if rest.len() < 2 || rest[1].parse::<u64>().is_err() {
                return Err(ctx.err(no, format!("expected User and Inode columns in {t:?}")));
            }
            rest = &rest[2..];
        }
        let (mut pid, mut process) = (None, None);
        if !rest.is_empty() {
            let prog = rest.join(" ");
            if prog != "-" {
                let (p, name) = prog
                    .split_once('/')
                    .ok_or_else(|| ctx.err(no, format!("bad PID/Program name {prog:?}")))?;
                pid = Some(
                    p.parse::<u32>()
                        .map_err(|_| ctx.err(no, format!("bad PID in {prog:?}")))?,
                );
                // "sshd: /usr/sbin" is sshd's process title, truncated: keep the name.
                let name = name.split(':').next().unwrap_or(name).trim();
                process = Some(name.to_string());
            }
        }
        out.sockets.push(Socket {
            state,
            pid,
            process,
            ..sock
        });
    }
    Ok(())
}

/// Undoes lsof's escapes in command names (`\x20` for a space).
fn lsof_unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1] == b'x' {
            let hex = std::str::from_utf8(&b[i + 2..i + 4]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `lsof -iTCP -sTCP:LISTEN -nP` (also `-i -nP`: UDP and connections).
///
/// ```text
/// COMMAND   PID USER   FD   TYPE DEVICE SIZE/OFF NODE NAME
/// sshd      812 root    3u  IPv4  23456      0t0  TCP *:22 (LISTEN)
/// ```
pub fn lsof(ctx: &Ctx, text: &str, out: &mut Listing) -> anyhow::Result<()> {
    for (no, raw) in ctx.nonblank_lines(text) {
        let t = raw.trim();
        let toks: Vec<&str> = t.split_whitespace().collect();
        if toks[0] == "COMMAND" {
            continue;
        }
        // lsof prints warnings on stderr; if they were captured too, skip them.
        if toks[0] == "lsof:" || t.starts_with("Output information may be incomplete") {
            continue;
        }
        let node = toks
            .iter()
            .rposition(|x| *x == "TCP" || *x == "UDP")
            .ok_or_else(|| ctx.err(no, format!("expected a TCP or UDP socket line (COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME), found {t:?}")))?;
        if node < 3 || node + 1 >= toks.len() {
            return Err(ctx.err(no, format!("truncated lsof line {t:?}")));
        }
        let proto = if toks[node] == "TCP" {
            Proto::Tcp
        } else {
            Proto::Udp
        };
        let pid: u32 = toks[1]
            .parse()
            .map_err(|_| ctx.err(no, format!("bad PID {:?}", toks[1])))?;
        let ipv6 = toks[..node].contains(&"IPv6");
        let name = toks[node + 1];
        let (local, remote) = match name.split_once("->") {
            Some((l, r)) => (l, Some(r)),
            None => (name, None),
        };
        let (laddr, lport) =
            split_endpoint(local).ok_or_else(|| ctx.err(no, format!("bad address {local:?}")))?;
        let laddr = if laddr == "*" {
            if ipv6 {
                "::".to_string()
            } else {
                "0.0.0.0".to_string()
            }
        } else {
            laddr
        };
        let lport = parse_port(ctx, proto, &lport)
            .map_err(|e| ctx.err(no, e))?
            .ok_or_else(|| ctx.err(no, format!("address without a port: {local:?}")))?;
        let (raddr, rport) = match remote {
            Some(r) => {
                let (a, p) = split_endpoint(r)
                    .ok_or_else(|| ctx.err(no, format!("bad remote address {r:?}")))?;
                (
                    Some(a),
                    parse_port(ctx, proto, &p).map_err(|e| ctx.err(no, e))?,
                )
            }
            None => (None, None),
        };
        let state = match toks.get(node + 2) {
            Some(s) if s.starts_with('(') => {
                let w = s.trim_start_matches('(').trim_end_matches(')');
                normalize_state(w).ok_or_else(|| ctx.err(no, format!("unknown TCP state {w:?}")))?
            }
            _ if proto == Proto::Udp => "UNCONN".to_string(),
            _ => return Err(ctx.err(no, format!("missing TCP state in {t:?}"))),
        };
        out.sockets.push(Socket {
            proto: Some(proto),
            local_addr: laddr,
            local_port: lport,
            remote_addr: raddr,
            remote_port: rport,
            state,
            pid: Some(pid),
            process: Some(lsof_unescape(toks[0])),
            components: vec![],
            line: no,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ss_users_field() {
        assert_eq!(
            ss_users(r#"users:(("nginx",pid=11,fd=6),("nginx",pid=10,fd=6))"#),
            vec![
                ("nginx".to_string(), Some(11)),
                ("nginx".to_string(), Some(10))
            ]
        );
        assert_eq!(ss_users(""), vec![]);
    }

    #[test]
    fn lsof_escapes() {
        assert_eq!(lsof_unescape(r"my\x20app"), "my app");
        assert_eq!(lsof_unescape("sshd"), "sshd");
        assert_eq!(lsof_unescape(r"\xé1"), r"\xé1");
        assert_eq!(lsof_unescape("grüß"), "grüß");
    }
}

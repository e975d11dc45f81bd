//! Rules about established connections: zero_window_stall, retransmission_storm,
//! reset_mid_connection.

use tcpwhy_common::records::flow::{Flow, Side};
use tcpwhy_common::records::{Finding, Severity};

use super::handshake::zw_evidence;
use super::{
    Config, base, before_rst, conn, ev, origin_value, rst_frames, rst_name, rst_origin, set_error,
    ttl_text,
};
use crate::errors::Sock;
use crate::util::{bytes, plural, secs};

/// retransmission_storm: retransmissions must be at least this share (%) of the side's packets.
pub const RETRANS_SHARE_PCT: u32 = 20;

fn side<'a>(f: &'a Flow, name: &str) -> &'a Side {
    if name == "client" {
        &f.client
    } else {
        &f.server
    }
}

fn ip<'a>(f: &'a Flow, name: &str) -> &'a str {
    if name == "client" {
        &f.client_ip
    } else {
        &f.server_ip
    }
}

fn other(name: &str) -> &'static str {
    if name == "client" { "server" } else { "client" }
}

/// True when a FIN from either side came before the RST (an orderly close that ended abortively:
/// routine, not a failure).
fn closing(f: &Flow) -> bool {
    before_rst(f.client.fin_frame, f) || before_rst(f.server.fin_frame, f)
}

/// The receive window closed mid-transfer. With `primary`, only stalls that did not recover and
/// ended the connection (error/warning); without, only recovered or unrecovered stalls that are
/// not the primary explanation (info/warning).
pub fn zero_window_stall(f: &Flow, cfg: &Config, primary: bool) -> Option<Finding> {
    let (recv, z) = [
        ("server", &f.server.zero_window),
        ("client", &f.client.zero_window),
    ]
    .into_iter()
    .filter_map(|(n, z)| z.as_ref().map(|z| (n, z)))
    .filter(|(_, z)| !z.in_handshake)
    .max_by(|a, b| a.1.longest_stall.total_cmp(&b.1.longest_stall))?;
    let reset = f.rst.is_some() && !closing(f);
    let stalled_to_death = !z.reopened && (reset || f.end == "timeout");
    if primary != stalled_to_death {
        return None;
    }
    let stall = if z.reopened {
        z.longest_stall
    } else {
        z.longest_stall.max(f.last_ts - z.first_ts)
    };
    if !stalled_to_death && stall < cfg.min_stall {
        return None;
    }
    let severity = if stalled_to_death {
        Severity::Error
    } else if !z.reopened || stall >= cfg.stall_warning {
        Severity::Warning
    } else {
        Severity::Info
    };
    let sender = other(recv);
    let mut fd = base(f, "zero_window_stall", severity);
    let mut fr = vec![z.first_frame];
    fr.extend(&z.probe_frames);
    if let Some(r) = z.reopen_frame {
        fr.push(r);
    }
    if stalled_to_death {
        fr.extend(rst_frames(f));
    }
    fr.sort_unstable();
    fr.dedup();
    fd.frames = fr;
    fd.ts = Some(z.first_ts);
    fd.origin = Some(recv.to_string());
    let probes = if z.probes > 0 {
        format!(
            ", {} from the {sender}",
            plural(z.probes as u64, "zero-window probe", "zero-window probes")
        )
    } else {
        String::new()
    };
    let ending = if z.reopened {
        format!(
            "before it reopened{}",
            z.reopen_frame
                .map(|r| format!(" (frame {r})"))
                .unwrap_or_default()
        )
    } else if let (true, Some(r)) = (reset, &f.rst) {
        format!(
            "and never reopened: the {} reset the connection (frame {})",
            r.from, r.frame
        )
    } else if f.end == "capture_end" {
        "and was still closed at the end of the capture".to_string()
    } else {
        "and never reopened before the connection timed out".to_string()
    };
    fd.summary = format!(
        "{}: the receive window of the {recv} {} closed at frame {} and stayed closed for {} ({}{probes}) {ending}",
        conn(f),
        ip(f, recv),
        z.first_frame,
        secs(stall),
        plural(
            z.count as u64,
            "zero-window segment",
            "zero-window segments"
        ),
    );
    if stalled_to_death {
        let by_receiver = f.rst.as_ref().is_some_and(|r| r.from == recv);
        set_error(
            &mut fd,
            if by_receiver || f.rst.is_some() {
                Sock::Reset
            } else {
                Sock::Aborted
            },
        );
    }
    fd.next_step = format!(
        "the application on {} stopped reading from its socket: check its CPU, thread pool, locks or \
         GC pauses at that time and the socket's receive queue (`ss -tmi` Recv-Q on Linux, `netstat \
         -ano` on Windows); a receiver that never reopens may be hung",
        ip(f, recv)
    );
    zw_evidence(&mut fd, recv, z);
    ev(&mut fd, "stall", stall);
    ev(&mut fd, "sender_bytes", side(f, sender).bytes);
    ev(&mut fd, "end", f.end.clone());
    Some(fd)
}

/// Repeated retransmissions by one side, then a reset or a timeout.
pub fn retransmission_storm(f: &Flow, cfg: &Config) -> Option<Finding> {
    if !(f.established || f.midstream) {
        return None;
    }
    let (who, s) = [("client", &f.client), ("server", &f.server)]
        .into_iter()
        .max_by_key(|(_, s)| s.retransmissions)?;
    // Enough retransmissions, and a large share of what the side sent: a long healthy transfer
    // with a few early losses, idle afterwards or closed with a RST, is not a storm.
    if s.retransmissions < cfg.min_retrans
        || u64::from(s.retransmissions) * 100
            < s.packets.saturating_mul(u64::from(RETRANS_SHARE_PCT))
    {
        return None;
    }
    let clean_close =
        f.client.fin_frame.is_some() && f.server.fin_frame.is_some() && f.rst.is_none();
    let peer = other(who);
    // The peer never sent a byte of payload while this side kept resending its data: the
    // exchange failed, and a FIN before the RST is the teardown of that failure (a server's
    // late FIN answered by the RST of a client that gave up), not an orderly close.
    let unanswered = side(f, peer).bytes == 0 && s.bytes > 0;
    let reset = f.rst.as_ref().filter(|_| !closing(f) || unanswered);
    if clean_close || (reset.is_none() && f.end != "timeout") {
        return None;
    }
    let mut fd = base(f, "retransmission_storm", Severity::Error);
    let mut fr = vec![f.first_frame];
    // The retransmissions left unanswered at the end (the last 16), when tcpflows lists them.
    if let Some(st) = &s.stuck {
        fr.extend(&st.frames);
    }
    fr.extend(rst_frames(f));
    if reset.is_none() {
        fr.push(f.last_frame);
    }
    fr.sort_unstable();
    fr.dedup();
    fd.frames = fr;
    let ending = match reset {
        Some(r) if r.from == who => {
            set_error(&mut fd, Sock::Aborted);
            fd.origin = Some("network".into());
            match side(f, peer).fin_frame.filter(|&fin| fin < r.frame) {
                Some(fin) => format!(
                    "the {who} gave up: it answered the {peer}'s late FIN (frame {fin}) with a RST (frame {})",
                    r.frame
                ),
                None => format!(
                    "then the {who} gave up and reset the connection (frame {})",
                    r.frame
                ),
            }
        }
        Some(r) => {
            set_error(&mut fd, Sock::Reset);
            fd.origin = Some(r.from.clone());
            format!(
                "then the {} reset the connection ({}, frame {})",
                r.from,
                rst_name(r),
                r.frame
            )
        }
        None => {
            set_error(&mut fd, Sock::Aborted);
            fd.origin = Some("network".into());
            "then the connection went silent until it timed out".to_string()
        }
    };
    let answered = side(f, peer).bytes;
    fd.summary = format!(
        "{}: the {who} retransmitted {} ({} sent counting the retransmissions, {} from the {peer}) over {}; {ending}",
        conn(f),
        plural(s.retransmissions as u64, "segment", "segments"),
        bytes(s.bytes),
        bytes(answered),
        secs(f.last_ts - f.first_ts),
    );
    // The server repeating its SYN-ACK after the client ACKed and sent data: the server never got
    // the client's packets, so they are lost on the way to it (the return direction works).
    let synack_repeated = who == "client" && f.synack_count >= 2 && answered == 0;
    if synack_repeated {
        fd.summary.push_str(&format!(
            "; the server sent its SYN-ACK {} times: it never received the client's ACK or data, so \
             the client's packets are lost on the way to the server while the server's answers \
             arrive",
            f.synack_count
        ));
        ev(&mut fd, "synack_count", f.synack_count);
        fd.frames.extend(&f.synack_frames);
        fd.frames.sort_unstable();
        fd.frames.dedup();
    }
    // ICMP errors about this connection tell where the path broke.
    if let Some(i) = f.icmp.first() {
        let words = if i.description.is_empty() {
            crate::errors::icmp_words(&i.proto, i.icmp_type, i.icmp_code).to_string()
        } else {
            i.description.clone()
        };
        fd.summary.push_str(&format!(
            "; {} {words} from {} (frame {})",
            if i.proto == "icmpv6" {
                "ICMPv6"
            } else {
                "ICMP"
            },
            i.from_ip,
            i.frame
        ));
        fd.frames.push(i.frame);
        fd.frames.sort_unstable();
        fd.frames.dedup();
        ev(&mut fd, "icmp_from", i.from_ip.clone());
        ev(&mut fd, "icmp_type", i.icmp_type);
        ev(&mut fd, "icmp_code", i.icmp_code);
    }
    fd.next_step = if synack_repeated {
        format!(
            "the client's packets to {} (port {}) are dropped after the handshake: look for a \
             firewall or ACL on the path from {} that passes SYNs but drops the rest (a stateful \
             firewall that sees only one direction under asymmetric routing, an IPS), compare with \
             a capture on the server, and check `iptables -L -v -n` / Windows Firewall logs there",
            f.server_ip, f.server_port, f.client_ip
        )
    } else {
        format!(
            "packets between {} and {} are being lost: check interface errors and drops on both ends and \
         the path (`ip -s link`, `netstat -s`, switch/router counters), a path-MTU black hole (`ping \
         -M do -s 1472 {}` / `ping -f -l 1472` on Windows) and a firewall dropping the flow mid-way \
         (state-table timeout)",
            f.client_ip,
            f.server_ip,
            ip(f, peer)
        )
    };
    ev(&mut fd, "retransmitter", who);
    ev(&mut fd, "retransmissions", s.retransmissions);
    ev(&mut fd, "client_retransmissions", f.client.retransmissions);
    ev(&mut fd, "server_retransmissions", f.server.retransmissions);
    ev(&mut fd, "client_bytes", f.client.bytes);
    ev(&mut fd, "server_bytes", f.server.bytes);
    ev(&mut fd, "reset_by", reset.map(|r| r.from.clone()));
    ev(&mut fd, "end", f.end.clone());
    ev(&mut fd, "duration", f.last_ts - f.first_ts);
    Some(fd)
}

/// Established, then a RST from the server (or a middlebox with its address) that was not part
/// of a close. Client resets (RSTO: browsers and pools aborting) are routine and not reported.
pub fn reset_mid_connection(f: &Flow) -> Option<Finding> {
    if !(f.established || f.midstream) {
        return None;
    }
    let r = f.rst.as_ref()?;
    let origin = rst_origin(f);
    let middlebox = origin.is_some_and(|o| o.origin == "middlebox");
    if (r.from != "server" && !middlebox) || closing(f) {
        return None;
    }
    // A capture that picked the connection up at its RST shows nothing it could have broken.
    if f.midstream && f.client.packets + f.server.packets <= u64::from(r.count.max(1)) {
        return None;
    }
    let v6 = f.ip_version == 6;
    // tcpflows' verdict on the RST's sequence number: only an unacceptable one (RFC 5961) makes
    // the reset doubtful; "unknown" (no reference seen, e.g. mid-stream) is not held against it.
    let ignored = match r.seq_check.as_str() {
        "" => !r.seq_ok,
        c => c == "unacceptable",
    };
    // Mid-stream, what came before is unknown: a warning, not an error.
    let severity = if ignored || f.midstream {
        Severity::Warning
    } else {
        Severity::Error
    };
    let mut fd = base(f, "reset_mid_connection", severity);
    let mut fr = vec![f.first_frame];
    fr.extend(rst_frames(f));
    fr.sort_unstable();
    fr.dedup();
    fd.frames = fr;
    fd.ts = Some(r.ts);
    set_error(&mut fd, Sock::Reset);
    let after = r.ts - f.first_ts;
    let ttl = ttl_text(origin, r.ttl, v6)
        .map(|t| format!(", {t}"))
        .unwrap_or_default();
    let who = if middlebox {
        fd.origin = Some("middlebox".into());
        let path = origin
            .and_then(|o| o.expected_hops)
            .map(|e| {
                format!(
                    " while the server's own packets show {}",
                    crate::util::routers_between(e as u64, "the server")
                )
            })
            .unwrap_or_default();
        format!(
            "a middlebox using the {}'s address ({}{ttl}{path}, frame {})",
            r.from,
            rst_name(r),
            r.frame
        )
    } else {
        fd.origin = Some("server".into());
        format!("the server ({}{ttl}, frame {})", rst_name(r), r.frame)
    };
    let what = match (f.client.bytes, f.server.bytes) {
        (0, 0) => "right after the handshake, before any data".to_string(),
        (c, 0) => format!(
            "{} in, after the client sent {} and before any reply",
            secs(after),
            bytes(c)
        ),
        (c, s) => format!(
            "{} in, after the client sent {} and the server {}",
            secs(after),
            bytes(c),
            bytes(s)
        ),
    };
    let ignored = if !ignored {
        ""
    } else {
        "; its sequence number was outside the receive window, so the client stack likely ignored it"
    };
    let mid = if f.midstream {
        " (counted from where the capture picked the connection up)"
    } else {
        ""
    };
    fd.summary = format!("{} reset by {who} {what}{mid}{ignored}", conn(f));
    fd.next_step = if middlebox {
        format!(
            "a firewall/IPS/load balancer on the path injected the reset: check its logs and idle or \
             session timeouts for {}:{}",
            f.server_ip, f.server_port
        )
    } else if f.client.bytes == 0 && f.server.bytes == 0 {
        format!(
            "the server accepted the handshake and reset at once: check its accept queue (`ss -ltn` \
             Recv-Q vs backlog, net.ipv4.tcp_abort_on_overflow), a proxy with no healthy backend, or \
             TLS/ACL policy on {}:{}",
            f.server_ip, f.server_port
        )
    } else {
        format!(
            "check the server application's log at that time for an abort, crash or request limit on \
             {}:{}, and idle timeouts of load balancers/firewalls in between",
            f.server_ip, f.server_port
        )
    };
    ev(&mut fd, "reset_by", r.from.clone());
    ev(&mut fd, "rst_frame", r.frame);
    ev(&mut fd, "rst_flags", r.flags.clone());
    ev(&mut fd, "rst_ttl", r.ttl);
    ev(&mut fd, "rst_seq_ok", r.seq_ok);
    ev(&mut fd, "after", after);
    ev(&mut fd, "client_bytes", f.client.bytes);
    ev(&mut fd, "server_bytes", f.server.bytes);
    ev(&mut fd, "client_retransmissions", f.client.retransmissions);
    ev(
        &mut fd,
        "rst_origin",
        origin.map(origin_value).unwrap_or(serde_json::Value::Null),
    );
    Some(fd)
}

//! Rules about connection attempts: refused, refused_by_middlebox, icmp_unreachable,
//! syn_timeout, no_response, handshake_incomplete, zero_window_at_handshake.

use tcpwhy_common::records::flow::{Flow, ZeroWindow};
use tcpwhy_common::records::hops::Origin;
use tcpwhy_common::records::{Finding, Severity};

use super::{
    Config, base, conn, ev, icmp_origin, origin_value, rst_frames, rst_name, rst_origin, set_error,
    ttl_text,
};
use crate::errors::{Sock, icmp_error, icmp_words};
use crate::util::{
    endpoint, frames, intervals, plural, secs, syn_retry_os, windows_refused_retries,
};

/// SYN answered by RST from the server's address, no SYN-ACK (Zeek REJ).
pub fn is_refused(f: &Flow) -> bool {
    !f.established
        && !f.midstream
        && f.synack_frame.is_none()
        && f.rst.as_ref().is_some_and(|r| r.from == "server")
        && f.attempts.syn_count > 0
}

fn syn_frames(f: &Flow) -> Vec<u64> {
    if f.attempts.frames.is_empty() {
        vec![f.first_frame]
    } else {
        f.attempts.frames.clone()
    }
}

/// One finding for a refused connect(): `flows` are its attempts (one flow, or several REJ flows
/// on the same 4-tuple a moment apart, as Windows retries). `refused` or `refused_by_middlebox`.
pub fn refused(attempts_in: &[(&Flow, Option<&[u64]>)]) -> Finding {
    let flows: Vec<&Flow> = attempts_in.iter().map(|(f, _)| *f).collect();
    let flows = &flows[..];
    let f0 = flows[0];
    let v6 = f0.ip_version == 6;
    let mut syns: Vec<u64> = vec![];
    let mut rsts: Vec<u64> = vec![];
    let mut syn_ts: Vec<f64> = vec![];
    let mut attempts: u32 = 0;
    let mut inferred = false;
    for (f, explicit) in attempts_in {
        syns.extend(syn_frames(f));
        let (r, inf) = refused_rst_frames(f, *explicit);
        inferred |= inf;
        rsts.extend(r);
        if f.attempts.ts.is_empty() {
            syn_ts.push(f.first_ts);
        } else {
            syn_ts.extend(&f.attempts.ts);
        }
        attempts = attempts.saturating_add(f.attempts.syn_count.max(1));
    }
    let iv: Vec<f64> = syn_ts.windows(2).map(|w| w[1] - w[0]).collect();
    // ttlhops' verdicts: one middlebox RST makes it a middlebox refusal.
    let origins: Vec<_> = flows.iter().filter_map(|f| rst_origin(f)).collect();
    let origin = origins
        .iter()
        .find(|o| o.origin == "middlebox")
        .or_else(|| origins.iter().find(|o| o.origin == "endpoint"))
        .or_else(|| origins.first())
        .copied();
    let middlebox = origin.is_some_and(|o| o.origin == "middlebox");
    // Undecided: which way the RST's initial TTL alone points (ttlhops' `lean`).
    let lean = origin
        .filter(|o| o.origin == "unknown")
        .and_then(|o| o.lean.as_deref());
    let kind = if middlebox {
        "refused_by_middlebox"
    } else {
        "refused"
    };
    let rst = f0.rst.clone().unwrap_or_default();
    let mut fd = base(f0, kind, Severity::Error);
    fd.uids = flows.iter().map(|f| f.uid.clone()).collect();
    fd.ts = syn_ts.first().copied().or(Some(f0.first_ts));
    let mut all = syns.clone();
    all.extend(&rsts);
    all.sort_unstable();
    all.dedup();
    fd.frames = all;
    fd.attempts = Some(attempts);
    set_error(&mut fd, Sock::Refused);
    let ttl = ttl_text(origin, rst.ttl, v6);
    let ttl_paren = ttl.as_ref().map(|t| format!(" ({t})")).unwrap_or_default();
    let syn_part = format!(
        "{} ({})",
        plural(attempts as u64, "SYN", "SYNs"),
        frames(&syns, 8)
    );
    // RSTs seen: one per attempt is "each answered"; fewer means the first SYNs went unanswered
    // (lost) and only the later ones drew the RST.
    let rst_total: u32 = flows
        .iter()
        .map(|f| f.rst.as_ref().map_or(0, |r| r.count.max(1)))
        .fold(0u32, |a, b| a.saturating_add(b));
    let each = if attempts <= 1 {
        " answered".to_string()
    } else if rst_total >= attempts {
        " each answered".to_string()
    } else if rst_total <= 1 {
        ", the last one answered".to_string()
    } else {
        format!(", {rst_total} of them answered")
    };
    let rname = rst_name(&rst);
    let server = endpoint(&f0.server_ip, f0.server_port);
    fd.summary = match origin {
        Some(o) if o.origin == "middlebox" => {
            fd.origin = Some("middlebox".into());
            let path = match o.expected_hops {
                Some(e) => format!(
                    ", while the server's own packets show {}",
                    crate::util::routers_between(e as u64, "the server")
                ),
                None => String::new(),
            };
            format!(
                "{} refused by a middlebox, not by the server: {syn_part}{each} by {rname}{ttl_paren}{path}",
                conn(f0)
            )
        }
        Some(o) if o.origin == "endpoint" => {
            fd.origin = Some("server".into());
            format!(
                "{} refused: {syn_part}{each} by {rname} from the server itself{ttl_paren}",
                conn(f0)
            )
        }
        _ => {
            let word = if v6 { "hop limit" } else { "TTL" };
            let initial = origin.and_then(|o| o.initial_ttl).unwrap_or_default();
            let unknown = match (origin, lean) {
                (None, _) => String::new(),
                (Some(_), Some("endpoint")) => format!(
                    "; the capture cannot prove who sent it, but its initial {word} {initial} \
                     (the Windows default, which routers and firewalls rarely use) points to the \
                     server itself"
                ),
                (Some(_), Some("middlebox")) => format!(
                    "; the capture cannot prove who sent it, but its initial {word} {initial} \
                     (typical of routers and firewalls) points to a device on the path"
                ),
                (Some(_), _) => "; whether the server or a middlebox sent it is unknown".into(),
            };
            format!(
                "{} refused: {syn_part}{each} by {rname} from the server's address{ttl_paren}{unknown}",
                conn(f0)
            )
        }
    };
    // Same ISN on every attempt: the client's stack retried one connect() (Windows does, twice,
    // about 0.5 s apart); different ISNs: the application connected again.
    let isns: Vec<Option<u32>> = flows.iter().map(|f| f.client.isn).collect();
    let same_isn = if flows.len() > 1 && isns.iter().all(|i| i.is_some()) {
        Some(isns.windows(2).all(|w| w[0] == w[1]))
    } else {
        None
    };
    let windows_retry = attempts > 1
        && windows_refused_retries(&iv)
        && (same_isn != Some(false) || flows.len() == 1);
    if windows_retry {
        fd.summary.push_str(
            "; the client's stack retried the same SYN twice about 0.5 s apart, as Windows does after a RST",
        );
    } else if same_isn == Some(false) {
        fd.summary.push_str(&format!(
            "; the application retried: {} separate connects from the same source port",
            flows.len()
        ));
    }
    let traceroute = format!(
        "`traceroute -T -p {} {}` shows where the path stops",
        f0.server_port, f0.server_ip
    );
    fd.next_step = if middlebox {
        let hop = origin
            .and_then(|o| o.hops)
            .map(|h| {
                format!(
                    " ({}{})",
                    crate::util::routers_between(h as u64, "the device that sent the RST"),
                    if h == 0 {
                        ": look next to the capture point"
                    } else {
                        ""
                    }
                )
            })
            .unwrap_or_default();
        format!(
            "a firewall or load balancer between the client and {} rejects TCP {} with a reset{hop}: \
             check its rules/ACLs for the server and port (iptables REJECT --reject-with tcp-reset, \
             ASA/Palo Alto deny with reset); {traceroute}; the server itself never saw the SYN",
            f0.server_ip, f0.server_port
        )
    } else {
        let listen = format!(
            "nothing listens on {server}: check what listens on the server (`netstat -ano | findstr \
             LISTENING` on Windows, `ss -ltnp` on Linux) and pipe that output to `portmap --listeners` \
             to find the service and the port it really uses; fix the client's port or start the \
             service"
        );
        // ttlhops could not tell who sent the RST: say what would settle it.
        let settle = origin
            .filter(|o| o.origin != "endpoint")
            .and_then(|o| o.settle.as_deref())
            .filter(|s| !s.is_empty());
        match (settle, lean) {
            (None, _) => listen,
            (Some(settle), Some("endpoint")) => {
                format!("{listen}; to confirm that the server itself sent the RST: {settle}")
            }
            (Some(settle), Some("middlebox")) => format!(
                "find out whether a firewall or load balancer between the client and {} rejects \
                 TCP {} with a reset (its rules/ACLs; {traceroute}); to tell who sent the RST: \
                 {settle}; if it was the server itself, {listen}",
                f0.server_ip, f0.server_port
            ),
            (Some(settle), _) => format!(
                "if the server itself sent the RST, {listen}; to tell whether it did: {settle}"
            ),
        }
    };
    ev(&mut fd, "attempts", attempts);
    ev(&mut fd, "syn_frames", syns);
    ev(&mut fd, "rst_frames", rsts);
    ev(&mut fd, "rst_count", rst_total);
    ev(&mut fd, "rst_frames_inferred", inferred);
    ev(&mut fd, "retry_intervals", iv.clone());
    ev(&mut fd, "rst_flags", rst.flags.clone());
    ev(&mut fd, "rst_ttl", rst.ttl);
    ev(&mut fd, "rst_seq_ok", rst.seq_ok);
    ev(
        &mut fd,
        "rst_origin",
        origin.map(origin_value).unwrap_or(serde_json::Value::Null),
    );
    ev(
        &mut fd,
        "client_retry_hint",
        if windows_retry { Some("windows") } else { None },
    );
    ev(&mut fd, "same_isn", same_isn);
    fd
}

/// The frames of a refused flow's RSTs, and whether they were inferred: tcpflows' `rst.frames`
/// when the record has it; else, when one flow holds several attempts each answered by a RST
/// (Windows resending the same SYN) and the capture shows the first and the last RST right after
/// their SYN, every RST right after its SYN (`rst_frames_inferred`); else the first RST and the
/// flow's last frame.
pub fn refused_rst_frames(f: &Flow, explicit: Option<&[u64]>) -> (Vec<u64>, bool) {
    if let Some(v) = explicit.filter(|v| !v.is_empty()) {
        return (v.to_vec(), false);
    }
    if let Some(r) = f.rst.as_ref().filter(|r| !r.frames.is_empty()) {
        return (r.frames.clone(), false);
    }
    let syns = &f.attempts.frames;
    if let (Some(r), Some(first), Some(last)) = (&f.rst, syns.first(), syns.last()) {
        let n = syns.len();
        if n >= 2
            && r.count as usize == n
            && f.attempts.syn_count as usize == n
            && r.frame == first + 1
            && f.last_frame == last + 1
        {
            return (syns.iter().map(|s| s + 1).collect(), true);
        }
    }
    (rst_frames(f), false)
}

/// The SYN drew an ICMP/ICMPv6 destination unreachable or time exceeded.
pub fn icmp_unreachable(f: &Flow) -> Option<Finding> {
    if f.established || f.synack_frame.is_some() {
        return None;
    }
    let (icmp, sock) = f
        .icmp
        .iter()
        .filter(|i| i.quoted != "server")
        .find_map(|i| icmp_error(&i.proto, i.icmp_type, i.icmp_code).map(|s| (i, s)))?;
    let v6 = f.ip_version == 6;
    let words = if icmp.description.is_empty() {
        icmp_words(&icmp.proto, icmp.icmp_type, icmp.icmp_code).to_string()
    } else {
        icmp.description.clone()
    };
    let proto = if icmp.proto == "icmpv6" {
        "ICMPv6"
    } else {
        "ICMP"
    };
    let from_server = icmp.from_ip == f.server_ip;
    let o = icmp_origin(f, icmp.frame);
    let hops = match o {
        Some(Origin { hops: Some(h), .. }) => {
            format!(", with {}", crate::util::routers_between(*h as u64, "it"))
        }
        _ => String::new(),
    };
    let who = if from_server {
        format!("the server {} itself", f.server_ip)
    } else {
        format!("router {}", icmp.from_ip)
    };
    let syns = syn_frames(f);
    let mut fd = base(f, "icmp_unreachable", Severity::Error);
    fd.attempts = Some(f.attempts.syn_count.max(1));
    fd.origin = Some(if from_server { "server" } else { "network" }.into());
    let mut fr = syns.clone();
    fr.extend(f.icmp.iter().map(|i| i.frame));
    fr.sort_unstable();
    fr.dedup();
    fd.frames = fr;
    fd.ts = f.attempts.ts.first().copied().or(Some(f.first_ts));
    set_error(&mut fd, sock);
    let syn_word = if syns.len() == 1 {
        format!("the SYN ({})", frames(&syns, 8))
    } else {
        format!(
            "{} ({})",
            plural(syns.len() as u64, "SYN", "SYNs"),
            frames(&syns, 8)
        )
    };
    let more = if f.icmp_count > 1 {
        format!("; {} such errors", f.icmp_count)
    } else {
        String::new()
    };
    fd.summary = format!(
        "{} unreachable: {syn_word} drew {proto} {words} (type {}, code {}) from {who}{hops} (frame {}{more}): the client's connect fails with {}",
        conn(f),
        icmp.icmp_type,
        icmp.icmp_code,
        icmp.frame,
        sock.short()
    );
    fd.next_step = match sock {
        Sock::Refused => format!(
            "{} answered with {proto} port unreachable: nothing listens on TCP {} there, or a host \
             firewall rejects it; check `ss -ltnp` / `netstat -ano` on the server and its firewall \
             (iptables REJECT --reject-with icmp-port-unreachable)",
            who, f.server_port
        ),
        Sock::NetUnreachable => format!(
            "{who} has no route to {}: check the routing table there (`ip route get {}`, `show ip route`) \
             and the client's gateway",
            f.server_ip, f.server_ip
        ),
        Sock::AccessDenied => format!(
            "{who} rejects the traffic by policy: check its firewall/ACL rules for {} port {}",
            f.server_ip, f.server_port
        ),
        _ if icmp.icmp_type == 3 && [9, 10, 13].contains(&icmp.icmp_code) => format!(
            "{who} rejects the traffic by policy (administratively prohibited): check its firewall/ACL \
             rules for {} port {}",
            f.server_ip, f.server_port
        ),
        _ if (icmp.icmp_type == 11 && !v6) || (icmp.icmp_type == 3 && v6) => format!(
            "the packets to {} loop or the path is too long: `traceroute -n {}` and check the routes \
             on {who} for a loop",
            f.server_ip, f.server_ip
        ),
        _ => format!(
            "{who} cannot deliver to {}: check that the server is up and on its subnet (ARP/neighbour \
             entry on the last router: `ip neigh`, `show arp`), then `traceroute -n {}`",
            f.server_ip, f.server_ip
        ),
    };
    ev(&mut fd, "icmp_from", icmp.from_ip.clone());
    ev(&mut fd, "icmp_proto", icmp.proto.clone());
    ev(&mut fd, "icmp_type", icmp.icmp_type);
    ev(&mut fd, "icmp_code", icmp.icmp_code);
    ev(&mut fd, "description", words);
    ev(&mut fd, "icmp_frame", icmp.frame);
    ev(&mut fd, "icmp_ttl", icmp.ttl);
    ev(&mut fd, "icmp_count", f.icmp_count.max(1));
    ev(&mut fd, "from_server", from_server);
    ev(&mut fd, "syn_frames", syns);
    ev(
        &mut fd,
        "icmp_origin",
        o.map(origin_value).unwrap_or(serde_json::Value::Null),
    );
    Some(fd)
}

/// Nothing came back from the server's address, and the client sent nothing but its SYNs (and
/// perhaps a RST when it gave up): a client that sends ACKs or data after its SYN got a SYN-ACK
/// the capture missed (as in a TCP Fast Open capture), which is no failure.
fn unanswered(f: &Flow) -> bool {
    let client_rst = f.rst.as_ref().is_some_and(|r| r.from == "client");
    !f.established
        && !f.midstream
        && f.synack_frame.is_none()
        && (f.rst.is_none() || client_rst)
        && f.server.packets == 0
        && f.client.packets <= u64::from(f.attempts.syn_count) + u64::from(client_rst)
}

/// SYNs retransmitted, nothing came back.
pub fn syn_timeout(f: &Flow, cfg: &Config) -> Option<Finding> {
    if !unanswered(f) || f.attempts.syn_count < cfg.min_syns {
        return None;
    }
    let n = f.attempts.syn_count;
    let syns = syn_frames(f);
    let span = match (f.attempts.ts.first(), f.attempts.ts.last()) {
        (Some(a), Some(b)) => b - a,
        _ => f.duration,
    };
    let iv = if f.attempts.intervals.is_empty() {
        f.attempts.ts.windows(2).map(|w| w[1] - w[0]).collect()
    } else {
        f.attempts.intervals.clone()
    };
    let os = syn_retry_os(&iv);
    let mut fd = base(f, "syn_timeout", Severity::Error);
    fd.attempts = Some(n);
    fd.frames = syns.clone();
    fd.ts = f.attempts.ts.first().copied().or(Some(f.first_ts));
    set_error(&mut fd, Sock::TimedOut);
    let os_part = match os {
        Some((_, words)) => format!("; retries after {} look like {words}", intervals(&iv)),
        None if !iv.is_empty() => format!("; retries after {}", intervals(&iv)),
        None => String::new(),
    };
    let gave_up = match (f.rst.as_ref(), f.end.as_str()) {
        (Some(_), _) => "; then the client gave up and reset",
        (None, "capture_end") => "; no answer by the end of the capture",
        _ => "",
    };
    fd.summary = format!(
        "{} timed out: {} over {} ({}) and nothing came back{os_part}{gave_up}",
        conn(f),
        plural(n as u64, "SYN", "SYNs"),
        secs(span),
        frames(&syns, 8)
    );
    fd.next_step = format!(
        "nothing answered: check that {} is up and routable and that no firewall silently drops TCP {} \
         (`Test-NetConnection {} -Port {}` on Windows, `nc -vz {} {}`, `traceroute -T -p {} {}`); \
         capture on the server too: SYNs that arrive there unanswered point at a host firewall or a \
         full listen backlog",
        f.server_ip,
        f.server_port,
        f.server_ip,
        f.server_port,
        f.server_ip,
        f.server_port,
        f.server_port,
        f.server_ip
    );
    ev(&mut fd, "syn_count", n);
    ev(&mut fd, "syn_frames", syns);
    ev(&mut fd, "retry_intervals", iv);
    ev(&mut fd, "span", span);
    ev(&mut fd, "client_os_hint", os.map(|o| o.0));
    ev(&mut fd, "client_os_reason", os.map(|o| o.1));
    ev(&mut fd, "end", f.end.clone());
    Some(fd)
}

/// A single SYN that nothing answered and whose flow timed out (the client gave up before
/// retrying, or the capture missed the retries).
pub fn no_response(f: &Flow) -> Option<Finding> {
    if !unanswered(f) || f.attempts.syn_count != 1 || f.end != "timeout" {
        return None;
    }
    let syns = syn_frames(f);
    let mut fd = base(f, "no_response", Severity::Warning);
    fd.attempts = Some(1);
    fd.frames = syns.clone();
    set_error(&mut fd, Sock::TimedOut);
    fd.summary = format!(
        "{} got no response: one SYN ({}) and nothing back before the flow timed out, with no retry seen",
        conn(f),
        frames(&syns, 8)
    );
    fd.next_step = format!(
        "check that {} is up and that no firewall drops TCP {}; a client that never retries its SYN \
         usually has a very short connect timeout (or the capture filter missed the retries)",
        f.server_ip, f.server_port
    );
    ev(&mut fd, "syn_frames", syns);
    ev(&mut fd, "end", f.end.clone());
    Some(fd)
}

/// SYN-ACK seen, but the client never sent the final ACK.
pub fn handshake_incomplete(f: &Flow, cfg: &Config) -> Option<Finding> {
    let synack = f.synack_frame?;
    if f.established || f.midstream {
        return None;
    }
    // A client that answers the SYN-ACK with a RST aborted on purpose (half-open scan, or an
    // application that gave up): not a network failure.
    if f.rst.as_ref().is_some_and(|r| r.from == "client") {
        return None;
    }
    let server_rst = f.rst.as_ref().is_some_and(|r| r.from == "server");
    let lasted = f.last_ts - f.first_ts;
    let strong = f.server.retransmissions > 0 || f.attempts.syn_count > 1 || server_rst;
    if !strong && f.end != "timeout" && lasted < cfg.incomplete_grace {
        return None;
    }
    let mut fd = base(f, "handshake_incomplete", Severity::Error);
    fd.attempts = Some(f.attempts.syn_count.max(1));
    let mut fr = syn_frames(f);
    fr.push(synack);
    // Every SYN-ACK the server repeated is evidence that the ACK never reached it.
    fr.extend(&f.synack_frames);
    fr.extend(rst_frames(f));
    fr.sort_unstable();
    fr.dedup();
    fd.frames = fr;
    set_error(&mut fd, Sock::TimedOut);
    let mut why = vec![];
    if f.server.retransmissions > 0 {
        why.push(format!(
            "the server retransmitted its SYN-ACK {}",
            plural(f.server.retransmissions as u64, "time", "times")
        ));
    }
    if f.attempts.syn_count > 1 {
        why.push(format!(
            "the client kept sending SYNs ({} in all), so the SYN-ACKs never reached it",
            f.attempts.syn_count
        ));
    }
    if server_rst {
        why.push("the server reset the half-open connection".to_string());
    }
    let why = if why.is_empty() {
        format!("nothing followed for {}", secs(lasted))
    } else {
        why.join("; ")
    };
    fd.summary = format!(
        "{} handshake incomplete: the server answered with SYN-ACK (frame {synack}) but the client never sent the final ACK; {why}",
        conn(f)
    );
    fd.next_step = if f.attempts.syn_count > 1 {
        format!(
            "SYN-ACKs from {} do not reach the client: look for asymmetric routing or a stateful \
             firewall on the return path that drops them (capture on the client itself to confirm)",
            f.server_ip
        )
    } else {
        format!(
            "the client saw no usable SYN-ACK: check a firewall on the client host, SYN-ACK \
             checksum/offload problems, or a stale SYN-ACK (capture on {} to compare)",
            f.client_ip
        )
    };
    ev(&mut fd, "synack_frame", synack);
    ev(&mut fd, "synack_frames", f.synack_frames.clone());
    ev(&mut fd, "syn_count", f.attempts.syn_count);
    ev(&mut fd, "synack_retransmissions", f.server.retransmissions);
    ev(&mut fd, "server_reset", server_rst);
    ev(&mut fd, "duration", lasted);
    Some(fd)
}

/// The SYN-ACK (or the SYN) advertised a zero receive window (the seed's first case).
pub fn zero_window_at_handshake(f: &Flow, cfg: &Config) -> Option<Finding> {
    let (side, z, peer) = match (&f.server.zero_window, &f.client.zero_window) {
        (Some(z), _) if z.in_handshake => ("server", z, &f.client),
        (_, Some(z)) if z.in_handshake => ("client", z, &f.server),
        _ => return None,
    };
    let (recv_ip, seg) = if side == "server" {
        (&f.server_ip, "SYN-ACK")
    } else {
        (&f.client_ip, "SYN")
    };
    let hs_frame = if side == "server" {
        f.synack_frame.unwrap_or(z.first_frame)
    } else {
        z.first_frame
    };
    let reset_by = f.rst.as_ref().map(|r| r.from.as_str());
    let severity = if !z.reopened {
        Severity::Error
    } else if z.longest_stall >= cfg.stall_warning {
        Severity::Warning
    } else {
        Severity::Info
    };
    let mut fd = base(f, "zero_window_at_handshake", severity);
    fd.attempts = Some(f.attempts.syn_count.max(1));
    let mut fr = vec![hs_frame];
    fr.extend(&z.probe_frames);
    if let Some(r) = z.reopen_frame {
        fr.push(r);
    }
    fr.extend(rst_frames(f));
    fr.sort_unstable();
    fr.dedup();
    fd.frames = fr;
    fd.ts = Some(z.first_ts);
    let probes = if z.probes > 0 {
        let pf = frames(&z.probe_frames, 8);
        let style = match z.probe_kind.as_deref() {
            Some("one_byte") => ", 1-byte as Windows sends them",
            Some("zero_byte") => ", 0-byte as Linux sends them",
            _ => "",
        };
        format!(
            "the {} sent {} ({pf}{style})",
            if side == "server" { "client" } else { "server" },
            plural(z.probes as u64, "zero-window probe", "zero-window probes")
        )
    } else if peer.retransmissions > 0 {
        format!(
            "the {} retransmitted {} times",
            if side == "server" { "client" } else { "server" },
            peer.retransmissions
        )
    } else {
        String::new()
    };
    let origin = rst_origin(f);
    let ending = match (z.reopened, reset_by, &f.rst) {
        (true, _, _) => format!(
            "it opened {} later{}",
            secs(z.longest_stall),
            z.reopen_frame
                .map(|r| format!(" (frame {r})"))
                .unwrap_or_default()
        ),
        (false, Some(by), Some(r)) => {
            let who = if origin.is_some_and(|o| o.origin == "middlebox") {
                "a middlebox (with the server's address)".to_string()
            } else {
                format!("the {by}")
            };
            format!(
                "the window never opened and {who} reset the connection (frame {}) after {}",
                r.frame,
                secs(r.ts - f.first_ts)
            )
        }
        _ => format!(
            "the window never opened: the connection stalled for {} ({})",
            secs(z.longest_stall.max(f.last_ts - z.first_ts)),
            if f.end == "capture_end" {
                "still closed at the end of the capture"
            } else {
                "until it timed out"
            }
        ),
    };
    let mid = if probes.is_empty() {
        String::new()
    } else {
        format!("; {probes}")
    };
    fd.summary = format!(
        "{}: the {seg} (frame {hs_frame}) advertised a zero receive window{mid}; {ending}",
        conn(f)
    );
    match (z.reopened, reset_by) {
        (true, _) => {}
        (false, Some(_)) => set_error(&mut fd, Sock::Reset),
        (false, None) => set_error(&mut fd, Sock::TimedOut),
    }
    if let Some(o) = origin {
        fd.origin = Some(
            if o.origin == "middlebox" {
                "middlebox"
            } else {
                side
            }
            .to_string(),
        );
    } else {
        fd.origin = Some(side.to_string());
    }
    fd.next_step = format!(
        "{recv_ip} offers no receive buffer from its very first packet: check that host (and any load \
         balancer, proxy or firewall in front of it, which often rewrites the window) for memory \
         exhaustion or a broken TCP window setting; capture on its side to see whether it really sent \
         window 0; until fixed, take it out of the DNS/load-balancer rotation"
    );
    zw_evidence(&mut fd, side, z);
    ev(&mut fd, "peer_retransmissions", peer.retransmissions);
    ev(&mut fd, "reset_by", reset_by);
    ev(
        &mut fd,
        "rst_origin",
        origin.map(origin_value).unwrap_or(serde_json::Value::Null),
    );
    Some(fd)
}

/// The zero-window numbers, shared with zero_window_stall.
pub(crate) fn zw_evidence(fd: &mut Finding, side: &str, z: &ZeroWindow) {
    ev(fd, "receiver", side);
    ev(fd, "zero_window_count", z.count);
    ev(fd, "first_frame", z.first_frame);
    ev(fd, "in_handshake", z.in_handshake);
    ev(fd, "probes", z.probes);
    ev(fd, "probe_frames", z.probe_frames.clone());
    ev(fd, "longest_stall", z.longest_stall);
    ev(fd, "reopened", z.reopened);
    ev(fd, "reopen_frame", z.reopen_frame);
}

/// The connection was established, but only after SYN retries: the first SYN(s) went unanswered
/// (lost on the way, or dropped by a full listen queue), so connect() took a retry interval
/// longer than it should.
pub fn slow_connect(f: &Flow, cfg: &Config) -> Option<Finding> {
    if !f.established || f.midstream || f.attempts.syn_count < 2 {
        return None;
    }
    let n = f.attempts.syn_count;
    let first = f.attempts.ts.first().copied().unwrap_or(f.first_ts);
    let last = f.attempts.ts.last().copied().unwrap_or(f.first_ts);
    let delay = last - first + f.rtt.syn_synack.unwrap_or(0.0);
    let severity = if delay >= cfg.slow_connect {
        Severity::Warning
    } else {
        Severity::Info
    };
    let iv: Vec<f64> = if f.attempts.intervals.is_empty() {
        f.attempts.ts.windows(2).map(|w| w[1] - w[0]).collect()
    } else {
        f.attempts.intervals.clone()
    };
    let os = syn_retry_os(&iv);
    let syns = syn_frames(f);
    let mut fd = base(f, "slow_connect", severity);
    fd.attempts = Some(n);
    let mut fr = syns.clone();
    fr.extend(f.synack_frame);
    fr.sort_unstable();
    fr.dedup();
    fd.frames = fr;
    fd.ts = Some(first);
    fd.origin = Some("network".into());
    let os_part = os
        .map(|(_, w)| format!("; retries after {} look like {w}", intervals(&iv)))
        .unwrap_or_default();
    fd.summary = format!(
        "{} connected only at the {} SYN ({}): {} went unanswered, so connect() took {}{os_part}",
        conn(f),
        ordinal(n),
        frames(&syns, 8),
        if n == 2 {
            "the first".to_string()
        } else {
            format!("the first {}", n - 1)
        },
        secs(delay)
    );
    fd.next_step = format!(
        "SYNs to {} are being lost or dropped: if this repeats, check the server's listen backlog \
         (`ss -ltn` Recv-Q vs Send-Q, `netstat -s | grep -i listen` for overflows / SYNs dropped), \
         a SYN flood protection or rate limit on a firewall, and packet loss on the path",
        endpoint(&f.server_ip, f.server_port)
    );
    ev(&mut fd, "syn_count", n);
    ev(&mut fd, "syn_frames", syns);
    ev(&mut fd, "retry_intervals", iv);
    ev(&mut fd, "connect_time", delay);
    ev(&mut fd, "client_os_hint", os.map(|o| o.0));
    Some(fd)
}

fn ordinal(n: u32) -> String {
    match n {
        2 => "second".into(),
        3 => "third".into(),
        4 => "fourth".into(),
        5 => "fifth".into(),
        n => format!("{n}th"),
    }
}

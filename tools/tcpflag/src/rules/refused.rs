//! `refused` and `refused_by_middlebox`: a SYN answered by a RST instead of a SYN-ACK (one
//! function decides both kinds from the same attempts: who sent the RST).

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{
    base, conn, ev, ev_origin, rst_frames, rst_name, rst_origin, set_error, syn_frames, ttl_text,
};
use crate::socket_errors::Sock;
use crate::wording::{endpoint, frames, plural, windows_refused_retries};

/// SYN answered by RST from the server's address, no SYN-ACK (Zeek REJ).
pub fn is_refused(f: &Flow) -> bool {
    !f.established
        && !f.midstream
        && f.synack_frame.is_none()
        && f.rst.as_ref().is_some_and(|r| r.from == "server")
        && f.attempts.syn_count > 0
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
        .fold(0u32, u32::saturating_add);
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
                    crate::wording::routers_between(e as u64, "the server")
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
    let same_isn = if flows.len() > 1 && isns.iter().all(Option::is_some) {
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
                    crate::wording::routers_between(h as u64, "the device that sent the RST"),
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
    // The refused SYN asked for ECN (tcpflows' ecn_setup): a device that resets ECN-setup SYNs
    // (Linux's connect() fails on that RST; macOS and Windows retry without ECN, which is
    // ecn_setup_blocked).
    if flows.iter().any(|f| {
        f.ecn_setup
            .as_ref()
            .is_some_and(|e| e.rst_frame.is_some() && e.plain_syn_frame.is_none())
    }) {
        fd.summary.push_str(
            "; the refused SYN asked for ECN (ECE+CWR): a device that resets ECN-setup SYNs \
             refuses it while a plain SYN would get through (Linux's connect() fails on that RST; \
             macOS and Windows retry without ECN)",
        );
        fd.next_step.push_str(
            "; the refused SYN asked for ECN: if a plain SYN connects (Linux `sysctl \
             net.ipv4.tcp_ecn=2`, the default), the device resets ECN-setup SYNs: fix its rules",
        );
        ev(&mut fd, "ecn_setup_syn", true);
    }
    ev(&mut fd, "attempts", attempts);
    ev(&mut fd, "syn_frames", syns);
    ev(&mut fd, "rst_frames", rsts);
    ev(&mut fd, "rst_count", rst_total);
    ev(&mut fd, "rst_frames_inferred", inferred);
    ev(&mut fd, "retry_intervals", iv.clone());
    ev(&mut fd, "rst_flags", rst.flags.clone());
    ev(&mut fd, "rst_ttl", rst.ttl);
    ev(&mut fd, "rst_seq_ok", rst.seq_ok);
    ev_origin(&mut fd, "rst_origin", origin);
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

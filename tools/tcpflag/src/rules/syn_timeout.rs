//! `syn_timeout`: SYNs retransmitted, nothing came back.

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{Config, base, conn, ev, set_error, syn_frames, unanswered};
use crate::socket_errors::Sock;
use crate::wording::{frames, intervals, plural, secs, syn_retry_os};

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
    // The same port answered others meanwhile (tcpflows' others_answered): not a dead host.
    let others = f
        .others_answered
        .as_ref()
        .map(|o| {
            format!(
                "; meanwhile {} answered {} other {}: a full listen (accept) queue of a stuck \
                 application, or a firewall or rate limit that drops only some SYNs",
                crate::wording::endpoint(&f.server_ip, f.server_port),
                o.count,
                if o.count == 1 {
                    "connection"
                } else {
                    "connections"
                }
            )
        })
        .unwrap_or_default();
    fd.summary = format!(
        "{} timed out: {} over {} ({}) and nothing came back{os_part}{gave_up}{others}",
        conn(f),
        plural(n as u64, "SYN", "SYNs"),
        secs(span),
        frames(&syns, 8)
    );
    if let Some(o) = &f.others_answered {
        ev(&mut fd, "others_answered", o.count);
        ev(&mut fd, "other_frames", o.frames.clone());
    }
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

//! `slow_connect`: established, but only after SYN retries.

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{Config, base, conn, ev, set_frames, syn_frames};
use crate::wording::{endpoint, frames, intervals, secs, syn_retry_os};

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
    set_frames(&mut fd, fr);
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

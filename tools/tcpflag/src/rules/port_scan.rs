//! port_scan: one source probing many ports of one host (or one port of many hosts) — one
//! finding per scan, the per-port refusals and timeouts folded in. The aggregation (what a probe
//! is, thresholds, the holding window) is in `crate::probes`; docs/rules.md documents it.

use serde_json::json;
use tcpwhy_common::records::{Finding, Severity};

use crate::probes::{Aggregate, Key, Outcome};
use crate::wording::{frames, plural, secs, thousands};

/// "1-79, 81-200" for a set of ports (at most `max` ranges, then "…").
pub fn ranges(ports: &[u16], max: usize) -> String {
    let mut v: Vec<u16> = ports.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut out: Vec<String> = vec![];
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        if out.len() == max {
            out.push("…".into());
            break;
        }
        out.push(if i == j {
            v[i].to_string()
        } else {
            format!("{}-{}", v[i], v[j])
        });
        i = j + 1;
    }
    out.join(", ")
}

pub fn finding(a: &Aggregate) -> Finding {
    let sweep = matches!(a.key, Key::Sweep(..));
    let span = (a.last_syn - a.first_ts).max(0.0);
    let mut fd = Finding {
        uids: a.uids.clone(),
        client_ip: Some(a.client_ip.clone()),
        server_ip: a.server_ip.clone(),
        server_port: a.server_port,
        frames: a.frames.clone(),
        ts: Some(a.first_ts),
        attempts: Some(a.probes.min(u64::from(u32::MAX)) as u32),
        ..Finding::new("port_scan", Severity::Info)
    };
    let (refused, unanswered, unreachable, half, connected) = (
        a.n(Outcome::Refused),
        a.n(Outcome::Unanswered),
        a.n(Outcome::Unreachable),
        a.n(Outcome::HalfOpen),
        a.n(Outcome::Connected),
    );
    let how = if a.scanner_resets > 0 && a.scanner_resets * 2 >= half + connected {
        "SYN scan (half-open: the scanner resets every SYN-ACK, as `nmap -sS` does)"
    } else if connected > 0 {
        "connect scan (full handshakes closed without a byte, as `nmap -sT` does)"
    } else {
        "SYN probes"
    };
    let mut parts = vec![];
    for (n, w) in [
        (refused, "refused"),
        (unanswered, "unanswered"),
        (unreachable, "unreachable (ICMP)"),
        (half + connected, "answered"),
    ] {
        if n > 0 {
            parts.push(format!("{} {w}", thousands(n)));
        }
    }
    let mut open: Vec<u16> = a.open.iter().copied().collect();
    open.sort_unstable();
    let open_text = if sweep || open.is_empty() {
        String::new()
    } else {
        format!("; open: {}", ranges(&open, 8))
    };
    let target = if sweep {
        let hosts = a.hosts.len() as u64;
        format!(
            "host sweep from {}: port {} of {} in {}",
            a.client_ip,
            a.server_port.unwrap_or(0),
            plural(hosts, "host", "hosts"),
            secs(span)
        )
    } else {
        let ports = a.ports.len() as u64;
        format!(
            "port scan from {}: {} of {} in {}",
            a.client_ip,
            if ports == 1 {
                "1 port".to_string()
            } else {
                format!("{} ports", thousands(ports))
            },
            a.server_ip.clone().unwrap_or_default(),
            secs(span)
        )
    };
    fd.summary = format!(
        "{target} — {how}: {} probes, {}{open_text}. The refusals and timeouts of these probes \
         are the scan's, not failures of an application",
        thousands(a.probes),
        parts.join(", ")
    );
    fd.next_step = format!(
        "if {} is not a scanner you run (a vulnerability scanner, monitoring), find out who runs \
         it: a compromised or curious host; block or rate-limit it at the firewall{}",
        a.client_ip,
        if open.is_empty() || sweep {
            String::new()
        } else {
            format!(
                " and check that the open ports ({}) should be reachable from it",
                ranges(&open, 8)
            )
        }
    );
    let mut ports: Vec<u16> = a.ports.iter().copied().collect();
    ports.sort_unstable();
    let mut hosts: Vec<&String> = a.hosts.iter().collect();
    hosts.sort();
    hosts.truncate(64);
    fd.evidence.insert(
        "pattern".into(),
        json!(if sweep { "host_sweep" } else { "ports" }),
    );
    fd.evidence.insert("probes".into(), json!(a.probes));
    if sweep {
        fd.evidence.insert("hosts".into(), json!(a.hosts.len()));
        fd.evidence.insert("host_list".into(), json!(hosts));
    } else {
        fd.evidence.insert("ports".into(), json!(a.ports.len()));
        fd.evidence
            .insert("port_ranges".into(), json!(ranges(&ports, 64)));
        fd.evidence.insert("open_ports".into(), json!(open));
    }
    fd.evidence.insert(
        "outcomes".into(),
        json!({
            "refused": refused,
            "unanswered": unanswered,
            "unreachable": unreachable,
            "half_open": half,
            "connected": connected,
        }),
    );
    fd.evidence
        .insert("scanner_resets".into(), json!(a.scanner_resets));
    fd.evidence.insert("duration".into(), json!(span));
    fd.evidence.insert(
        "rate".into(),
        json!(if span > 0.0 {
            a.probes as f64 / span
        } else {
            a.probes as f64
        }),
    );
    fd.evidence
        .insert("first_frames".into(), json!(frames(&a.frames, 8)));
    fd
}

#[cfg(test)]
mod tests {
    use super::ranges;

    #[test]
    fn port_ranges() {
        assert_eq!(ranges(&[1, 2, 3, 5, 7, 8], 8), "1-3, 5, 7-8");
        assert_eq!(ranges(&[], 8), "");
        assert_eq!(ranges(&[1, 3, 5], 2), "1, 3, …");
    }
}

//! one_sided_capture: connections of which the capture shows one direction only (a one-way SPAN
//! or tap, `tcpdump -Q out`, asymmetric routing past the capture point). The side the capture
//! sees acknowledges what the capture never showed (`acked_unseen`, tcpflows), so the answers
//! cannot be judged: no failure is reported for these connections, nor for unanswered attempts
//! from the same clients (their answers may just as well be missing), and one finding per
//! capture and direction says so. docs/rules.md documents it.

use std::collections::HashSet;

use serde_json::json;
use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use crate::wording::{endpoint, plural};

/// Addresses remembered as "their incoming direction is missing".
const MAX_BLIND: usize = 100_000;
const MAX_LISTED: usize = 32;

/// Which direction the capture shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Only client → server packets.
    ClientOnly,
    /// Only server → client packets.
    ServerOnly,
}

/// Sequence space a side must have acknowledged unseen: more than the peer's SYN alone (a single
/// SYN-ACK the capture dropped is not a one-way capture).
pub const MIN_UNSEEN: u64 = 2;

/// The direction a one-sided flow shows, if it is one.
pub fn seen(f: &Flow) -> Option<Seen> {
    if f.server.packets == 0 && f.client.packets > 0 && f.client.acked_unseen >= MIN_UNSEEN {
        Some(Seen::ClientOnly)
    } else if f.client.packets == 0 && f.server.packets > 0 && f.server.acked_unseen >= MIN_UNSEEN {
        Some(Seen::ServerOnly)
    } else {
        None
    }
}

#[derive(Debug, Default)]
struct Dir {
    flows: u64,
    unseen: u64,
    uids: Vec<String>,
    frames: Vec<u64>,
    example: Option<String>,
    first_ts: Option<f64>,
    ips: HashSet<String>,
}

/// The one-sided connections of a capture.
#[derive(Debug, Default)]
pub struct OneSided {
    dirs: [Dir; 2],
    /// Addresses whose incoming packets the capture misses.
    blind: HashSet<String>,
    /// Unanswered attempts not judged because of it.
    pub suppressed: u64,
}

impl OneSided {
    pub fn add(&mut self, f: &Flow, s: Seen) {
        let (d, receiver, unseen) = match s {
            Seen::ClientOnly => (&mut self.dirs[0], &f.client_ip, f.client.acked_unseen),
            Seen::ServerOnly => (&mut self.dirs[1], &f.server_ip, f.server.acked_unseen),
        };
        d.flows += 1;
        d.unseen = d.unseen.saturating_add(unseen);
        if d.uids.len() < MAX_LISTED {
            d.uids.push(f.uid.clone());
            d.frames.push(f.first_frame);
        }
        if d.ips.len() < MAX_LISTED {
            d.ips.insert(receiver.clone());
        }
        d.example.get_or_insert_with(|| {
            format!(
                "{} → {}",
                endpoint(&f.client_ip, f.client_port),
                endpoint(&f.server_ip, f.server_port)
            )
        });
        d.first_ts.get_or_insert(f.first_ts);
        if self.blind.len() < MAX_BLIND {
            self.blind.insert(receiver.clone());
        }
    }

    /// True (and counted) when `f` is an attempt nobody answered from an address whose incoming
    /// packets the capture misses: its answer cannot be judged.
    pub fn covers(&mut self, f: &Flow) -> bool {
        if f.server.packets == 0 && self.blind.contains(&f.client_ip) {
            self.suppressed += 1;
            return true;
        }
        false
    }

    /// One finding per direction seen.
    pub fn finish(&self) -> Vec<Finding> {
        let mut out = vec![];
        for (i, d) in self.dirs.iter().enumerate() {
            if d.flows == 0 {
                continue;
            }
            let (shown, missing, who) = if i == 0 {
                ("client→server", "servers' answers", "clients")
            } else {
                ("server→client", "clients' packets", "servers")
            };
            let extra = if i == 0 && self.suppressed > 0 {
                format!(
                    " (nor for {} from the same clients: its answer may be missing as well)",
                    plural(self.suppressed, "unanswered attempt", "unanswered attempts")
                )
            } else {
                String::new()
            };
            let mut ips: Vec<&String> = d.ips.iter().collect();
            ips.sort();
            let fd = Finding {
                uids: d.uids.clone(),
                frames: d.frames.clone(),
                ts: d.first_ts,
                summary: format!(
                    "only {shown} packets for {} (e.g. {}): the capture never shows the {missing}, \
                     though the {who} acknowledged {} of them; those answers cannot be judged, so \
                     no failure is reported for these connections{extra}",
                    plural(d.flows, "connection", "connections"),
                    d.example.clone().unwrap_or_default(),
                    plural(d.unseen, "byte", "bytes"),
                ),
                next_step: "capture where both directions pass: tcpdump without -Q, both \
                            directions of the SPAN/mirror port (or a tap on every link of an \
                            ECMP/asymmetric path), or on one of the hosts itself"
                    .into(),
                ..Finding::new("one_sided_capture", Severity::Info)
            };
            let mut fd = fd;
            fd.evidence.insert("direction_seen".into(), json!(shown));
            fd.evidence.insert("connections".into(), json!(d.flows));
            fd.evidence.insert("acked_unseen".into(), json!(d.unseen));
            fd.evidence.insert(
                "unanswered_not_judged".into(),
                json!(if i == 0 { self.suppressed } else { 0 }),
            );
            fd.evidence.insert("receivers".into(), json!(ips));
            out.push(fd);
        }
        out
    }
}

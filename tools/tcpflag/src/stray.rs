//! RSTs that carry a different address than the server's: the seed's first case ended with a
//! RST from 4.79.185.20 for a connection to 192.168.0.1 (a NAT or firewall answering for the
//! server). tcpflows keys flows by address and port, so such a RST is a flow of its own: mid-stream,
//! the client's address and port, the server's port, nothing but the RST. tcpflag remembers these
//! for a while and, when the connection they belong to arrives without a RST of its own, attaches
//! the RST to it and says where it came from.
//!
//! Either record may come first (tcpflows writes the RST at once, ttlhops may hold it): stray
//! RSTs are remembered, and failing connections that could still get one (a SYN-ACK, no RST of
//! their own, ended by a timeout or the end of the capture, a finding worse than info) are held
//! for [`STRAY_WINDOW`] seconds of capture time. Memory: at most [`MAX_STRAYS`] of each.

use std::collections::{HashMap, VecDeque};

use serde_json::json;
use tcpwhy_common::records::Finding;
use tcpwhy_common::records::flow::{Flow, Rst};

/// Stray RSTs remembered at most.
pub const MAX_STRAYS: usize = 10_000;
/// A stray RST belongs to a connection when it came during it or at most this many seconds after
/// its last packet.
pub const STRAY_WINDOW: f64 = 60.0;

type Key = (String, u16, u16);

/// A RST-only flow.
#[derive(Debug, Clone)]
pub struct Stray {
    pub uid: String,
    pub from_ip: String,
    pub rst: Rst,
}

#[derive(Debug, Default)]
pub struct Strays {
    map: HashMap<Key, Stray>,
    order: VecDeque<(Key, f64)>,
}

impl Stray {
    /// The stray RST of a RST-only flow.
    pub fn of(f: &Flow) -> Stray {
        Stray {
            uid: f.uid.clone(),
            from_ip: f.server_ip.clone(),
            rst: f.rst.clone().unwrap_or_default(),
        }
    }

    /// True when this RST belongs to `f`: the same client address and port and server port (the
    /// caller's key), another address, during the connection or shortly after.
    pub fn belongs_to(&self, f: &Flow) -> bool {
        self.from_ip != f.server_ip
            && f.rst.is_none()
            && f.synack_frame.is_some()
            && self.rst.ts >= f.first_ts
            && self.rst.ts <= f.last_ts + STRAY_WINDOW
    }
}

/// A connection that may still be given a stray RST: it got a SYN-ACK, has no RST of its own
/// and was not closed (it ended by a timeout or the end of the capture).
pub fn may_get_one(f: &Flow) -> bool {
    f.rst.is_none()
        && f.synack_frame.is_some()
        && !f.midstream
        && (f.end == "timeout" || f.end == "capture_end")
        && !(f.client.fin_frame.is_some() && f.server.fin_frame.is_some())
}

impl Strays {
    /// A flow that is nothing but a RST from the "server" side, picked up mid-stream.
    pub fn is_stray(f: &Flow) -> bool {
        f.midstream
            && !f.established
            && f.synack_frame.is_none()
            && f.client.packets == 0
            && f.rst.as_ref().is_some_and(|r| {
                r.from == "server" && f.server.packets <= u64::from(r.count.max(1))
            })
    }

    /// Remembers a stray RST flow (evicting the oldest beyond [`MAX_STRAYS`] and those older
    /// than the window).
    pub fn add(&mut self, f: &Flow, now: f64) {
        let Some(r) = &f.rst else { return };
        while let Some((k, ts)) = self.order.front() {
            if self.order.len() < MAX_STRAYS && *ts >= now - 2.0 * STRAY_WINDOW {
                break;
            }
            if self.map.get(k).is_some_and(|s| s.rst.ts == *ts) {
                self.map.remove(k);
            }
            self.order.pop_front();
        }
        let key = (f.client_ip.clone(), f.client_port, f.server_port);
        self.order.push_back((key.clone(), r.ts));
        self.map.insert(
            key,
            Stray {
                uid: f.uid.clone(),
                from_ip: f.server_ip.clone(),
                rst: r.clone(),
            },
        );
    }

    /// The stray RST that belongs to `f`, if any: same client address and port, same server
    /// port, another address, during the connection or shortly after. Only connections that got
    /// a SYN-ACK and have no RST of their own qualify.
    pub fn take(&mut self, f: &Flow) -> Option<Stray> {
        if f.rst.is_some() || f.synack_frame.is_none() || self.map.is_empty() {
            return None;
        }
        let key = (f.client_ip.clone(), f.client_port, f.server_port);
        if !self.map.get(&key)?.belongs_to(f) {
            return None;
        }
        self.map.remove(&key)
    }
}

/// Gives `f` the stray RST as its own (from the server side).
pub fn attach(f: &mut Flow, s: &Stray) {
    let mut r = s.rst.clone();
    r.from = "server".to_string();
    r.count = 1;
    f.rst = Some(r);
}

/// Says in a finding that its RST came from another address.
pub fn annotate(fd: &mut Finding, s: &Stray, server_ip: &str) {
    let ttl = s.rst.ttl.map(|t| format!(", TTL {t}")).unwrap_or_default();
    fd.summary.push_str(&format!(
        "; that RST came from {}, not from {server_ip} (frame {}{ttl}): a NAT, load balancer or \
         firewall answered for the server",
        s.from_ip, s.rst.frame
    ));
    fd.uids.push(s.uid.clone());
    if !fd.frames.contains(&s.rst.frame) {
        fd.frames.push(s.rst.frame);
        fd.frames.sort_unstable();
    }
    fd.origin = Some("middlebox".into());
    fd.evidence.insert(
        "stray_rst".into(),
        json!({"uid": s.uid, "from_ip": s.from_ip, "frame": s.rst.frame, "ttl": s.rst.ttl,
               "flags": s.rst.flags}),
    );
    fd.next_step.push_str(&format!(
        "; the reset came from {}: find the device that owns that address on the path to {server_ip} \
         (NAT, load balancer, firewall) and check its rules and logs for this connection",
        s.from_ip
    ));
}

//! The inference itself: initial TTL from an observed one and the hop distance of each side of
//! a flow here; the verdict on who sent a RST or an ICMP error in `verdict`. Pure functions: the
//! evidence is gathered by the caller (`engine.rs`) from the flow, the per-address table and the
//! user's hints.

mod verdict;

pub use verdict::{Basis, Claim, Evidence, Expect, judge, judge_router};

use tcpwhy_common::records::flow::{Flow, Side};
use tcpwhy_common::records::hops::SideHops;

/// The initial TTLs (IPv4) and hop limits (IPv6) stacks use: Windows 128; Linux, macOS, the BSDs
/// 64; routers and Solaris 255; a few old or embedded stacks 32.
pub const INITIAL_TTLS: [u8; 4] = [32, 64, 128, 255];

/// The p0f rule: the smallest common initial value at or above the observed one.
pub fn initial_ttl(observed: u8) -> u8 {
    INITIAL_TTLS
        .iter()
        .copied()
        .find(|&i| i >= observed)
        .unwrap_or(255)
}

/// Routers between the sender and the capture point: how much the TTL went down.
pub fn hops(observed: u8) -> u8 {
    initial_ttl(observed) - observed
}

/// "TTL" for IPv4, "hop limit" for IPv6.
pub fn ttl_word(ip_version: u8) -> &'static str {
    if ip_version == 6 { "hop limit" } else { "TTL" }
}

/// `1 router` / `2 routers`.
pub fn routers(n: u8) -> String {
    if n == 1 {
        "1 router".to_string()
    } else {
        format!("{n} routers")
    }
}

/// Coarse OS family from an initial TTL, only where the default is distinctive.
pub fn os_hint(initial: u8) -> Option<&'static str> {
    match initial {
        64 => Some("linux/macos/unix"),
        128 => Some("windows"),
        255 => Some("network device"),
        _ => None,
    }
}

/// Which side of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Client,
    Server,
}

impl Which {
    pub fn name(self) -> &'static str {
        match self {
            Which::Client => "client",
            Which::Server => "server",
        }
    }
    pub fn side(self, f: &Flow) -> &Side {
        match self {
            Which::Client => &f.client,
            Which::Server => &f.server,
        }
    }
    pub fn ip(self, f: &Flow) -> &str {
        match self {
            Which::Client => &f.client_ip,
            Which::Server => &f.server_ip,
        }
    }
}

/// TTL values of a side's packets other than RSTs, as far as the flow summary tells them:
/// `(first, all distinct values)`. `None` when the side sent nothing but RSTs (or nothing).
///
/// The side's `ttl` range counts every packet it sent, RSTs included. When a RST may have come
/// from this side (the flow's first RST did, or the flow has several), only the side's first
/// packet (its SYN / SYN-ACK / data) and, with a single RST of known TTL, the other end of the
/// range are taken; a side that sent nothing but RSTs has none.
pub fn non_rst_ttls(f: &Flow, which: Which) -> Option<(u8, Vec<u8>)> {
    let side = which.side(f);
    let t = side.ttl?;
    if side.packets == 0 {
        return None;
    }
    let rst = f.rst.as_ref();
    let rst_here = rst.filter(|r| r.from == which.name());
    let count = rst.map_or(0, |r| r.count.max(1));
    // With no RST from this side (the flow's only RST came from the other), every packet of
    // the side counts.
    if rst_here.is_none() && count <= 1 {
        let mut v = vec![t.first, t.min, t.max];
        v.sort_unstable();
        v.dedup();
        return Some((t.first, v));
    }
    let has_other = side.bytes > 0
        || side.fin_frame.is_some()
        || side.packets > u64::from(count)
        || match which {
            Which::Server => f.synack_frame.is_some(),
            Which::Client => f.attempts.syn_count > 0 && !f.midstream,
        };
    if !has_other {
        return None;
    }
    // The side's own TTL next to its RST, as tcpflows saw it (its last packet before the RST,
    // or the first after it when the RST came first: a forged refusal before the real SYN-ACK).
    let first = match rst_here.and_then(|r| r.sender_ttl) {
        Some(st) => st,
        None => t.first,
    };
    // The side's first packet is its SYN / SYN-ACK / data: a RST comes last. Its min/max may
    // be RSTs' too: only with a single RST (whose TTL is known) are the others kept.
    let mut v = vec![first];
    if let Some(r) = rst_here.filter(|_| count == 1) {
        for x in [t.min, t.max] {
            if Some(x) != r.ttl {
                v.push(x);
            }
        }
    }
    v.sort_unstable();
    v.dedup();
    Some((first, v))
}

/// `flow.ttlhops.client` / `.server`.
pub fn side_hops(f: &Flow, which: Which) -> Option<SideHops> {
    let (first, all) = non_rst_ttls(f, which)?;
    Some(SideHops {
        observed_ttl: first,
        initial_ttl: initial_ttl(first),
        hops: hops(first),
        varies: all.len() > 1,
    })
}

#[cfg(test)]
mod tests;

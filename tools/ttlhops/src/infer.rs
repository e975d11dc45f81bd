//! The inference itself: initial TTL from an observed one, the hop distance of each side of a
//! flow, and the verdict on who sent a RST or an ICMP error. Pure functions: the evidence is
//! gathered by the caller (`lib.rs`) from the flow, the per-address table and the user's hints.

use tcpwhy_common::records::flow::{Flow, Side};
use tcpwhy_common::records::hops::{Origin, SideHops};

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

/// What the claimed sender's own distance is believed to be, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    pub basis: Basis,
    /// The TTL the reference packets arrived with (null for user hints).
    pub ttl: Option<u8>,
    /// Their initial TTL (null for user hints: a hint gives a distance only).
    pub initial: Option<u8>,
    pub hops: u8,
    /// Other (initial, hops) pairs the address's packets showed (TTL varies).
    pub others: Vec<(u8, u8)>,
    /// Flows or packets behind the evidence (for the sentence).
    pub count: u64,
}

impl Expect {
    /// A distance the user gave (`--hops`, `--expect-hops`): no TTL behind it.
    pub fn user(basis: Basis, n: u8) -> Self {
        Expect {
            basis,
            ttl: None,
            initial: None,
            hops: n,
            others: vec![],
            count: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    SameFlow,
    OtherFlows,
    UserHops,
    UserExpect,
    IcmpPath,
    SourceAddress,
    None,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::SameFlow => "same_flow",
            Basis::OtherFlows => "other_flows",
            Basis::UserHops => "user_hops",
            Basis::UserExpect => "user_expect",
            Basis::IcmpPath => "icmp_path",
            Basis::SourceAddress => "source_address",
            Basis::None => "none",
        }
    }
}

/// The packet being judged.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    /// "RST" or e.g. "ICMP port unreachable".
    pub what: String,
    pub frame: u64,
    /// The address it carries.
    pub from_ip: &'a str,
    /// "server", "client": whose address it carries.
    pub role: &'a str,
    pub ip_version: u8,
    pub ttl: Option<u8>,
    pub ip_id: Option<u32>,
    /// The claimed sender's first IP ID in this flow (when it sent other packets).
    pub peer_ip_id: Option<u32>,
}

/// Everything known about the claimed sender's distance, strongest first.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// From the capture: the same flow, else other flows / packets.
    pub capture: Option<Expect>,
    /// From the user: `--hops ADDR=N`, else `--expect-hops N` (server addresses only).
    pub user: Option<Expect>,
    /// Hops of the farthest router that sent an ICMP error about packets to this address.
    pub router_hops: Option<(u8, String)>,
    /// Another address of the same /24 (IPv4) or /64 (IPv6) and its distance: mentioned when
    /// nothing else is known, never a verdict (the networks may be split behind routers).
    pub neighbour: Option<(String, u8)>,
    /// The neighbour is the flow's other endpoint (the client, for a server's RST).
    pub neighbour_is_peer: bool,
    /// The flow's other endpoint (the one the packet was sent to) when it is at the capture
    /// point (0 routers away) and in another /24 or /64 than the claimed sender.
    pub other_subnet_local: Option<String>,
}

fn new_origin(c: &Claim, origin: &str) -> Origin {
    Origin {
        origin: origin.to_string(),
        frame: c.frame,
        from_ip: Some(c.from_ip.to_string()),
        observed_ttl: c.ttl,
        initial_ttl: c.ttl.map(initial_ttl),
        hops: c.ttl.map(hops),
        at_hop: c.ttl.map(|t| hops(t).saturating_add(1)),
        expected_hops: None,
        expected_initial_ttl: None,
        ip_id: c.ip_id,
        peer_ip_id: c.peer_ip_id,
        basis: Basis::None.as_str().to_string(),
        confidence: None,
        reason: String::new(),
        settle: None,
        lean: None,
        signs: vec![],
    }
}

/// "TTL 126 (initial 128, 2 routers)".
fn ttl_phrase(word: &str, t: u8) -> String {
    format!(
        "{word} {t} (initial {}, {})",
        initial_ttl(t),
        routers(hops(t))
    )
}

/// Where the sender sits, in words: "at hop 1 (the first router from the capture point)".
fn position(h: u8) -> String {
    match h {
        0 => "at hop 1, the first device from the capture point (no router between)".to_string(),
        _ => format!(
            "at hop {} ({} between it and the capture point)",
            h + 1,
            routers(h)
        ),
    }
}

/// Describes the evidence an expectation came from.
fn expect_phrase(e: &Expect, c: &Claim, word: &str) -> String {
    match e.basis {
        Basis::SameFlow => format!(
            "the {}'s other packets in this flow arrive with {}",
            c.role,
            ttl_phrase(word, e.ttl.unwrap_or(0))
        ),
        Basis::OtherFlows => format!(
            "{}'s own packets elsewhere in the capture ({} {}) arrive with {}",
            c.from_ip,
            e.count,
            if e.count == 1 {
                "flow"
            } else {
                "flows/packets"
            },
            ttl_phrase(word, e.ttl.unwrap_or(0))
        ),
        Basis::UserHops => format!(
            "you said {} is {} away (--hops)",
            c.from_ip,
            routers(e.hops)
        ),
        Basis::UserExpect => format!(
            "you said the servers are {} away (--expect-hops {})",
            routers(e.hops),
            e.hops
        ),
        _ => String::new(),
    }
}

/// How the IP IDs compare, when both are known and informative: `Some(true)` the RST's follows
/// the claimed sender's (same counter), `Some(false)` unrelated.
fn ip_id_relation(c: &Claim) -> Option<bool> {
    let (r, p) = (c.ip_id?, c.peer_ip_id?);
    if r == 0 || p == 0 || c.ip_version != 4 {
        return None; // 0: stacks that zero the ID on DF packets (Linux); says nothing
    }
    let fwd = r.wrapping_sub(p) & 0xffff;
    let back = p.wrapping_sub(r) & 0xffff;
    Some(fwd < 2048 || back < 256)
}

/// The verdict on one RST or ICMP error carrying `claim.from_ip`, an endpoint of the flow.
pub fn judge(c: &Claim, ev: &Evidence) -> Origin {
    let word = ttl_word(c.ip_version);
    let mut o = new_origin(c, "unknown");
    let Some(t) = c.ttl else {
        o.reason = format!(
            "the {word} of the {} from {} is not in the flow record, so its distance is unknown",
            c.what, c.from_ip
        );
        o.settle = Some(format!(
            "read its {word} in the capture (tshark -r CAPTURE -Y 'frame.number == {}' -T fields \
             -e ip.ttl -e ipv6.hlim) and compare it with the other packets from {}",
            c.frame, c.from_ip
        ));
        return o;
    };
    let (i, h) = (initial_ttl(t), hops(t));
    let pkt = format!(
        "{} from {} (the {}'s address) arrived with {}",
        c.what,
        c.from_ip,
        c.role,
        ttl_phrase(word, t)
    );

    let primary = ev.capture.as_ref().or(ev.user.as_ref());
    if let Some(e) = primary {
        o.basis = e.basis.as_str().to_string();
        o.expected_hops = Some(e.hops);
        o.expected_initial_ttl = e.initial;
        let said = expect_phrase(e, c, word);
        let from_capture = e.initial.is_some();
        let strong = if from_capture { "high" } else { "medium" };
        // Does the user's hint disagree with what the capture shows?
        let hint_note = match (&ev.capture, &ev.user) {
            (Some(cap), Some(u)) if cap.hops != u.hops => format!(
                " (your hint says {}, the capture shows {}: the capture wins)",
                routers(u.hops),
                routers(cap.hops)
            ),
            _ => String::new(),
        };
        let matches_main = e.initial.is_none_or(|ei| ei == i) && h == e.hops;
        let matches_other = e.others.iter().any(|&(oi, oh)| oi == i && oh == h);
        let min_hops = e
            .others
            .iter()
            .map(|&(_, oh)| oh)
            .chain(std::iter::once(e.hops))
            .min()
            .unwrap_or(e.hops);
        if matches_main || matches_other {
            o.origin = "endpoint".into();
            let mut conf = if matches_main { strong } else { "medium" };
            let mut idn = String::new();
            match ip_id_relation(c) {
                Some(true) => {
                    idn = format!(
                        "; its IP ID {} follows the {}'s {} (the same counter)",
                        c.ip_id.unwrap_or(0),
                        c.role,
                        c.peer_ip_id.unwrap_or(0)
                    );
                }
                Some(false) => {
                    conf = "medium";
                    idn = format!(
                        "; but its IP ID {} is unrelated to the {}'s {} (a stack with random IDs, \
                         or a box at the same distance)",
                        c.ip_id.unwrap_or(0),
                        c.role,
                        c.peer_ip_id.unwrap_or(0)
                    );
                }
                None => {}
            }
            let varies = if matches_main {
                String::new()
            } else {
                " (the address's TTLs vary; this matches some of them)".to_string()
            };
            o.confidence = Some(conf.into());
            o.reason = format!(
                "{pkt}, and {said}{varies}: the same distance{}, so the {} itself sent it{idn}{hint_note}",
                if from_capture {
                    " and initial value"
                } else {
                    ""
                },
                c.role
            );
            return o;
        }
        if h < min_hops {
            o.origin = "middlebox".into();
            o.confidence = Some(strong.into());
            let id_note = if ip_id_relation(c) == Some(true) {
                o.confidence = Some("medium".into());
                format!(
                    " (yet its IP ID {} follows the {}'s {}: check for NAT or a TTL-rewriting box)",
                    c.ip_id.unwrap_or(0),
                    c.role,
                    c.peer_ip_id.unwrap_or(0)
                )
            } else {
                String::new()
            };
            o.reason = format!(
                "{pkt}, but {said}: it came from fewer routers away than the {} can be, so a \
                 device {} forged it with the {}'s address{id_note}{hint_note}",
                c.role,
                position(h),
                c.role
            );
            return o;
        }
        if from_capture && h == e.hops && e.initial != Some(i) {
            o.origin = "middlebox".into();
            o.confidence = Some("medium".into());
            o.reason = format!(
                "{pkt}, and {said}: the same distance but a different initial {word} ({i} vs \
                 {}), so another IP stack at the {}'s distance sent it (a firewall or load \
                 balancer in front of it, or a host firewall that answers with its own {word}){hint_note}",
                e.initial.unwrap_or(0),
                c.role,
            );
            return o;
        }
        // Farther than the sender can be, or a different initial value farther away.
        let causes = if from_capture {
            format!(
                "a non-standard initial {word}, a route change, asymmetric routing, or a box \
                 that rewrites the {word}"
            )
        } else {
            format!(
                "the path may have more routers than you said (check with traceroute), or the \
                 sender uses a non-standard initial {word}"
            )
        };
        o.reason = format!(
            "{pkt}, but {said}: it matches neither the {} nor a device between (it looks {}), so \
             the evidence conflicts: {causes}{hint_note}",
            c.role,
            if h > e.hops {
                format!("farther away than the {}", c.role)
            } else {
                "like a different stack".to_string()
            }
        );
        o.settle = Some(format!(
            "capture on the {} side as well, or run a TCP traceroute to {} on the same port to see \
             which hop answers",
            c.role, c.from_ip
        ));
        return o;
    }

    if let Some((rh, rip)) = &ev.router_hops {
        if h <= *rh {
            o.origin = "middlebox".into();
            o.basis = Basis::IcmpPath.as_str().to_string();
            o.confidence = Some("medium".into());
            o.reason = format!(
                "{pkt}; router {rip} on the path to {} sent an ICMP error from {} away, so {} is \
                 farther than that, while this {} came from no farther than the router: a device \
                 {} sent it",
                c.from_ip,
                routers(*rh),
                c.from_ip,
                c.what,
                position(h)
            );
            return o;
        }
    }

    let prefix = if c.ip_version == 6 { "/64" } else { "/24" };
    let neighbour = match &ev.neighbour {
        Some((n, nh)) => format!(
            " {}, {n} (same {prefix}), is {} away: if they share a network, this {} came {}.",
            match (ev.neighbour_is_peer, c.role) {
                (false, _) => "A neighbour",
                (true, "server") => "The client",
                (true, _) => "The server",
            },
            routers(*nh),
            c.what,
            match h.cmp(nh) {
                std::cmp::Ordering::Equal => format!("from the {}'s distance", c.role),
                std::cmp::Ordering::Less => format!("from nearer ({})", position(h)),
                std::cmp::Ordering::Greater => "from farther away than that network".to_string(),
            }
        ),
        None => String::new(),
    };
    let local = match (&ev.other_subnet_local, h) {
        (Some(peer), 0) => format!(
            " It came from 0 routers away, yet {} is not in the same {prefix} as {peer} (which is \
             at the capture point): unless they share a larger LAN, a device at hop 1 sent it.",
            c.from_ip,
        ),
        _ => String::new(),
    };
    // The initial TTL's lean, in words and as `lean` for scripts; a clue that the RST came from
    // nearer than the claimed sender cancels the lean towards it.
    let nearer = !local.is_empty() || ev.neighbour.as_ref().is_some_and(|(_, nh)| h < *nh);
    let (lean, lean_text) = match i {
        128 if !nearer => (
            Some("endpoint"),
            format!(
                " Initial {word} 128 is the Windows default, rarely used by routers and firewalls \
                 (they mostly start at 64 or 255), which leans towards the {} itself.",
                c.role
            ),
        ),
        128 => (
            None,
            format!(
                " Initial {word} 128 is the Windows default, rarely used by routers and firewalls, \
                 but the next clue points nearer than the {}.",
                c.role
            ),
        ),
        255 => (
            Some("middlebox"),
            format!(
                " Initial {word} 255 is typical of routers and firewalls, which leans towards a \
                 middlebox (but some hosts use 255 too)."
            ),
        ),
        _ => (None, String::new()),
    };
    o.lean = lean.map(str::to_string);
    o.reason = format!(
        "{pkt}. Nothing else in the input shows how far {} is, so the capture cannot tell the {} \
         from a device on the path.{lean_text}{neighbour}{local}",
        c.from_ip, c.role
    );
    o.settle = Some(format!(
        "run with --expect-hops N or --hops {}=N (N = routers between the capture point and {}), \
         or capture a successful connection to {} (any port)",
        c.from_ip, c.from_ip, c.from_ip
    ));
    o
}

/// The verdict on an ICMP error sent from an address that is not an endpoint of the flow.
/// `dest` names the destination of the packet the error quotes ("server" or "client"), `server`
/// its distance when known.
pub fn judge_router(c: &Claim, dest: &str, server: Option<&Expect>) -> Origin {
    let word = ttl_word(c.ip_version);
    let mut o = new_origin(c, "middlebox");
    o.basis = Basis::SourceAddress.as_str().to_string();
    let Some(t) = c.ttl else {
        o.confidence = Some("high".into());
        o.reason = format!(
            "{} came from {}, which is not an endpoint of the flow: a router or firewall on the \
             path sent it (its {word} is not in the flow record, so its hop is unknown)",
            c.what, c.from_ip
        );
        return o;
    };
    let h = hops(t);
    o.confidence = Some("high".into());
    let mut extra = String::new();
    if let Some(s) = server {
        o.expected_hops = Some(s.hops);
        o.expected_initial_ttl = s.initial;
        if h >= s.hops && s.initial.is_some() {
            o.confidence = Some("medium".into());
            extra = format!(
                " (odd: the {dest} itself is {} away, so this router looks no closer than the \
                 {dest}: asymmetric routing or a non-standard initial {word})",
                routers(s.hops)
            );
        } else {
            extra = format!(", nearer than the {dest} ({} away)", routers(s.hops));
        }
    }
    o.reason = format!(
        "{} came from {}, which is not an endpoint of the flow, with {}: a router or firewall \
         {} sent it{extra}",
        c.what,
        c.from_ip,
        ttl_phrase(word, t),
        position(h)
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_rule() {
        assert_eq!(initial_ttl(126), 128);
        assert_eq!(hops(126), 2);
        assert_eq!(initial_ttl(128), 128);
        assert_eq!(initial_ttl(129), 255);
        assert_eq!(hops(250), 5);
        assert_eq!(initial_ttl(64), 64);
        assert_eq!(initial_ttl(65), 128);
        assert_eq!(initial_ttl(63), 64);
        assert_eq!(initial_ttl(33), 64);
        assert_eq!(initial_ttl(32), 32);
        assert_eq!(initial_ttl(1), 32);
        assert_eq!(initial_ttl(0), 32);
        assert_eq!(hops(0), 32);
        assert_eq!(initial_ttl(255), 255);
        assert_eq!(hops(255), 0);
    }

    fn flow_with(server_ttl: (u8, u8, u8), synack: bool, rst: Option<(&str, u8, u32)>) -> Flow {
        let mut f = Flow {
            synack_frame: synack.then_some(2),
            ..Default::default()
        };
        f.attempts.syn_count = 1;
        f.client.packets = 2;
        f.client.ttl = Some(tcpwhy_common::records::flow::TtlStats {
            first: 64,
            min: 64,
            max: 64,
        });
        f.server.packets = u64::from(synack) + rst.map_or(0, |r| u64::from(r.2));
        f.server.ttl = Some(tcpwhy_common::records::flow::TtlStats {
            first: server_ttl.0,
            min: server_ttl.1,
            max: server_ttl.2,
        });
        f.rst = rst.map(|(from, ttl, count)| tcpwhy_common::records::flow::Rst {
            from: from.into(),
            ttl: Some(ttl),
            count,
            ..Default::default()
        });
        f
    }

    #[test]
    fn non_rst_ttls_leave_the_rsts_out() {
        // Refused: the server sent only the RST.
        let f = flow_with((126, 126, 126), false, Some(("server", 126, 1)));
        assert_eq!(non_rst_ttls(&f, Which::Server), None);
        assert_eq!(non_rst_ttls(&f, Which::Client), Some((64, vec![64])));
        // SYN-ACK 126 then one forged RST 64: 64 is the RST's.
        let f = flow_with((126, 64, 126), true, Some(("server", 64, 1)));
        assert_eq!(non_rst_ttls(&f, Which::Server), Some((126, vec![126])));
        // SYN-ACK 126, a route change to 125, one RST 126: both non-RST values kept.
        let f = flow_with((126, 125, 126), true, Some(("server", 126, 1)));
        assert_eq!(non_rst_ttls(&f, Which::Server), Some((126, vec![125, 126])));
        // Two RSTs (126 first, then a forged 64): only the SYN-ACK's value.
        let f = flow_with((126, 64, 126), true, Some(("server", 126, 2)));
        assert_eq!(non_rst_ttls(&f, Which::Server), Some((126, vec![126])));
        // The client reset first, the server answered with RSTs only: none for the server.
        let mut f = flow_with((60, 60, 60), false, Some(("client", 64, 3)));
        f.server.packets = 2;
        assert_eq!(non_rst_ttls(&f, Which::Server), None);
        // No RST at all: the whole range.
        let f = flow_with((126, 120, 126), true, None);
        assert_eq!(non_rst_ttls(&f, Which::Server), Some((126, vec![120, 126])));
        assert!(side_hops(&f, Which::Server).unwrap().varies);
    }

    #[test]
    fn os_hints_only_where_meaningful() {
        assert_eq!(os_hint(64), Some("linux/macos/unix"));
        assert_eq!(os_hint(128), Some("windows"));
        assert_eq!(os_hint(255), Some("network device"));
        assert_eq!(os_hint(32), None);
    }

    fn claim(ttl: u8) -> Claim<'static> {
        Claim {
            what: "RST".into(),
            frame: 3,
            from_ip: "172.16.0.1",
            role: "server",
            ip_version: 4,
            ttl: Some(ttl),
            ip_id: Some(14341),
            peer_ip_id: None,
        }
    }

    fn cap(basis: Basis, ttl: u8) -> Expect {
        Expect {
            basis,
            ttl: Some(ttl),
            initial: Some(initial_ttl(ttl)),
            hops: hops(ttl),
            others: vec![],
            count: 1,
        }
    }

    #[test]
    fn seed_case_unknown_without_evidence_endpoint_with_hint() {
        let o = judge(&claim(126), &Evidence::default());
        assert_eq!(o.origin, "unknown");
        assert_eq!(o.basis, "none");
        assert_eq!(
            (o.initial_ttl, o.hops, o.at_hop),
            (Some(128), Some(2), Some(3))
        );
        assert!(
            o.reason.contains("leans towards the server"),
            "{}",
            o.reason
        );
        assert!(o.settle.unwrap().contains("--expect-hops"));
        assert_eq!(o.confidence, None);

        let ev = Evidence {
            user: Some(Expect::user(Basis::UserExpect, 2)),
            ..Default::default()
        };
        let o = judge(&claim(126), &ev);
        assert_eq!(o.origin, "endpoint");
        assert_eq!(o.basis, "user_expect");
        assert_eq!(o.confidence.as_deref(), Some("medium"));
        assert_eq!(o.expected_hops, Some(2));
        assert!(o.reason.contains("server itself"), "{}", o.reason);
    }

    #[test]
    fn firewall_one_hop_from_client_is_middlebox_at_hop_1() {
        // Server at 2 routers with initial 128 (SYN-ACK TTL 126) elsewhere; RST TTL 64.
        let ev = Evidence {
            capture: Some(cap(Basis::OtherFlows, 126)),
            ..Default::default()
        };
        let o = judge(&claim(64), &ev);
        assert_eq!(o.origin, "middlebox");
        assert_eq!(o.hops, Some(0));
        assert_eq!(o.at_hop, Some(1));
        assert_eq!(o.confidence.as_deref(), Some("high"));
        assert_eq!(o.expected_hops, Some(2));
        // Same initial TTL, fewer hops: still a middlebox.
        let ev = Evidence {
            capture: Some(cap(Basis::SameFlow, 62)),
            ..Default::default()
        };
        let o = judge(&claim(63), &ev);
        assert_eq!((o.origin.as_str(), o.at_hop), ("middlebox", Some(2)));
    }

    #[test]
    fn server_two_hops_away_is_endpoint() {
        let ev = Evidence {
            capture: Some(cap(Basis::SameFlow, 126)),
            ..Default::default()
        };
        let o = judge(&claim(126), &ev);
        assert_eq!(o.origin, "endpoint");
        assert_eq!(o.basis, "same_flow");
        assert_eq!(o.confidence.as_deref(), Some("high"));
    }

    #[test]
    fn conflicting_evidence_is_unknown_with_a_way_to_settle_it() {
        // Server 126 (128, 2 routers); RST TTL 100: 128 - 28 routers: farther than the server.
        let ev = Evidence {
            capture: Some(cap(Basis::OtherFlows, 126)),
            ..Default::default()
        };
        let o = judge(&claim(100), &ev);
        assert_eq!(o.origin, "unknown");
        assert!(o.reason.contains("conflicts"), "{}", o.reason);
        assert!(o.settle.is_some());
        // Same distance, other initial TTL: another stack at the server's distance.
        let o = judge(&claim(62), &ev);
        assert_eq!(o.origin, "middlebox");
        assert_eq!(o.confidence.as_deref(), Some("medium"));
        // The user's hint disagrees with the capture: the capture wins, and it is said.
        let ev = Evidence {
            capture: Some(cap(Basis::OtherFlows, 126)),
            user: Some(Expect::user(Basis::UserExpect, 3)),
            ..Default::default()
        };
        let o = judge(&claim(126), &ev);
        assert_eq!(o.origin, "endpoint");
        assert!(o.reason.contains("the capture wins"), "{}", o.reason);
        // A hint that says the server is nearer than the RST: conflict.
        let ev = Evidence {
            user: Some(Expect::user(Basis::UserHops, 1)),
            ..Default::default()
        };
        assert_eq!(judge(&claim(126), &ev).origin, "unknown");
    }

    #[test]
    fn ip_id_supports_or_weakens() {
        let ev = Evidence {
            capture: Some(cap(Basis::SameFlow, 126)),
            ..Default::default()
        };
        let mut c = claim(126);
        c.peer_ip_id = Some(14339);
        let o = judge(&c, &ev);
        assert_eq!(o.confidence.as_deref(), Some("high"));
        assert!(o.reason.contains("same counter"));
        c.peer_ip_id = Some(40000);
        let o = judge(&c, &ev);
        assert_eq!(o.origin, "endpoint");
        assert_eq!(o.confidence.as_deref(), Some("medium"));
        c.peer_ip_id = Some(0);
        assert_eq!(judge(&c, &ev).confidence.as_deref(), Some("high"));
    }

    #[test]
    fn router_on_the_path_bounds_the_server_distance() {
        let ev = Evidence {
            router_hops: Some((1, "10.0.12.2".into())),
            ..Default::default()
        };
        let o = judge(&claim(64), &ev);
        assert_eq!(o.origin, "middlebox");
        assert_eq!(o.basis, "icmp_path");
        assert_eq!(judge(&claim(126), &ev).origin, "unknown");
    }

    #[test]
    fn a_neighbour_is_mentioned_but_decides_nothing() {
        let ev = Evidence {
            neighbour: Some(("172.16.0.9".into(), 2)),
            ..Default::default()
        };
        let o = judge(&claim(126), &ev);
        assert_eq!(o.origin, "unknown");
        assert!(o.reason.contains("172.16.0.9 (same /24)"), "{}", o.reason);
        assert!(
            o.reason.contains("from the server's distance"),
            "{}",
            o.reason
        );
        assert!(judge(&claim(64), &ev).reason.contains("from nearer"));
    }

    #[test]
    fn without_evidence_the_initial_ttl_gives_a_lean_not_a_verdict() {
        let none = Evidence::default();
        let lean = |ttl: u8, ev: &Evidence| {
            let o = judge(&claim(ttl), ev);
            assert_eq!(o.origin, "unknown");
            assert_eq!(o.confidence, None);
            o.lean
        };
        assert_eq!(lean(126, &none).as_deref(), Some("endpoint"));
        assert_eq!(lean(253, &none).as_deref(), Some("middlebox"));
        assert_eq!(
            lean(62, &none),
            None,
            "64 is hosts' and routers' default alike"
        );
        // A neighbour farther than the RST points nearer than the server: no endpoint lean.
        let nearer = Evidence {
            neighbour: Some(("172.16.0.9".into(), 5)),
            ..Default::default()
        };
        assert_eq!(lean(126, &nearer), None);
        let o = judge(&claim(126), &nearer);
        assert!(
            o.reason
                .contains("but the next clue points nearer than the server")
                && !o.reason.contains("leans towards the server"),
            "{}",
            o.reason
        );
        // Decided verdicts carry no lean.
        let same = Evidence {
            capture: Some(cap(Basis::OtherFlows, 126)),
            ..Default::default()
        };
        let o = judge(&claim(126), &same);
        assert_eq!((o.origin.as_str(), o.lean), ("endpoint", None));
    }

    #[test]
    fn a_neighbour_that_is_the_flows_other_end_is_named_so() {
        let ev = Evidence {
            neighbour: Some(("10.0.0.1".into(), 0)),
            neighbour_is_peer: true,
            ..Default::default()
        };
        let o = judge(&claim(126), &ev);
        assert!(
            o.reason
                .contains("The client, 10.0.0.1 (same /24), is 0 routers away"),
            "{}",
            o.reason
        );
        assert!(!o.reason.contains("A neighbour"), "{}", o.reason);
    }

    #[test]
    fn a_rst_without_ttl_is_unknown() {
        let mut c = claim(126);
        c.ttl = None;
        let o = judge(&c, &Evidence::default());
        assert_eq!(
            (o.origin.as_str(), o.hops, o.at_hop),
            ("unknown", None, None)
        );
        assert!(o.settle.unwrap().contains("frame.number == 3"));
    }

    #[test]
    fn zero_hops_from_another_subnet_is_mentioned() {
        let ev = Evidence {
            other_subnet_local: Some("10.0.1.2".into()),
            ..Default::default()
        };
        let o = judge(&claim(64), &ev);
        assert_eq!(o.origin, "unknown");
        assert!(
            o.reason.contains("a device at hop 1 sent it"),
            "{}",
            o.reason
        );
        assert!(!judge(&claim(126), &ev).reason.contains("hop 1 sent"));
    }

    #[test]
    fn ipv6_hop_limits() {
        let mut c = claim(62);
        c.ip_version = 6;
        c.from_ip = "fd00:2::2";
        let o = judge(&c, &Evidence::default());
        assert_eq!((o.initial_ttl, o.hops), (Some(64), Some(2)));
        assert!(o.reason.contains("hop limit 62"), "{}", o.reason);
        let ev = Evidence {
            capture: Some(cap(Basis::SameFlow, 62)),
            ..Default::default()
        };
        assert_eq!(judge(&c, &ev).origin, "endpoint");
        c.ttl = Some(64);
        assert_eq!(judge(&c, &ev).origin, "middlebox");
    }

    #[test]
    fn icmp_from_a_router() {
        let c = Claim {
            what: "ICMP port unreachable".into(),
            frame: 9,
            from_ip: "10.0.12.2",
            role: "router",
            ip_version: 4,
            ttl: Some(63),
            ip_id: None,
            peer_ip_id: None,
        };
        let o = judge_router(&c, "server", None);
        assert_eq!(
            (o.origin.as_str(), o.hops, o.at_hop),
            ("middlebox", Some(1), Some(2))
        );
        assert_eq!(o.basis, "source_address");
        let s = cap(Basis::OtherFlows, 126);
        assert_eq!(
            judge_router(&c, "server", Some(&s)).confidence.as_deref(),
            Some("high")
        );
        let s = cap(Basis::OtherFlows, 64);
        assert_eq!(
            judge_router(&c, "server", Some(&s)).confidence.as_deref(),
            Some("medium")
        );
    }
}

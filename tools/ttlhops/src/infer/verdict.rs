//! The verdict on who sent a RST or an ICMP error: the claimed sender's expected distance
//! (`Expect`, from this flow, other flows or the user) against the packet's own TTL, with the
//! sentence that explains it.

use tcpwhy_common::records::hops::Origin;

use super::{hops, initial_ttl, routers, ttl_word};

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

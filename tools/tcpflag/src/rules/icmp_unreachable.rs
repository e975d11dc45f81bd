//! `icmp_unreachable`: the SYN drew an ICMP/ICMPv6 destination unreachable or time exceeded.

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::hops::Origin;
use tcpwhy_common::records::{Finding, Severity};

use super::{base, conn, ev, ev_origin, icmp_origin, set_error, set_frames, syn_frames};
use crate::socket_errors::{Sock, icmp_error, icmp_words};
use crate::wording::{frames, plural};

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
            format!(
                ", with {}",
                crate::wording::routers_between(*h as u64, "it")
            )
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
    set_frames(&mut fd, fr);
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
    ev_origin(&mut fd, "icmp_origin", o);
    Some(fd)
}

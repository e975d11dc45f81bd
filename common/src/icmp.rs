//! Plain words for ICMP and ICMPv6 error types and codes, written once for every tool: tcpflows
//! puts them in a flow's `icmp[].description`, tcpflag in its summaries when the flow record
//! carries none.
//!
//! The wording follows tshark's (Wireshark's `packet-icmp.c` / `packet-icmpv6.c` value strings,
//! lower-cased): "network unreachable" (RFC 792 says "net unreachable"; tcpflows used that before
//! this table was shared, tcpflag already said "network"), "no route to destination" for ICMPv6.

/// Words for an ICMP (`v6` false) or ICMPv6 error of type `t`, code `c`; `None` for a type this
/// table does not name (callers pick their own fallback).
pub fn description(v6: bool, t: u8, c: u8) -> Option<&'static str> {
    let s = if v6 {
        match (t, c) {
            (1, 0) => "no route to destination",
            (1, 1) => "communication administratively prohibited",
            (1, 2) => "beyond scope of source address",
            (1, 3) => "address unreachable",
            (1, 4) => "port unreachable",
            (1, 5) => "source address failed ingress/egress policy",
            (1, 6) => "reject route to destination",
            (1, _) => "destination unreachable",
            (2, _) => "packet too big",
            (3, 0) => "hop limit exceeded in transit",
            (3, 1) => "fragment reassembly time exceeded",
            (3, _) => "time exceeded",
            (4, _) => "parameter problem",
            _ => return None,
        }
    } else {
        match (t, c) {
            (3, 0) => "network unreachable",
            (3, 1) => "host unreachable",
            (3, 2) => "protocol unreachable",
            (3, 3) => "port unreachable",
            (3, 4) => "fragmentation needed and DF set",
            (3, 5) => "source route failed",
            (3, 6) => "destination network unknown",
            (3, 7) => "destination host unknown",
            (3, 8) => "source host isolated",
            (3, 9) => "network administratively prohibited",
            (3, 10) => "host administratively prohibited",
            (3, 11) => "network unreachable for TOS",
            (3, 12) => "host unreachable for TOS",
            (3, 13) => "communication administratively prohibited",
            (3, 14) => "host precedence violation",
            (3, 15) => "precedence cutoff in effect",
            (3, _) => "destination unreachable",
            (4, _) => "source quench",
            (5, _) => "redirect",
            (11, 0) => "TTL exceeded in transit",
            (11, 1) => "fragment reassembly time exceeded",
            (11, _) => "time exceeded",
            (12, _) => "parameter problem",
            _ => return None,
        }
    };
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::description;

    #[test]
    fn tshark_wording() {
        assert_eq!(description(false, 3, 0), Some("network unreachable"));
        assert_eq!(description(false, 3, 3), Some("port unreachable"));
        assert_eq!(
            description(false, 3, 13),
            Some("communication administratively prohibited")
        );
        assert_eq!(description(false, 3, 99), Some("destination unreachable"));
        assert_eq!(description(false, 11, 0), Some("TTL exceeded in transit"));
        assert_eq!(description(true, 1, 0), Some("no route to destination"));
        assert_eq!(description(true, 1, 4), Some("port unreachable"));
        assert_eq!(
            description(true, 3, 0),
            Some("hop limit exceeded in transit")
        );
        assert_eq!(description(false, 8, 0), None, "echo request is no error");
        assert_eq!(description(true, 128, 0), None);
    }
}

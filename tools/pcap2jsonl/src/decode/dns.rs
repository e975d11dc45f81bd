//! DNS over UDP and TCP (port 53).

use super::Dec;

pub(crate) fn is_dns_udp(sport: u16, dport: u16) -> bool {
    sport == 53 || dport == 53
}

pub(crate) fn decode_udp(_d: &mut Dec, _start: usize, _end: usize) {}

pub(crate) fn decode_tcp(_d: &mut Dec, _start: usize, _end: usize) {}

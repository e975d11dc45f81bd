//! The socket error each platform reports for a failure: Windows Winsock code, name and message
//! (as .NET's `SocketException` prints them) and the POSIX errno (as Linux reports it).

use tcpwhy_common::records::SocketError;

/// A known socket error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sock {
    /// RST answering the SYN (or ICMP port unreachable).
    Refused,
    /// Connect timed out: SYNs unanswered.
    TimedOut,
    /// RST on an established connection.
    Reset,
    /// Retransmissions of sent data timed out on an established connection.
    Aborted,
    HostUnreachable,
    NetUnreachable,
    /// ICMPv6 administratively prohibited / reject route (Linux EACCES).
    AccessDenied,
    /// Keep-alives unanswered: the stack declared the connection dead.
    KeepAliveFailed,
    /// The application's own read timeout (SO_RCVTIMEO) expired waiting for an answer.
    ReadTimeout,
    /// No ephemeral port left for connect() (Windows WSAENOBUFS, Linux EADDRNOTAVAIL).
    NoBuffers,
    /// The local address and port are in use (a bind to a port the stack still holds).
    AddrInUse,
}

/// Winsock's message for 10060 WSAETIMEDOUT: a connect that timed out and a read that did.
const WSAETIMEDOUT_MESSAGE: &str = "A connection attempt failed because the connected party did \
    not properly respond after a period of time, or established connection failed because \
    connected host has failed to respond.";

impl Sock {
    /// Windows code, Windows name, Windows message, POSIX errno.
    pub fn parts(self) -> (u32, &'static str, &'static str, &'static str) {
        match self {
            Sock::Refused => (
                10061,
                "WSAECONNREFUSED",
                "No connection could be made because the target machine actively refused it.",
                "ECONNREFUSED",
            ),
            Sock::TimedOut => (10060, "WSAETIMEDOUT", WSAETIMEDOUT_MESSAGE, "ETIMEDOUT"),
            Sock::Reset => (
                10054,
                "WSAECONNRESET",
                "An existing connection was forcibly closed by the remote host.",
                "ECONNRESET",
            ),
            Sock::Aborted => (
                10053,
                "WSAECONNABORTED",
                "An established connection was aborted by the software in your host machine.",
                "ETIMEDOUT",
            ),
            Sock::HostUnreachable => (
                10065,
                "WSAEHOSTUNREACH",
                "A socket operation was attempted to an unreachable host.",
                "EHOSTUNREACH",
            ),
            Sock::NetUnreachable => (
                10051,
                "WSAENETUNREACH",
                "A socket operation was attempted to an unreachable network.",
                "ENETUNREACH",
            ),
            Sock::AccessDenied => (
                10065,
                "WSAEHOSTUNREACH",
                "A socket operation was attempted to an unreachable host.",
                "EACCES",
            ),
            Sock::KeepAliveFailed => (
                10052,
                "WSAENETRESET",
                "The connection has been broken due to keep-alive activity detecting a failure \
                 while the operation was in progress.",
                "ETIMEDOUT",
            ),
            Sock::ReadTimeout => (10060, "WSAETIMEDOUT", WSAETIMEDOUT_MESSAGE, "EAGAIN"),
            Sock::NoBuffers => (
                10055,
                "WSAENOBUFS",
                "An operation on a socket could not be performed because the system lacked \
                 sufficient buffer space or because a queue was full.",
                "EADDRNOTAVAIL",
            ),
            Sock::AddrInUse => (
                10048,
                "WSAEADDRINUSE",
                "Only one usage of each socket address (protocol/network address/port) is \
                 normally permitted.",
                "EADDRINUSE",
            ),
        }
    }

    /// The record form.
    pub fn error(self) -> SocketError {
        let (code, name, msg, posix) = self.parts();
        SocketError {
            windows_code: Some(code),
            windows_name: Some(name.to_string()),
            posix: Some(posix.to_string()),
            windows_message: Some(msg.to_string()),
        }
    }

    /// "Windows 10061 WSAECONNREFUSED, POSIX ECONNREFUSED".
    pub fn short(self) -> String {
        let (code, name, _, posix) = self.parts();
        format!("Windows {code} {name}, POSIX {posix}")
    }
}

/// The socket error a connect() sees when its SYN draws this ICMP/ICMPv6 error, per the Linux
/// tables (net/ipv4/icmp.c `icmp_err_convert`, net/ipv6/icmp.c `icmpv6_err_convert`) and the
/// matching Winsock code. `None` for ICMP messages that do not abort a connection attempt
/// (packet too big / fragmentation needed, redirects, parameter problems).
pub fn icmp_error(proto: &str, icmp_type: u8, code: u8) -> Option<Sock> {
    if proto == "icmpv6" {
        return match (icmp_type, code) {
            (1, 0) => Some(Sock::NetUnreachable),
            (1, 1) | (1, 5) | (1, 6) => Some(Sock::AccessDenied),
            (1, 2) | (1, 3) => Some(Sock::HostUnreachable),
            (1, 4) => Some(Sock::Refused),
            (1, _) => Some(Sock::HostUnreachable),
            (3, _) => Some(Sock::HostUnreachable),
            _ => None,
        };
    }
    match (icmp_type, code) {
        (3, 0) | (3, 6) | (3, 9) | (3, 11) => Some(Sock::NetUnreachable),
        (3, 3) => Some(Sock::Refused),
        (3, 4) => None,
        (3, 2) | (3, 5) => None,
        (3, _) => Some(Sock::HostUnreachable),
        (11, _) => Some(Sock::HostUnreachable),
        _ => None,
    }
}

/// Plain words for an ICMP/ICMPv6 error, when tcpflows did not give any (the shared table,
/// `tcpwhy_common::icmp`; "ICMP error" / "ICMPv6 error" for a type it does not name).
pub fn icmp_words(proto: &str, icmp_type: u8, code: u8) -> &'static str {
    let v6 = proto == "icmpv6";
    tcpwhy_common::icmp::description(v6, icmp_type, code).unwrap_or(if v6 {
        "ICMPv6 error"
    } else {
        "ICMP error"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmp_codes_map_like_linux() {
        assert_eq!(icmp_error("icmp", 3, 1), Some(Sock::HostUnreachable));
        assert_eq!(icmp_error("icmp", 3, 0), Some(Sock::NetUnreachable));
        assert_eq!(icmp_error("icmp", 3, 3), Some(Sock::Refused));
        assert_eq!(icmp_error("icmp", 3, 13), Some(Sock::HostUnreachable));
        assert_eq!(
            icmp_error("icmp", 3, 4),
            None,
            "frag needed is PMTU, not a failure"
        );
        assert_eq!(icmp_error("icmp", 11, 0), Some(Sock::HostUnreachable));
        assert_eq!(icmp_error("icmpv6", 1, 4), Some(Sock::Refused));
        assert_eq!(icmp_error("icmpv6", 1, 3), Some(Sock::HostUnreachable));
        assert_eq!(icmp_error("icmpv6", 1, 1), Some(Sock::AccessDenied));
        assert_eq!(icmp_error("icmpv6", 2, 0), None, "packet too big");
    }

    #[test]
    fn codes_are_the_winsock_ones() {
        let e = Sock::Refused.error();
        assert_eq!(e.windows_code, Some(10061));
        assert_eq!(e.windows_name.as_deref(), Some("WSAECONNREFUSED"));
        assert_eq!(e.posix.as_deref(), Some("ECONNREFUSED"));
        assert_eq!(Sock::TimedOut.parts().0, 10060);
        assert_eq!(Sock::Reset.parts().0, 10054);
        assert_eq!(Sock::HostUnreachable.parts().0, 10065);
        assert_eq!(Sock::NetUnreachable.parts().0, 10051);
        assert_eq!(Sock::NoBuffers.parts().0, 10055);
        assert_eq!(Sock::NoBuffers.parts().3, "EADDRNOTAVAIL");
        assert_eq!(Sock::AddrInUse.parts().1, "WSAEADDRINUSE");
    }
}

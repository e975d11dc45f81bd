//! The name-resolution errors applications report for a failed lookup (Windows' WSA code,
//! glibc's EAI name and text, each runtime's exception) and the DNS response codes in words.

use serde_json::{Value, json};
use tcpwhy_common::records::SocketError;

/// The name-resolution errors applications report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dns {
    HostNotFound,
    TryAgain,
    /// FORMERR: glibc gives up (EAI_FAIL).
    NoRecovery,
    /// REFUSED / NOTIMP: Windows WSANO_RECOVERY, glibc tries the next server and reports
    /// EAI_AGAIN (seen in the lab's dns-refused capture).
    Refused,
    NoData,
}

impl Dns {
    /// Windows code, name, message; POSIX EAI name, gai_strerror text.
    pub fn parts(self) -> (u32, &'static str, &'static str, &'static str, &'static str) {
        match self {
            Dns::HostNotFound => (
                11001,
                "WSAHOST_NOT_FOUND",
                "No such host is known.",
                "EAI_NONAME",
                "Name or service not known",
            ),
            Dns::TryAgain => (
                11002,
                "WSATRY_AGAIN",
                "This is usually a temporary error during hostname resolution and means that the local server did not receive a response from an authoritative server.",
                "EAI_AGAIN",
                "Temporary failure in name resolution",
            ),
            Dns::NoRecovery => (
                11003,
                "WSANO_RECOVERY",
                "A non-recoverable error occurred during a database lookup.",
                "EAI_FAIL",
                "Non-recoverable failure in name resolution",
            ),
            Dns::Refused => (
                11003,
                "WSANO_RECOVERY",
                "A non-recoverable error occurred during a database lookup.",
                "EAI_AGAIN",
                "Temporary failure in name resolution",
            ),
            Dns::NoData => (
                11004,
                "WSANO_DATA",
                "The requested name is valid, but no data of the requested type was found.",
                "EAI_NODATA",
                "No address associated with hostname",
            ),
        }
    }

    /// The record form.
    pub fn error(self) -> SocketError {
        let (code, name, msg, posix, _) = self.parts();
        SocketError {
            windows_code: Some(code),
            windows_name: Some(name.to_string()),
            posix: Some(posix.to_string()),
            windows_message: Some(msg.to_string()),
        }
    }

    /// What .NET, Java, curl, Python and getaddrinfo print for `name`.
    pub fn messages(self, name: &str) -> Value {
        let (code, _, msg, _, text) = self.parts();
        let java = match self {
            Dns::HostNotFound | Dns::NoData => format!("java.net.UnknownHostException: {name}"),
            Dns::TryAgain | Dns::NoRecovery | Dns::Refused => {
                format!("java.net.UnknownHostException: {name}: {text}")
            }
        };
        let py_code = match self {
            Dns::HostNotFound => -2,
            Dns::TryAgain | Dns::Refused => -3,
            Dns::NoRecovery => -4,
            Dns::NoData => -5,
        };
        json!({
            "dotnet": format!("System.Net.Sockets.SocketException ({code}): {msg}"),
            "dotnet_http": format!("System.Net.Http.HttpRequestException: {msg} ({name}:443)"),
            "java": java,
            "curl": format!("curl: (6) Could not resolve host: {name}"),
            "python": format!("socket.gaierror: [Errno {py_code}] {text}"),
            "getaddrinfo": text,
        })
    }
}

pub(super) fn rcode_str(r: u8) -> &'static str {
    match r {
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        _ => "an error",
    }
}

pub(super) fn rcode_words(r: u8) -> &'static str {
    match r {
        1 => "format error: it could not parse the query",
        4 => "not implemented: it does not support this kind of query",
        5 => "query refused: it will not resolve names for this client",
        _ => "an error",
    }
}

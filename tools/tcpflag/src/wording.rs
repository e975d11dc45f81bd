//! Formatting helpers for summaries: endpoints, frame lists, durations, byte counts, and the
//! client-OS hint read from SYN retry intervals.

/// `10.0.0.1:80`, `[2001:db8::1]:80`.
pub fn endpoint(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// "frame 7" / "frames 7447, 7467, 7554" (at most `max` listed, then "…").
pub fn frames(list: &[u64], max: usize) -> String {
    match list.len() {
        0 => "no frame".to_string(),
        1 => format!("frame {}", list[0]),
        n => {
            let shown: Vec<String> = list.iter().take(max).map(ToString::to_string).collect();
            let more = if n > max { ", …" } else { "" };
            format!("frames {}{more}", shown.join(", "))
        }
    }
}

/// Like `frames` for a list that holds only the first (or last) of `total` frames: "frames 7,
/// 9, …" when some are left out.
pub fn frames_of(list: &[u64], total: usize) -> String {
    let s = frames(list, 8);
    if total > list.len() && list.len() <= 8 && !list.is_empty() {
        format!("{s}, …")
    } else {
        s
    }
}

/// "350 ms", "1.2 s", "63 s", "2.5 min".
pub fn secs(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "? s".to_string();
    }
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 10.0 {
        format!("{s:.1} s")
    } else if s < 120.0 {
        format!("{s:.0} s")
    } else {
        format!("{:.1} min", s / 60.0)
    }
}

/// Interval list in seconds, e.g. "1, 2, 4 s" (each rounded to 0.1 s, trailing .0 dropped).
pub fn intervals(iv: &[f64]) -> String {
    let parts: Vec<String> = iv
        .iter()
        .map(|x| {
            let r = (x * 10.0).round() / 10.0;
            if (r - r.round()).abs() < 1e-9 {
                format!("{}", r.round() as i64)
            } else {
                format!("{r:.1}")
            }
        })
        .collect();
    format!("{} s", parts.join(", "))
}

/// "1 byte", "1,234 bytes".
pub fn bytes(n: u64) -> String {
    if n == 1 {
        return "1 byte".to_string();
    }
    format!("{} bytes", thousands(n))
}

/// "12,345".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The one way findings state a distance: "no router between the capture point and the
/// sender", "2 routers between the capture point and the server" (docs/rules.md).
pub fn routers_between(n: u64, sender: &str) -> String {
    match n {
        0 => format!("no router between the capture point and {sender}"),
        1 => format!("1 router between the capture point and {sender}"),
        n => format!("{n} routers between the capture point and {sender}"),
    }
}

/// "1 SYN" / "3 SYNs".
pub fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn near(x: f64, want: f64) -> bool {
    (x - want).abs() <= want * 0.25 + 0.05
}

/// What the SYN retry intervals say about the client's TCP stack, as (short id, explanation).
/// Linux doubles from a 1 s initial RTO (1, 2, 4 … s); recent Linux with
/// `net.ipv4.tcp_syn_linear_timeouts` (default 4) and macOS retry every 1 s first, then double;
/// Windows retries twice, after 3 s then 6 s (InitialRto 3 s, TcpMaxConnectRetransmissions 2);
/// old Linux (< 3.1) doubled from 3 s.
pub fn syn_retry_os(iv: &[f64]) -> Option<(&'static str, &'static str)> {
    let first = *iv.first()?;
    let doubling_from = |start: f64| {
        let mut want = start;
        iv.iter().all(|&x| {
            let ok = near(x, want);
            want *= 2.0;
            ok
        })
    };
    if near(first, 3.0) && doubling_from(3.0) {
        return Some(if iv.len() <= 2 {
            (
                "windows",
                "Windows (retries after 3 s, then 6 s: InitialRto 3 s, TcpMaxConnectRetransmissions 2)",
            )
        } else {
            (
                "windows_or_old_linux",
                "Windows with more connect retries, or an old Linux (3 s initial RTO, doubling)",
            )
        });
    }
    if near(first, 1.0) {
        // Count the leading ~1 s intervals, then the rest must double.
        let ones = iv.iter().take_while(|&&x| near(x, 1.0)).count();
        let rest = &iv[ones..];
        let mut want = 2.0;
        let rest_doubles = rest.iter().all(|&x| {
            let ok = near(x, want);
            want *= 2.0;
            ok
        });
        if !rest_doubles {
            return None;
        }
        if ones >= 2 {
            return Some((
                "linux_linear",
                "recent Linux with net.ipv4.tcp_syn_linear_timeouts (1 s apart for the first \
                 retries, then doubling) or macOS",
            ));
        }
        if iv.len() == 1 {
            return Some(("linux", "Linux or macOS (first retry after 1 s)"));
        }
        return Some((
            "linux",
            "Linux (1, 2, 4 … s: doubling from a 1 s initial RTO)",
        ));
    }
    None
}

/// True when `iv` looks like Windows retrying a refused connect (two retries about 0.5 s apart).
pub fn windows_refused_retries(iv: &[f64]) -> bool {
    iv.len() == 2 && iv.iter().all(|&x| (0.3..=1.2).contains(&x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(endpoint("10.0.0.1", 80), "10.0.0.1:80");
        assert_eq!(endpoint("2001:db8::1", 80), "[2001:db8::1]:80");
        assert_eq!(frames(&[7447, 7467, 7554], 8), "frames 7447, 7467, 7554");
        assert_eq!(frames(&[3], 8), "frame 3");
        assert_eq!(frames(&[1, 2, 3], 2), "frames 1, 2, …");
        assert_eq!(secs(0.35), "350 ms");
        assert_eq!(secs(1.23), "1.2 s");
        assert_eq!(secs(63.0), "63 s");
        assert_eq!(intervals(&[1.0, 2.0, 4.01]), "1, 2, 4 s");
        assert_eq!(intervals(&[0.52, 3.0]), "0.5, 3 s");
        assert_eq!(bytes(1234567), "1,234,567 bytes");
        assert_eq!(bytes(1), "1 byte");
        assert_eq!(bytes(123), "123 bytes");
    }

    #[test]
    fn os_hints_from_syn_retries() {
        assert_eq!(
            syn_retry_os(&[1.0, 2.0, 4.0, 8.0, 16.0]).unwrap().0,
            "linux"
        );
        assert_eq!(syn_retry_os(&[1.02, 2.01]).unwrap().0, "linux");
        assert_eq!(syn_retry_os(&[3.0, 6.0]).unwrap().0, "windows");
        assert_eq!(syn_retry_os(&[3.0]).unwrap().0, "windows");
        assert_eq!(
            syn_retry_os(&[3.0, 6.0, 12.0]).unwrap().0,
            "windows_or_old_linux"
        );
        assert_eq!(
            syn_retry_os(&[1.0, 1.0, 1.0, 1.0, 2.0, 4.0]).unwrap().0,
            "linux_linear"
        );
        assert_eq!(syn_retry_os(&[0.2, 0.4]), None);
        assert_eq!(syn_retry_os(&[1.0, 5.0]), None);
        assert_eq!(syn_retry_os(&[]), None);
        assert!(windows_refused_retries(&[0.5, 0.5]));
        assert!(!windows_refused_retries(&[1.0, 2.0, 4.0]));
    }
}

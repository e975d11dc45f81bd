//! `zero_window_stall`: the receive window closed mid-transfer.

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{
    Config, base, closing, conn, ev, ip_of, peer_of, rst_frames, set_error, set_frames, side_of,
    zw_evidence,
};
use crate::socket_errors::Sock;
use crate::wording::{plural, secs};

/// The receive window closed mid-transfer. With `primary`, only stalls that did not recover and
/// ended the connection (error/warning); without, only recovered or unrecovered stalls that are
/// not the primary explanation (info/warning).
pub fn zero_window_stall(f: &Flow, cfg: &Config, primary: bool) -> Option<Finding> {
    let (recv, z) = [
        ("server", &f.server.zero_window),
        ("client", &f.client.zero_window),
    ]
    .into_iter()
    .filter_map(|(n, z)| z.as_ref().map(|z| (n, z)))
    .filter(|(_, z)| !z.in_handshake)
    .max_by(|a, b| a.1.longest_stall.total_cmp(&b.1.longest_stall))?;
    let reset = f.rst.is_some() && !closing(f);
    let stalled_to_death = !z.reopened && (reset || f.end == "timeout");
    if primary != stalled_to_death {
        return None;
    }
    let stall = if z.reopened {
        z.longest_stall
    } else {
        z.longest_stall.max(f.last_ts - z.first_ts)
    };
    if !stalled_to_death && stall < cfg.min_stall {
        return None;
    }
    let severity = if stalled_to_death {
        Severity::Error
    } else if !z.reopened || stall >= cfg.stall_warning {
        Severity::Warning
    } else {
        Severity::Info
    };
    let sender = peer_of(recv);
    let mut fd = base(f, "zero_window_stall", severity);
    let mut fr = vec![z.first_frame];
    fr.extend(&z.probe_frames);
    if let Some(r) = z.reopen_frame {
        fr.push(r);
    }
    if stalled_to_death {
        fr.extend(rst_frames(f));
    }
    set_frames(&mut fd, fr);
    fd.ts = Some(z.first_ts);
    fd.origin = Some(recv.to_string());
    let probes = if z.probes > 0 {
        format!(
            ", {} from the {sender}",
            plural(z.probes as u64, "zero-window probe", "zero-window probes")
        )
    } else {
        String::new()
    };
    let ending = if z.reopened {
        format!(
            "before it reopened{}",
            z.reopen_frame
                .map(|r| format!(" (frame {r})"))
                .unwrap_or_default()
        )
    } else if let (true, Some(r)) = (reset, &f.rst) {
        format!(
            "and never reopened: the {} reset the connection (frame {})",
            r.from, r.frame
        )
    } else if f.end == "capture_end" {
        "and was still closed at the end of the capture".to_string()
    } else {
        "and never reopened before the connection timed out".to_string()
    };
    fd.summary = format!(
        "{}: the receive window of the {recv} {} closed at frame {} and stayed closed for {} ({}{probes}) {ending}",
        conn(f),
        ip_of(f, recv),
        z.first_frame,
        secs(stall),
        plural(
            z.count as u64,
            "zero-window segment",
            "zero-window segments"
        ),
    );
    if stalled_to_death {
        let by_receiver = f.rst.as_ref().is_some_and(|r| r.from == recv);
        set_error(
            &mut fd,
            if by_receiver || f.rst.is_some() {
                Sock::Reset
            } else {
                Sock::Aborted
            },
        );
    }
    fd.next_step = format!(
        "the application on {} stopped reading from its socket: check its CPU, thread pool, locks or \
         GC pauses at that time and the socket's receive queue (`ss -tmi` Recv-Q on Linux, `netstat \
         -ano` on Windows); a receiver that never reopens may be hung",
        ip_of(f, recv)
    );
    zw_evidence(&mut fd, recv, z);
    ev(&mut fd, "stall", stall);
    ev(&mut fd, "sender_bytes", side_of(f, sender).bytes);
    ev(&mut fd, "end", f.end.clone());
    Some(fd)
}

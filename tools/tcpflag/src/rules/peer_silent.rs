//! peer_silent: one side kept probing an idle connection with TCP keep-alives and the peer
//! answered none of them — the peer or the path to it died while the connection was idle.

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{
    base, conn, ev, intervals_of, ip_of, peer_of, rst_frames, set_error, set_frames, side_of,
    sides_with,
};
use crate::socket_errors::Sock;
use crate::wording::{frames_of, intervals, plural, secs};

/// Unanswered keep-alives needed: one or two can be lost (or the capture ends just before the
/// answer); three in a row at the keep-alive interval mean the peer is not there.
pub const MIN_KEEPALIVES: u32 = 3;

pub fn peer_silent(f: &Flow) -> Option<Finding> {
    if !(f.established || f.midstream) {
        return None;
    }
    let (who, st) = sides_with(f, |s| s.stuck.as_ref())
        .filter(|(_, s)| s.keep_alives >= MIN_KEEPALIVES)
        .max_by_key(|(_, s)| s.keep_alives)?;
    let peer = peer_of(who);
    let p = side_of(f, peer);
    if p.packets == 0 {
        return None;
    }
    // Still probing at the end of the capture, or the prober's own stack gave up with a RST.
    let gave_up = match &f.rst {
        None => false,
        Some(r) if r.from == who => true,
        Some(_) => return None,
    };
    if !gave_up && f.end != "capture_end" && f.end != "timeout" {
        return None;
    }
    let (first, last) = (st.keep_alive_ts.first()?, st.keep_alive_ts.last()?);
    let iv = intervals_of(&st.keep_alive_ts);
    let mut fd = base(f, "peer_silent", Severity::Error);
    let mut fr: Vec<u64> = st.keep_alive_frames.clone();
    if let Some(l) = p.last_frame {
        fr.push(l);
    }
    if gave_up {
        fr.extend(rst_frames(f));
    }
    set_frames(&mut fd, fr);
    fd.ts = Some(*first);
    fd.origin = Some("network".into());
    set_error(&mut fd, Sock::KeepAliveFailed);
    let last_heard = match (p.last_frame, p.last_ts) {
        (Some(fr), Some(t)) => format!(
            "its last packet was frame {fr}, {} before the end",
            secs(f.last_ts - t)
        ),
        _ => "it sent nothing".to_string(),
    };
    let ending = match (&f.rst, gave_up) {
        (Some(r), true) => format!(
            "then the {who}'s stack declared the connection dead and reset it (frame {}): its \
             application got Windows 10052 WSAENETRESET, POSIX ETIMEDOUT",
            r.frame
        ),
        _ => format!(
            "the {who} was still probing when the capture ended: once its keep-alive probes run out \
             (Windows 10 probes, Linux net.ipv4.tcp_keepalive_probes 9) its application gets \
             Windows 10052 WSAENETRESET, POSIX ETIMEDOUT"
        ),
    };
    let pace = match (
        iv.iter().copied().reduce(f64::min),
        iv.iter().copied().reduce(f64::max),
    ) {
        (Some(lo), Some(hi)) if lo > 0.0 && hi / lo <= 1.3 => {
            format!(
                " about every {}",
                secs(iv.iter().sum::<f64>() / iv.len() as f64)
            )
        }
        (Some(_), Some(_)) => format!(" at intervals of {}", intervals(&iv)),
        _ => String::new(),
    };
    fd.summary = format!(
        "{}: the {peer} ({}) went silent — {last_heard}; the {who} then sent {}{pace} over {} ({}) \
         and none was answered; {ending}",
        conn(f),
        ip_of(f, peer),
        plural(u64::from(st.keep_alives), "keep-alive", "keep-alives"),
        secs(last - first),
        frames_of(&st.keep_alive_frames, st.keep_alives as usize),
    );
    fd.next_step = format!(
        "check whether {} is still up and reachable, and whether a firewall or NAT on the path \
         dropped the idle connection's state (idle timeouts shorter than the keep-alive interval); \
         capture on the {peer}'s side to see whether the keep-alives arrive",
        ip_of(f, peer)
    );
    ev(&mut fd, "prober", who);
    ev(&mut fd, "keep_alives", st.keep_alives);
    ev(&mut fd, "keep_alive_frames", st.keep_alive_frames.clone());
    ev(&mut fd, "keep_alive_intervals", iv);
    ev(&mut fd, "span", last - first);
    ev(&mut fd, "peer_last_frame", p.last_frame);
    ev(&mut fd, "peer_last_ts", p.last_ts);
    ev(&mut fd, "reset_by_prober", gave_up);
    ev(&mut fd, "end", f.end.clone());
    Some(fd)
}

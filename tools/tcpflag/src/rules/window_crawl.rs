//! window_crawl: the receiver kept its window so small that the sender stalled on it again and
//! again — never at exactly 0, so no zero-window analysis sees it (an overloaded printer or
//! server, an application that sets a tiny receive buffer).

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{Config, base, conn, ev, ip_of, peer_of, side_of, sides_with};
use crate::wording::{bytes, frames_of, plural, secs};

/// Separate waits on the window needed: one or two are the end of a burst, not a pattern.
pub const MIN_EPISODES: u32 = 5;

/// The largest window (bytes) the sender ran into must be at most this: 8 KiB is under six
/// full-size Ethernet segments, while a Linux or Windows receiver that keeps up offers 64 KiB
/// or more (autotuning), so a sender filling a window that small is held back by the receiver.
pub const SMALL_WINDOW: u64 = 8192;

pub fn window_crawl(f: &Flow, cfg: &Config) -> Option<Finding> {
    if !(f.established || f.midstream) {
        return None;
    }
    let (sender, w) = sides_with(f, |s| s.window_full.as_ref())
        .filter(|(n, w)| {
            // Time the window was closed outright is a zero-window stall (its own finding), not
            // a crawl: count only the waits on an open but tiny window.
            let closed = side_of(f, peer_of(n))
                .zero_window
                .as_ref()
                .map_or(0.0, |z| z.longest_stall);
            w.episodes >= MIN_EPISODES
                && w.waited - closed >= cfg.crawl_wait
                && w.max_window <= SMALL_WINDOW
        })
        .max_by(|a, b| a.1.waited.total_cmp(&b.1.waited))?;
    let recv = peer_of(sender);
    let r = side_of(f, recv);
    let s = side_of(f, sender);
    let mut fd = base(f, "window_crawl", Severity::Warning);
    fd.frames = w.frames.clone();
    fd.ts = Some(f.first_ts);
    fd.origin = Some(recv.to_string());
    let range = if w.min_window == w.max_window {
        bytes(w.max_window)
    } else {
        format!("{}–{}", w.min_window, bytes(w.max_window))
    };
    let mss = r
        .mss
        .map(|m| format!(" (its MSS is {m})"))
        .unwrap_or_default();
    let zero = match &r.zero_window {
        Some(z) => format!(
            "; it closed completely only {} (at most {}), so the waits were on a tiny open window",
            plural(u64::from(z.episodes.max(1)), "time", "times"),
            secs(z.longest_stall)
        ),
        None => "; the window never closed completely, so no zero-window analysis flags it".into(),
    };
    let rate = if f.duration > 0.0 {
        format!(
            ", {}/s on average",
            bytes((s.bytes as f64 / f.duration) as u64)
        )
    } else {
        String::new()
    };
    fd.summary = format!(
        "{}: the {recv} ({}) kept its receive window tiny: the {sender}'s data ran into windows of \
         only {range}{mss} {} ({}), and the {sender} spent {} of the connection's {} waiting for \
         the window to open (longest wait {}){zero}. The transfer crawled: {} in {}{rate}",
        conn(f),
        ip_of(f, recv),
        plural(u64::from(w.count), "time", "times"),
        frames_of(&w.frames, w.count as usize),
        secs(w.waited),
        secs(f.duration),
        secs(w.longest),
        bytes(s.bytes),
        secs(f.duration),
    );
    fd.next_step = format!(
        "the receiver {} reads slowly or offers a small receive buffer: check the receiving \
         application's CPU and its socket's receive queue (`ss -tmi` on Linux), a small SO_RCVBUF \
         set by the application, net.ipv4.tcp_rmem on Linux or `netsh interface tcp show global` \
         (receive window auto-tuning) on Windows; an embedded device (printer, PLC) may simply \
         have little memory",
        ip_of(f, recv)
    );
    ev(&mut fd, "sender", sender);
    ev(&mut fd, "receiver", recv);
    ev(&mut fd, "window_full_count", w.count);
    ev(&mut fd, "episodes", w.episodes);
    ev(&mut fd, "first_frame", w.first_frame);
    ev(&mut fd, "window_full_frames", w.frames.clone());
    ev(&mut fd, "waited", w.waited);
    ev(&mut fd, "longest_wait", w.longest);
    ev(&mut fd, "min_window", w.min_window);
    ev(&mut fd, "max_window", w.max_window);
    ev(&mut fd, "small_windows", w.peer_small_windows);
    ev(&mut fd, "receiver_mss", r.mss);
    ev(&mut fd, "sender_bytes", s.bytes);
    ev(&mut fd, "duration", f.duration);
    ev(
        &mut fd,
        "zero_windows",
        r.zero_window.as_ref().map(|z| z.count).unwrap_or(0),
    );
    Some(fd)
}

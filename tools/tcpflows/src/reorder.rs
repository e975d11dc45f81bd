//! The reorder buffer: hands TCP segments and ICMP errors to the tracker in timestamp order,
//! tolerating `--reorder-window` seconds of disorder (captures merged from several interfaces:
//! `dumpcap -i a -i b`, `tcpdump -i any`).
//!
//! An event is held until the newest timestamp seen is `window` past it (or the buffer holds
//! [`MAX_HELD`] events), so memory is bounded by the packet rate times the window, never by the
//! capture size. In-order input costs one push and one pop per event; a late event is inserted at
//! its place (after events with the same timestamp, so equal times keep input order). An event
//! later than the whole window is processed as it comes (its connection may already be gone).

use std::collections::VecDeque;
use std::io::{self, Write};

use tcpwhy_common::jsonl::JsonlWriter;

use crate::conn::{IcmpInfo, Seg};
use crate::key::Endpoint;
use crate::scan::Ts;
use crate::tls::TlsSeg;
use crate::track::Tracker;

/// At most this many events are held, whatever the window (about 20 MB).
pub const MAX_HELD: usize = 100_000;

pub enum Event {
    Segment {
        src: Endpoint,
        dst: Endpoint,
        ip_version: u8,
        seg: Seg,
        /// TLS records or plaintext at the start of the payload (rare: boxed).
        tls: Option<Box<TlsSeg>>,
    },
    Icmp {
        quoted_src: Endpoint,
        quoted_dst: Endpoint,
        /// The tunnel identity of the ICMP packet (0: none).
        tun: u64,
        info: Box<IcmpInfo>,
    },
}

pub struct Reorder {
    window: i64,
    held: VecDeque<(Ts, Event)>,
    newest: Option<Ts>,
    /// Events that came later than the whole window.
    pub stragglers: u64,
}

impl Reorder {
    pub fn new(window_ns: i64) -> Self {
        Reorder {
            window: window_ns,
            held: VecDeque::new(),
            newest: None,
            stragglers: 0,
        }
    }

    fn run<W: Write>(t: &mut Tracker, ev: Event, out: &mut JsonlWriter<W>) -> io::Result<()> {
        match ev {
            Event::Segment {
                src,
                dst,
                ip_version,
                seg,
                tls,
            } => t.segment(src, dst, ip_version, &seg, tls, out),
            Event::Icmp {
                quoted_src,
                quoted_dst,
                tun,
                info,
            } => {
                t.advance(info.ts, out)?;
                t.icmp(quoted_src, quoted_dst, tun, *info);
                Ok(())
            }
        }
    }

    /// Adds an event with time `ts`, and runs those that are now old enough.
    pub fn push<W: Write>(
        &mut self,
        ts: Ts,
        ev: Event,
        t: &mut Tracker,
        out: &mut JsonlWriter<W>,
    ) -> io::Result<()> {
        if self.window <= 0 {
            return Self::run(t, ev, out);
        }
        let newest = match self.newest {
            Some(n) if n >= ts => n,
            _ => ts,
        };
        self.newest = Some(newest);
        match self.held.back() {
            None => self.held.push_back((ts, ev)),
            Some((b, _)) if *b <= ts => self.held.push_back((ts, ev)),
            Some(_) => {
                let front = self.held.front().map(|f| f.0).unwrap_or(ts);
                if ts < front && newest.ns - ts.ns > self.window {
                    // later than the whole window: nothing held is older, run it now
                    self.stragglers += 1;
                    return Self::run(t, ev, out);
                }
                let at = self.held.partition_point(|(x, _)| *x <= ts);
                self.held.insert(at, (ts, ev));
            }
        }
        self.release(t, out)
    }

    /// Time passes (a record of another kind carried `ts`).
    pub fn tick<W: Write>(
        &mut self,
        ts: Ts,
        t: &mut Tracker,
        out: &mut JsonlWriter<W>,
    ) -> io::Result<()> {
        if self.window <= 0 {
            return t.advance(ts, out);
        }
        if self.newest.is_none_or(|n| ts > n) {
            self.newest = Some(ts);
        }
        self.release(t, out)
    }

    /// A `tick` record: capture time is now `ts`. Held events older than the window run (as a
    /// packet of that time would release them), then the tracker's clock moves to `ts` minus the
    /// window (every event still held is newer), so idle timeouts and lingers expire.
    pub fn tick_clock<W: Write>(
        &mut self,
        ts: Ts,
        t: &mut Tracker,
        out: &mut JsonlWriter<W>,
    ) -> io::Result<()> {
        self.tick(ts, t, out)?;
        if self.window > 0 {
            let behind = Ts {
                ns: ts.ns.saturating_sub(self.window),
                digits: ts.digits,
            };
            t.advance(behind, out)?;
        }
        Ok(())
    }

    /// The time of the oldest event still held.
    pub fn oldest_held(&self) -> Option<Ts> {
        // Held in time order (see `push`).
        self.held.front().map(|(ts, _)| *ts)
    }

    fn release<W: Write>(&mut self, t: &mut Tracker, out: &mut JsonlWriter<W>) -> io::Result<()> {
        let Some(newest) = self.newest else {
            return Ok(());
        };
        while let Some((ts, _)) = self.held.front() {
            if newest.ns - ts.ns < self.window && self.held.len() <= MAX_HELD {
                break;
            }
            let (_, ev) = self.held.pop_front().expect("front exists");
            Self::run(t, ev, out)?;
        }
        // Nothing still to come can be older than newest − window: connections whose deadline
        // passed by then are over, even while packets are held (a live pipeline sees their
        // records at once).
        let safe = Ts {
            ns: newest.ns - self.window,
            digits: newest.digits,
        };
        match self.held.front() {
            Some((f, _)) if *f < safe => Ok(()),
            _ => t.advance(safe, out),
        }
    }

    /// End of input: runs everything held.
    pub fn flush<W: Write>(&mut self, t: &mut Tracker, out: &mut JsonlWriter<W>) -> io::Result<()> {
        while let Some((_, ev)) = self.held.pop_front() {
            Self::run(t, ev, out)?;
        }
        Ok(())
    }
}

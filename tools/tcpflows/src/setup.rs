//! Connection-setup signals (issue 20): what the same listener did for other connections while
//! this one waited in its handshake (`others_answered`: a full accept queue answers some
//! connections and ignores others), and an ECN-setup SYN (ECE+CWR) that was dropped or reset
//! before a plain SYN got through (`ecn_setup`). docs/schema.md documents both fields.
//!
//! Cost on healthy traffic: per connection, three lookups in a table keyed by the server's
//! address and port (its first SYN, its SYN-ACK, the server's first packet after the
//! handshake) and 32 bytes in the flow; the record grows only for connections whose handshake
//! waited (SYN retries, an ignored handshake ACK) while the same port answered others, or whose
//! ECN SYN was refused.

use tcpwhy_common::records::flow::{EcnSetup, OthersAnswered};

use crate::conn::{FlowState, Seg};
use crate::key::{Endpoint, FxHashMap};
use crate::scan::flags::{ACK, CWR, ECE, RST, SYN};

/// Listeners (server address and port) tracked at most; past it the table starts over (the
/// counts only ever compare two moments of one handshake, seconds apart).
pub const MAX_LISTENERS: usize = 65_536;
/// Another connection answered this long (ns) before the first SYN still counts as "in the same
/// seconds".
pub const BEFORE_NS: i64 = 2_000_000_000;

/// A RST within two round trips plus this (ns) of the SYN-ACK, before anything else from the
/// server, is a reset "right after the handshake"; never later than `RESET_WITHIN_NS`.
pub const RESET_SLACK_NS: i64 = 50_000_000;
pub const RESET_WITHIN_NS: i64 = 1_000_000_000;

/// What one listener answered: SYN-ACKs and first packets after a handshake, counted.
#[derive(Debug, Clone, Copy, Default)]
struct Lst {
    count: u32,
    last_ns: i64,
    last_frame: u64,
}

/// The listeners seen (by the server side of SYN-ACKs).
#[derive(Debug, Default)]
pub struct Listeners {
    map: FxHashMap<Endpoint, Lst>,
}

impl Listeners {
    fn get(&self, ep: &Endpoint) -> Lst {
        self.map.get(ep).copied().unwrap_or_default()
    }

    fn bump(&mut self, ep: Endpoint, s: &Seg) {
        if self.map.len() >= MAX_LISTENERS && !self.map.contains_key(&ep) {
            self.map.clear();
        }
        let l = self.map.entry(ep).or_default();
        l.count = l.count.wrapping_add(1);
        l.last_ns = s.ts.ns;
        l.last_frame = s.frame;
    }
}

/// Per flow, inline (the box only for the few that need it).
#[derive(Debug, Clone, Default)]
pub struct FlowSetup {
    /// The listener's count at the first SYN, and its last answer before it.
    c0: u32,
    prev_ns: i64,
    prev_frame: u64,
    started: bool,
    /// The server sent its first packet after the handshake.
    progressed: bool,
    more: Option<Box<More>>,
}

#[derive(Debug, Clone, Default)]
struct More {
    /// The listener's count at the end of the wait, the own SYN-ACKs then, the time, its last
    /// answer then.
    c1: u32,
    own: u32,
    end_ns: i64,
    last_frame: u64,
    waited_set: bool,
    /// The client's data retransmissions before the server's first packet after the handshake.
    retrans: u32,
    /// SYN-ACKs the server repeated after the client's handshake ACK.
    synacks_after_ack: u32,
    /// The server reset the connection right after the client's handshake ACK.
    reset_after_ack: bool,
    // ECN
    ecn_count: u32,
    ecn_frames: Vec<u64>,
    plain_frame: Option<u64>,
    rst_frame: Option<u64>,
    synack_ece: Option<bool>,
}

impl FlowSetup {
    fn more(&mut self) -> &mut More {
        self.more.get_or_insert_with(Default::default)
    }
}

/// True while the handshake is waiting in a way worth explaining: SYN retries, repeated
/// SYN-ACKs, or the client's data retransmitted before the server said anything.
fn troubled(f: &FlowState) -> bool {
    f.syn.sent.count >= 2 || f.synack.frames.count >= 2 || (f.established && data_retrans(f) > 0)
}

/// The client's retransmissions other than of its SYN (tshark counts a repeated SYN as one).
fn data_retrans(f: &FlowState) -> u32 {
    f.half[f.client()]
        .retransmissions
        .saturating_sub(f.syn.sent.count.saturating_sub(1))
}

/// Updates the flow's setup signals after segment `s` from `from` was added to it.
pub fn after_packet(l: &mut Listeners, f: &mut FlowState, from: usize, s: &Seg) {
    let c = f.client();
    let server = f.ep(1 - c);
    let syn = s.flags & SYN != 0;
    let ack = s.flags & ACK != 0;
    let rst = s.flags & RST != 0;
    if from == c {
        if syn && !ack {
            if !f.setup.started {
                f.setup.started = true;
                let x = l.get(&server);
                f.setup.c0 = x.count;
                f.setup.prev_ns = x.last_ns;
                f.setup.prev_frame = x.last_frame;
            }
            let ecn = s.flags & (ECE | CWR) == (ECE | CWR);
            if ecn {
                let m = f.setup.more();
                m.ecn_count += 1;
                if m.ecn_frames.len() < 8 {
                    m.ecn_frames.push(s.frame);
                }
            } else if let Some(m) = f.setup.more.as_deref_mut() {
                if m.ecn_count > 0 && m.plain_frame.is_none() {
                    m.plain_frame = Some(s.frame);
                }
            }
        }
        if f.setup.started && !f.setup.progressed && troubled(f) {
            snapshot(l, f, &server, s, 0);
        }
        return;
    }
    // From the server (or a device in its name).
    if rst {
        // Reset right after the handshake, before anything else from the server: a full
        // accept queue with net.ipv4.tcp_abort_on_overflow=1.
        // Within two round trips (as the capture point sees them) of the SYN-ACK, plus 50 ms:
        // Linux sends it on the handshake ACK itself. Not after a zero-window SYN-ACK (another
        // story: zero_window_at_handshake).
        let rtt = f.rtt.syn_synack.unwrap_or(0).max(0) + f.rtt.synack_ack.unwrap_or(0).max(0);
        let within = (2 * rtt + RESET_SLACK_NS).min(RESET_WITHIN_NS);
        let zw = f.half[1 - c].zw.as_deref().is_some_and(|z| z.in_handshake);
        let soon = !zw && f.synack.ts.is_some_and(|t| s.ts.ns - t.ns <= within);
        if f.established && f.setup.started && !f.setup.progressed && soon && data_retrans(f) == 0 {
            f.setup.progressed = true;
            snapshot(l, f, &server, s, 0);
            f.setup.more().reset_after_ack = true;
        }
        if f.synack.frame().is_none() {
            if let Some(m) = f.setup.more.as_deref_mut() {
                if m.ecn_count > 0 && m.plain_frame.is_none() && m.rst_frame.is_none() {
                    m.rst_frame = Some(s.frame);
                }
            }
        }
        return;
    }
    if syn && ack {
        if let Some(m) = f.setup.more.as_deref_mut() {
            if m.ecn_count > 0 && m.synack_ece.is_none() {
                m.synack_ece = Some(s.flags & ECE != 0);
            }
        }
        if f.established && !f.setup.progressed {
            let m = f.setup.more();
            m.synacks_after_ack = m.synacks_after_ack.saturating_add(1);
        }
        if f.setup.started && !f.setup.progressed && troubled(f) {
            // Before this SYN-ACK is counted: the own ones so far are all but it.
            snapshot(l, f, &server, s, 1);
        }
        l.bump(server, s);
        return;
    }
    if !f.setup.progressed && f.established {
        f.setup.progressed = true;
        if f.setup.started && troubled(f) {
            snapshot(l, f, &server, s, 0);
            let r = data_retrans(f);
            f.setup.more().retrans = r;
        }
        l.bump(server, s);
    }
}

/// The end of the wait so far: the listener's count and last answer now.
/// `uncounted`: own SYN-ACKs in `f.synack.frames.count` the listener has not counted yet.
fn snapshot(l: &Listeners, f: &mut FlowState, server: &Endpoint, s: &Seg, uncounted: u32) {
    let x = l.get(server);
    let own = f.synack.frames.count.saturating_sub(uncounted);
    let m = f.setup.more();
    m.c1 = x.count;
    m.own = own;
    m.end_ns = s.ts.ns;
    m.last_frame = x.last_frame;
    m.waited_set = true;
}

/// The `others_answered` field: only for a handshake that waited while the same listener
/// answered other connections.
pub fn others_answered(f: &FlowState) -> Option<OthersAnswered> {
    let m = f.setup.more.as_deref()?;
    if !m.waited_set || !f.setup.started {
        return None;
    }
    let retrans = if f.setup.progressed {
        m.retrans
    } else if f.established {
        data_retrans(f)
    } else {
        0
    };
    let unanswered_syns = f
        .syn
        .sent
        .count
        .saturating_sub(u32::from(f.synack.frame().is_some()));
    // An ignored handshake ACK: the server repeated its SYN-ACK after it, or the request went
    // unacknowledged three times (one or two lost segments beside a busy server are routine),
    // or once after SYNs that went unanswered too.
    let ignored_ack = f.established
        && (m.synacks_after_ack > 0 || retrans >= 3 || (retrans >= 1 && unanswered_syns >= 1));
    if unanswered_syns < 2 && !ignored_ack && !m.reset_after_ack {
        return None;
    }
    let first_syn = f.syn.first_ts().map_or(f.first_ts.ns, |t| t.ns);
    let during = m.c1.wrapping_sub(f.setup.c0).saturating_sub(m.own);
    let before = f.setup.c0 > 0
        && f.setup.prev_ns <= first_syn
        && first_syn - f.setup.prev_ns <= BEFORE_NS
        && !f.synack.frames.items.contains(&f.setup.prev_frame);
    let count = during + u32::from(before);
    if count == 0 {
        return None;
    }
    let mut frames = vec![];
    if before {
        frames.push(f.setup.prev_frame);
    }
    if during > 0
        && !f.synack.frames.items.contains(&m.last_frame)
        && !frames.contains(&m.last_frame)
    {
        frames.push(m.last_frame);
    }
    Some(OthersAnswered {
        count,
        frames,
        waited: (m.end_ns - first_syn).max(0) as f64 / 1e9,
        unanswered_syns,
        ignored_ack,
        retransmissions: retrans,
        synacks_after_ack: m.synacks_after_ack,
        reset_after_ack: m.reset_after_ack,
    })
}

/// The `ecn_setup` field: only when an ECN-setup SYN was reset, or followed by a plain SYN.
pub fn ecn_setup(f: &FlowState) -> Option<EcnSetup> {
    let m = f.setup.more.as_deref()?;
    if m.ecn_count == 0 || (m.plain_frame.is_none() && m.rst_frame.is_none()) {
        return None;
    }
    Some(EcnSetup {
        ecn_syns: m.ecn_count,
        ecn_syn_frames: m.ecn_frames.clone(),
        plain_syn_frame: m.plain_frame,
        rst_frame: m.rst_frame,
        synack_ece: m.synack_ece,
    })
}

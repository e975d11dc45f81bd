//! Turns a finished [`FlowState`] into the `flow` record (`tcpwhy_common::records::Flow`).

use tcpwhy_common::records::Flow;
use tcpwhy_common::records::flow::{
    Attempts, IcmpError, Rst, Rtt, Side, Stuck, TtlStats, WindowFull, ZeroWindow,
};

use crate::conn::{FlowState, Half};
use crate::key::fnv64;
use crate::scan::Ts;

fn secs(ns: i64) -> f64 {
    ns as f64 / 1e9
}

/// Zeek-style uid: `C` and 17 base-62 characters from a hash of the 5-tuple, the first
/// timestamp and the first frame, so the same capture always gives the same uids.
pub fn uid(f: &FlowState) -> String {
    let c = f.ep(f.client());
    let s = f.ep(1 - f.client());
    let parts: [&[u8]; 6] = [
        c.ip.as_str().as_bytes(),
        &c.port.to_be_bytes(),
        s.ip.as_str().as_bytes(),
        &s.port.to_be_bytes(),
        &f.first_ts.ns.to_be_bytes(),
        &f.first_frame.to_be_bytes(),
    ];
    let a = fnv64(&parts, 0);
    let b = fnv64(&parts, 0x9e37_79b9_7f4a_7c15);
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut v: u128 = ((a as u128) << 64 | b as u128) >> 32; // 96 bits
    let mut out = [0u8; 17];
    for o in out.iter_mut().rev() {
        *o = DIGITS[(v % 62) as usize];
        v /= 62;
    }
    let mut s = String::with_capacity(18);
    s.push('C');
    s.push_str(std::str::from_utf8(&out).unwrap_or(""));
    s
}

fn side(h: &Half, peer: &Half, flow_last: Ts) -> Side {
    let zero_window = h.zw.as_deref().filter(|zw| zw.count > 0).map(|zw| {
        let mut longest = zw.longest_ns;
        if let Some(t0) = zw.closed_since {
            longest = longest.max(flow_last.ns - t0.ns);
        }
        ZeroWindow {
            count: zw.count,
            first_frame: zw.first_frame,
            first_ts: zw.first_ts.to_f64(),
            in_handshake: zw.in_handshake,
            probes: zw.probes.count,
            probe_frames: zw.probes.items.clone(),
            probe_kind: match (zw.one_byte > 0, zw.zero_byte > 0) {
                (true, true) => Some("mixed".into()),
                (true, false) => Some("one_byte".into()),
                (false, true) => Some("zero_byte".into()),
                (false, false) => None,
            },
            episodes: zw.episodes,
            longest_stall: secs(longest),
            reopened: zw.closed_since.is_none(),
            reopen_frame: zw.reopen_frame,
        }
    });
    Side {
        packets: h.packets,
        bytes: h.bytes,
        wire_bytes: h.wire_bytes,
        isn: h.isn,
        initial_window: h.initial_window,
        wscale: h.wscale,
        mss: h.mss,
        sack_perm: h.sack_perm,
        ttl: h.ttl.map(|(first, min, max)| TtlStats { first, min, max }),
        first_ip_id: h.first_ip_id,
        last_ip_id: h.last_ip_id,
        retransmissions: h.retransmissions,
        out_of_order: h.out_of_order,
        keep_alives: h.keep_alives,
        dup_acks: h.dup_acks,
        zero_window,
        fin_frame: h.fin_frame,
        fin_ts: h.fin_ts.map(Ts::to_f64),
        last_frame: h.last.map(|d| d.0),
        last_ts: h.last.map(|d| d.1.to_f64()),
        last_data_frame: h.last_data.map(|d| d.0),
        last_data_ts: h.last_data.map(|d| d.1.to_f64()),
        ack_advance_frame: h.ack_advance.map(|d| d.0),
        ack_advance_ts: h.ack_advance.map(|d| d.1.to_f64()),
        stuck: stuck(h, peer),
        window_full: window_full(h, peer, flow_last),
        acked_unseen: h.acked_unseen(peer),
        size_limit: crate::pmtu::size_limit(h, peer),
    }
}

/// What `h` was still waiting for: unacknowledged data it had retransmitted, or keep-alives
/// nothing answered.
fn stuck(h: &Half, peer: &Half) -> Option<Stuck> {
    let unacked = h.unacked(peer).unwrap_or(0);
    let t = h.track.as_deref()?;
    let r = &t.stuck_retrans;
    let k = &t.stuck_ka;
    let retrans = unacked > 0 && r.count > 0;
    if !retrans && k.count == 0 {
        return None;
    }
    let (rc, rf, rt) = if retrans {
        (
            r.count,
            r.frames.clone(),
            r.ts.iter().map(|t| t.to_f64()).collect(),
        )
    } else {
        (0, vec![], vec![])
    };
    Some(Stuck {
        unacked_bytes: unacked,
        retransmissions: rc,
        frames: rf,
        ts: rt,
        keep_alives: k.count,
        keep_alive_frames: k.frames.clone(),
        keep_alive_ts: k.ts.iter().map(|t| t.to_f64()).collect(),
    })
}

/// Window-limited sending by `h` against `peer`'s window.
fn window_full(h: &Half, peer: &Half, flow_last: Ts) -> Option<WindowFull> {
    let w = &h.track.as_deref()?.wf;
    let first_frame = w.segments.first()?;
    let mut waited = w.waited_ns;
    let mut longest = w.longest_ns;
    if let Some(t0) = w.since {
        let d = (flow_last.ns - t0.ns).max(0);
        waited = waited.saturating_add(d);
        longest = longest.max(d);
    }
    Some(WindowFull {
        count: w.segments.count,
        episodes: w.episodes,
        first_frame,
        frames: w.segments.items.clone(),
        waited: secs(waited),
        longest: secs(longest),
        min_window: w.min_window,
        max_window: w.max_window,
        peer_small_windows: peer.small_windows,
    })
}

/// Plain words for an ICMP / ICMPv6 error type and code (`tcpwhy_common::icmp`), or
/// "type T code C" for a type the table does not name.
pub fn icmp_description(v6: bool, t: u8, c: u8) -> String {
    tcpwhy_common::icmp::description(v6, t, c)
        .map_or_else(|| format!("type {t} code {c}"), str::to_string)
}

fn role(f: &FlowState, idx: usize) -> String {
    if idx == f.client() {
        "client".into()
    } else {
        "server".into()
    }
}

/// The `flow` record of a connection that is over. `end` overrides the flow's own end reason
/// (for timeouts, eviction, reuse and the end of the input).
/// The record of flow `f`; its `ladder` only when `ladder` is true.
pub fn record(f: &FlowState, end: &str, ladder: bool) -> Flow {
    let ci = f.client();
    let c = &f.half[ci];
    let s = &f.half[1 - ci];
    let rst = f.rst.as_ref().map(|r| Rst {
        from: role(f, r.from),
        frame: r.frame,
        ts: r.ts.to_f64(),
        ttl: r.ttl,
        ip_id: r.ip_id,
        flags: crate::scan::flags::letters(r.flags),
        seq_ok: r.check != "unacceptable",
        seq_check: r.check.to_string(),
        seq: r.seq,
        ack: r.ack,
        count: f.rsts.count,
        frames: f.rsts.items.clone(),
        sender_ttl: r.sender_ttl,
        sender_ip_id: r.sender_ip_id,
        receiver_ip_id: r.receiver_ip_id,
        sender_after: r.sender_after,
        receiver_after: r.receiver_after,
    });
    let icmp = f
        .icmp
        .items
        .iter()
        .map(|i| IcmpError {
            from_ip: i.from_ip.clone(),
            proto: if i.v6 { "icmpv6" } else { "icmp" }.into(),
            icmp_type: i.icmp_type,
            icmp_code: i.icmp_code,
            description: icmp_description(i.v6, i.icmp_type, i.icmp_code),
            frame: i.frame,
            ts: i.ts.to_f64(),
            ttl: i.ttl,
            quoted: role(f, i.quoted),
        })
        .collect();
    let sizes_zero = c.bytes == 0 && s.bytes == 0;
    let mut history = f.z.history.clone();
    if f.z.history_truncated {
        history.push('+');
    }
    Flow {
        r#type: "flow".into(),
        uid: uid(f),
        ip_version: f.ip_version,
        client_ip: f.ep(f.client()).ip.as_str().to_string(),
        client_port: f.ep(f.client()).port,
        server_ip: f.ep(1 - f.client()).ip.as_str().to_string(),
        server_port: f.ep(1 - f.client()).port,
        first_frame: f.first_frame,
        last_frame: f.last_frame,
        first_ts: f.first_ts.to_f64(),
        last_ts: f.last_ts.to_f64(),
        duration: secs(f.last_ts.ns - f.first_ts.ns),
        state: f.z.conn_state(sizes_zero).to_string(),
        history,
        end: end.to_string(),
        midstream: !c.syn_seen,
        established: f.established,
        attempts: Attempts {
            syn_count: f.syn.sent.count,
            frames: f.syn.sent.items.iter().map(|&(fr, _)| fr).collect(),
            ts: f.syn.sent.items.iter().map(|(_, t)| t.to_f64()).collect(),
            intervals: f.syn.intervals.iter().map(|&d| secs(d)).collect(),
        },
        synack_frame: f.synack.frame(),
        synack_count: f.synack.frames.count,
        synack_frames: f.synack.frames.items.clone(),
        rtt: Rtt {
            syn_synack: f.rtt.syn_synack.map(secs),
            synack_ack: f.rtt.synack_ack.map(secs),
            initial: f.rtt.initial.map(secs),
        },
        client: side(c, s, f.last_ts),
        server: side(s, c, f.last_ts),
        rst,
        icmp,
        icmp_count: f.icmp.count,
        tls: f.tls.as_ref().and_then(|t| t.output()),
        ladder: if ladder {
            crate::ladder::field(f)
        } else {
            None
        },
        others_answered: crate::setup::others_answered(f),
        ecn_setup: crate::setup::ecn_setup(f),
        idle: crate::idle::field(f),
        late_request: crate::reuse::late_request(f),
        challenge_ack: crate::reuse::challenge_ack(f),
        ttlhops: None,
        portmap: None,
        tunnel: None,
    }
}

//! Signals of a connection, or its 4-tuple, used again after the server let go of it
//! (docs/schema.md, `flow.late_request` and `flow.challenge_ack`):
//!
//! - `late_request`: after a request and its answer, the client sends another request on the
//!   same connection after the server's FIN, or while the FIN is on its way (the FIN does not
//!   acknowledge it): an HTTP keep-alive race. The server's stack answers it with a RST.
//! - `challenge_ack`: the client's SYN is answered by a bare ACK that acknowledges something
//!   else than the SYN: the server still holds an older connection on the same 4-tuple (in
//!   TIME_WAIT, or not yet closed) and acknowledges that one. The client's stack resets it and
//!   retries its SYN.
//!
//! [`before`] sees each segment before it updates the connection's state (one call in
//! `FlowState::packet`); the state is allocated only when one of the two happens.

use crate::conn::{FlowState, Seg};
use crate::scan::Ts;
use crate::scan::flags::{ACK, FIN, RST, SYN};
use tcpwhy_common::records::flow::{ChallengeAck, LateRequest};

#[derive(Debug, Clone, Default)]
pub struct Reuse {
    pub late: Option<Late>,
    pub challenge: Option<Challenge>,
}

#[derive(Debug, Clone)]
pub struct Late {
    pub frame: u64,
    pub ts: Ts,
    pub bytes: u64,
    pub fin_frame: u64,
    pub fin_ts: Ts,
    pub crossed: bool,
    pub idle_ns: i64,
    pub fin_idle_ns: i64,
}

#[derive(Debug, Clone)]
pub struct Challenge {
    pub frame: u64,
    pub ts: Ts,
    pub ack: u32,
    pub expected: u32,
    pub syn_frame: u64,
    pub syn_ts: Ts,
    pub count: u32,
    pub rst_frame: Option<u64>,
    pub retry: Option<(u64, Ts)>,
}

/// A request crossing the server's FIN counts when the FIN came this long (ns) after the
/// server's last answer: an idle connection closed by a keep-alive timeout.
pub const CROSS_IDLE_NS: i64 = 500_000_000;

#[inline]
fn gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

fn latest(a: Option<(u64, Ts)>, b: Option<(u64, Ts)>) -> Option<Ts> {
    match (a, b) {
        (Some((_, x)), Some((_, y))) => Some(if x.ns >= y.ns { x } else { y }),
        (Some((_, x)), None) | (None, Some((_, x))) => Some(x),
        (None, None) => None,
    }
}

/// Segment `s` from side `from`, before the connection's state takes it in.
pub fn before(f: &mut FlowState, from: usize, s: &Seg) {
    let c = f.client();
    let sv = 1 - c;
    let syn = s.flags & SYN != 0;
    let ack = s.flags & ACK != 0;
    let rst = s.flags & RST != 0;
    let fin = s.flags & FIN != 0;

    // The challenge ACK and what the client does about it.
    if from == sv && ack && !syn && !rst && !fin && s.len == 0 {
        let client = &f.half[c];
        // Only SYNs from the client so far: an ACK after the client's own ACKs or data answers
        // those (a capture that missed the SYN-ACK), not the SYN.
        let only_syns = client.packets == u64::from(f.syn.sent.count);
        if !f.established && f.synack.frame().is_none() && client.syn_seen && only_syns {
            if let (Some(isn), Some(&(syn_frame, syn_ts))) = (client.isn, f.syn.sent.items.last()) {
                let expected = isn.wrapping_add(1);
                if s.ack != expected {
                    let r = f.reuse.get_or_insert_with(Default::default);
                    match &mut r.challenge {
                        Some(ch) => ch.count = ch.count.saturating_add(1),
                        None => {
                            r.challenge = Some(Challenge {
                                frame: s.frame,
                                ts: s.ts,
                                ack: s.ack,
                                expected,
                                syn_frame,
                                syn_ts,
                                count: 1,
                                rst_frame: None,
                                retry: None,
                            })
                        }
                    }
                }
            }
        }
        return;
    }
    // The SYN-ACK after a challenge ACK starts the connection afresh: what the challenge ACK and
    // the client's RST carried (the old connection's sequence numbers) is forgotten, as tshark
    // does ("a new tcp session is started with the same ports").
    if from == sv && syn && ack && f.synack.frame().is_none() {
        if f.reuse.as_ref().is_some_and(|r| r.challenge.is_some()) {
            f.half[c].restart_seq_analysis();
            f.half[sv].restart_seq_analysis();
        }
        return;
    }
    if from == c {
        if let Some(ch) = f.reuse.as_mut().and_then(|r| r.challenge.as_mut()) {
            if rst && ch.rst_frame.is_none() && f.synack.frame().is_none() {
                ch.rst_frame = Some(s.frame);
            }
            if syn && !ack && ch.retry.is_none() && s.frame > ch.frame {
                ch.retry = Some((s.frame, s.ts));
            }
        }
    }

    // The keep-alive race.
    if syn || rst || f.reuse.as_ref().is_some_and(|r| r.late.is_some()) {
        return;
    }
    let (client, server) = (&f.half[c], &f.half[sv]);
    if client.fin_frame.is_some() || client.bytes == 0 || server.bytes == 0 {
        return;
    }
    let Some(answer) = server.last_data else {
        return;
    };
    if from == c && s.len > 0 {
        // A request after the server's FIN, beyond what the server acknowledged.
        let (Some(fin_frame), Some(fin_ts)) = (server.fin_frame, server.fin_ts) else {
            return;
        };
        // A new request, after the server's answer to the last one: an upload that goes on
        // after an early answer (a 413) is not a reused connection.
        if client.last_data.is_some_and(|(_, t)| t.ns >= answer.1.ns) {
            return;
        }
        if !server
            .acked
            .is_some_and(|a| gt(s.seq.wrapping_add(s.len), a))
        {
            return;
        }
        let Some(prev) = latest(client.last_data, server.last_data) else {
            return;
        };
        let late = Late {
            frame: s.frame,
            ts: s.ts,
            bytes: u64::from(s.len),
            fin_frame,
            fin_ts,
            crossed: false,
            idle_ns: s.ts.ns - prev.ns,
            fin_idle_ns: fin_ts.ns - prev.ns,
        };
        f.reuse.get_or_insert_with(Default::default).late = Some(late);
    } else if from == sv && fin && server.fin_frame.is_none() && ack {
        // The server's FIN while a request is on its way: it does not acknowledge the
        // client's latest data, sent after the server's last answer.
        let Some((req_frame, req_ts)) = client.last_data else {
            return;
        };
        if req_ts.ns <= answer.1.ns || !client.nextseq_set || !gt(client.nextseq, s.ack) {
            return;
        }
        // The server closed an idle connection (its keep-alive timeout) as the request came:
        // without the idle time, data crossing a FIN is an upload the server cut short.
        if s.ts.ns - answer.1.ns < CROSS_IDLE_NS {
            return;
        }
        let unacked = u64::from(client.nextseq.wrapping_sub(s.ack));
        if unacked >= client.bytes {
            return; // no earlier request: not a reused connection
        }
        let late = Late {
            frame: req_frame,
            ts: req_ts,
            bytes: unacked,
            fin_frame: s.frame,
            fin_ts: s.ts,
            crossed: true,
            idle_ns: req_ts.ns - answer.1.ns,
            fin_idle_ns: s.ts.ns - answer.1.ns,
        };
        f.reuse.get_or_insert_with(Default::default).late = Some(late);
    }
}

fn secs(ns: i64) -> f64 {
    ns as f64 / 1e9
}

/// The record's `late_request` field.
pub fn late_request(f: &FlowState) -> Option<LateRequest> {
    let l = f.reuse.as_ref()?.late.as_ref()?;
    Some(LateRequest {
        frame: l.frame,
        ts: l.ts.to_f64(),
        bytes: l.bytes,
        fin_frame: l.fin_frame,
        fin_ts: l.fin_ts.to_f64(),
        crossed: l.crossed,
        idle: secs(l.idle_ns),
        fin_idle: secs(l.fin_idle_ns),
    })
}

/// The record's `challenge_ack` field.
pub fn challenge_ack(f: &FlowState) -> Option<ChallengeAck> {
    let ch = f.reuse.as_ref()?.challenge.as_ref()?;
    Some(ChallengeAck {
        frame: ch.frame,
        ts: ch.ts.to_f64(),
        ack: ch.ack,
        expected: ch.expected,
        syn_frame: ch.syn_frame,
        syn_ts: ch.syn_ts.to_f64(),
        count: ch.count,
        client_rst_frame: ch.rst_frame,
        retry_frame: ch.retry.map(|r| r.0),
        retry_ts: ch.retry.map(|r| r.1.to_f64()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{Endpoint, IpText, Key};

    const C: u16 = 40000;
    const S: u16 = 80;

    fn ep(ip: &str, port: u16) -> Endpoint {
        Endpoint {
            ip: IpText::new(ip).unwrap(),
            port,
        }
    }

    /// Runs segments `(from_client, ms, flags, seq, ack, len)` through a flow (frames 1, 2, …).
    fn run(segs: &[(bool, i64, u8, u32, u32, u32)]) -> FlowState {
        let (key, c_lo) = Key::of(ep("10.0.0.1", C), ep("10.0.0.2", S));
        let mut f: Option<FlowState> = None;
        for (i, &(cl, ms, flags, seq, ack, len)) in segs.iter().enumerate() {
            let from = if cl == c_lo { 0 } else { 1 };
            let s = Seg {
                frame: i as u64 + 1,
                ts: Ts {
                    ns: 1_000_000_000_000 + ms * 1_000_000,
                    digits: 6,
                },
                flags,
                seq,
                ack,
                len,
                window: 64000,
                wire_len: 54 + len,
                ttl: Some(64),
                ip_id: None,
                mss: None,
                wscale: None,
                sack_perm: false,
                tun: 0,
                tun_text: 0,
            };
            let f = f.get_or_insert_with(|| FlowState::new(key, 4, from, &s));
            f.packet(from, &s);
        }
        f.unwrap()
    }

    const PA: u8 = ACK | 0x08;

    /// Handshake (client ISN 100, server 500), request (10 bytes), answer (20 bytes), ACK.
    fn exchange() -> Vec<(bool, i64, u8, u32, u32, u32)> {
        vec![
            (true, 0, SYN, 100, 0, 0),
            (false, 1, SYN | ACK, 500, 101, 0),
            (true, 2, ACK, 101, 501, 0),
            (true, 3, PA, 101, 501, 10),
            (false, 4, PA, 501, 111, 20),
            (true, 5, ACK, 111, 521, 0),
        ]
    }

    #[test]
    fn request_after_the_servers_fin() {
        let mut v = exchange();
        v.push((false, 1005, FIN | ACK, 521, 111, 0));
        v.push((true, 1006, ACK, 111, 522, 0));
        v.push((true, 1300, PA, 111, 522, 10));
        v.push((false, 1301, RST, 522, 0, 0));
        let f = run(&v);
        let l = late_request(&f).expect("late request");
        assert_eq!(
            (l.frame, l.fin_frame, l.bytes, l.crossed),
            (9, 7, 10, false)
        );
        assert!((l.fin_idle - 1.001).abs() < 1e-6, "{l:?}");
        assert!((l.idle - 1.296).abs() < 1e-6, "{l:?}");
        assert!(challenge_ack(&f).is_none());
    }

    #[test]
    fn request_crossing_the_fin() {
        let mut v = exchange();
        v.push((true, 1000, PA, 111, 521, 10));
        v.push((false, 1001, FIN | ACK, 521, 111, 0));
        v.push((false, 1002, RST, 522, 0, 0));
        let l = late_request(&run(&v)).expect("crossed");
        assert_eq!((l.frame, l.fin_frame, l.bytes, l.crossed), (7, 8, 10, true));
    }

    #[test]
    fn an_upload_cut_short_is_no_late_request() {
        // The server answers early and closes while the client is still sending.
        let mut v = exchange();
        v.push((true, 5, PA, 111, 521, 1000));
        v.push((false, 6, FIN | ACK, 521, 1111, 0));
        v.push((true, 7, PA, 1111, 522, 1000));
        v.push((false, 8, RST, 522, 0, 0));
        assert!(late_request(&run(&v)).is_none());
        // Crossing without an idle connection before the FIN.
        let mut v = exchange();
        v.push((true, 6, PA, 111, 521, 1000));
        v.push((false, 7, FIN | ACK, 521, 111, 0));
        assert!(late_request(&run(&v)).is_none());
        // A healthy close: the server's FIN, the client's FIN, no data after.
        let mut v = exchange();
        v.push((false, 6, FIN | ACK, 521, 111, 0));
        v.push((true, 7, FIN | ACK, 111, 522, 0));
        v.push((false, 8, ACK, 522, 112, 0));
        let f = run(&v);
        assert!(f.reuse.is_none(), "nothing allocated on a healthy flow");
    }

    #[test]
    fn syn_answered_by_an_ack_for_the_old_connection() {
        let f = run(&[
            (true, 0, SYN, 100, 0, 0),
            (false, 1, ACK, 900, 4_000_000, 0),
            (true, 2, RST, 4_000_000, 0, 0),
            (true, 10, SYN, 100, 0, 0),
            (false, 11, SYN | ACK, 500, 101, 0),
            (true, 12, ACK, 101, 501, 0),
        ]);
        let ch = challenge_ack(&f).expect("challenge ACK");
        assert_eq!(
            (ch.frame, ch.syn_frame, ch.ack, ch.expected),
            (2, 1, 4_000_000, 101)
        );
        assert_eq!(
            (ch.client_rst_frame, ch.retry_frame, ch.count),
            (Some(3), Some(4), 1)
        );
        assert!(f.established);
        // The old connection's numbers (the ACK, the client's RST) are forgotten at the SYN-ACK:
        // the retried SYN is the one retransmission, as tshark counts.
        assert_eq!(f.half[f.client()].retransmissions, 1);
    }

    #[test]
    fn an_ack_of_data_after_a_missed_synack_is_no_challenge() {
        // The capture missed the SYN-ACK: the client's ACK and request, then the server's ACK
        // of the request.
        let f = run(&[
            (true, 0, SYN, 100, 0, 0),
            (true, 2, ACK, 101, 501, 0),
            (true, 3, PA, 101, 501, 10),
            (false, 4, ACK, 501, 111, 0),
        ]);
        assert!(challenge_ack(&f).is_none());
    }

    #[test]
    fn a_synack_is_no_challenge() {
        let f = run(&exchange());
        assert!(f.reuse.is_none());
    }
}

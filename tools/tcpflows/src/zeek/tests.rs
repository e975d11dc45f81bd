use super::*;
use crate::scan::flags::PSH;

// endpoint 0 = client, 1 = server
fn run(pkts: &[(usize, u8, u32, u32, u32, u16)]) -> ZConn {
    let first = pkts[0];
    let flip = flip_first(first.1, 0, 0);
    let mut z = ZConn::new(first.0, flip);
    for &(who, fl, seq, ack, len, win) in pkts {
        z.process(who, fl, seq, ack, len, win);
    }
    z
}

const S: u8 = SYN;
const SA: u8 = SYN | ACK;
const A: u8 = ACK;
const PA: u8 = PSH | ACK;
const FA: u8 = FIN | ACK;
const RA: u8 = RST | ACK;
const R: u8 = RST;

/// One connection each: its packets, then the history, the `conn_state` (with the connection
/// closed or still open) and what `finished` says.
type Case = (
    &'static str,
    &'static [(usize, u8, u32, u32, u32, u16)],
    &'static str,
    bool,
    &'static str,
    Option<&'static str>,
);

const CASES: &[Case] = &[
    (
        "normal connection: SF",
        &[
            (0, S, 100, 0, 0, 64240),
            (1, SA, 500, 101, 0, 65535),
            (0, A, 101, 501, 0, 502),
            (0, PA, 101, 501, 10, 502),
            (1, PA, 501, 111, 20, 501),
            (0, FA, 111, 521, 0, 502),
            (1, FA, 521, 112, 0, 501),
            (0, A, 112, 522, 0, 502),
        ],
        "ShADdFf",
        false,
        "SF",
        Some("fin"),
    ),
    (
        "refused: REJ, and retries with the same ISN add nothing",
        &[
            (0, S, 100, 0, 0, 64240),
            (1, RA, 0, 101, 0, 0),
            (0, S, 100, 0, 0, 64240),
            (1, RA, 0, 101, 0, 0),
        ],
        "Sr",
        true,
        "REJ",
        Some("rst"),
    ),
    (
        "SYN timeout: S0",
        &[(0, S, 100, 0, 0, 64240), (0, S, 100, 0, 0, 64240)],
        "S",
        true,
        "S0",
        None,
    ),
    (
        "client RST before any answer: RSTOS0",
        &[(0, S, 100, 0, 0, 64240), (0, R, 101, 0, 0, 0)],
        "SR",
        true,
        "RSTOS0",
        Some("rst"),
    ),
    (
        // the SYN-ACK advertised a zero window: 'w'
        "reset mid-connection by the server: RSTR, retransmissions are T",
        &[
            (0, S, 100, 0, 0, 64240),
            (1, SA, 500, 101, 0, 0),
            (0, A, 101, 501, 0, 502),
            (0, PA, 101, 501, 1, 502),
            (0, PA, 101, 501, 1, 502),
            (0, PA, 101, 501, 1, 502),
            (1, RA, 501, 102, 0, 0),
        ],
        "ShwADTr",
        false,
        "RSTR",
        Some("rst"),
    ),
];

#[test]
fn history_and_conn_state() {
    for &(name, pkts, history, closed, state, finished) in CASES {
        let z = run(pkts);
        assert_eq!(z.history, history, "{name}");
        assert_eq!(z.conn_state(closed), state, "{name}");
        assert_eq!(z.finished(), finished, "{name}");
    }
}

#[test]
fn established_only_is_s1_and_half_close_s2_s3() {
    let base = [
        (0, S, 100, 0, 0, 1000),
        (1, SA, 500, 101, 0, 1000),
        (0, A, 101, 501, 0, 1000),
    ];
    let z = run(&base);
    assert_eq!(z.conn_state(true), "S1");
    let mut v = base.to_vec();
    v.push((0, FA, 101, 501, 0, 1000));
    assert_eq!(run(&v).conn_state(true), "S2");
    let mut v = base.to_vec();
    v.push((1, FA, 501, 101, 0, 1000));
    assert_eq!(run(&v).conn_state(true), "S3");
}

#[test]
fn midstream_is_oth_and_synack_first_flips() {
    let z = run(&[(0, PA, 1000, 2000, 10, 1000), (1, A, 2000, 1010, 0, 1000)]);
    assert_eq!(z.history, "Da");
    assert_eq!(z.conn_state(false), "OTH");
    // SYN-ACK first from a non-server port, then the ACK: "^hA"
    let mut z = ZConn::new(1, false);
    z.process(1, SA, 500, 101, 0, 1000);
    assert_eq!(z.history, "H");
    z.process(0, A, 101, 501, 0, 1000);
    assert_eq!(z.history, "^hA");
    assert_eq!(z.orig, 0);
}

#[test]
fn synack_then_fin_without_syn_is_shr_and_syn_fin_is_sh() {
    let mut z = ZConn::new(0, true);
    z.process(1, SA, 500, 101, 0, 1000);
    z.process(1, FA, 501, 101, 0, 1000);
    assert_eq!(z.conn_state(true), "SHR");
    let z = run(&[(0, S, 100, 0, 0, 1000), (0, FA, 101, 0, 0, 1000)]);
    assert_eq!(z.conn_state(true), "SH");
}

#[test]
fn rstrh_and_rsto() {
    let mut z = ZConn::new(0, true);
    z.process(1, SA, 500, 101, 0, 1000);
    z.process(1, R, 501, 0, 0, 0);
    assert_eq!(z.conn_state(true), "RSTRH");
    let z = run(&[
        (0, S, 100, 0, 0, 1000),
        (1, SA, 500, 101, 0, 1000),
        (0, A, 101, 501, 0, 1000),
        (0, RA, 101, 501, 0, 0),
    ]);
    assert_eq!(z.conn_state(true), "RSTO");
}

#[test]
fn log_scale_repeats() {
    let mut v = vec![
        (0, S, 100, 0, 0, 1000),
        (1, SA, 500, 101, 0, 1000),
        (0, PA, 101, 501, 10, 1000),
    ];
    for _ in 0..12 {
        v.push((0, PA, 101, 501, 10, 1000));
    }
    assert_eq!(run(&v).history, "ShDTT");
}

#[test]
fn rstos0_pattern() {
    assert!(rstos0_history("SR"));
    assert!(rstos0_history("^SsR"));
    assert!(!rstos0_history("SAR"));
    assert!(!rstos0_history("R"));
}

//! Flows through tunnels (the tunnel identity in the flow key, `tunnel` on the record) and the
//! FIN linger tied to the connection's FIN retransmission timing.

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

mod common;

use common::{C, S, p};
use serde_json::Value;

/// A TCP packet line as a Linux stack sends it here (window 502, no payload, IP ID 1, no MSS),
/// through `tunnel` when given.
#[allow(clippy::too_many_arguments)]
fn line(
    frame: u64,
    ts: f64,
    src: (&'static str, u16),
    dst: (&'static str, u16),
    flags: &'static str,
    seq: u32,
    ack: u32,
    tunnel: Option<&'static str>,
) -> String {
    let pkt = p(frame, ts, src, dst, flags, seq, ack, 502, 0);
    pkt.ip_id(1).no_mss().tunnel(tunnel).line() + "\n"
}

fn flows(stdin: String) -> Vec<Value> {
    let recs = tcpwhy_tests::run_ok::<&str>("tcpflows", &[], stdin.as_bytes());
    recs.into_iter().filter(|v| v["type"] == "flow").collect()
}

/// A whole connection on client port `cport`, from `t0`, frames from `f0`.
fn conn(
    f0: u64,
    t0: f64,
    cport: u16,
    tunnel: Option<&'static str>,
    rev: Option<&'static str>,
) -> String {
    let c = (C, cport);
    let s = (S, 80);
    [
        line(f0, t0, c, s, "S", 100, 0, tunnel),
        line(f0 + 1, t0 + 0.01, s, c, "SA", 500, 101, rev.or(tunnel)),
        line(f0 + 2, t0 + 0.011, c, s, "A", 101, 501, tunnel),
        line(f0 + 3, t0 + 0.02, c, s, "FA", 101, 501, tunnel),
        line(f0 + 4, t0 + 0.03, s, c, "FA", 501, 102, rev.or(tunnel)),
        line(f0 + 5, t0 + 0.031, c, s, "A", 102, 502, tunnel),
    ]
    .concat()
}

#[test]
fn a_fin_retransmitted_with_backoff_stays_one_flow() {
    // the client's last ACK is lost: the server retransmits its FIN after 0.3, 0.6, 1.2, 2.4 s
    let c = (C, 40001);
    let s = (S, 80);
    let mut v = vec![
        line(1, 1.0, c, s, "S", 100, 0, None),
        line(2, 1.01, s, c, "SA", 500, 101, None),
        line(3, 1.011, c, s, "A", 101, 501, None),
        line(4, 1.04, c, s, "FA", 101, 501, None),
        line(5, 1.05, s, c, "FA", 501, 102, None),
    ];
    let mut t = 1.05;
    let mut gap = 0.3;
    for f in 0..4 {
        t += gap;
        gap *= 2.0;
        v.push(line(6 + 2 * f, t, s, c, "FA", 501, 102, None));
        v.push(line(7 + 2 * f, t + 0.001, c, s, "A", 102, 502, None));
    }
    // a later, unrelated packet moves the clock far past every deadline
    v.push(line(20, 60.0, (C, 40002), s, "S", 7, 0, None));
    let f = flows(v.concat());
    let mine: Vec<&Value> = f.iter().filter(|x| x["client_port"] == 40001).collect();
    assert_eq!(mine.len(), 1, "{f:?}");
    assert_eq!(mine[0]["last_frame"], 13);
    assert_eq!(mine[0]["end"], "fin");
    assert_eq!(mine[0]["server"]["retransmissions"], 4);
}

#[test]
fn mirrored_copies_through_two_tunnels_are_two_flows_with_their_tunnel() {
    let a = r#"[{"type":"vxlan","src_ip":"192.0.2.1","dst_ip":"192.0.2.9","ttl":64,"src_port":40000,"dst_port":4789,"vni":7}]"#;
    // the other direction: another VXLAN source port, the addresses swapped: the same tunnel
    let a_rev = r#"[{"type":"vxlan","src_ip":"192.0.2.9","dst_ip":"192.0.2.1","ttl":64,"src_port":51000,"dst_port":4789,"vni":7}]"#;
    let b = r#"[{"type":"vxlan","src_ip":"192.0.2.2","dst_ip":"192.0.2.9","ttl":64,"src_port":40000,"dst_port":4789,"vni":7}]"#;
    let input = [
        conn(1, 1.0, 40001, Some(a), Some(a_rev)),
        conn(11, 1.0001, 40001, Some(b), None),
        conn(21, 1.0002, 40001, None, None),
    ]
    .concat();
    let f = flows(input);
    assert_eq!(f.len(), 3, "{f:?}");
    for x in &f {
        assert_eq!(x["state"], "SF", "{x}");
        assert_eq!(x["client"]["packets"], 4, "{x}");
    }
    let tun: Vec<&Value> = f.iter().map(|x| &x["tunnel"]).collect();
    assert_eq!(tun[0][0]["src_ip"], "192.0.2.1");
    assert_eq!(tun[1][0]["src_ip"], "192.0.2.2");
    assert_eq!(tun[0][0]["vni"], 7);
    // the connection's first packet's tunnel (the client's SYN: source port 40000)
    assert_eq!(tun[0][0]["src_port"], 40000);
    assert!(f[2].get("tunnel").is_none());
}

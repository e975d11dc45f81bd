use super::super::testutil::*;
use serde_json::{Value, json};

fn hx(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An IPv6 packet fd00::1 -> fd00::2, hop limit 64, next header `nh`, around `payload`.
fn ip6(nh: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = hex("6000 0000");
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.extend_from_slice(&[nh, 64]);
    v.extend_from_slice(&hex(
        "fd000000000000000000000000000001 fd000000000000000000000000000002",
    ));
    v.extend_from_slice(payload);
    v
}

fn tcp_syn() -> Vec<u8> {
    ip4(6, "9c40 0050 00000064 00000000 5002 faf0 0000 0000")
}

fn eth(et: &str, payload: &[u8]) -> Vec<u8> {
    let mut f = hex(&format!("020000000001 020000000002 {et}"));
    f.extend_from_slice(payload);
    f
}

#[test]
fn gre_with_key_and_sequence_to_tcp() {
    let gre = format!("3000 0800 0000002a 00000007 {}", hx(&tcp_syn()));
    let v = decode(1, &eth("0800", &ip4(47, &gre)));
    assert_eq!(v["tunnel"][0]["type"], "gre");
    assert_eq!(v["tunnel"][0]["key"], 42);
    assert_eq!(v["tunnel"][0]["seq"], 7);
    assert_eq!(v["tunnel"][0]["src_ip"], "10.0.0.1");
    assert_has(
        &v,
        &json!({"proto": "tcp", "dst_port": 80, "decode_error": null}),
    );
}

#[test]
fn ip_in_ip_all_four() {
    let v = decode(101, &ip4(4, &hx(&tcp_syn())));
    assert_eq!(v["tunnel"][0]["type"], "ipip");
    assert_eq!(v["src_port"], 40000);
    let v = decode(101, &ip4(41, &hx(&ip6(6, &tcp_syn()[20..]))));
    assert_eq!(v["tunnel"][0]["type"], "6in4");
    assert_eq!(v["ip_version"], 6);
    assert_eq!(v["src_ip"], "fd00::1");
    let v = decode(101, &ip6(4, &tcp_syn()));
    assert_eq!(v["tunnel"][0]["type"], "4in6");
    assert_eq!(v["tunnel"][0]["src_ip"], "fd00::1");
    assert_eq!(v["ip_version"], 4);
    let v = decode(101, &ip6(41, &ip6(6, &tcp_syn()[20..])));
    assert_eq!(v["tunnel"][0]["type"], "ip6ip6");
    assert_eq!(v["proto"], "tcp");
}

#[test]
fn nesting_is_bounded() {
    let mut p = tcp_syn();
    for _ in 0..12 {
        p = ip4(4, &hx(&p));
    }
    let v = decode(101, &p);
    assert_eq!(v["tunnel"].as_array().unwrap().len(), super::MAX_DEPTH);
    assert_eq!(v["proto"], "ipip");
    assert_eq!(v["decode_error"], Value::Null);
}

#[test]
fn vxlan_to_tcp_and_cut_vxlan_stays_udp() {
    let inner = eth("0800", &tcp_syn());
    let udp = format!("d431 12b5 0000 0000 0800 0000 00002a00 {}", hx(&inner));
    let v = decode(1, &eth("0800", &ip4(17, &udp)));
    assert_eq!(v["tunnel"][0]["type"], "vxlan");
    assert_eq!(v["tunnel"][0]["vni"], 42);
    assert_eq!(v["tunnel"][0]["dst_port"], 4789);
    assert_eq!(v["tunnel"][0]["inner_src_mac"], "02:00:00:00:00:02");
    assert_eq!(v["tcp_flags"], "S");
    // cut inside the inner Ethernet header: a plain UDP record
    let f = eth("0800", &ip4(17, &udp));
    let v = decode(1, &f[..14 + 20 + 8 + 8 + 6]);
    assert!(v.get("tunnel").is_none());
    assert_eq!(v["proto"], "udp");
    assert_eq!(v["dst_port"], 4789);
}

#[test]
fn ipv4_ah_is_walked() {
    // AH: next header 6, length 4 (24 bytes), SPI, sequence, 12 bytes ICV
    let ah = format!(
        "0604 0000 00000100 00000001 {} {}",
        "00".repeat(12),
        hx(&tcp_syn()[20..])
    );
    let v = decode(101, &ip4(51, &ah));
    assert_has(
        &v,
        &json!({"ip_proto": 6, "ipv4_ext": [51], "dst_port": 80}),
    );
    assert!(v.get("tunnel").is_none());
}

#[test]
fn mpls_over_ppp_and_macsec() {
    let v = decode(
        9,
        &[&hex("ff03 0281 000641ff")[..], &tcp_syn()[..]].concat(),
    );
    assert_eq!(v["tunnel"], json!([{"type": "mpls", "labels": [100]}]));
    assert_eq!(v["proto"], "tcp");
    // MACsec integrity only (TCI 0x20: SC present), SCI, then IPv4
    let sectag = "2000 00000001 0011223344550001 0800";
    let v = decode(
        1,
        &eth("88e5", &[&hex(sectag)[..], &tcp_syn()[..]].concat()),
    );
    assert_eq!(v["ethertype"], 0x88e5);
    assert_eq!(v["src_ip"], "10.0.0.1");
    // encrypted (E and C set): link-only
    let v = decode(
        1,
        &eth("88e5", &hex("2c00 00000001 0011223344550001 abcdef")),
    );
    assert!(v.get("src_ip").is_none());
    assert_eq!(v["decode_error"], Value::Null);
}

#[test]
fn mutated_tunnel_frames_give_valid_records() {
    let inner = eth("0800", &tcp_syn());
    let vx = eth(
        "0800",
        &ip4(
            17,
            &format!("d431 12b5 0000 0000 0800 0000 00002a00 {}", hx(&inner)),
        ),
    );
    let gre = eth(
        "0800",
        &ip4(
            47,
            &format!("1000 88be 00000001 1001 0029 00000005 {}", hx(&inner)),
        ),
    );
    let ah = ip4(51, &format!("0401 0000 00000100 {}", hx(&tcp_syn())));
    let corpus = [
        (1, vx),
        (1, gre),
        (101, ah),
        (101, ip6(41, &ip6(4, &tcp_syn()))),
    ];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..20_000 {
        let (lt, base) = &corpus[i % corpus.len()];
        let mut f = base.clone();
        for _ in 0..=(x % 3) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let at = (x as usize) % f.len();
            f[at] = (x >> 32) as u8;
        }
        if x % 4 == 0 {
            f.truncate((x >> 8) as usize % (f.len() + 1));
        }
        let v = decode(*lt, &f);
        assert_eq!(v["caplen"], f.len());
    }
}

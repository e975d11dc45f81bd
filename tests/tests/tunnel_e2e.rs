//! The pipeline through tunnels: captures of real Linux VXLAN devices (over IPv4 and IPv6) in
//! network namespaces (tools/pcap2jsonl/tests/fixtures/tunnels/make.sh), an ok and a refused TCP
//! connection inside each. The refused one must give the same `refused` finding as without the
//! tunnel, the ok one none; flows carry the tunnel.

use serde_json::Value;
use tcpwhy_tests::{of_type, pipeline, records, root};

fn run(name: &str) -> (Vec<Value>, Vec<Value>) {
    let path = root()
        .join("tools/pcap2jsonl/tests/fixtures/tunnels")
        .join(name);
    let p = path.to_str().unwrap();
    let outs = pipeline(
        &[
            ("pcap2jsonl", &[p]),
            ("tcpflows", &[]),
            ("ttlhops", &[]),
            ("tcpflag", &["--all"]),
        ],
        None,
    );
    let recs = records(&outs[3].stdout);
    let flows = of_type(&recs, "flow").into_iter().cloned().collect();
    let findings = of_type(&recs, "finding").into_iter().cloned().collect();
    (flows, findings)
}

fn check(name: &str, server: &str, vni: u64) {
    let (flows, findings) = run(name);
    let tcp: Vec<&Value> = flows.iter().filter(|f| f["server_ip"] == server).collect();
    assert_eq!(tcp.len(), 2, "{name}: {flows:?}");
    let ok = tcp.iter().find(|f| f["server_port"] == 8080).unwrap();
    let rej = tcp.iter().find(|f| f["server_port"] == 8081).unwrap();
    assert_eq!(ok["state"], "SF", "{ok}");
    assert_eq!(rej["state"], "REJ", "{rej}");
    for f in [ok, rej] {
        assert_eq!(f["tunnel"][0]["type"], "vxlan", "{f}");
        assert_eq!(f["tunnel"][0]["vni"], vni, "{f}");
    }
    let kinds: Vec<&str> = findings
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["refused"], "{name}: {findings:?}");
    assert_eq!(findings[0]["server_ip"], server);
    assert_eq!(findings[0]["server_port"], 8081);
    assert_eq!(findings[0]["socket_error"]["posix"], "ECONNREFUSED");
}

#[test]
fn refused_inside_vxlan_is_found() {
    check("vxlan.pcap", "192.168.42.2", 42);
}

#[test]
fn refused_inside_vxlan_over_ipv6_is_found() {
    check("vxlan6.pcap", "fd42::2", 43);
}

//! The pipeline through tunnels: captures of real Linux VXLAN devices (over IPv4 and IPv6) in
//! network namespaces (tools/pcap2jsonl/tests/fixtures/tunnels/make.sh), an ok and a refused TCP
//! connection inside each. The refused one must give the same `refused` finding as without the
//! tunnel, the ok one none; flows carry the tunnel. And a VXLAN traffic mirror (mirror.sh: tc
//! mirred of a server interface into a VXLAN device, captured at the collector) gives the same
//! findings as the plain capture of the same traffic.

use serde_json::{Value, json};
use tcpwhy_tests::{assert_has, of_type, pipeline_ok, records, root, strv};

fn run(name: &str) -> (Vec<Value>, Vec<Value>) {
    let path = root()
        .join("tools/pcap2jsonl/tests/fixtures/tunnels")
        .join(name);
    let outs = pipeline_ok(
        &path,
        &[("tcpflows", &[]), ("ttlhops", &[]), ("tcpflag", &["--all"])],
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
    let kinds: Vec<&str> = findings.iter().map(|f| strv(&f["kind"])).collect();
    assert_eq!(kinds, ["refused"], "{name}: {findings:?}");
    assert_has(
        &findings[0],
        &json!({
            "server_ip": server, "server_port": 8081, "socket_error": {"posix": "ECONNREFUSED"},
        }),
    );
}

#[test]
fn refused_inside_vxlan_is_found() {
    check("vxlan.pcap", "192.168.42.2", 42);
}

#[test]
fn refused_inside_vxlan_over_ipv6_is_found() {
    check("vxlan6.pcap", "fd42::2", 43);
}

/// What a finding concludes, without what depends on the capture point (uids, frames, times).
fn conclusion(f: &Value) -> String {
    format!(
        "{} {} {}:{} -> {}:{} attempts={} origin={} posix={}",
        f["kind"],
        f["severity"],
        f["client_ip"],
        f["client_port"],
        f["server_ip"],
        f["server_port"],
        f["attempts"],
        f["origin"],
        f["socket_error"]["posix"]
    )
}

#[test]
fn a_vxlan_mirror_gives_the_findings_of_the_plain_capture() {
    let (mflows, mirror) = run("vxlan-mirror.pcap");
    let (_, plain) = run("vxlan-mirror-plain.pcap");
    assert!(!plain.is_empty());
    let m: Vec<String> = mirror.iter().map(conclusion).collect();
    let p: Vec<String> = plain.iter().map(conclusion).collect();
    assert_eq!(m, p);
    assert!(m[0].starts_with("\"refused\""), "{m:?}");
    for f in mflows.iter().filter(|f| f["server_port"] == 8081) {
        assert_eq!(f["tunnel"][0]["vni"], 77, "{f}");
    }
}

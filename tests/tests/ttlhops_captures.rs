//! ttlhops on real stacks: `pcap2jsonl | tcpflows | ttlhops` on the captures made by
//! tools/ttlhops/tests/make-captures.sh (client, two Linux routers, a server with Windows' TTL 128;
//! forged RSTs, ICMP from a router, a conflict, IPv6), on the lab's captures and on the shared
//! real ones. Every verdict is checked: origin, hop, the evidence it rests on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use tcpwhy_tests::{
    assert_has, lab_captures, of_type, pipeline, pipeline_ok, records, root, shared_captures, strv,
};

/// ttlhops' own captures: `$TTLHOPS_CAPTURES` when set (fresh ones from
/// `sudo sh tools/ttlhops/tests/make-captures.sh DIR`), else the committed ones.
fn ttl_captures() -> PathBuf {
    match std::env::var_os("TTLHOPS_CAPTURES") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => root().join("tools/ttlhops/tests/captures"),
    }
}

/// `pcap2jsonl <pcap> | tcpflows | ttlhops <args>`: (flows, hosts, ttlhops' raw stdout, tcpflows'
/// raw stdout).
fn run(pcap: &Path, args: &[&str]) -> (Vec<Value>, Vec<Value>, Vec<u8>, Vec<u8>) {
    let outs = pipeline_ok(pcap, &[("tcpflows", &[]), ("ttlhops", args)]);
    let recs = records(&outs[2].stdout);
    let flows = of_type(&recs, "flow").into_iter().cloned().collect();
    let hosts = of_type(&recs, "host").into_iter().cloned().collect();
    (flows, hosts, outs[2].stdout.clone(), outs[1].stdout.clone())
}

fn flow(flows: &[Value], port: u64, nth: usize) -> &Value {
    flows
        .iter()
        .filter(|f| f["server_port"] == port)
        .nth(nth)
        .unwrap_or_else(|| panic!("no flow #{nth} to port {port}"))
}

fn host<'a>(hosts: &'a [Value], ip: &str) -> &'a Value {
    hosts
        .iter()
        .find(|h| h["ip"] == ip)
        .unwrap_or_else(|| panic!("no host record for {ip}"))
}

/// Asserts a verdict: origin, at_hop, basis.
fn verdict(o: &Value, origin: &str, at_hop: u64, basis: &str) {
    assert_eq!(o["origin"], origin, "{o:#}");
    assert_eq!(o["at_hop"], at_hop, "{o:#}");
    assert_eq!(o["hops"], at_hop - 1, "{o:#}");
    assert_eq!(o["basis"], basis, "{o:#}");
    assert!(!strv(&o["reason"]).is_empty());
    if origin == "unknown" {
        assert!(
            o["settle"].is_string(),
            "unknown says what would settle it: {o}"
        );
        assert_eq!(o["confidence"], Value::Null);
    } else {
        assert!(o["confidence"].is_string());
    }
}

const SRV: &str = "10.61.2.2";

#[test]
fn server_two_routers_away_refused_itself_evidence_from_a_later_flow() {
    let (flows, hosts, _, _) = run(&ttl_captures().join("refused-then-ok.pcap"), &[]);
    // The refused flow comes first, the evidence (SYN-ACK TTL 126 on 2725) after it.
    assert_eq!(flows[0]["server_port"], 2383, "order kept");
    let o = &flow(&flows, 2383, 0)["ttlhops"]["rst"];
    verdict(o, "endpoint", 3, "other_flows");
    assert_has(
        o,
        &json!({
            "observed_ttl": 126, "initial_ttl": 128, "expected_hops": 2, "confidence": "high",
        }),
    );
    // The connection the server aborted: its own RST after its SYN-ACK and data.
    let abort = flow(&flows, 2725, 1);
    verdict(&abort["ttlhops"]["rst"], "endpoint", 3, "same_flow");
    assert_eq!(abort["ttlhops"]["server"]["hops"], 2);
    assert_eq!(abort["ttlhops"]["client"]["hops"], 0);
    let h = host(&hosts, SRV);
    assert_has(
        h,
        &json!({
            "ttls": [126], "initial_ttl": 128, "hops": 2, "os_hint": "windows", "middlebox_rsts": 0,
            "flows": 3,
        }),
    );
    let c = host(&hosts, "10.61.1.2");
    assert_eq!(
        (c["hops"].as_u64(), c["os_hint"].as_str()),
        (Some(0), Some("linux/macos/unix"))
    );

    // Live-pipe mode decides at once: the evidence had not arrived yet.
    let (flows, _, _, _) = run(&ttl_captures().join("refused-then-ok.pcap"), &["--no-wait"]);
    verdict(
        &flow(&flows, 2383, 0)["ttlhops"]["rst"],
        "unknown",
        3,
        "none",
    );
}

#[test]
fn refused_alone_needs_a_hint_and_the_hint_decides() {
    let pcap = ttl_captures().join("refused-alone.pcap");
    let (flows, hosts, _, _) = run(&pcap, &[]);
    let o = &flows[0]["ttlhops"]["rst"];
    verdict(o, "unknown", 3, "none");
    let settle = strv(&o["settle"]);
    assert!(
        settle.contains("--expect-hops") && settle.contains(SRV),
        "{settle}"
    );
    assert!(strv(&o["reason"]).contains("Windows default"));
    assert_eq!(flows[0]["ttlhops"]["server"], Value::Null);
    assert!(
        host(&hosts, SRV)["note"]
            .as_str()
            .unwrap()
            .contains("nothing but RSTs")
    );

    let (flows, _, _, _) = run(&pcap, &["--expect-hops", "2"]);
    let o = &flows[0]["ttlhops"]["rst"];
    verdict(o, "endpoint", 3, "user_expect");
    assert_eq!(o["confidence"], "medium");
    // The user says 3 routers: a RST from 2 routers away came from a device in between.
    let (flows, _, _, _) = run(&pcap, &["--hops", "10.61.2.2=3"]);
    verdict(&flows[0]["ttlhops"]["rst"], "middlebox", 3, "user_hops");
    // The user says 1 router: the RST looks farther than the server: conflict.
    let (flows, _, _, _) = run(&pcap, &["--expect-hops", "1"]);
    verdict(&flows[0]["ttlhops"]["rst"], "unknown", 3, "user_expect");
}

#[test]
fn rst_forged_by_the_first_router_is_middlebox_at_hop_1() {
    let (flows, hosts, _, _) = run(&ttl_captures().join("middlebox-r1.pcap"), &[]);
    // REJECT --reject-with tcp-reset on r1 for the SYN to 2383: TTL 64 vs the server's 126.
    let o = &flow(&flows, 2383, 0)["ttlhops"]["rst"];
    verdict(o, "middlebox", 1, "other_flows");
    assert_has(
        o,
        &json!({
            "observed_ttl": 64, "expected_hops": 2, "expected_initial_ttl": 128, "from_ip": SRV,
        }),
    );
    // The connection r1 killed after the server's SYN-ACK: the same flow shows the server.
    let killed = flow(&flows, 2725, 1);
    verdict(&killed["ttlhops"]["rst"], "middlebox", 1, "same_flow");
    assert_eq!(killed["ttlhops"]["server"]["observed_ttl"], 126);
    // The healthy connection has no verdict to give.
    let ok = flow(&flows, 2725, 0);
    assert_eq!(ok["ttlhops"]["rst"], Value::Null);
    assert_eq!(ok["ttlhops"]["icmp"], serde_json::json!([]));
    let h = host(&hosts, SRV);
    assert_eq!(
        h["ttls"],
        serde_json::json!([126]),
        "forged RSTs are not the server's"
    );
    assert_eq!(h["rst_ttls"], serde_json::json!([64]));
    assert_eq!(h["middlebox_rsts"], 2);
}

#[test]
fn rst_forged_by_the_second_router_same_initial_ttl() {
    // Linux server (64, arrives with 62); r2 forges the RST (63). Same initial TTL, hop 2.
    let (flows, _, _, _) = run(&ttl_captures().join("middlebox-r2-linux.pcap"), &[]);
    let o = &flow(&flows, 2383, 0)["ttlhops"]["rst"];
    verdict(o, "middlebox", 2, "other_flows");
    assert_eq!(o["expected_initial_ttl"], 64);
    assert_eq!(o["expected_hops"], 2);
}

#[test]
fn icmp_from_the_second_router() {
    let (flows, hosts, _, _) = run(&ttl_captures().join("icmp-r2.pcap"), &[]);
    for port in [2383, 2384] {
        let f = flow(&flows, port, 0);
        assert_eq!(f["icmp"][0]["from_ip"], "10.61.12.2");
        let o = &f["ttlhops"]["icmp"][0];
        verdict(o, "middlebox", 2, "source_address");
        assert_eq!(o["observed_ttl"], 63);
        assert_eq!(f["ttlhops"]["rst"], Value::Null);
    }
    let r2 = host(&hosts, "10.61.12.2");
    assert_eq!(r2["icmp_errors"], 2);
    assert_eq!(r2["hops"], 1);
}

#[test]
fn conflicting_evidence_is_unknown() {
    // The server's RSTs leave with TTL 100 (arrive 98), its other packets with 128 (126).
    let (flows, _, _, _) = run(&ttl_captures().join("conflict.pcap"), &[]);
    let o = &flow(&flows, 2383, 0)["ttlhops"]["rst"];
    verdict(o, "unknown", 31, "other_flows");
    assert_eq!(o["observed_ttl"], 98);
    assert_eq!(o["expected_hops"], 2);
    assert!(strv(&o["reason"]).contains("conflicts"), "{o}");
    // A user hint does not override what the capture shows.
    let (flows, _, _, _) = run(
        &ttl_captures().join("conflict.pcap"),
        &["--expect-hops", "30"],
    );
    let o = &flow(&flows, 2383, 0)["ttlhops"]["rst"];
    assert_eq!(o["origin"], "unknown");
    assert!(strv(&o["reason"]).contains("capture wins"), "{o}");
}

#[test]
fn ipv6_hop_limits() {
    let (flows, hosts, _, _) = run(&ttl_captures().join("ipv6.pcap"), &[]);
    let o = &flow(&flows, 2383, 0)["ttlhops"]["rst"];
    verdict(o, "endpoint", 3, "other_flows");
    assert_eq!(o["observed_ttl"], 126);
    assert!(strv(&o["reason"]).contains("hop limit 126"), "{o}");
    verdict(
        &flow(&flows, 2384, 0)["ttlhops"]["rst"],
        "middlebox",
        1,
        "other_flows",
    );
    // ICMPv6 administratively prohibited from r2 (hop limit 63): hop 2.
    let f = flow(&flows, 2385, 0);
    assert!(!f["ttlhops"]["icmp"].as_array().unwrap().is_empty());
    for o in f["ttlhops"]["icmp"].as_array().unwrap() {
        verdict(o, "middlebox", 2, "source_address");
        assert_eq!(o["from_ip"], "fd61:12::2");
        assert!(strv(&o["reason"]).contains("hop limit 63"), "{o}");
    }
    let h = host(&hosts, "fd61:2::2");
    assert_eq!(
        (h["ip_version"].as_u64(), h["hops"].as_u64()),
        (Some(6), Some(2))
    );
}

/// The lab's captures (tests/captures, or fresh ones in $TCPWHY_CAPTURES: tests/scenarios/run.sh):
/// the same questions.
#[test]
fn lab_scenarios() {
    let lab = lab_captures();
    let (flows, hosts, _, _) = run(&lab.join("refused-2383.pcap"), &[]);
    for f in flows.iter().filter(|f| f["server_port"] == 2383) {
        verdict(&f["ttlhops"]["rst"], "endpoint", 3, "other_flows");
    }
    assert_eq!(host(&hosts, "203.0.113.20")["os_hint"], "windows");
    // Decided at once (--no-wait), the last refusal only has a neighbour to go on: app .30 in
    // the same /24, 2 routers away. Mentioned, not a verdict.
    let (flows, _, _, _) = run(&lab.join("refused-2383.pcap"), &["--no-wait"]);
    let last = flows.iter().rfind(|f| f["server_port"] == 2383).unwrap();
    let o = &last["ttlhops"]["rst"];
    verdict(o, "unknown", 3, "none");
    assert!(
        strv(&o["reason"]).contains("203.0.113.30 (same /24)"),
        "{o}"
    );

    let (flows, _, _, _) = run(&lab.join("refused-ipv6.pcap"), &[]);
    let refused: Vec<&Value> = flows.iter().filter(|f| f["server_port"] == 2383).collect();
    assert_eq!(refused.len(), 3);
    for f in refused {
        verdict(&f["ttlhops"]["rst"], "endpoint", 3, "other_flows");
    }

    let (flows, _, _, _) = run(&lab.join("middlebox-reset.pcap"), &[]);
    for f in flows.iter().filter(|f| f["server_port"] == 8443) {
        verdict(&f["ttlhops"]["rst"], "middlebox", 1, "other_flows");
    }
    // The forged RSTs alone (no healthy connection to the server in the input): unknown, but
    // the reason notes that 0 routers away from another /24 than the client means hop 1.
    let (_, _, _, raw) = run(&lab.join("middlebox-reset.pcap"), &[]);
    let only: String = String::from_utf8(raw)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"server_port\":8443"))
        .map(|l| format!("{l}\n"))
        .collect();
    let out = pipeline(&[("ttlhops", &[])], Some(only.as_bytes()));
    let recs = records(&out[0].stdout);
    let fl = of_type(&recs, "flow");
    assert!(!fl.is_empty());
    for f in fl {
        let o = &f["ttlhops"]["rst"];
        verdict(o, "unknown", 1, "none");
        assert!(strv(&o["reason"]).contains("a device at hop 1"), "{o}");
    }

    let (flows, _, _, _) = run(&lab.join("icmp-unreachable.pcap"), &[]);
    // Every ICMP error there comes from router2 (TTL 63): hop 2.
    let with_icmp: Vec<&Value> = flows.iter().filter(|f| f["icmp_count"] != 0).collect();
    assert!(with_icmp.len() >= 2);
    for f in with_icmp {
        verdict(&f["ttlhops"]["icmp"][0], "middlebox", 2, "source_address");
    }

    // Healthy traffic: nothing to judge, every flow enriched, nothing unknown.
    let (flows, hosts, _, _) = run(&lab.join("healthy.pcap"), &[]);
    assert!(!flows.is_empty());
    for f in &flows {
        assert!(f["ttlhops"].is_object(), "{f}");
        assert_eq!(f["ttlhops"]["rst"], Value::Null);
    }
    assert!(hosts.iter().all(|h| h["middlebox_rsts"] == 0));
}

/// The shared real captures: the seed's RST (TTL 126) alone in a capture cannot be placed.
#[test]
fn shared_crafted_seed_rst() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    let pcap = shared_captures().join("real/crafted-null-linktype.pcap");
    let (flows, _, _, _) = run(&pcap, &[]);
    let o = &flows[0]["ttlhops"]["rst"];
    verdict(o, "unknown", 3, "none");
    assert_eq!(o["observed_ttl"], 126);
    let (flows, _, _, _) = run(&pcap, &["--expect-hops", "2"]);
    verdict(&flows[0]["ttlhops"]["rst"], "endpoint", 3, "user_expect");
}

/// tshark's view of each sender's TTLs: (address -> TTL / hop-limit values of its packets).
fn tshark_ttls(pcap: &Path) -> BTreeMap<String, BTreeSet<u64>> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(pcap)
        .args([
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "ip.ttl",
            "-e",
            "ipv6.src",
            "-e",
            "ipv6.hlim",
            "-E",
            "occurrence=f",
        ])
        .output()
        .expect("tshark");
    let mut m: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let c: Vec<&str> = l.split('\t').collect();
        for (a, t) in [(0, 1), (2, 3)] {
            if let (Some(ip), Some(ttl)) = (c.get(a), c.get(t).and_then(|t| t.parse().ok())) {
                if !ip.is_empty() {
                    m.entry(ip.to_string()).or_default().insert(ttl);
                }
            }
        }
    }
    m
}

/// Differential: every TTL a host record lists is one tshark shows for that sender, in both
/// modes (from flows and from packets); packet records pass through byte for byte.
#[test]
fn host_ttls_agree_with_tshark_and_packets_pass_through() {
    if !tcpwhy_tests::need_tool("tshark", "tshark") {
        return;
    }
    let mut pcaps: Vec<PathBuf> = std::fs::read_dir(ttl_captures())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    pcaps.sort();
    pcaps.push(lab_captures().join("refused-2383.pcap"));
    if tcpwhy_tests::corpus().is_some() {
        pcaps.push(shared_captures().join("real/tcpreplay-test.pcap"));
    }
    for pcap in &pcaps {
        let truth = tshark_ttls(pcap);
        let (_, hosts, _, _) = run(pcap, &[]);
        let p = pcap.to_string_lossy().into_owned();
        let outs = pipeline(&[("pcap2jsonl", &[p.as_str()]), ("ttlhops", &[])], None);
        assert!(outs[1].status.success());
        // packets pass through untouched, then the host records.
        let n = outs[0].stdout.len();
        assert_eq!(&outs[1].stdout[..n], &outs[0].stdout[..], "{p}");
        let pkt_hosts = records(&outs[1].stdout[n..]);
        assert!(
            pkt_hosts
                .iter()
                .all(|h| h["type"] == "host" && h["source"] == "packets")
        );
        for h in hosts.iter().chain(pkt_hosts.iter()) {
            let ip = strv(&h["ip"]);
            let seen = truth
                .get(ip)
                .unwrap_or_else(|| panic!("{p}: {ip} not a sender"));
            for t in h["ttls"]
                .as_array()
                .unwrap()
                .iter()
                .chain(h["rst_ttls"].as_array().unwrap())
            {
                assert!(
                    seen.contains(&t.as_u64().unwrap()),
                    "{p}: {ip} {t} not in {seen:?}"
                );
            }
        }
        // From packets, every sender with a TTL has a record.
        let listed: BTreeSet<&str> = pkt_hosts.iter().map(|h| strv(&h["ip"])).collect();
        for ip in truth.keys() {
            assert!(listed.contains(ip.as_str()), "{p}: no host record for {ip}");
        }
    }
}

/// Everything tcpflows wrote comes out of ttlhops: non-flow records byte for byte, flows with
/// one field added at the end and nothing else changed.
#[test]
fn pass_through_is_byte_for_byte() {
    let (_, _, out, input) = run(&lab_captures().join("intermittent-rr.pcap"), &[]);
    let out = String::from_utf8(out).unwrap();
    let input = String::from_utf8(input).unwrap();
    let outl: Vec<&str> = out.lines().collect();
    let inl: Vec<&str> = input.lines().collect();
    assert!(outl.len() > inl.len(), "host records follow");
    for (i, o) in inl.iter().zip(&outl) {
        if i.starts_with("{\"type\":\"flow\"") {
            assert!(o.starts_with(&i[..i.len() - 1]), "{i}\n{o}");
            assert!(o[i.len() - 1..].starts_with(",\"ttlhops\":{"));
        } else {
            assert_eq!(i, o);
        }
    }
}

/// Every field ttlhops writes is documented in docs/schema.md (host section and the flow's
/// `ttlhops` sub-table), and every documented host field is present.
#[test]
fn output_matches_the_schema_tables() {
    let md = std::fs::read_to_string(root().join("docs/schema.md")).unwrap();
    let mut section = String::new();
    let mut documented: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in md.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            section = h.split('`').nth(1).unwrap_or("").to_string();
            continue;
        }
        let t = line.trim();
        if !t.starts_with('|') {
            continue;
        }
        let first = t.trim_matches('|').split('|').next().unwrap_or("");
        for name in first.split('`').skip(1).step_by(2) {
            documented
                .entry(section.clone())
                .or_default()
                .insert(name.to_string());
        }
    }
    let host_fields = &documented["host"];
    let flow_fields = &documented["flow"];
    fn walk(v: &Value, path: &str, out: &mut BTreeSet<String>) {
        if let Some(o) = v.as_object() {
            for (k, c) in o {
                let p = format!("{path}.{k}");
                out.insert(p.clone());
                match c {
                    Value::Object(_) => walk(c, &p, out),
                    Value::Array(a) => {
                        for it in a {
                            walk(it, &format!("{p}[]"), out);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    for name in ["refused-then-ok", "icmp-r2", "middlebox-r1", "ipv6"] {
        let (flows, hosts, _, _) = run(&ttl_captures().join(format!("{name}.pcap")), &[]);
        for h in &hosts {
            let keys: BTreeSet<&String> = h.as_object().unwrap().keys().collect();
            assert_eq!(h.as_object().unwrap().keys().next().unwrap(), "type");
            for k in &keys {
                assert!(host_fields.contains(k.as_str()), "undocumented host.{k}");
            }
            for f in host_fields {
                assert!(
                    keys.contains(f),
                    "host record without documented `{f}`: {h}"
                );
            }
        }
        for f in &flows {
            let mut paths = BTreeSet::new();
            walk(&f["ttlhops"], "ttlhops", &mut paths);
            for p in paths {
                assert!(flow_fields.contains(&p), "undocumented flow field `{p}`");
            }
        }
    }
}

//! portmap at the end of the real pipeline (`pcap2jsonl | tcpflows | ttlhops | tcpflag |
//! portmap`) on the lab's real-stack captures with the server listings the lab took while they
//! ran (tests/captures/*.ss.txt, *.netstat.txt), and on the shared crafted capture of the seed's
//! SYN → RST/ACK on 2383 with a Windows `netstat -ano` + `tasklist` written to Microsoft's format.
//! Checks the conclusions and that every record portmap does not enrich passes byte for byte.

use serde_json::{Value, json};
use tcpwhy_tests::{
    assert_has, of_type, own_captures, pipeline_ok, records, root, shared_captures,
};

fn fixture(name: &str) -> String {
    root()
        .join("tools/portmap/tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn lab(name: &str) -> String {
    own_captures().join(name).display().to_string()
}

/// The stages' outputs; `portmap_args` for the last stage; tcpflag with `--all` so flows and
/// packets reach portmap too.
fn run(capture: &str, portmap_args: &[&str]) -> Vec<std::process::Output> {
    let mut pm = vec!["--no-etc-services"];
    pm.extend_from_slice(portmap_args);
    pipeline_ok(
        std::path::Path::new(capture),
        &[
            ("tcpflows", &["--keep-packets"]),
            ("ttlhops", &[]),
            ("tcpflag", &["--all"]),
            ("portmap", &pm),
        ],
    )
}

/// [`run`] on a lab capture with one of the lab's listings, and `--host` when given: portmap's
/// records, checked to pass through what it does not enrich ([`assert_passthrough`]).
fn on_lab(capture: &str, listing: &str, host: Option<&str>) -> Vec<Value> {
    let listing = lab(listing);
    let mut args = vec!["-l", listing.as_str()];
    if let Some(host) = host {
        args.extend(["--host", host]);
    }
    let outs = run(&lab(capture), &args);
    assert_passthrough(&outs[3].stdout, &outs[4].stdout);
    records(&outs[4].stdout)
}

fn hints(recs: &[Value], ty: &str, port: u64) -> Vec<String> {
    of_type(recs, ty)
        .into_iter()
        .filter(|r| r["server_port"] == port)
        .map(|r| r["portmap"]["hint"].as_str().unwrap_or("").to_string())
        .collect()
}

/// portmap's input and output differ only in `flow` and `finding` lines.
fn assert_passthrough(input: &[u8], output: &[u8]) {
    let a: Vec<&str> = std::str::from_utf8(input).unwrap().lines().collect();
    let b: Vec<&str> = std::str::from_utf8(output).unwrap().lines().collect();
    assert_eq!(a.len(), b.len(), "one record out per record in");
    let mut enriched = 0;
    for (x, y) in a.iter().zip(&b) {
        if x.starts_with(r#"{"type":"flow""#) || x.starts_with(r#"{"type":"finding""#) {
            let vx: Value = serde_json::from_str(x).unwrap();
            let mut vy: Value = serde_json::from_str(y).unwrap();
            vy.as_object_mut().unwrap().shift_remove("portmap");
            assert_eq!(vx, vy, "only portmap added");
            assert!(y.starts_with(&x[..x.len() - 1]), "field order kept");
            enriched += 1;
        } else {
            assert_eq!(x, y, "passed through byte for byte");
        }
    }
    assert!(enriched > 0);
}

#[test]
fn refused_2383_with_the_servers_real_ss_and_netstat() {
    for (listing, process) in [
        ("refused-2383.ss.txt", "msmdsrv"),
        ("refused-2383.netstat.txt", "python3"),
    ] {
        let recs = on_lab("refused-2383.pcap", listing, Some("203.0.113.20"));
        let want = format!(
            "nothing listens on 2383 (SSAS 2005+); {process} PID 19289 listens on 2725 (SSAS 2000 default)"
        );
        let f = hints(&recs, "finding", 2383);
        assert!(
            !f.is_empty() && f.iter().all(|h| *h == want),
            "{listing}: {f:?}"
        );
        // Each refused flow too; the healthy connection to 2725 finds its listener.
        let fl = hints(&recs, "flow", 2383);
        assert_eq!(fl.len(), 3, "{listing}");
        assert!(fl.iter().all(|h| *h == want), "{listing}: {fl:?}");
        let ok = of_type(&recs, "flow")
            .into_iter()
            .find(|r| r["server_port"] == 2725)
            .unwrap();
        assert_eq!(ok["portmap"]["listening"], true);
        assert_eq!(
            ok["portmap"]["hint"],
            format!("{process} PID 19289 listens on 2725 (SSAS 2000)")
        );
        // The healthy GET to app:80 is another host: no listing, no hint, the service only.
        let web = of_type(&recs, "flow")
            .into_iter()
            .find(|r| r["server_port"] == 80)
            .unwrap();
        assert_has(
            web,
            &json!({"portmap": {"listening": null, "hint": null, "service": "http"}}),
        );
    }
    // Without --host the only listing (wildcard addresses: host unknown) is assumed, and said so.
    let recs = on_lab("refused-2383.pcap", "refused-2383.ss.txt", None);
    let f = hints(&recs, "finding", 2383);
    assert!(f[0].starts_with("nothing listens on 2383 (SSAS 2005+); msmdsrv PID 19289 listens on 2725 (SSAS 2000 default) (assuming "), "{f:?}");
}

#[test]
fn refused_over_ipv6() {
    let recs = on_lab(
        "refused-ipv6.pcap",
        "refused-ipv6.ss.txt",
        Some("2001:db8:20::20"),
    );
    let f = hints(&recs, "finding", 2383);
    assert_eq!(
        f[0],
        "nothing listens on 2383 (SSAS 2005+); msmdsrv PID 19289 listens on 2725 (SSAS 2000 default)"
    );
    // [::]:2725 serves the IPv6 client: no family hint on the healthy flow.
    let ok = of_type(&recs, "flow")
        .into_iter()
        .find(|r| r["server_port"] == 2725 && r["ip_version"] == 6)
        .unwrap();
    assert_eq!(
        ok["portmap"]["hint"],
        "msmdsrv PID 19289 listens on 2725 (SSAS 2000)"
    );
}

#[test]
fn middlebox_reset_and_syn_timeout_with_the_service_listening() {
    let recs = on_lab(
        "middlebox-reset.pcap",
        "middlebox-reset.ss.txt",
        Some("203.0.113.30"),
    );
    for h in hints(&recs, "finding", 8443)
        .iter()
        .chain(&hints(&recs, "flow", 8443))
    {
        assert_eq!(
            h,
            "python3 PID 19292 listens on 8443 (HTTPS alternate); the reset came from a device on the path, not from this server: look at the firewall or filter there"
        );
    }
    let recs = on_lab(
        "syn-timeout.pcap",
        "syn-timeout.ss.txt",
        Some("203.0.113.30"),
    );
    let f = hints(&recs, "finding", 8080);
    assert!(!f.is_empty());
    for h in f {
        assert_eq!(
            h,
            "python3 PID 19292 listens on 8080 (HTTP alternate); the SYNs went unanswered: a firewall dropping them is more likely than the service"
        );
    }
}

#[test]
fn the_seed_capture_with_windows_netstat_and_tasklist() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    // crafted-null-linktype.pcap: SYN 10.0.0.1 → 10.0.0.2:2383 answered by RST/ACK, TTL 126.
    let cap = shared_captures().join("real/crafted-null-linktype.pcap");
    let outs = run(
        cap.to_str().unwrap(),
        &[
            "-l",
            &fixture("netstat-ano.txt"),
            "-l",
            &fixture("tasklist.txt"),
            "--host",
            "10.0.0.2",
        ],
    );
    assert_passthrough(&outs[3].stdout, &outs[4].stdout);
    let recs = records(&outs[4].stdout);
    let f = hints(&recs, "finding", 2383);
    assert_eq!(
        f,
        vec![
            "nothing listens on 2383 (SSAS 2005+); msmdsrv.exe PID 2344 listens on 2725 (SSAS 2000 default)"
        ]
    );
    // The listing is from 172.16.0.1: without --host it does not apply, and the finding says so.
    let outs = run(cap.to_str().unwrap(), &["-l", &fixture("netstat-ano.txt")]);
    let recs = records(&outs[4].stdout);
    assert_eq!(
        hints(&recs, "finding", 2383),
        vec![
            "no listing for 10.0.0.2 (the listings given are from 172.16.0.1); add --host 10.0.0.2 if one of them is from this server"
        ]
    );
}

#[test]
fn healthy_traffic_stays_quiet() {
    let recs = on_lab("healthy.pcap", "middlebox-reset.ss.txt", None);
    assert!(of_type(&recs, "finding").is_empty());
    for f in of_type(&recs, "flow") {
        let h = f["portmap"]["hint"].as_str().unwrap_or("");
        assert!(!h.starts_with("nothing listens"), "{h}");
    }
}

//! dns_failure on hand-written DNS packets.

use serde_json::json;

use super::*;
use crate::rules::testutil::{assert_has, posix, windows_code};
use tcpwhy_common::records::packet::{Dns as D, DnsAnswer};

#[allow(clippy::too_many_arguments)]
pub(super) fn pkt(
    frame: u64,
    ts: f64,
    response: bool,
    id: u16,
    rcode: Option<u8>,
    name: &str,
    qtype: &str,
    answer: Option<&str>,
) -> Packet<'static> {
    let (src, dst, sp, dp) = if response {
        ("10.0.0.53", "10.0.0.1", 53, 40000 + id)
    } else {
        ("10.0.0.1", "10.0.0.53", 40000 + id, 53)
    };
    Packet {
        frame,
        ts,
        src_ip: Some(src.into()),
        dst_ip: Some(dst.into()),
        src_port: Some(sp),
        dst_port: Some(dp),
        dns: Some(D {
            id,
            response,
            rcode: if response { rcode.or(Some(0)) } else { None },
            qname: Some(name.to_string().into()),
            qtype: Some(qtype.to_string().into()),
            answers: answer
                .map(|a| {
                    vec![DnsAnswer {
                        name: name.to_string().into(),
                        rtype: qtype.to_string().into(),
                        ttl: 60,
                        data: Some(a.to_string().into()),
                    }]
                })
                .unwrap_or_default(),
        }),
        ..Default::default()
    }
}

/// Lookups of `name`'s A (frame 1) and AAAA (2), answered with `rcode` and no address (3,
/// 4).
fn both_types(name: &str, rcode: u8) -> [Packet<'static>; 4] {
    [
        pkt(1, 1.0, false, 1, None, name, "A", None),
        pkt(2, 1.0, false, 2, None, name, "AAAA", None),
        pkt(3, 1.01, true, 1, Some(rcode), name, "A", None),
        pkt(4, 1.01, true, 2, Some(rcode), name, "AAAA", None),
    ]
}

fn run(pkts: &[Packet<'static>]) -> Vec<Finding> {
    let mut d = DnsFailures::new(10.0);
    let mut out = vec![];
    for p in pkts {
        out.extend(d.packet(p));
    }
    out.extend(d.finish());
    out
}

#[test]
fn nxdomain_fires_with_11001() {
    let f = run(&both_types("nope.lab.test", 3));
    assert_eq!(f.len(), 1, "{f:#?}");
    let fd = &f[0];
    assert_eq!(fd.kind, "dns_failure");
    assert_eq!(fd.evidence["rcode"], "NXDOMAIN");
    assert_eq!(windows_code(fd), Some(11001));
    assert_eq!(posix(fd), Some("EAI_NONAME"));
    assert_eq!(fd.frames, vec![1, 2, 3, 4]);
    assert_has(&fd.summary, "nope.lab.test does not exist");
    assert!(fd.summary.contains("10.0.0.53"));
    assert_eq!(
        fd.evidence["messages"]["curl"],
        "curl: (6) Could not resolve host: nope.lab.test"
    );
}

#[test]
fn search_walk_ending_in_an_answer_is_silent() {
    let f = run(&[
        pkt(
            1,
            1.0,
            false,
            1,
            None,
            "app.lab.test.corp.example",
            "A",
            None,
        ),
        pkt(
            2,
            1.01,
            true,
            1,
            Some(3),
            "app.lab.test.corp.example",
            "A",
            None,
        ),
        pkt(3, 1.02, false, 2, None, "app.lab.test", "A", None),
        pkt(
            4,
            1.03,
            true,
            2,
            Some(0),
            "app.lab.test",
            "A",
            Some("10.1.1.1"),
        ),
    ]);
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn failed_search_walk_is_one_finding() {
    let f = run(&[
        pkt(1, 1.0, false, 1, None, "app", "A", None),
        pkt(2, 1.01, true, 1, Some(3), "app", "A", None),
        pkt(3, 1.02, false, 2, None, "app.corp.example", "A", None),
        pkt(4, 1.03, true, 2, Some(3), "app.corp.example", "A", None),
    ]);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].evidence["name"], "app");
    assert_eq!(f[0].evidence["names_tried"], json!(["app.corp.example"]));
}

#[test]
fn empty_aaaa_beside_good_a_is_silent() {
    let f = run(&[
        pkt(1, 1.0, false, 1, None, "www.lab.test", "A", None),
        pkt(2, 1.0, false, 2, None, "www.lab.test", "AAAA", None),
        pkt(
            3,
            1.01,
            true,
            1,
            Some(0),
            "www.lab.test",
            "A",
            Some("10.1.1.1"),
        ),
        pkt(4, 1.01, true, 2, Some(0), "www.lab.test", "AAAA", None),
    ]);
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn nodata_for_every_type_is_11004() {
    let f = run(&both_types("mail.lab.test", 0));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(windows_code(&f[0]), Some(11004));
}

#[test]
fn servfail_and_refused() {
    for (rcode, word, code) in [(2, "SERVFAIL", 11002), (5, "REFUSED", 11003)] {
        let f = run(&[
            pkt(1, 1.0, false, 1, None, "x.example", "A", None),
            pkt(2, 1.01, true, 1, Some(rcode), "x.example", "A", None),
        ]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence["rcode"], word);
        assert_eq!(windows_code(&f[0]), Some(code));
    }
}

#[test]
fn retry_that_succeeds_is_silent() {
    let f = run(&[
        pkt(1, 1.0, false, 1, None, "x.example", "A", None),
        pkt(2, 1.01, true, 1, Some(2), "x.example", "A", None),
        pkt(3, 2.0, false, 2, None, "x.example", "A", None),
        pkt(4, 2.01, true, 2, Some(0), "x.example", "A", Some("1.2.3.4")),
    ]);
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn unanswered_retries_are_a_timeout_single_query_is_not() {
    let f = run(&[
        pkt(1, 1.0, false, 1, None, "x.example", "A", None),
        pkt(2, 6.0, false, 2, None, "x.example", "A", None),
    ]);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].evidence["rcode"], "no answer");
    assert_eq!(f[0].attempts, Some(2));
    assert_has(&f[0].summary, "answered nothing at all");
    assert_has(&f[0].summary, "over 5.0 s");
    // One query without an answer (a capture of one direction only): silent.
    let f = run(&[pkt(1, 1.0, false, 1, None, "x.example", "A", None)]);
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn a_lookup_is_judged_after_the_window() {
    let mut d = DnsFailures::new(10.0);
    assert!(
        d.packet(&pkt(1, 1.0, false, 1, None, "n.example", "A", None))
            .is_empty()
    );
    assert!(
        d.packet(&pkt(2, 1.01, true, 1, Some(3), "n.example", "A", None))
            .is_empty()
    );
    assert!(d.advance(5.0).is_empty());
    let f = d.advance(11.5);
    assert_eq!(f.len(), 1);
    assert!(d.finish().is_empty());
}

#[test]
fn memory_is_bounded() {
    // More names in flight than MAX_GROUPS: the oldest are judged early, nothing grows past it.
    let mut d = DnsFailures::new(10.0);
    d.max_groups = 1_000;
    let mut out = 0;
    for i in 0..1_500u64 {
        let name = format!("n{i}.example");
        let ts = 1.0 + i as f64 * 1e-6;
        out += d
            .packet(&pkt(2 * i, ts, false, 1, None, &name, "A", None))
            .len();
        out += d
            .packet(&pkt(2 * i + 1, ts, true, 1, Some(3), &name, "A", None))
            .len();
        assert!(d.groups.len() <= 1_000);
    }
    out += d.finish().len();
    assert_eq!(out, 1_500, "every NXDOMAIN reported once");
}

#[test]
fn noise_names_are_ignored() {
    // Proxy auto-discovery, a reverse name, a type other than A/AAAA: each NXDOMAIN (query id
    // `id` in frame 2 id - 1, its answer in frame 2 id).
    let noise = [
        ("wpad.corp.example", "A"),
        ("4.3.2.1.in-addr.arpa", "A"),
        ("x.example", "MX"),
    ];
    let pkts: Vec<Packet<'static>> = (1u16..)
        .zip(noise)
        .flat_map(|(id, (name, qtype))| {
            let frame = 2 * u64::from(id);
            [
                pkt(frame - 1, 1.0, false, id, None, name, qtype, None),
                pkt(frame, 1.01, true, id, Some(3), name, qtype, None),
            ]
        })
        .collect();
    let f = run(&pkts);
    assert!(f.is_empty(), "{f:#?}");
    // Multicast DNS: queries nobody answers are normal.
    let mut q1 = pkt(1, 1.0, false, 1, None, "printer.example", "A", None);
    let mut q2 = pkt(2, 2.0, false, 2, None, "printer.example", "A", None);
    for q in [&mut q1, &mut q2] {
        q.src_port = Some(5353);
        q.dst_port = Some(5353);
    }
    assert!(run(&[q1, q2]).is_empty());
}

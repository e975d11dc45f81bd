//! `ecn_setup_blocked`: the client asked for ECN (SYN with ECE+CWR, RFC 3168), something on the
//! path reset or dropped that SYN, and the same connection then got through with a plain SYN —
//! a middlebox that does not tolerate ECN. The connection works, a retry interval late (info).
//!
//! Two shapes, both from tcpflows' `ecn_setup`:
//! * dropped: the ECN SYN went unanswered and the client's next SYN came without ECE/CWR (Linux
//!   does this after one lost ECN SYN, `net.ipv4.tcp_ecn_fallback`, default on);
//! * reset: a RST answered the ECN SYN and the same connection (same ports, same ISN) tried again
//!   with a plain SYN about 1 s later (macOS, Windows). Linux instead fails connect() with
//!   ECONNREFUSED on that RST: the refusal rules report it.

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{base, conn, ev, rst_name, rst_origin, set_frames, ttl_text};
use crate::wording::{endpoint, frames, secs};

pub fn ecn_setup_blocked(f: &Flow) -> Option<Finding> {
    let e = f.ecn_setup.as_ref()?;
    let plain = e.plain_syn_frame?;
    if !f.established || f.midstream || e.ecn_syns == 0 {
        return None;
    }
    let first = *e.ecn_syn_frames.first()?;
    let syn_ts = |frame: u64| {
        f.attempts
            .frames
            .iter()
            .position(|&x| x == frame)
            .and_then(|i| f.attempts.ts.get(i).copied())
    };
    let t0 = syn_ts(first).unwrap_or(f.first_ts);
    let lost = syn_ts(plain).map(|t| (t - t0).max(0.0));
    let reset = e.rst_frame.filter(|&r| r < plain);
    let how = if reset.is_some() { "reset" } else { "dropped" };
    let mut fd = base(f, "ecn_setup_blocked", Severity::Info);
    let mut fr: Vec<u64> = e.ecn_syn_frames.clone();
    fr.extend(reset);
    fr.push(plain);
    fr.extend(f.synack_frame);
    set_frames(&mut fd, fr);
    fd.ts = Some(t0);
    fd.attempts = Some(f.attempts.syn_count);
    fd.origin = Some("network".into());
    let lost_text = lost
        .map(|l| format!(", {} late", secs(l)))
        .unwrap_or_default();
    let rst_part = match (reset, &f.rst) {
        (Some(fr), Some(r)) => {
            let ttl = ttl_text(rst_origin(f), r.ttl, f.ip_version == 6)
                .map(|t| format!(", {t}"))
                .unwrap_or_default();
            format!("was answered by a {} (frame {fr}{ttl})", rst_name(r))
        }
        _ => "went unanswered".to_string(),
    };
    fd.summary = format!(
        "{}: the client's ECN-setup SYN ({} with ECE+CWR) {rst_part}; the same connection \
         then tried a plain SYN (frame {plain}) and connected{lost_text}: a device on the path \
         drops or resets SYNs that ask for ECN",
        conn(f),
        frames(&e.ecn_syn_frames, 8),
    );
    fd.next_step = format!(
        "find the firewall, load balancer or NAT between the client and {} that {} TCP SYNs with \
         the ECE/CWR flags set (RFC 3168) and update or reconfigure it; meanwhile every new \
         connection from an ECN-enabled client (macOS, iOS, Linux with net.ipv4.tcp_ecn=1, \
         Windows with `netsh int tcp set global ecncapability=enabled`) pays a retry{}; \
         disabling ECN on the client (`sysctl net.ipv4.tcp_ecn=2`) hides the symptom",
        endpoint(&f.server_ip, f.server_port),
        if reset.is_some() { "resets" } else { "drops" },
        lost.map(|l| format!(" of about {}", secs(l)))
            .unwrap_or_default(),
    );
    ev(&mut fd, "how", how);
    ev(&mut fd, "ecn_syn_frames", e.ecn_syn_frames.clone());
    ev(&mut fd, "plain_syn_frame", plain);
    ev(&mut fd, "rst_frame", reset);
    ev(&mut fd, "time_lost", lost);
    ev(&mut fd, "synack_ece", e.synack_ece);
    Some(fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testutil::{assert_has, flow};
    use serde_json::json;

    fn dropped() -> serde_json::Value {
        json!({
            "attempts": {"syn_count": 2, "frames": [11, 12], "ts": [1000.0, 1001.03], "intervals": [1.03]},
            "synack_frame": 13,
            "ecn_setup": {"ecn_syns": 1, "ecn_syn_frames": [11], "plain_syn_frame": 12,
                          "rst_frame": null, "synack_ece": false}
        })
    }

    #[test]
    fn linux_fallback_after_a_dropped_ecn_syn() {
        let fd = ecn_setup_blocked(&flow(dropped())).expect("fires");
        assert_eq!(fd.kind, "ecn_setup_blocked");
        assert_eq!(fd.severity, Severity::Info);
        assert_eq!(fd.frames, vec![11, 12, 13]);
        assert_eq!(fd.evidence["how"], "dropped");
        assert!((fd.evidence["time_lost"].as_f64().unwrap() - 1.03).abs() < 1e-9);
        assert_has(&fd.summary, "went unanswered");
    }

    #[test]
    fn macos_retry_after_a_reset_ecn_syn() {
        // The other platform's shape: RST/ACK to the ECN SYN, the same SYN without ECN 1 s later.
        let mut p = dropped();
        p["ecn_setup"]["rst_frame"] = json!(25);
        p["ecn_setup"]["ecn_syn_frames"] = json!([24]);
        p["ecn_setup"]["plain_syn_frame"] = json!(26);
        p["attempts"] =
            json!({"syn_count": 2, "frames": [24, 26], "ts": [1000.0, 1001.0], "intervals": [1.0]});
        p["synack_frame"] = json!(27);
        p["rst"] = json!({"from": "server", "frame": 25, "ts": 1000.0001, "ttl": 63, "ip_id": 0,
                          "flags": "RA", "seq_ok": true, "count": 1});
        let fd = ecn_setup_blocked(&flow(p)).expect("fires");
        assert_eq!(fd.evidence["how"], "reset");
        assert_eq!(fd.frames, vec![24, 25, 26, 27]);
        assert_has(&fd.summary, "RST/ACK (frame 25, TTL 63)");
    }

    #[test]
    fn silent_without_fallback_or_when_not_connected() {
        // ECN negotiated or ignored by the server: no ecn_setup field at all.
        assert!(ecn_setup_blocked(&flow(json!({}))).is_none());
        // Never connected: the timeout / refusal rules speak.
        let mut p = dropped();
        p["established"] = json!(false);
        assert!(ecn_setup_blocked(&flow(p)).is_none());
        // An ECN SYN reset with no plain retry (Linux: ECONNREFUSED).
        let mut p = dropped();
        p["ecn_setup"]["plain_syn_frame"] = json!(null);
        assert!(ecn_setup_blocked(&flow(p)).is_none());
    }
}

//! Signs in the flow itself that a RST's claimed sender did not send it (an injected RST):
//! docs/ttlhops.md, "Injected RSTs".

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::hops::Origin;

use crate::infer::ttl_word;

/// What in the flow shows that a RST's claimed sender did not send it (see `Origin::signs`),
/// strongest first.
pub fn rst_signs(f: &Flow) -> Vec<&'static str> {
    let Some(r) = &f.rst else { return vec![] };
    let mut v = vec![];
    if r.sender_after > 0 {
        v.push("sender_carried_on");
    }
    let v4 = f.ip_version == 4;
    if let (true, Some(id), Some(rid)) = (v4, r.ip_id, r.receiver_ip_id) {
        if id != 0 && id == rid && r.sender_ip_id != Some(id) {
            v.push("ip_id_copied");
        }
    }
    if let (Some(t), Some(st)) = (r.ttl, r.sender_ttl) {
        if t != st {
            v.push("ttl_differs");
        }
    }
    if let (true, Some(id), Some(sid)) = (v4, r.ip_id, r.sender_ip_id) {
        let fwd = id.wrapping_sub(sid) & 0xffff;
        let back = sid.wrapping_sub(id) & 0xffff;
        if id != 0 && sid != 0 && !(fwd < 2048 || back < 256) {
            v.push("ip_id_out_of_sequence");
        }
    }
    if r.seq_check == "unacceptable" {
        v.push("seq_out_of_window");
    }
    v
}

/// The signs in words, for the reason.
fn sign_words(f: &Flow, signs: &[&str]) -> Vec<String> {
    let Some(r) = &f.rst else { return vec![] };
    let (snd, rcv) = if r.from == "client" {
        ("client", "server")
    } else {
        ("server", "client")
    };
    let word = ttl_word(f.ip_version);
    signs
        .iter()
        .map(|s| match *s {
            "sender_carried_on" => format!(
                "the {snd} kept sending after it ({} more {}), which a stack that reset the \
                 connection never does",
                r.sender_after,
                if r.sender_after == 1 {
                    "packet"
                } else {
                    "packets"
                }
            ),
            "ip_id_copied" => format!(
                "its IP ID {} copies the {rcv}'s last packet's (a device that built it from the \
                 packet it reacted to)",
                r.ip_id.unwrap_or(0)
            ),
            "ttl_differs" => format!(
                "its {word} {} differs from the {snd}'s own packets' {}",
                r.ttl.unwrap_or(0),
                r.sender_ttl.unwrap_or(0)
            ),
            "ip_id_out_of_sequence" => format!(
                "its IP ID {} is out of the {snd}'s IP ID sequence (last {})",
                r.ip_id.unwrap_or(0),
                r.sender_ip_id.unwrap_or(0)
            ),
            _ => format!(
                "its sequence number {} misses the {rcv}'s window (the {rcv} ignores it)",
                r.seq
            ),
        })
        .collect()
}

/// Adds the flow's signs to a RST verdict: a strong sign (`sender_carried_on`, `ip_id_copied`)
/// with any other makes it a middlebox's whatever the TTL alone said; otherwise they are listed
/// in the reason.
pub fn apply_rst_signs(o: &mut Origin, f: &Flow) {
    let signs = rst_signs(f);
    if signs.is_empty() {
        return;
    }
    let strong = signs
        .iter()
        .filter(|s| matches!(**s, "sender_carried_on" | "ip_id_copied"))
        .count();
    let words = sign_words(f, &signs).join("; ");
    let role = f.rst.as_ref().map_or("server", |r| r.from.as_str());
    if o.origin == "middlebox" {
        if strong > 0 {
            o.reason = format!(
                "{}. It was injected: {words}",
                o.reason.trim_end_matches('.')
            );
            o.confidence = Some("high".into());
        }
    } else if strong >= 1 && signs.len() >= 2 {
        o.origin = "middlebox".into();
        o.basis = "flow_signs".into();
        o.confidence = Some(if strong >= 2 { "high" } else { "medium" }.into());
        o.settle = None;
        o.lean = None;
        o.reason = format!(
            "the RST carrying the {role}'s address was injected by a device on the path, not sent \
             by the {role}: {words}"
        );
    } else if strong >= 1 {
        o.reason = format!(
            "{}. Yet {words}: a device on the path may have injected it",
            o.reason.trim_end_matches('.')
        );
    }
    o.signs = signs.iter().map(std::string::ToString::to_string).collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcpwhy_common::records::flow::Rst;

    fn flow(rst: Rst) -> Flow {
        Flow {
            ip_version: 4,
            rst: Some(rst),
            ..Default::default()
        }
    }

    fn rst() -> Rst {
        Rst {
            from: "server".into(),
            frame: 9,
            ttl: Some(62),
            ip_id: Some(101),
            flags: "RA".into(),
            seq_ok: true,
            seq_check: "exact".into(),
            count: 1,
            sender_ttl: Some(62),
            sender_ip_id: Some(100),
            receiver_ip_id: Some(5000),
            ..Default::default()
        }
    }

    fn origin(o: &str) -> Origin {
        Origin {
            origin: o.into(),
            reason: "RST from the server's distance".into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_servers_own_rst_has_no_sign() {
        assert!(rst_signs(&flow(rst())).is_empty());
        let mut o = origin("endpoint");
        apply_rst_signs(&mut o, &flow(rst()));
        assert_eq!(o.origin, "endpoint");
        assert!(o.signs.is_empty());
    }

    #[test]
    fn carried_on_and_copied_id_make_it_a_middlebox_at_the_servers_distance() {
        let mut r = rst();
        r.sender_after = 3;
        r.ip_id = Some(5000);
        let f = flow(r);
        assert_eq!(
            rst_signs(&f),
            ["sender_carried_on", "ip_id_copied", "ip_id_out_of_sequence"]
        );
        let mut o = origin("endpoint");
        apply_rst_signs(&mut o, &f);
        assert_eq!(o.origin, "middlebox");
        assert_eq!(o.basis, "flow_signs");
        assert_eq!(o.confidence.as_deref(), Some("high"));
        assert!(o.reason.contains("injected"), "{}", o.reason);
    }

    #[test]
    fn one_strong_sign_alone_is_only_mentioned() {
        let mut r = rst();
        r.sender_after = 1;
        let f = flow(r);
        let mut o = origin("endpoint");
        apply_rst_signs(&mut o, &f);
        assert_eq!(o.origin, "endpoint");
        assert!(o.reason.contains("may have injected"), "{}", o.reason);
        // Weak signs alone change nothing but the list.
        let mut r = rst();
        r.seq_check = "unacceptable".into();
        let mut o = origin("unknown");
        apply_rst_signs(&mut o, &flow(r));
        assert_eq!(o.origin, "unknown");
        assert_eq!(o.signs, ["seq_out_of_window"]);
    }

    #[test]
    fn a_rst_before_the_syn_ack_is_not_the_servers_distance() {
        // The server side's first packet is the forged RST (TTL 64), then the real SYN-ACK (62):
        // the server's own TTL is the SYN-ACK's, which tcpflows gives as `sender_ttl`.
        let mut r = rst();
        r.ttl = Some(64);
        r.count = 2;
        r.sender_ttl = Some(62);
        r.sender_after = 1;
        let mut f = flow(r);
        f.synack_frame = Some(4);
        f.server.packets = 2;
        f.server.ttl = Some(tcpwhy_common::records::flow::TtlStats {
            first: 64,
            min: 62,
            max: 64,
        });
        assert_eq!(
            crate::infer::non_rst_ttls(&f, crate::infer::Which::Server),
            Some((62, vec![62]))
        );
        assert!(rst_signs(&f).contains(&"ttl_differs"));
    }
}

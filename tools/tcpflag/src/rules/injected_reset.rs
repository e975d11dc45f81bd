//! injected_reset: a RST in the middle of a connection that its claimed sender did not send — a
//! device on the path (IPS, firewall, censorship box) forged it. The signs come from the flow
//! record (`rst.sender_after`, `rst.receiver_ip_id`, `rst.sender_ttl`, `rst.seq_check`) as ttlhops
//! reads them (`ttlhops.rst.signs`, docs/ttlhops.md): the claimed sender kept sending after its
//! own RST, or the RST's IP ID copies the packet it reacted to — each with a second sign (another
//! TTL, an IP ID out of the sender's sequence, a sequence number outside the window).

use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Severity};

use super::{base, conn, ev, ev_origin, rst_name, rst_origin, set_error, set_frames, ttl_text};
use crate::socket_errors::Sock;
use crate::wording::{plural, secs};

/// The signs, from ttlhops when it ran, else from the flow record alone.
fn signs(f: &Flow) -> Vec<String> {
    if let Some(o) = rst_origin(f) {
        return o.signs.clone();
    }
    let Some(r) = &f.rst else { return vec![] };
    let mut v = vec![];
    if r.sender_after > 0 {
        v.push("sender_carried_on".to_string());
    }
    if f.ip_version == 4
        && r.ip_id.is_some_and(|id| id != 0)
        && r.ip_id == r.receiver_ip_id
        && r.sender_ip_id != r.ip_id
    {
        v.push("ip_id_copied".to_string());
    }
    if matches!((r.ttl, r.sender_ttl), (Some(a), Some(b)) if a != b) {
        v.push("ttl_differs".to_string());
    }
    if r.seq_check == "unacceptable" {
        v.push("seq_out_of_window".to_string());
    }
    v
}

/// An established connection's RST, or a RST answering the SYN before the real SYN-ACK, sent by
/// someone else than its claimed sender.
pub fn injected_reset(f: &Flow) -> Option<Finding> {
    let r = f.rst.as_ref()?;
    // A forged refusal: the RST answered the SYN before the real SYN-ACK came.
    let refusal = !f.established
        && !f.midstream
        && r.from == "server"
        && f.synack_frame.is_some_and(|s| r.frame < s);
    if !(f.established || f.midstream || refusal) {
        return None;
    }
    let signs = signs(f);
    let strong = signs
        .iter()
        .any(|s| s == "sender_carried_on" || s == "ip_id_copied");
    let origin = rst_origin(f);
    let judged = origin.map(|o| o.origin.as_str());
    // ttlhops' verdict decides when present (a strong sign and a second one, or the TTL);
    // without ttlhops, a strong sign and a second one.
    let forged = match judged {
        Some(o) => o == "middlebox" && strong,
        None => strong && signs.len() >= 2,
    };
    if !forged {
        return None;
    }
    let (snd, rcv) = if r.from == "client" {
        ("client", "server")
    } else {
        ("server", "client")
    };
    let (snd_ip, rcv_ip) = if r.from == "client" {
        (&f.client_ip, &f.server_ip)
    } else {
        (&f.server_ip, &f.client_ip)
    };
    // The receiver ignored it when its sequence number missed the window or the receiver went on
    // with other packets than RSTs; otherwise its connection died.
    let ignored = r.seq_check == "unacceptable" || r.receiver_after > 0;
    let severity = if ignored {
        Severity::Warning
    } else {
        Severity::Error
    };
    let mut fd = base(f, "injected_reset", severity);
    let mut fr = vec![f.first_frame, r.frame];
    if f.last_frame != r.frame {
        fr.push(f.last_frame);
    }
    set_frames(&mut fd, fr);
    fd.ts = Some(r.ts);
    fd.origin = Some("middlebox".into());
    if !ignored {
        set_error(&mut fd, if refusal { Sock::Refused } else { Sock::Reset });
    }
    let v6 = f.ip_version == 6;
    let word = if v6 { "hop limit" } else { "TTL" };
    let mut why = vec![];
    if let Some(t) = ttl_text(origin, r.ttl, v6) {
        let own = r
            .sender_ttl
            .filter(|&s| Some(s) != r.ttl)
            .map(|s| format!("; the {snd}'s own packets arrive with {word} {s}"))
            .unwrap_or_default();
        why.push(format!("{t}{own}"));
    }
    if signs.iter().any(|s| s == "ip_id_copied") {
        why.push(format!(
            "its IP ID {} copies the {rcv}'s last packet",
            r.ip_id.unwrap_or(0)
        ));
    }
    if signs.iter().any(|s| s == "ip_id_out_of_sequence") {
        why.push(format!("out of the {snd}'s IP ID sequence"));
    }
    let after = r.ts - f.first_ts;
    let carried = if r.sender_after > 0 {
        format!(
            ", while the real {snd} kept sending ({} after it): {snd_ip} never reset the connection",
            plural(u64::from(r.sender_after), "packet", "packets")
        )
    } else {
        String::new()
    };
    let outcome = if ignored {
        let how = if r.seq_check == "unacceptable" {
            "its sequence number missed the window, so "
        } else {
            ""
        };
        format!(
            "{how}the {rcv} ignored it and the connection carried on (the {rcv} sent {} more {}{})",
            r.receiver_after,
            if r.receiver_after == 1 {
                "packet"
            } else {
                "packets"
            },
            if r.sender_after > 0 {
                format!(", the {snd} {}", r.sender_after)
            } else {
                String::new()
            }
        )
    } else if refusal {
        format!(
            "the client's connect() failed (connection refused), while the real server answered \
             with a SYN-ACK (frame {}): {snd_ip} never refused it",
            f.synack_frame.unwrap_or(0)
        )
    } else {
        format!("the {rcv}'s connection died (connection reset){carried}")
    };
    fd.summary = format!(
        "{}: a device on the path injected a {} with the {snd}'s address (frame {}, {}) {} in: {outcome}",
        conn(f),
        rst_name(r),
        r.frame,
        why.join("; "),
        secs(after),
    );
    let at_hop = origin.and_then(|o| o.at_hop);
    let hop = at_hop
        .map(|h| format!("it sits at hop {h} from the capture point, "))
        .unwrap_or_default();
    fd.next_step = format!(
        "find the device: {hop}run `traceroute -T -p {} {}` from the capture point to name the \
         hop, then check that IPS/firewall/filter's logs for a reset or block of {} at that time; \
         the real ends ({} and {}) did not reset it",
        f.server_port,
        f.server_ip,
        conn(f),
        rcv_ip,
        snd_ip,
    );
    ev(&mut fd, "rst_frame", r.frame);
    ev(&mut fd, "claimed_sender", snd);
    ev(&mut fd, "signs", signs.clone());
    ev(&mut fd, "ignored", ignored);
    ev(&mut fd, "sender_after", r.sender_after);
    ev(&mut fd, "receiver_after", r.receiver_after);
    ev(&mut fd, "rst_ttl", r.ttl);
    ev(&mut fd, "sender_ttl", r.sender_ttl);
    ev(&mut fd, "rst_ip_id", r.ip_id);
    ev(&mut fd, "at_hop", at_hop);
    ev(&mut fd, "after", after);
    ev_origin(&mut fd, "rst_origin", origin);
    Some(fd)
}

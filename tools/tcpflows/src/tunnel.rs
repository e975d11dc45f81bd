//! The identity of the tunnel a packet came through, from pcap2jsonl's `tunnel` array: what
//! keeps two mirrored copies of one connection (two VXLAN mirror sessions, two ERSPAN sessions,
//! two GRE tunnels) apart as two flows.
//!
//! It is direction-free (both directions of a connection through a tunnel have the same
//! identity): per layer, its type, the two outer addresses in sorted order, the VNI (VXLAN,
//! GENEVE) and the ERSPAN session id. Not in it: the outer UDP ports (VXLAN's source port is a
//! hash of the inner flow and differs per direction), GRE keys (Linux sets one per direction
//! with ikey/okey) and MPLS layers (labels are per direction and per hop).

use std::hash::Hasher;

use crate::key::FxHasher;

/// The identity of the `tunnel` JSON text `t`; 0 when it has none (only MPLS layers, or text
/// that is not a `tunnel` array).
pub fn id(t: &str) -> u64 {
    let Ok(serde_json::Value::Array(layers)) = serde_json::from_str::<serde_json::Value>(t) else {
        return 0;
    };
    let mut h = FxHasher::default();
    let mut any = false;
    for l in &layers {
        let ty = l["type"].as_str().unwrap_or("");
        if ty == "mpls" {
            continue;
        }
        any = true;
        h.write(ty.as_bytes());
        h.write_u8(0xff);
        let a = l["src_ip"].as_str().unwrap_or("");
        let b = l["dst_ip"].as_str().unwrap_or("");
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        h.write(lo.as_bytes());
        h.write_u8(0xff);
        h.write(hi.as_bytes());
        h.write_u8(0xff);
        h.write_u64(l["vni"].as_u64().map_or(u64::MAX, |v| v));
        h.write_u64(l["session_id"].as_u64().map_or(u64::MAX, |v| v));
    }
    if !any {
        return 0;
    }
    h.finish().max(1)
}

#[cfg(test)]
mod tests {
    use super::id;

    #[test]
    fn direction_free_and_apart() {
        let a = r#"[{"type":"vxlan","src_ip":"10.0.0.1","dst_ip":"10.0.0.2","ttl":64,"src_port":5,"dst_port":4789,"vni":42}]"#;
        let b = r#"[{"type":"vxlan","src_ip":"10.0.0.2","dst_ip":"10.0.0.1","ttl":63,"src_port":9,"dst_port":4789,"vni":42}]"#;
        let c = r#"[{"type":"vxlan","src_ip":"10.0.0.3","dst_ip":"10.0.0.2","ttl":64,"src_port":5,"dst_port":4789,"vni":42}]"#;
        let d = r#"[{"type":"vxlan","src_ip":"10.0.0.1","dst_ip":"10.0.0.2","ttl":64,"src_port":5,"dst_port":4789,"vni":43}]"#;
        assert_ne!(id(a), 0);
        assert_eq!(id(a), id(b));
        assert_ne!(id(a), id(c));
        assert_ne!(id(a), id(d));
        assert_eq!(id(r#"[{"type":"mpls","labels":[16]}]"#), 0);
        assert_eq!(id("null"), 0);
    }
}

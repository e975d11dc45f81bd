//! Hand-written flow records for the rule tests: a healthy connection as the base, patched per
//! test with a JSON merge (objects merge recursively, everything else replaces); and the checks
//! the tests share (text contains a part, a finding's Windows code).

use serde_json::{Value, json};
use tcpwhy_common::records::Finding;
use tcpwhy_common::records::flow::Flow;

/// A healthy HTTP connection, 10.0.0.1:4961 → 192.168.0.2:80, FIN-closed (Zeek SF).
pub fn healthy() -> Value {
    json!({
        "type": "flow", "uid": "T1", "ip_version": 4,
        "client_ip": "10.0.0.1", "client_port": 4961,
        "server_ip": "192.168.0.2", "server_port": 80,
        "first_frame": 2, "last_frame": 12, "first_ts": 1000.0, "last_ts": 1000.5, "duration": 0.5,
        "state": "SF", "history": "ShADadFf", "end": "fin", "midstream": false, "established": true,
        "attempts": {"syn_count": 1, "frames": [2], "ts": [1000.0], "intervals": []},
        "synack_frame": 3, "rtt": {"syn_synack": 0.02, "synack_ack": 0.0001},
        "client": {"packets": 6, "bytes": 420, "initial_window": 16384, "wscale": null, "mss": 1460,
                   "sack_perm": false, "ttl": {"first": 128, "min": 128, "max": 128},
                   "first_ip_id": 1, "retransmissions": 0, "zero_window": null, "fin_frame": 10},
        "server": {"packets": 5, "bytes": 5120, "initial_window": 8760, "wscale": null, "mss": 1460,
                   "sack_perm": false, "ttl": {"first": 126, "min": 126, "max": 126},
                   "first_ip_id": 7, "retransmissions": 0, "zero_window": null, "fin_frame": 11},
        "rst": null, "icmp": [], "icmp_count": 0
    })
}

/// A flow's `rst`: one RST/ACK from `from` (`client` or `server`) in `frame` at `ts` with TTL
/// `ttl`, in the receiver's window.
pub fn rst(from: &str, frame: u64, ts: f64, ttl: u8) -> Value {
    json!({"from": from, "frame": frame, "ts": ts, "ttl": ttl, "ip_id": 1, "flags": "RA",
           "seq_ok": true, "count": 1, "frames": [frame]})
}

/// A side's `stuck` record: `unacked` bytes, sent again `retrans` times (`frames`, at `ts`), no
/// keep-alives.
pub fn stuck(unacked: u64, retrans: u32, frames: &[u64], ts: &[f64]) -> Value {
    json!({"unacked_bytes": unacked, "retransmissions": retrans, "frames": frames, "ts": ts,
           "keep_alives": 0, "keep_alive_frames": [], "keep_alive_ts": []})
}

/// Merges `patch` into `base`.
pub fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(k) {
                    Some(bv) if bv.is_object() && v.is_object() => merge(bv, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

/// The healthy flow patched.
pub fn flow(patch: Value) -> Flow {
    let mut v = healthy();
    merge(&mut v, &patch);
    serde_json::from_value(v).expect("test flow parses")
}

/// The seed's second case, one REJ attempt: SYN frame `syn`, RST/ACK with TTL 126.
pub fn seed_refused_attempt(uid: &str, syn: u64, rst: u64, ts: f64, hops: bool) -> Value {
    let mut v = json!({
        "uid": uid, "client_ip": "10.0.0.1", "client_port": 20531,
        "server_ip": "172.16.0.1", "server_port": 2383,
        "first_frame": syn, "last_frame": rst, "first_ts": ts, "last_ts": ts + 0.001,
        "duration": 0.001, "state": "REJ", "history": "Sr", "end": "rst", "established": false,
        "attempts": {"syn_count": 1, "frames": [syn], "ts": [ts], "intervals": []},
        "synack_frame": null, "rtt": {"syn_synack": null, "synack_ack": null},
        "client": {"packets": 1, "bytes": 0, "fin_frame": null, "isn": 655839663u32},
        "server": {"packets": 1, "bytes": 0, "initial_window": null, "fin_frame": null,
                   "ttl": {"first": 126, "min": 126, "max": 126}},
        "rst": {"from": "server", "frame": rst, "ts": ts + 0.001, "ttl": 126, "ip_id": 14341,
                "flags": "RA", "seq_ok": true, "count": 1}
    });
    if hops {
        v["ttlhops"] = json!({
            "client": null,
            "server": {"observed_ttl": 126, "initial_ttl": 128, "hops": 2},
            "rst": {"origin": "endpoint", "frame": rst, "observed_ttl": 126, "initial_ttl": 128,
                    "hops": 2, "expected_hops": 2,
                    "reason": "RST TTL 126 = 128 - 2 hops, the server's own distance"},
            "icmp": []
        });
    }
    v
}

/// The seed's first case: SYN-ACK with window 0, three 1-byte probes, RST from the server.
pub fn seed_zero_window() -> Value {
    json!({
        "uid": "ZW1", "client_port": 4973, "server_ip": "192.168.0.1",
        "first_frame": 2, "last_frame": 8, "first_ts": 1000.0, "last_ts": 1001.2, "duration": 1.2,
        "state": "RSTR", "history": "ShADDDr", "end": "rst",
        "synack_frame": 3,
        "client": {"packets": 5, "bytes": 3, "retransmissions": 2, "fin_frame": null},
        "server": {"packets": 2, "bytes": 0, "initial_window": 0, "fin_frame": null,
                   "zero_window": {"count": 1, "first_frame": 3, "first_ts": 1000.02,
                                   "in_handshake": true, "probes": 3, "probe_frames": [5, 6, 7],
                                   "longest_stall": 1.18, "reopened": false, "reopen_frame": null}},
        "rst": {"from": "server", "frame": 8, "ts": 1001.2, "ttl": 120, "ip_id": 5,
                "flags": "R", "seq_ok": true, "count": 1}
    })
}

/// Asserts that `text` contains `part`, and shows `text` when it does not.
#[track_caller]
pub fn assert_has(text: &str, part: &str) {
    assert!(text.contains(part), "{text}");
}

/// Asserts that `text` does not contain `part`, and shows `text` when it does.
#[track_caller]
pub fn assert_lacks(text: &str, part: &str) {
    assert!(!text.contains(part), "{text}");
}

/// The finding's Windows error code (it must have a socket error).
#[track_caller]
pub fn windows_code(fd: &Finding) -> Option<u32> {
    fd.socket_error
        .as_ref()
        .expect("a socket error")
        .windows_code
}

/// The finding's POSIX error name (it must have a socket error).
#[track_caller]
pub fn posix(fd: &Finding) -> Option<&str> {
    fd.socket_error
        .as_ref()
        .expect("a socket error")
        .posix
        .as_deref()
}

//! What tcpflows' test files share: packet lines written per docs/schema.md (the [`Pkt`]
//! builder, [`p`]), tcpflows run on them, and the seed's two cases.

// Each test file is its own crate and uses a part of this.
#![allow(dead_code)]

use serde_json::Value;

#[derive(Clone)]
pub struct Pkt {
    frame: u64,
    ts: f64,
    src: &'static str,
    sport: u16,
    dst: &'static str,
    dport: u16,
    flags: &'static str,
    seq: u32,
    ack: u32,
    win: u16,
    len: u32,
    ttl: u8,
    ip_id: Option<u16>,
    mss: bool,
    tunnel: Option<&'static str>,
}

#[allow(clippy::too_many_arguments)]
pub fn p(
    frame: u64,
    ts: f64,
    (src, sport): (&'static str, u16),
    (dst, dport): (&'static str, u16),
    flags: &'static str,
    seq: u32,
    ack: u32,
    win: u16,
    len: u32,
) -> Pkt {
    Pkt {
        frame,
        ts,
        src,
        sport,
        dst,
        dport,
        flags,
        seq,
        ack,
        win,
        len,
        ttl: 64,
        ip_id: None,
        mss: true,
        tunnel: None,
    }
}

impl Pkt {
    pub fn ttl(mut self, t: u8) -> Self {
        self.ttl = t;
        self
    }

    /// This IP ID (default: 1000 + frame on IPv4).
    pub fn ip_id(mut self, id: u16) -> Self {
        self.ip_id = Some(id);
        self
    }

    /// No MSS option, on a SYN too (default: 1460 on SYNs).
    pub fn no_mss(mut self) -> Self {
        self.mss = false;
        self
    }

    /// The packet came through `tunnel` (a JSON list of tunnel headers), when given.
    pub fn tunnel(mut self, tunnel: Option<&'static str>) -> Self {
        self.tunnel = tunnel;
        self
    }

    /// The packet record, as one line without its `\n`.
    pub fn line(&self) -> String {
        let v6 = self.src.contains(':');
        format!(
            concat!(
                r#"{{"type":"packet","frame":{},"ts":{:.6},"iface":0,"link":"ether","len":{},"caplen":{},"#,
                r#""src_mac":"00:00:00:00:00:01","dst_mac":"00:00:00:00:00:02","vlan":null,"ethertype":{},"#,
                r#"{}"ip_version":{},"src_ip":"{}","dst_ip":"{}","ttl":{},"ip_id":{},"df":true,"mf":false,"#,
                r#""frag_offset":0,"ip_proto":6,"proto":"tcp","src_port":{},"dst_port":{},"seq":{},"ack":{},"#,
                r#""tcp_flags":"{}","window":{},"payload_len":{},"mss":{},"wscale":null,"sack_perm":false,"#,
                r#""sack":null,"tsval":null,"tsecr":null,"decode_error":null}}"#
            ),
            self.frame,
            self.ts,
            54 + self.len,
            54 + self.len,
            if v6 { 34525 } else { 2048 },
            self.tunnel
                .map(|t| format!(r#""tunnel":{t},"#))
                .unwrap_or_default(),
            if v6 { 6 } else { 4 },
            self.src,
            self.dst,
            self.ttl,
            match (self.ip_id, v6) {
                (Some(id), _) => id.to_string(),
                (None, true) => "null".to_string(),
                (None, false) => (1000 + self.frame).to_string(),
            },
            self.sport,
            self.dport,
            self.seq,
            self.ack,
            self.flags,
            self.win,
            self.len,
            if self.mss && self.flags.contains('S') {
                "1460"
            } else {
                "null"
            },
        )
    }
}

pub const C: &str = "10.0.0.1";
pub const S: &str = "172.16.0.1";

pub fn input(pkts: &[Pkt]) -> String {
    pkts.iter().map(|p| p.line() + "\n").collect()
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(stdin: &str, args: &[&str]) -> Out {
    let o = tcpwhy_tests::run("tcpflows", args, Some(stdin.as_bytes()));
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8(o.stdout).unwrap(),
        stderr: String::from_utf8(o.stderr).unwrap(),
    }
}

pub fn flows(o: &Out) -> Vec<Value> {
    tcpwhy_tests::records_of(o.stdout.as_bytes(), "flow")
}

pub fn ok(stdin: &str, args: &[&str]) -> Vec<Value> {
    let o = run(stdin, args);
    assert_eq!(o.code, 0, "stderr: {}", o.stderr);
    flows(&o)
}

/// The seed's second case: three SYNs with the same ISN, each refused by RST/ACK with TTL 126.
pub fn refused_windows() -> Vec<Pkt> {
    const ISN: u32 = 655839663;
    let (c, s) = ((C, 20531), (S, 2383));
    let mut v = vec![];
    for k in 0..3u64 {
        let t = 1000.0 + 0.5 * k as f64;
        v.push(p(2 * k + 1, t, c, s, "S", ISN, 0, 16384, 0));
        v.push(p(2 * k + 2, t + 0.0003, s, c, "RA", 0, ISN + 1, 0, 0).ttl(126));
    }
    v
}

/// The seed's first case: SYN-ACK with window 0, 1-byte probes (Windows), then a bare RST.
pub fn zero_window_synack() -> Vec<Pkt> {
    // The initial sequence numbers of the client and of the server.
    const CI: u32 = 3411621893;
    const SI: u32 = 1096790416;
    let (c, s) = ((C, 4973), (S, 80));
    vec![
        p(1, 10.0, c, s, "S", CI, 0, 16384, 0),
        p(2, 10.01, s, c, "SA", SI, CI + 1, 0, 0),
        p(3, 10.011, c, s, "A", CI + 1, SI + 1, 16616, 0),
        p(4, 10.02, c, s, "PA", CI + 1, SI + 1, 16616, 1),
        p(5, 10.52, c, s, "PA", CI + 1, SI + 1, 16616, 1),
        p(6, 11.52, c, s, "PA", CI + 1, SI + 1, 16616, 1),
        p(7, 11.6, s, c, "R", SI + 1, 0, 0, 0),
    ]
}

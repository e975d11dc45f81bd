//! A lab scenario through the whole pipeline ([`diagnose`]): the packets, flows, hosts and
//! findings it gave, and what the client application saw.

use crate::{lab_captures, of_type, pipeline_ok, records, records_of, strv};

/// The packet record of `frame` in a diagnosed capture.
pub fn packet(d: &Diagnosis, frame: u64) -> &serde_json::Value {
    d.packets
        .iter()
        .find(|p| p["frame"] == frame)
        .unwrap_or_else(|| panic!("{}: no frame {frame}", d.name))
}

/// What the full pipeline says about one lab scenario.
#[derive(Debug)]
pub struct Diagnosis {
    pub name: String,
    /// pcap2jsonl's `packet` records.
    pub packets: Vec<serde_json::Value>,
    /// `flow` records as ttlhops wrote them (with `ttlhops`).
    pub flows: Vec<serde_json::Value>,
    /// ttlhops' `host` records.
    pub hosts: Vec<serde_json::Value>,
    /// The `finding` records at the end of the pipeline (with `portmap`).
    pub findings: Vec<serde_json::Value>,
    /// What the client application saw (`<name>.app.jsonl`, written by the lab).
    pub app: Vec<serde_json::Value>,
}

/// Runs `pcap2jsonl <name>.pcap | tcpflows | ttlhops | tcpflag | portmap [--listeners
/// <name>.ss.txt]` on a lab capture, checking that every stage succeeded quietly.
pub fn diagnose(name: &str) -> Diagnosis {
    let dir = lab_captures();
    let pcap = dir.join(format!("{name}.pcap"));
    assert!(pcap.exists(), "{} missing", pcap.display());
    let ss = dir.join(format!("{name}.ss.txt"));
    let ss = ss.exists().then(|| ss.to_string_lossy().into_owned());
    let mut pm: Vec<&str> = vec![];
    if let Some(ss) = &ss {
        pm.extend(["--listeners", ss.as_str()]);
    }
    let outs = pipeline_ok(
        &pcap,
        &[
            ("tcpflows", &[]),
            ("ttlhops", &[]),
            ("tcpflag", &[]),
            ("portmap", &pm),
        ],
    );
    let mid = records(&outs[2].stdout);
    let app = std::fs::read_to_string(dir.join(format!("{name}.app.jsonl")))
        .map(|s| records(s.as_bytes()))
        .unwrap_or_default();
    Diagnosis {
        name: name.to_string(),
        packets: records_of(&outs[0].stdout, "packet"),
        flows: of_type(&mid, "flow").into_iter().cloned().collect(),
        hosts: of_type(&mid, "host").into_iter().cloned().collect(),
        findings: records_of(&outs[4].stdout, "finding"),
        app,
    }
}

impl Diagnosis {
    /// Findings of one kind.
    pub fn kind(&self, kind: &str) -> Vec<&serde_json::Value> {
        self.findings.iter().filter(|f| f["kind"] == kind).collect()
    }

    /// The one finding of `kind` (the test fails when there is none, or more than one).
    pub fn one(&self, kind: &str) -> &serde_json::Value {
        let v = self.kind(kind);
        assert_eq!(
            v.len(),
            1,
            "{}: one {kind} finding:\n{}",
            self.name,
            self.show()
        );
        v[0]
    }

    /// The findings' kinds, in order.
    pub fn kinds(&self) -> Vec<&str> {
        self.findings.iter().map(|f| strv(&f["kind"])).collect()
    }

    /// The diagnosis' sole finding, which must be of `kind`.
    pub fn sole(&self, kind: &str) -> &serde_json::Value {
        assert!(
            self.findings.len() == 1 && self.findings[0]["kind"] == kind,
            "{}: one {kind} finding and nothing else expected:\n{}",
            self.name,
            self.show()
        );
        &self.findings[0]
    }

    /// The application's log line of the action starting with `prefix` (the `nth`, from 0).
    pub fn action(&self, prefix: &str, nth: usize) -> &serde_json::Value {
        self.app
            .iter()
            .filter(|a| a["action"].as_str().unwrap_or("").starts_with(prefix))
            .nth(nth)
            .unwrap_or_else(|| panic!("{}: no action {prefix} #{nth} in the app log", self.name))
    }

    /// Flows to one server address and port.
    pub fn flows_to(&self, ip: &str, port: u16) -> Vec<&serde_json::Value> {
        self.flows
            .iter()
            .filter(|f| f["server_ip"] == ip && f["server_port"] == port)
            .collect()
    }

    /// The `host` record of an address.
    pub fn host(&self, ip: &str) -> &serde_json::Value {
        self.hosts
            .iter()
            .find(|h| h["ip"] == ip)
            .unwrap_or_else(|| panic!("{}: no host record for {ip}", self.name))
    }

    /// Frames of the packets matching `pred`.
    pub fn frames_where(&self, pred: impl Fn(&serde_json::Value) -> bool) -> Vec<u64> {
        self.packets
            .iter()
            .filter(|p| pred(p))
            .filter_map(|p| p["frame"].as_u64())
            .collect()
    }

    /// The findings, one line each, for assertion messages.
    pub fn show(&self) -> String {
        self.findings
            .iter()
            .map(|f| {
                format!(
                    "  {} {}:{} {}",
                    f["kind"], f["server_ip"], f["server_port"], f["summary"]
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

//! Differential test: pcap2jsonl against etherparse, a second oracle beside tshark
//! (`differential.rs`).
//!
//! A second, independent oracle: etherparse (the crate the user chose for header views). Every
//! Ethernet frame of the real captures, and of a capture from ../shared/bench/gen_pcap.py, that
//! etherparse slices without error must give the same link, IP, TCP/UDP/ICMP values in our
//! record. (etherparse refuses the frames we must still decode partially — cut headers, TSO
//! lengths — which is why the decoder does not use it; see src/decode/mod.rs.)

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

mod common;

use std::path::{Path, PathBuf};

use common::{gen_pcap, have_everything, real_dir};
use etherparse::{LinkSlice, NetSlice, SlicedPacket, TcpOptionElement, TransportSlice};
use pcap2jsonl::capture::{FrameSink, read_capture};
use pcap2jsonl::decode::write_packet;
use pcap2jsonl::frame::FrameMeta;
use serde_json::Value;

#[derive(Default)]
struct Compare {
    frames: usize,
    compared: usize,
    fields: usize,
    diffs: Vec<String>,
    name: String,
    out: Vec<u8>,
}

impl tcpwhy_common::jsonl::Flush for Compare {
    fn flush_output(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A list field: null when empty, as pcap2jsonl writes it.
fn list_or_null(v: Vec<Value>) -> Value {
    if v.is_empty() { Value::Null } else { v.into() }
}

impl FrameSink for Compare {
    fn frame(&mut self, meta: &FrameMeta, data: &[u8]) -> std::io::Result<()> {
        self.frames += 1;
        if meta.linktype != 1 || meta.len as usize != data.len() {
            return Ok(());
        }
        let Ok(p) = SlicedPacket::from_ethernet(data) else {
            return Ok(());
        };
        self.out.clear();
        write_packet(meta, data, &mut self.out);
        let r: Value = serde_json::from_slice(&self.out).expect("valid JSON");
        if r.get("tunnel").is_some() {
            // etherparse stops at the outer IP packet; tshark checks tunnels
            return Ok(());
        }
        self.compared += 1;
        let mut want: Vec<(&str, Value)> = vec![];
        if let Some(LinkSlice::Ethernet2(e)) = &p.link {
            want.push(("src_mac", mac(&e.source()).into()));
            want.push(("dst_mac", mac(&e.destination()).into()));
        }
        let ids: Vec<Value> = p.vlan_ids().iter().map(|v| v.value().into()).collect();
        want.push(("vlan", list_or_null(ids)));
        match &p.net {
            Some(NetSlice::Ipv4(ip)) => {
                let h = ip.header();
                want.push(("src_ip", h.source_addr().to_string().into()));
                want.push(("dst_ip", h.destination_addr().to_string().into()));
                want.push(("ttl", h.ttl().into()));
                want.push(("ip_id", h.identification().into()));
                want.push(("df", h.dont_fragment().into()));
                want.push(("mf", h.more_fragments().into()));
                want.push((
                    "frag_offset",
                    (h.fragments_offset().value() as u32 * 8).into(),
                ));
                want.push(("ip_proto", h.protocol().0.into()));
            }
            Some(NetSlice::Ipv6(ip)) => {
                let h = ip.header();
                want.push(("src_ip", h.source_addr().to_string().into()));
                want.push(("dst_ip", h.destination_addr().to_string().into()));
                want.push(("ttl", h.hop_limit().into()));
                want.push(("ip_proto", ip.payload().ip_number.0.into()));
            }
            _ => {}
        }
        match &p.transport {
            Some(TransportSlice::Tcp(t)) => {
                want.push(("src_port", t.source_port().into()));
                want.push(("dst_port", t.destination_port().into()));
                want.push(("seq", t.sequence_number().into()));
                want.push(("ack", t.acknowledgment_number().into()));
                want.push(("window", t.window_size().into()));
                want.push(("payload_len", t.payload().len().into()));
                let mut flags = String::new();
                for (on, c) in [
                    (t.fin(), 'F'),
                    (t.syn(), 'S'),
                    (t.rst(), 'R'),
                    (t.psh(), 'P'),
                    (t.ack(), 'A'),
                    (t.urg(), 'U'),
                    (t.ece(), 'E'),
                    (t.cwr(), 'C'),
                ] {
                    if on {
                        flags.push(c);
                    }
                }
                want.push(("tcp_flags", flags.into()));
                let (mut mss, mut ws, mut sp, mut ts) = (Value::Null, Value::Null, false, None);
                let mut sack: Vec<Value> = vec![];
                let mut ok = true;
                for o in t.options_iterator() {
                    match o {
                        Ok(TcpOptionElement::MaximumSegmentSize(m)) => mss = m.into(),
                        Ok(TcpOptionElement::WindowScale(w)) => ws = w.into(),
                        Ok(TcpOptionElement::SelectiveAcknowledgementPermitted) => sp = true,
                        Ok(TcpOptionElement::Timestamp(a, b)) => ts = Some((a, b)),
                        Ok(TcpOptionElement::SelectiveAcknowledgement(first, rest)) => {
                            for (l, r) in std::iter::once(first).chain(rest.into_iter().flatten()) {
                                sack.push(Value::from(vec![l, r]));
                            }
                        }
                        Ok(_) => {}
                        Err(_) => ok = false,
                    }
                }
                if ok {
                    want.push(("mss", mss));
                    want.push(("wscale", ws));
                    want.push(("sack_perm", sp.into()));
                    want.push(("sack", list_or_null(sack)));
                    want.push(("tsval", ts.map_or(Value::Null, |t| t.0.into())));
                    want.push(("tsecr", ts.map_or(Value::Null, |t| t.1.into())));
                }
            }
            Some(TransportSlice::Udp(u)) => {
                want.push(("src_port", u.source_port().into()));
                want.push(("dst_port", u.destination_port().into()));
                want.push(("payload_len", u.payload().len().into()));
            }
            Some(TransportSlice::Icmpv4(i)) => {
                want.push(("icmp_type", i.type_u8().into()));
                want.push(("icmp_code", i.code_u8().into()));
            }
            Some(TransportSlice::Icmpv6(i)) => {
                want.push(("icmp_type", i.type_u8().into()));
                want.push(("icmp_code", i.code_u8().into()));
            }
            _ => {}
        }
        for (k, v) in want {
            self.fields += 1;
            if r[k] != v {
                self.diffs.push(format!(
                    "{} frame {}: {k}: etherparse {v}, pcap2jsonl {}",
                    self.name, meta.frame, r[k]
                ));
            }
        }
        Ok(())
    }
}

fn mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn compare(path: &Path, c: &mut Compare) {
    c.name = path.file_name().unwrap().to_string_lossy().into_owned();
    let f = std::fs::File::open(path).unwrap();
    let name = c.name.clone();
    assert!(
        read_capture(&name, Box::new(f), c).is_ok(),
        "{}: not readable",
        path.display()
    );
}

#[test]
fn pcap2jsonl_equals_etherparse_where_etherparse_decodes() {
    if !have_everything(false) {
        return;
    }
    let mut c = Compare::default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(real_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut lab: Vec<PathBuf> = std::fs::read_dir(tcpwhy_tests::own_captures())
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    lab.retain(|p| p.to_string_lossy().ends_with(".pcap"));
    lab.sort();
    for p in files.iter().chain(&lab) {
        compare(p, &mut c);
    }
    // a large synthetic capture: many connections, IPv6, DNS, ICMP errors, resets
    let dir = tempfile::tempdir().unwrap();
    let gen_path = dir.path().join("gen.pcap");
    gen_pcap(&gen_path, 30_000, 1);
    compare(&gen_path, &mut c);
    println!(
        "etherparse oracle: {} frames read, {} sliced by etherparse and compared, {} fields, {} differences",
        c.frames,
        c.compared,
        c.fields,
        c.diffs.len()
    );
    assert!(
        c.compared > 30_000,
        "too few frames compared: {}",
        c.compared
    );
    assert!(
        c.diffs.is_empty(),
        "{}",
        c.diffs
            .iter()
            .take(50)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

//! Ladder (sequence) diagrams of a finding's example: client | capture point | server, one line
//! per packet with its time, direction, flags, sequence numbers, length, window and TTL, and the
//! evidence frames marked. The packets come from the `ladder` field tcpflows writes on each flow
//! record (a bounded summary: the first packets, the last ones and notable ones in between;
//! docs/schema.md). tcpflag keeps the ladders of the last [`MAX_KEPT`] flows it read, so a
//! finding made long after its flow (never more than the retry or stray window) still has one.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;

use serde::Deserialize;
use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::{Finding, Raw};

/// Flows whose ladders are kept at once (older ones are dropped first).
pub const MAX_KEPT: usize = 20_000;
/// Packets drawn at most per ladder.
pub const MAX_DRAWN: usize = 15;
/// Width of each half of the diagram (client to capture point, capture point to server).
const HALF: usize = 18;

/// One packet of a ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub frame: u64,
    /// Absolute time (seconds).
    pub ts: f64,
    /// True when the client sent it.
    pub from_client: bool,
    pub flags: String,
    pub seq: u64,
    pub ack: u64,
    pub len: u64,
    pub win: u64,
    pub ttl: Option<u8>,
}

/// `[frame, us, dir, flags, seq, ack, len, win, ttl]` (docs/schema.md).
type RawStep = (u64, i64, String, String, u64, u64, u64, u64, Option<u8>);

#[derive(Deserialize)]
struct Field {
    #[serde(default)]
    steps: Vec<RawStep>,
    #[serde(default)]
    omitted: u64,
}

/// The ladders of recent flows, by uid: their JSON text, parsed only for a ladder drawn.
#[derive(Debug, Default)]
pub struct Store {
    by_uid: HashMap<String, (f64, Raw)>,
    order: VecDeque<String>,
}

/// A kept ladder's packets and how many were left out, or None when its text is not a ladder.
fn parse(first_ts: f64, raw: &Raw) -> Option<(Vec<Step>, u64)> {
    let l: Field = serde_json::from_str(raw.get()).ok()?;
    let steps = l
        .steps
        .into_iter()
        .map(|(frame, us, dir, flags, seq, ack, len, win, ttl)| Step {
            frame,
            ts: first_ts + us as f64 / 1e6,
            from_client: dir == "c",
            flags,
            seq,
            ack,
            len,
            win,
            ttl,
        })
        .collect();
    Some((steps, l.omitted))
}

impl Store {
    /// Keeps the ladder of a flow record, if it has one.
    pub fn add(&mut self, f: &Flow) {
        let Some(l) = &f.ladder else { return };
        if self.by_uid.len() >= MAX_KEPT {
            if let Some(old) = self.order.pop_front() {
                self.by_uid.remove(&old);
            }
        }
        if self
            .by_uid
            .insert(f.uid.clone(), (f.first_ts, l.clone()))
            .is_none()
        {
            self.order.push_back(f.uid.clone());
        }
    }

    /// The packets of a finding's flows, in frame order, and how many were not kept.
    pub fn of(&self, fd: &Finding) -> Option<(Vec<Step>, u64)> {
        let mut steps = vec![];
        let mut omitted = 0;
        // The flows that hold evidence frames (all of them for a refused connect retried on
        // the same port; else the first of them: the first failure of an intermittent_backend),
        // else the first flow.
        let kept: Vec<(Vec<Step>, u64)> = fd
            .uids
            .iter()
            .filter_map(|u| self.by_uid.get(u))
            .filter_map(|(ts, raw)| parse(*ts, raw))
            .collect();
        let with_evidence: Vec<&(Vec<Step>, u64)> = kept
            .iter()
            .filter(|(s, _)| s.iter().any(|st| fd.frames.contains(&st.frame)))
            .collect();
        // Only the retries of one refused connect() are drawn together (one client, one port,
        // one socket call); the flows of a finding across connections (port_exhaustion,
        // ipv6_fallback, a scan) are different connections, and one of them is the example.
        let merge = fd.kind.starts_with("refused");
        let chosen: Vec<&(Vec<Step>, u64)> = if with_evidence.is_empty() {
            kept.iter().take(1).collect()
        } else if merge {
            with_evidence
        } else {
            with_evidence.into_iter().take(1).collect()
        };
        for (s, o) in chosen {
            steps.extend(s.iter().cloned());
            omitted += o;
        }
        if steps.is_empty() {
            return None;
        }
        steps.sort_by_key(|s| s.frame);
        steps.dedup_by_key(|s| s.frame);
        Some((steps, omitted))
    }
}

/// "SYN", "SYN/ACK", "RST/ACK", "PSH/ACK" from tcpflows' flag letters.
fn flag_names(letters: &str) -> String {
    let mut v = vec![];
    for (c, n) in [
        ('S', "SYN"),
        ('F', "FIN"),
        ('R', "RST"),
        ('P', "PSH"),
        ('U', "URG"),
        ('A', "ACK"),
    ] {
        if letters.contains(c) {
            v.push(n);
        }
    }
    if v.is_empty() {
        "(no flags)".to_string()
    } else {
        v.join("/")
    }
}

/// Routers between the sender and the capture point, from an observed TTL (the nearest usual
/// initial value at or above it: 64, 128, 255).
pub fn routers(ttl: u8) -> u8 {
    let init = [32u8, 64, 128, 255]
        .into_iter()
        .find(|&i| i >= ttl)
        .unwrap_or(255);
    init - ttl
}

/// The finding's own words for the packets that prove it, and generic ones read from the
/// packets (zero window, probes, SYN retries, the RST and who sent it).
fn notes(fd: &Finding, steps: &[Step]) -> Vec<String> {
    let mut out = vec![];
    let mut last_win = [None::<u64>; 2];
    // The next sequence number each side would send (relative, as the ladder has it).
    let mut next = [None::<u64>; 2];
    let mut syns = [0u32; 2];
    let mut reset = false;
    for s in steps {
        let side = usize::from(!s.from_client);
        let mut n: Vec<String> = vec![];
        let syn = s.flags.contains('S');
        let rst = s.flags.contains('R');
        let fin = s.flags.contains('F');
        if syn {
            syns[side] += 1;
            if reset && s.from_client {
                n.push("new attempt after the reset".to_string());
                reset = false;
            } else if syns[side] > 1 {
                n.push(format!(
                    "{} retransmitted",
                    if s.flags.contains('A') {
                        "SYN/ACK"
                    } else {
                        "SYN"
                    }
                ));
            }
        }
        if rst {
            reset = true;
            syns = [0, 0];
            let who = match (fd.origin.as_deref(), s.from_client) {
                (_, true) => "RST from the client",
                (Some("middlebox"), false) => "RST from a device on the path, not the server",
                (Some("network"), false) => "RST from a router on the path",
                (Some("server"), false) => "RST from the server",
                _ => "RST with the server's address",
            };
            n.push(who.to_string());
        } else if s.win == 0 {
            n.push("zero window".to_string());
        } else if last_win[1 - side] == Some(0)
            && !syn
            && !fin
            && (s.len == 1 || (s.len == 0 && next[side] == Some(s.seq + 1)))
        {
            n.push("zero-window probe".to_string());
        }
        if !rst {
            last_win[side] = Some(s.win);
            let end = s.seq + s.len + u64::from(syn) + u64::from(fin);
            if next[side].is_none_or(|x| end > x) {
                next[side] = Some(end);
            }
        }
        let evidence = fd.frames.contains(&s.frame);
        let mut line = String::new();
        if evidence {
            line.push('◆');
        }
        if !n.is_empty() {
            if evidence {
                line.push(' ');
            }
            line.push_str(&n.join(", "));
        }
        out.push(line);
    }
    out
}

/// `text` written into `row` from character `at`.
fn place(row: &mut [char], at: usize, text: &str) {
    for (i, c) in text.chars().enumerate() {
        if let Some(x) = row.get_mut(at + i) {
            *x = c;
        }
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// One arrow across both halves, the label on the sender's half; `path` draws a packet sent by
/// a device at the capture point (a middlebox's RST) from there to the client.
fn arrow(from_client: bool, label: &str, path: bool) -> String {
    let label = format!(" {label} ");
    let pad = HALF.saturating_sub(width(&label) + 2);
    if path && !from_client {
        let left = HALF.saturating_sub(width(&label) + 1);
        return format!("│◀{}{label}┤{}│", "─".repeat(left), " ".repeat(HALF));
    }
    if from_client {
        // ├─ SYN ────────┼───────────────▶│
        format!(
            "├─{label}{}┼{}▶│",
            "─".repeat(pad + 1),
            "─".repeat(HALF - 1)
        )
    } else {
        // │◀──────────────┼──── SYN/ACK ─┤
        format!(
            "│◀{}┼{}{label}─┤",
            "─".repeat(HALF - 1),
            "─".repeat(pad + 1)
        )
    }
}

/// The diagram of `fd` from its flows' packets, or None when none were kept. At most
/// [`MAX_DRAWN`] packets: when there are more, the evidence frames and the ones around them.
pub fn draw(fd: &Finding, steps: &[Step], omitted: u64) -> Option<String> {
    if steps.is_empty() {
        return None;
    }
    let all_notes = notes(fd, steps);
    let mut pick: Vec<usize> = (0..steps.len()).collect();
    if steps.len() > MAX_DRAWN {
        let mut keep = vec![false; steps.len()];
        for (i, s) in steps.iter().enumerate() {
            if fd.frames.contains(&s.frame) || !all_notes[i].is_empty() {
                keep[i] = true;
            }
        }
        keep[0] = true;
        let mut n = keep.iter().filter(|&&k| k).count();
        for k in &mut keep {
            if n >= MAX_DRAWN {
                break;
            }
            if !*k {
                *k = true;
                n += 1;
            }
        }
        pick = (0..steps.len())
            .filter(|&i| keep[i])
            .take(MAX_DRAWN)
            .collect();
    }
    let client = match (&fd.client_ip, fd.client_port) {
        (Some(ip), Some(p)) => crate::wording::endpoint(ip, p),
        (Some(ip), None) => ip.clone(),
        _ => "?".into(),
    };
    let server = match (&fd.server_ip, fd.server_port) {
        (Some(ip), Some(p)) => crate::wording::endpoint(ip, p),
        (Some(ip), None) => ip.clone(),
        _ => "?".into(),
    };
    let t0 = steps[0].ts;
    // "   #11    0.000 s  " before the diagram, which is 2 * HALF + 3 wide.
    let lead = 20;
    let w = 2 * HALF + 3;
    let mid = HALF + 1;
    let mut s = String::new();
    let (cl, sv) = if width(&client) + width(&server) < w {
        (client.clone(), server.clone())
    } else {
        (short(&client, HALF), short(&server, HALF))
    };
    for (l, c, r) in [
        ("client", "capture point", "server"),
        (cl.as_str(), "", sv.as_str()),
    ] {
        let mut row = vec![' '; w];
        place(&mut row, 0, l);
        place(&mut row, mid - width(c) / 2, c);
        place(&mut row, w - width(r), r);
        let _ = writeln!(
            s,
            "{:lead$}{}",
            "",
            row.iter().collect::<String>().trim_end()
        );
    }
    let mut prev: Option<usize> = None;
    for &i in &pick {
        if let Some(p) = prev {
            if i > p + 1 {
                let gap = i - p - 1;
                let _ = writeln!(s, "{:lead$}┊ … {gap} more", "");
            }
        }
        prev = Some(i);
        let st = &steps[i];
        let mut label = flag_names(&st.flags);
        if st.len > 0 {
            let _ = write!(label, " {}", st.len);
        }
        let mut detail = format!("seq {}", st.seq);
        if st.flags.contains('A') {
            let _ = write!(detail, " ack {}", st.ack);
        }
        let _ = write!(detail, " win {}", st.win);
        if let Some(t) = st.ttl {
            let r = routers(t);
            let _ = write!(
                detail,
                " TTL {t} ({r} {})",
                if r == 1 { "router" } else { "routers" }
            );
        }
        let note = &all_notes[i];
        let _ = write!(
            s,
            "{:>7} {:>8.3} s  {}  {detail}",
            format!("#{}", st.frame),
            st.ts - t0,
            arrow(
                st.from_client,
                &label,
                st.flags.contains('R') && fd.origin.as_deref() == Some("middlebox")
            )
        );
        if !note.is_empty() {
            let _ = write!(s, "  {note}");
        }
        s.push('\n');
    }
    let hidden = steps.len() - pick.len();
    if let Some(&last) = pick.last() {
        if last + 1 < steps.len() {
            let _ = writeln!(s, "{:lead$}┊ … {} more", "", steps.len() - 1 - last);
        }
    }
    let missing: Vec<u64> = fd
        .frames
        .iter()
        .copied()
        .filter(|f| !steps.iter().any(|s| s.frame == *f))
        .collect();
    let mut tail = vec![];
    if !missing.is_empty() {
        tail.push(format!(
            "evidence {} not drawn (ICMP, another flow, or beyond the packets kept)",
            crate::wording::frames(&missing, 8)
        ));
    }
    if omitted > 0 {
        tail.push(format!(
            "{} of the connection not kept by tcpflows",
            crate::wording::plural(omitted, "packet", "packets")
        ));
    }
    let _ = hidden;
    if !tail.is_empty() {
        let _ = writeln!(s, "{}", tail.join("; "));
    }
    let _ = writeln!(
        s,
        "◆ evidence; TTL as seen at the capture point (N routers between the capture point and \
         the sender)"
    );
    Some(s.trim_end().to_string())
}

fn short(s: &str, max: usize) -> String {
    if width(s) <= max {
        s.to_string()
    } else {
        let t: String = s.chars().take(max - 1).collect();
        format!("{t}…")
    }
}

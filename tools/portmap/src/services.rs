//! The service table: well-known ports, the products that default to them, and the ports that go
//! with them. Built in (`data/services.tsv`, compiled into the binary), extended by
//! `/etc/services` (names only, for ports the table lacks) and `--services FILE` (names that
//! override the table's).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, bail};
use tcpwhy_common::records::listener::RelatedPort;

/// The built-in table, tab-separated: port (or range), proto, service, label, products,
/// processes, related. See the header of the file for the conventions.
pub const BUILTIN_TSV: &str = include_str!("../data/services.tsv");

/// The port names of the Windows services file, which `netstat -a` without `-n` prints
/// (`data/windows-services.txt`, `/etc/services` format): names only, never knowledge.
pub const WINDOWS_SERVICES: &str = include_str!("../data/windows-services.txt");

/// Transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }

    pub fn parse(s: &str) -> Option<Proto> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" | "tcp4" | "tcp6" => Some(Proto::Tcp),
            "udp" | "udp4" | "udp6" => Some(Proto::Udp),
            _ => None,
        }
    }
}

/// One entry of the table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Service {
    pub port: u16,
    /// Last port of a range entry (equal to `port` for a single port).
    pub last: u16,
    pub service: String,
    /// Short human name used in hints ("SSAS 2005+").
    pub label: String,
    pub products: Vec<String>,
    /// Process names (lower case) of the products, to find them listening elsewhere.
    pub processes: Vec<String>,
    pub related: Vec<RelatedPort>,
    /// Related ports marked `*` in the table: the same service on another port (WinRM 5986
    /// for 5985), an alternative even when the processes are generic (System, java).
    pub same_service: Vec<(u16, u16)>,
    /// Where the entry came from: "builtin", "/etc/services", or the `--services` file.
    pub origin: String,
}

impl Service {
    pub fn is_range(&self) -> bool {
        self.last != self.port
    }
}

/// Every known service, by (proto, port); range entries separately.
#[derive(Debug, Default)]
pub struct Services {
    by_port: HashMap<(Proto, u16), Service>,
    ranges: Vec<(Proto, Service)>,
    by_name: HashMap<String, Vec<(Proto, u16)>>,
}

fn parse_port_range(s: &str) -> Option<(u16, u16)> {
    match s.split_once('-') {
        Some((a, b)) => {
            let a: u16 = a.trim().parse().ok()?;
            let b: u16 = b.trim().parse().ok()?;
            (a <= b).then_some((a, b))
        }
        None => {
            let p: u16 = s.trim().parse().ok()?;
            Some((p, p))
        }
    }
}

/// Parses one `related` item: `[*]PORT[-LAST][/proto] note` (`default_proto` when unmarked;
/// `*`: the same service on another port). Returns the port and the `*` mark.
fn parse_related(item: &str, default_proto: &str) -> Option<(RelatedPort, bool)> {
    let item = item.trim();
    let (same, item) = match item.strip_prefix('*') {
        Some(rest) => (true, rest),
        None => (false, item),
    };
    let (spec, note) = item.split_once(' ').unwrap_or((item, ""));
    let (ports, proto) = match spec.split_once('/') {
        Some((p, proto)) => (p, proto.to_string()),
        None => (spec, default_proto.to_string()),
    };
    let (port, last) = parse_port_range(ports)?;
    Some((
        RelatedPort {
            port,
            last,
            proto,
            note: note.trim().to_string(),
        },
        same,
    ))
}

fn split_list(s: &str, sep: char) -> Vec<String> {
    s.split(sep)
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

impl Services {
    /// The built-in table only.
    pub fn builtin() -> Services {
        let mut s = Services::default();
        // The table is part of the binary and checked by a unit test: it always parses.
        s.load_tsv(BUILTIN_TSV, "builtin")
            .expect("the built-in service table parses (unit-tested)");
        s.load_services_file(WINDOWS_SERVICES, "Windows services file", false)
            .expect("the built-in Windows port names parse (unit-tested)");
        s
    }

    /// Loads entries in the built-in TSV format.
    pub fn load_tsv(&mut self, text: &str, origin: &str) -> anyhow::Result<()> {
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(b'\t')
            .has_headers(false)
            .comment(Some(b'#'))
            .flexible(true)
            .quoting(false)
            .from_reader(text.as_bytes());
        for rec in rdr.records() {
            let rec = rec.with_context(|| format!("{origin}: service table"))?;
            let line = rec.position().map(csv::Position::line).unwrap_or(0);
            if rec.len() < 4 {
                bail!(
                    "{origin}: line {line}: expected at least 4 tab-separated columns (port, proto, service, label), found {}",
                    rec.len()
                );
            }
            let Some((port, last)) = parse_port_range(&rec[0]) else {
                bail!("{origin}: line {line}: bad port {:?}", &rec[0]);
            };
            let protos: Vec<Proto> = match &rec[1] {
                "tcp" => vec![Proto::Tcp],
                "udp" => vec![Proto::Udp],
                "tcp/udp" => vec![Proto::Tcp, Proto::Udp],
                other => bail!("{origin}: line {line}: bad proto {other:?}"),
            };
            let get = |i: usize| rec.get(i).unwrap_or("").trim();
            for proto in protos {
                let mut related = vec![];
                let mut same_service = vec![];
                for item in get(6).split(" | ").filter(|x| !x.trim().is_empty()) {
                    // Related ports are TCP unless marked `/udp`, whatever the row's proto.
                    match parse_related(item, "tcp") {
                        Some((r, same)) => {
                            if same {
                                same_service.push((r.port, r.last));
                            }
                            related.push(r);
                        }
                        None => bail!("{origin}: line {line}: bad related port {item:?}"),
                    }
                }
                let svc = Service {
                    port,
                    last,
                    service: get(2).to_string(),
                    label: get(3).to_string(),
                    products: split_list(get(4), '|'),
                    processes: split_list(&get(5).to_ascii_lowercase(), ','),
                    related,
                    same_service,
                    origin: origin.to_string(),
                };
                self.insert(proto, svc);
            }
        }
        Ok(())
    }

    fn insert(&mut self, proto: Proto, svc: Service) {
        if svc.is_range() {
            self.ranges.push((proto, svc));
            return;
        }
        for name in [
            svc.service.to_ascii_lowercase(),
            svc.label.to_ascii_lowercase(),
        ] {
            if !name.is_empty() {
                let v = self.by_name.entry(name).or_default();
                if !v.contains(&(proto, svc.port)) {
                    v.push((proto, svc.port));
                }
            }
        }
        self.by_port.insert((proto, svc.port), svc);
    }

    /// Loads a file in `/etc/services` format (`name port/proto [aliases…] [# comment]`).
    /// With `overriding`, its names replace the built-in ones; otherwise it only fills ports the
    /// table does not know.
    pub fn load_services_file(
        &mut self,
        text: &str,
        origin: &str,
        overriding: bool,
    ) -> anyhow::Result<()> {
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut it = line.split_whitespace();
            let (Some(name), Some(pp)) = (it.next(), it.next()) else {
                bail!(
                    "{origin}: line {}: expected \"name port/proto\", found {raw:?}",
                    i + 1
                );
            };
            let Some((port, proto)) = pp.split_once('/') else {
                bail!(
                    "{origin}: line {}: expected port/proto, found {pp:?}",
                    i + 1
                );
            };
            let Ok(port) = port.parse::<u16>() else {
                bail!("{origin}: line {}: bad port {port:?}", i + 1);
            };
            let Some(proto) = Proto::parse(proto) else {
                // sctp, ddp, …: not something a TCP/UDP listing shows.
                continue;
            };
            let aliases: Vec<&str> = it.collect();
            match self.by_port.get_mut(&(proto, port)) {
                Some(existing) if overriding => {
                    existing.service = name.to_string();
                    existing.origin = origin.to_string();
                }
                Some(_) => {
                    // Keep the table's entry; still learn the name for lookups.
                    let v = self.by_name.entry(name.to_ascii_lowercase()).or_default();
                    if !v.contains(&(proto, port)) {
                        v.push((proto, port));
                    }
                }
                None => self.insert(
                    proto,
                    Service {
                        port,
                        last: port,
                        service: name.to_string(),
                        label: String::new(),
                        origin: origin.to_string(),
                        ..Default::default()
                    },
                ),
            }
            for a in aliases {
                let v = self.by_name.entry(a.to_ascii_lowercase()).or_default();
                if !v.contains(&(proto, port)) {
                    v.push((proto, port));
                }
            }
        }
        Ok(())
    }

    /// Loads `/etc/services` when present (names for ports the table lacks).
    pub fn load_system(&mut self) {
        let p = Path::new("/etc/services");
        if let Ok(text) = std::fs::read_to_string(p) {
            // A damaged system file is not the user's input: ignore its bad lines quietly by
            // loading it line by line.
            for line in text.lines() {
                let _ = self.load_services_file(line, "/etc/services", false);
            }
        }
    }

    /// The entry for exactly this port (not ranges).
    pub fn get(&self, proto: Proto, port: u16) -> Option<&Service> {
        self.by_port.get(&(proto, port))
    }

    /// Range entries that contain the port.
    pub fn ranges(&self, proto: Proto, port: u16) -> impl Iterator<Item = &Service> {
        self.ranges
            .iter()
            .filter(move |(p, s)| *p == proto && s.port <= port && port <= s.last)
            .map(|(_, s)| s)
    }

    /// The port for a service name as Windows `netstat -a` (without -n) prints it
    /// (`0.0.0.0:epmap`, `[::]:microsoft-ds`).
    pub fn port_by_name(&self, proto: Proto, name: &str) -> Option<u16> {
        let v = self.by_name.get(&name.to_ascii_lowercase())?;
        v.iter()
            .find(|(p, _)| *p == proto)
            .or_else(|| v.first())
            .map(|(_, port)| *port)
    }

    /// Ports whose service name or label matches `name` (case-insensitive), for `--lookup`.
    pub fn find_name(&self, name: &str) -> Vec<(Proto, u16)> {
        let n = name.to_ascii_lowercase();
        let mut v: Vec<(Proto, u16)> = self.by_name.get(&n).cloned().unwrap_or_default();
        if v.is_empty() {
            for ((proto, port), s) in &self.by_port {
                if s.label.to_ascii_lowercase().contains(&n)
                    || s.products
                        .iter()
                        .any(|p| p.to_ascii_lowercase().contains(&n))
                {
                    v.push((*proto, *port));
                }
            }
        }
        v.sort();
        v.dedup();
        v
    }

    /// A short name for the port in a sentence: its label, else its service name.
    pub fn short(&self, proto: Proto, port: u16) -> Option<String> {
        let s = self.get(proto, port)?;
        if !s.label.is_empty() {
            Some(s.label.clone())
        } else if !s.service.is_empty() {
            Some(s.service.clone())
        } else {
            None
        }
    }

    /// Number of single-port entries (for tests and `--lookup`).
    pub fn len(&self) -> usize {
        self.by_port.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_port.is_empty()
    }

    /// What is known about a port, as text (for `--lookup`).
    pub fn describe(&self, proto: Proto, port: u16) -> String {
        let mut s = String::new();
        match self.get(proto, port) {
            Some(e) => {
                let _ = write!(s, "{}/{}", port, proto.as_str());
                if !e.service.is_empty() {
                    let _ = write!(s, "  {}", e.service);
                }
                if !e.label.is_empty() {
                    let _ = write!(s, "  ({})", e.label);
                }
                s.push('\n');
                for p in &e.products {
                    let _ = writeln!(s, "  product: {p}");
                }
                if !e.processes.is_empty() {
                    let _ = writeln!(s, "  processes: {}", e.processes.join(", "));
                }
                for r in &e.related {
                    if r.last == r.port {
                        let _ = writeln!(s, "  related: {}/{}  {}", r.port, r.proto, r.note);
                    } else {
                        let _ = writeln!(
                            s,
                            "  related: {}-{}/{}  {}",
                            r.port, r.last, r.proto, r.note
                        );
                    }
                }
                if e.origin != "builtin" {
                    let _ = writeln!(s, "  (from {})", e.origin);
                }
            }
            None => {
                let _ = writeln!(s, "{}/{}  (no well-known service)", port, proto.as_str());
            }
        }
        let exact = self.get(proto, port).is_some();
        for r in self.ranges(proto, port).filter(|_| !exact) {
            let _ = writeln!(
                s,
                "  in range {}-{}: {}{}",
                r.port,
                r.last,
                r.label,
                if r.products.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", r.products.join("; "))
                }
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_parses_and_is_large() {
        let s = Services::builtin();
        assert!(s.len() >= 250, "only {} entries", s.len());
        let e = s.get(Proto::Tcp, 2383).unwrap();
        assert_eq!(e.label, "SSAS 2005+");
        assert!(e.processes.contains(&"msmdsrv.exe".to_string()));
        let r = e.related.iter().find(|r| r.port == 2725).unwrap();
        assert_eq!(r.note, "SSAS 2000 default");
        assert!(s.get(Proto::Udp, 1434).is_some());
        assert!(s.ranges(Proto::Tcp, 50000).any(|r| r.port == 49152));
    }

    #[test]
    fn every_builtin_row_has_a_service_and_label() {
        let s = Services::builtin();
        for ((proto, port), e) in s.by_port.iter().filter(|(_, e)| e.origin == "builtin") {
            assert!(!e.service.is_empty(), "{port}/{proto:?} has no service");
            assert!(!e.label.is_empty(), "{port}/{proto:?} has no label");
        }
    }

    #[test]
    fn etc_services_fills_gaps_and_services_file_overrides() {
        let mut s = Services::builtin();
        s.load_services_file(
            "foo 40001/tcp bar # x\nsctpthing 40002/sctp\n",
            "/etc/services",
            false,
        )
        .unwrap();
        assert_eq!(s.get(Proto::Tcp, 40001).unwrap().service, "foo");
        assert_eq!(s.port_by_name(Proto::Tcp, "bar"), Some(40001));
        assert!(s.get(Proto::Tcp, 40002).is_none());
        s.load_services_file("ms-olap4 2383/tcp\n", "/etc/services", false)
            .unwrap();
        assert_eq!(s.get(Proto::Tcp, 2383).unwrap().origin, "builtin");
        s.load_services_file("myolap 2383/tcp\n", "mine.txt", true)
            .unwrap();
        assert_eq!(s.get(Proto::Tcp, 2383).unwrap().service, "myolap");
        let e = s
            .load_services_file("bad\n", "mine.txt", true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("mine.txt: line 1"), "{e}");
    }

    #[test]
    fn windows_netstat_port_names_resolve() {
        let s = Services::builtin();
        assert_eq!(s.port_by_name(Proto::Tcp, "epmap"), Some(135));
        assert_eq!(s.port_by_name(Proto::Tcp, "microsoft-ds"), Some(445));
        assert_eq!(s.port_by_name(Proto::Tcp, "ms-wbt-server"), Some(3389));
        assert_eq!(s.port_by_name(Proto::Tcp, "https"), Some(443));
        // Names only the Windows services file has.
        assert_eq!(s.port_by_name(Proto::Tcp, "wsd"), Some(5357));
        assert_eq!(s.port_by_name(Proto::Tcp, "ms-do"), Some(7680));
        assert_eq!(s.port_by_name(Proto::Tcp, "loc-srv"), Some(135));
        assert_eq!(s.port_by_name(Proto::Udp, "ipsec-msft"), Some(4500));
        assert_eq!(s.get(Proto::Tcp, 11).unwrap().service, "systat");
    }
}

//! `portmap`: the server port of each flow and finding → its service → the process that listens
//! there, or what listens for the same product elsewhere.
//!
//! ```text
//! pcap2jsonl cap.pcap | tcpflows | tcpflag | portmap --listeners netstat.txt --listeners tasklist.txt
//! ```
//!
//! Modules: [`services`] (the built-in port table, `/etc/services`, `--services`), [`parse`]
//! (netstat, ss, lsof, tasklist, Get-NetTCPConnection), [`hosts`] (listings → hosts →
//! listeners), [`enrich`] (the `portmap` field and its hint).

mod enrich;
#[doc(hidden)]
pub mod fuzz;
mod hosts;
mod parse;
mod services;

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::rc::Rc;

use anyhow::{Result, bail};
use clap::Parser;
use serde_json::{Map, Value};
use tcpwhy_common::cli::{AFTER_HELP, Exit, Input};
use tcpwhy_common::jsonl::{JsonlWriter, Line};
use tcpwhy_common::stage::{self, CommonArgs, Stage, pass_through};

use crate::enrich::{Enricher, Target};
use crate::parse::Format;
use crate::services::{Proto, Services};

const EXAMPLES: &str = "\
Examples:
  # the seed's case: the client called 2383, the server's netstat + tasklist say why it was refused
  pcap2jsonl web1.pcap | tcpflows | ttlhops | tcpflag \\
    | portmap --listeners netstat-ano.txt --listeners tasklist.txt
  # what listens on a server, as JSON lines for jq
  portmap --list --listeners ss-ltnp.txt | jq -r 'select(.port < 1024) | \"\\(.port) \\(.process)\"'
  # what is known about a port
  portmap --lookup 2383

With no records to read (standard input is a terminal or empty) or with --list, portmap writes
the listeners as `listener` records. Adds `portmap` to flows and findings: service, label,
products, related ports, host, listening, listeners, hint (docs/portmap.md).

Listing formats (auto-detected per file; --format or FORMAT:FILE to force):
netstat-windows (netstat -ano, -anob, -b), tasklist, tasklist-csv, tasklist-list,
get-nettcpconnection, get-nettcpconnection-csv, ss (ss -ltnp, ss -tanp), netstat-linux
(netstat -tlnp), lsof (lsof -iTCP -sTCP:LISTEN -nP). Windows listings may be in any display language and in UTF-8,
UTF-16 or the console's code page (guessed; --encoding to force), parts of one file in
different encodings.";

fn encoding_names() -> clap::builder::PossibleValuesParser {
    use clap::builder::PossibleValue;
    let mut v = vec![PossibleValue::new("auto")];
    v.extend(
        parse::decode::Encoding::names()
            .map(|(main, aliases)| PossibleValue::new(main).aliases(aliases.iter().copied())),
    );
    clap::builder::PossibleValuesParser::new(v)
}

fn format_names() -> Vec<&'static str> {
    Format::ALL.iter().map(|f| f.name()).collect()
}

/// The server port of each flow and finding, its service, and the process that listens there
/// (or what listens for the same product elsewhere), from netstat / ss / lsof / tasklist output.
#[derive(Parser, Debug)]
#[command(
    version,
    about = "The server port of each flow and finding: its service, the process that listens there, or what listens for the same product elsewhere (from netstat, ss, lsof, tasklist, Get-NetTCPConnection output)",
    after_help = format!("{EXAMPLES}\n\n{AFTER_HELP}")
)]
pub struct Args {
    /// A listing from the server: netstat, ss, lsof, tasklist or Get-NetTCPConnection output
    /// (repeatable; '-' reads it from standard input, then records come from FILEs only;
    /// FORMAT:FILE forces that file's format).
    #[arg(short = 'l', long = "listeners", value_name = "FILE")]
    pub listeners: Vec<String>,

    /// Force the format of every listing instead of detecting it.
    #[arg(long, value_name = "FORMAT", value_parser = clap::builder::PossibleValuesParser::new(format_names()))]
    pub format: Option<String>,

    /// The encoding of the listings' text that is neither UTF-8 nor UTF-16: a console code
    /// page (cp850, cp437, cp932, cp936, cp852, cp866, windows-1252 …). Default (auto): UTF-16
    /// by its BOM or NUL bytes, UTF-8 when valid, else the code page whose reading is the most
    /// plausible text. utf-8, utf-16le, utf-16be decode whole files so.
    #[arg(long, value_name = "ENCODING", ignore_case = true, value_parser = encoding_names())]
    pub encoding: Option<String>,

    /// The server the listings come from (repeatable: every address it has, e.g. the address
    /// the client used when that is NATed). Default: inferred from the listings' addresses.
    #[arg(long, value_name = "ADDR")]
    pub host: Vec<String>,

    /// A services file (/etc/services format) whose names override the built-in table.
    #[arg(long, value_name = "FILE")]
    pub services: Vec<String>,

    /// Do not read /etc/services (only the built-in table and --services).
    #[arg(long)]
    pub no_etc_services: bool,

    /// Emit one `listener` record per listening socket of the listings and exit.
    #[arg(long)]
    pub list: bool,

    /// Print what is known about a port (2383, 1434/udp) or a service name (ssas, postgresql)
    /// and exit; with --listeners, also what listens on it.
    #[arg(long, visible_alias = "port", value_name = "PORT")]
    pub lookup: Vec<String>,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Loads the service knowledge: built-in, /etc/services, --services.
pub fn load_services(args: &Args) -> anyhow::Result<Services> {
    let mut s = Services::builtin();
    if !args.no_etc_services {
        s.load_system();
    }
    for f in &args.services {
        let text = std::fs::read_to_string(f).map_err(|e| anyhow::anyhow!("{f}: {e}"))?;
        s.load_services_file(&text, f, true)?;
    }
    Ok(s)
}

fn lookup(
    args: &Args,
    services: &Services,
    hosts: &[hosts::Host],
    out: &mut Vec<u8>,
) -> anyhow::Result<()> {
    for q in &args.lookup {
        let (spec, proto) =
            match q.split_once('/') {
                Some((a, b)) => (
                    a,
                    Some(Proto::parse(b).ok_or_else(|| {
                        anyhow::anyhow!("--lookup {q}: protocol must be tcp or udp")
                    })?),
                ),
                None => (q.as_str(), None),
            };
        let ports: Vec<(Proto, u16)> = match spec.parse::<u16>() {
            Ok(p) => match proto {
                Some(pr) => vec![(pr, p)],
                None => {
                    let mut v = vec![(Proto::Tcp, p)];
                    if services.get(Proto::Udp, p).is_some() {
                        v.push((Proto::Udp, p));
                    }
                    v
                }
            },
            Err(_) => {
                let v: Vec<(Proto, u16)> = services
                    .find_name(spec)
                    .into_iter()
                    .filter(|(pr, _)| proto.is_none_or(|x| x == *pr))
                    .collect();
                if v.is_empty() {
                    bail!("--lookup {q}: no port or service of that name in the table");
                }
                v
            }
        };
        for (pr, p) in ports {
            out.extend_from_slice(services.describe(pr, p).as_bytes());
            for h in hosts {
                let on = h.name.as_deref().unwrap_or("the listed host");
                let ls: Vec<_> = h
                    .listeners
                    .iter()
                    .filter(|l| l.proto == pr.as_str() && l.port == p)
                    .collect();
                if ls.is_empty() && !h.listeners.is_empty() {
                    out.extend_from_slice(format!("  on {on}: nothing listens\n").as_bytes());
                }
                for l in ls {
                    let who = match (&l.process, l.pid) {
                        (Some(n), Some(pid)) => format!("{n} PID {pid}"),
                        (None, Some(pid)) => format!("PID {pid}"),
                        (Some(n), None) => n.clone(),
                        (None, None) => "unknown process".into(),
                    };
                    out.extend_from_slice(
                        format!(
                            "  on {on}: {who} listens on {} ({}, {} line {})\n",
                            l.address, l.state, l.file, l.line
                        )
                        .as_bytes(),
                    );
                }
            }
        }
    }
    Ok(())
}

/// Marks that a field is present (whatever its value, `null` included).
#[derive(Default)]
struct Present(bool);

impl<'de> serde::Deserialize<'de> for Present {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(Present(true))
    }
}

#[derive(serde::Deserialize, Default)]
struct RstView<'a> {
    #[serde(borrow, default)]
    origin: Option<Cow<'a, str>>,
}

#[derive(serde::Deserialize, Default)]
struct HopsView<'a> {
    #[serde(borrow, default)]
    rst: Option<RstView<'a>>,
}

/// The fields of a flow or finding portmap reads (everything else is skipped, not copied).
#[derive(serde::Deserialize)]
struct View<'a> {
    #[serde(borrow, default)]
    server_ip: Option<Cow<'a, str>>,
    #[serde(default)]
    server_port: Option<Value>,
    #[serde(borrow, default)]
    client_ip: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    proto: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    origin: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    state: Option<Cow<'a, str>>,
    #[serde(default)]
    established: Option<bool>,
    #[serde(borrow, default)]
    ttlhops: Option<HopsView<'a>>,
    #[serde(default)]
    portmap: Present,
}

/// A flow or finding as portmap reads it.
fn target(ty: &str, v: &View) -> Option<Target> {
    let port = v
        .server_port
        .as_ref()
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())?;
    let mut t = Target {
        server_ip: v.server_ip.as_deref().map(str::to_string),
        server_port: port,
        client_ip: v.client_ip.as_deref().map(str::to_string),
        proto: v.proto.as_deref().and_then(Proto::parse),
        is_finding: ty == "finding",
        ..Default::default()
    };
    if ty == "finding" {
        let kind = v.kind.as_deref().unwrap_or("");
        t.refused = kind.contains("refused");
        t.unanswered =
            kind.contains("timeout") || kind.contains("unreachable") || kind.contains("unanswered");
        t.middlebox = kind.contains("middlebox") || v.origin.as_deref() == Some("middlebox");
    } else {
        let state = v.state.as_deref().unwrap_or("");
        t.refused = state == "REJ";
        t.unanswered = state == "S0";
        t.established = v.established.unwrap_or(false);
        t.middlebox = v
            .ttlhops
            .as_ref()
            .and_then(|h| h.rst.as_ref())
            .and_then(|r| r.origin.as_deref())
            == Some("middlebox");
    }
    Some(t)
}

/// The serialized `portmap` values already computed, by everything they depend on (bounded:
/// cleared when full, so memory does not grow with the number of distinct clients).
struct Cache {
    map: HashMap<Target, Rc<str>>,
}

const CACHE_MAX: usize = 65_536;

impl Cache {
    fn get(&mut self, e: &Enricher, t: &Target) -> anyhow::Result<Rc<str>> {
        if let Some(v) = self.map.get(t) {
            return Ok(v.clone());
        }
        let json: Rc<str> = serde_json::to_string(&e.port_info(t))?.into();
        if self.map.len() >= CACHE_MAX {
            self.map.clear();
        }
        self.map.insert(t.clone(), json.clone());
        Ok(json)
    }
}

fn emit_listeners<W: Write>(hosts: &[hosts::Host], out: &mut JsonlWriter<W>) -> anyhow::Result<()> {
    for h in hosts {
        for l in &h.listeners {
            out.write_record(l)?;
        }
    }
    Ok(())
}

pub fn run<W: Write>(args: Args, out: &mut JsonlWriter<W>) -> anyhow::Result<Exit> {
    if args.common.line_buffered {
        out.set_line_buffered(true);
    }
    let services = load_services(&args)?;
    let forced = args.format.as_deref().and_then(Format::from_name);
    let encoding = args
        .encoding
        .as_deref()
        .and_then(parse::decode::Encoding::from_name);
    let stdin_listing = args
        .listeners
        .iter()
        .filter(|f| *f == "-" || f.ends_with(":-"))
        .count();
    if stdin_listing > 1 {
        bail!("--listeners -: standard input can be read only once");
    }
    let inputs = Input::list(&args.common.files);
    if stdin_listing == 1 && !args.common.files.is_empty() && inputs.contains(&Input::Stdin) {
        bail!("--listeners - and a record input '-' both want standard input");
    }
    let mut listings = vec![];
    for f in &args.listeners {
        // `FORMAT:FILE` forces one file's format (`tasklist-csv:procs.txt`).
        let (fmt, path) = match f.split_once(':') {
            Some((pre, rest)) if !rest.is_empty() && Format::from_name(pre).is_some() => {
                (Format::from_name(pre), rest)
            }
            _ => (forced, f.as_str()),
        };
        listings.extend(parse::load(path, fmt, encoding, &services)?);
    }
    let hosts = hosts::build(&listings, &args.host, &services)?;

    if !args.lookup.is_empty() {
        let mut text = vec![];
        lookup(&args, &services, &hosts, &mut text)?;
        let buf = out.buffer();
        buf.extend_from_slice(&text);
        out.flush()?;
        return Ok(Exit::Ok);
    }
    let standalone = args.list
        || (args.common.files.is_empty()
            && !args.listeners.is_empty()
            && (stdin_listing == 1 || std::io::stdin().is_terminal()));
    if standalone {
        if args.listeners.is_empty() {
            bail!("--list needs at least one --listeners FILE");
        }
        emit_listeners(&hosts, out)?;
        return Ok(Exit::Ok);
    }

    let mut st = Portmap {
        enricher: Enricher {
            services: &services,
            hosts: &hosts,
        },
        cache: Cache {
            map: HashMap::new(),
        },
        records: 0,
        listings: !args.listeners.is_empty(),
    };
    stage::run(&mut st, &args.common, out)
}

/// portmap as a stage: flows and findings get `portmap`, the rest pass through.
struct Portmap<'a> {
    enricher: Enricher<'a>,
    cache: Cache,
    /// Records read (ticks included).
    records: u64,
    /// Listings were given (`--listeners`).
    listings: bool,
}

impl<W: Write> Stage<W> for Portmap<'_> {
    fn record(&mut self, line: &Line<'_>, ty: &str, out: &mut JsonlWriter<W>) -> Result<()> {
        self.records += 1;
        if ty != "finding" && ty != "flow" {
            return pass_through(line, out);
        }
        let view: View = line.parse()?;
        let pm: Rc<str> = match target(ty, &view) {
            Some(t) => self.cache.get(&self.enricher, &t)?,
            None => Rc::from("null"),
        };
        let body = line.bytes.trim_ascii_end();
        match body.strip_suffix(b"}") {
            // Fast path: the record's own bytes, `portmap` appended before the `}`.
            Some(inner) if !view.portmap.0 => {
                let buf = out.buffer();
                buf.extend_from_slice(inner);
                buf.extend_from_slice(b",\"portmap\":");
                buf.extend_from_slice(pm.as_bytes());
                buf.push(b'}');
                out.end_record()?;
            }
            // A portmap already there (portmap run twice): replaced in place.
            _ => {
                let mut m: Map<String, Value> = line.parse()?;
                m.insert("portmap".to_string(), serde_json::from_str(&pm)?);
                out.write_record(&m)?;
            }
        }
        Ok(())
    }

    fn tick(&mut self, line: &Line<'_>, out: &mut JsonlWriter<W>) -> Result<()> {
        self.records += 1;
        pass_through(line, out)
    }

    fn finish(&mut self, read: Result<()>, out: &mut JsonlWriter<W>) -> Result<Exit> {
        read?;
        if self.records == 0 && self.listings {
            // Nothing to enrich (empty input): list the listeners instead.
            emit_listeners(self.enricher.hosts, out)?;
        }
        Ok(Exit::Ok)
    }
}

//! tcpflag as a pipeline stage ([`tcpwhy_common::stage`]): reads the records, feeds flows, DNS
//! packets and ticks to the [`Engine`], hands the findings to the [`Sink`], and at the end of
//! input writes the text or markdown report.

use std::io::Write;

use anyhow::{Context, Result};
use tcpwhy_common::cli::Exit;
use tcpwhy_common::jsonl::{JsonlWriter, Line};
use tcpwhy_common::records::Tick;
use tcpwhy_common::records::flow::Flow;
use tcpwhy_common::records::packet::Packet;
use tcpwhy_common::stage::{self, Stage};

use crate::engine::Engine;
use crate::sink::Sink;
use crate::{Args, Format, render, rules, text};

/// tcpflag as a stage: flows (and DNS packets) in, findings out; the rest is dropped, or passed
/// on with `--all`.
pub(crate) struct Tcpflag<'a> {
    args: &'a Args,
    engine: Engine,
    sink: Sink,
    totals: text::Totals,
    /// TCP packet records in the input mean tcpflows did not run (it consumes them).
    tcp_packets: bool,
}

impl<'a> Tcpflag<'a> {
    pub(crate) fn new(args: &'a Args) -> Self {
        Tcpflag {
            args,
            engine: Engine::with_probes(args.config(), args.backend(), args.probes()),
            sink: Sink::new(args),
            totals: text::Totals {
                min: Some(args.min_severity.severity()),
                ..text::Totals::default()
            },
            tcp_packets: false,
        }
    }
}

impl<W: Write> Stage<W> for Tcpflag<'_> {
    fn record(&mut self, line: &Line<'_>, ty: &str, out: &mut JsonlWriter<W>) -> Result<()> {
        self.totals.records += 1;
        match ty {
            "flow" => {
                let f: Flow = line.parse()?;
                if let Some(store) = &mut self.sink.store {
                    store.add(&f);
                }
                if self.args.all {
                    out.write_raw(line.bytes)?;
                }
                // The RST frames, for refused flows, when tcpflows lists them.
                let rst_frames = if rules::is_refused(&f) {
                    line.parse::<RstPeek>()
                        .ok()
                        .and_then(|p| p.rst)
                        .and_then(|r| r.frames)
                } else {
                    None
                };
                for fd in self.engine.flow_with(f, rst_frames) {
                    self.sink.emit(out, &fd)?;
                }
            }
            "packet" => {
                if has(line.bytes, b"\"proto\":\"tcp\"") {
                    self.tcp_packets = true;
                    self.totals.tcp_packets += 1;
                }
                self.totals.packets += 1;
                if has_dns(line.bytes) {
                    self.totals.dns_packets += 1;
                    let p: Packet = line.parse()?;
                    let tc = has(line.bytes, b"\"tc\":true");
                    for fd in self.engine.dns_message(&p, tc) {
                        self.sink.emit(out, &fd)?;
                    }
                } else {
                    line.validate()?;
                }
                if self.args.all {
                    out.write_raw(line.bytes)?;
                }
            }
            _ => {
                // Consumed or not, a damaged line is an input error.
                line.validate()?;
                if self.args.all {
                    out.write_raw(line.bytes)?;
                }
            }
        }
        Ok(())
    }

    fn tick(&mut self, line: &Line<'_>, out: &mut JsonlWriter<W>) -> Result<()> {
        self.totals.records += 1;
        let t: Tick = line.parse()?;
        // A live capture: `--format text` streams each finding as it comes
        // (as with --line-buffered) when nothing was reported yet.
        if self.sink.format == Format::Text && !self.sink.stream && self.sink.counts == [0; 3] {
            self.sink.stream = true;
            out.set_line_buffered(true);
        }
        for fd in self.engine.tick(t.ts) {
            self.sink.emit(out, &fd)?;
        }
        if self.args.all {
            out.write_raw(line.bytes)?;
        }
        Ok(())
    }

    fn finish(&mut self, read: Result<()>, out: &mut JsonlWriter<W>) -> Result<Exit> {
        // Whatever happened, what was learned so far is written (unless stdout itself failed).
        if !stage::output_failed(&read) {
            for fd in self.engine.finish() {
                self.sink.emit(out, &fd).context("writing output")?;
            }
            if self.sink.format != Format::Json {
                self.totals.counts = self.sink.counts;
                self.totals.flows = self.engine.flows;
                let ladders = &self.sink.ladders;
                let mut ladder = |g: &render::group::Group| ladders.get(&g.order).cloned();
                if self.sink.format == Format::Markdown {
                    render::markdown::report(
                        out.buffer(),
                        &self.sink.groups,
                        &self.totals,
                        &mut ladder,
                    );
                } else {
                    let mut plain = vec![];
                    if self.sink.stream {
                        text::summary(&mut plain, &self.sink.groups, &self.totals);
                    } else {
                        text::report(&mut plain, &self.sink.groups, &self.totals, &mut ladder);
                    }
                    let color = render::color::use_color(self.args.color);
                    let width = render::color::terminal_width();
                    if color || width.is_some() {
                        let s = String::from_utf8_lossy(&plain);
                        plain = render::color::finish(&s, color, width).into_bytes();
                    }
                    out.buffer().extend_from_slice(&plain);
                }
                out.end_record()?;
            } else if self.engine.flows == 0 && self.tcp_packets {
                tcpwhy_common::cli::warn(
                    "no flow records in the input: pipe packets through tcpflows first \
                     (pcap2jsonl cap.pcap | tcpflows | ttlhops | tcpflag)",
                );
            }
        }
        read?;
        Ok(if self.sink.selected {
            Exit::Selected
        } else {
            Exit::Ok
        })
    }
}

/// Cheap test for a `dns` field before parsing a packet record.
fn has_dns(b: &[u8]) -> bool {
    has(b, b"\"dns\":")
}

fn has(b: &[u8], needle: &[u8]) -> bool {
    b.windows(needle.len()).any(|w| w == needle)
}

#[derive(serde::Deserialize)]
struct RstPeek {
    #[serde(default)]
    rst: Option<RstFramesPeek>,
}

#[derive(serde::Deserialize)]
struct RstFramesPeek {
    #[serde(default)]
    frames: Option<Vec<u64>>,
}

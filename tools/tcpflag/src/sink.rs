//! Writing findings: JSON lines as they come, or (`--format text`/`markdown`) grouped with their
//! ladders and written at the end of input; counts them for the totals and `--fail-on`.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use tcpwhy_common::jsonl::JsonlWriter;
use tcpwhy_common::records::{Finding, Severity};

use crate::{Args, Format, Level, render, text};

/// Writes findings in the chosen format and counts them.
pub(crate) struct Sink {
    pub(crate) format: Format,
    min: Severity,
    fail_on: Option<Severity>,
    /// Findings written, by severity.
    pub(crate) counts: [u64; 3],
    /// A finding at or above `--fail-on` was written.
    pub(crate) selected: bool,
    /// `--format text`: the findings, grouped, written at the end of input.
    pub(crate) groups: render::group::Groups,
    /// text, markdown: the ladders of recent flows (None with `--no-ladder`), and the drawn
    /// ladder of each group's first example, by group order.
    pub(crate) store: Option<render::ladder::Store>,
    pub(crate) ladders: HashMap<usize, String>,
    /// The evidence frames of the ladders drawn.
    drawn: HashSet<Vec<u64>>,
    /// `--format text --line-buffered`: findings written as they come.
    pub(crate) stream: bool,
}

impl Sink {
    pub(crate) fn new(args: &Args) -> Self {
        Sink {
            format: args.format,
            min: args.min_severity.severity(),
            fail_on: args.fail_on.map(Level::severity),
            counts: [0; 3],
            selected: false,
            groups: render::group::Groups::default(),
            store: (args.format != Format::Json && !args.no_ladder)
                .then(render::ladder::Store::default),
            ladders: HashMap::new(),
            drawn: HashSet::default(),
            stream: args.common.line_buffered && args.format == Format::Text,
        }
    }

    pub(crate) fn emit<W: Write>(
        &mut self,
        out: &mut JsonlWriter<W>,
        fd: &Finding,
    ) -> anyhow::Result<()> {
        if fd.severity < self.min {
            return Ok(());
        }
        self.counts[fd.severity as usize] += 1;
        if self.fail_on.is_some_and(|s| fd.severity >= s) {
            self.selected = true;
        }
        match self.format {
            Format::Json => out.write_record(fd)?,
            Format::Text if self.stream => {
                // Live (--line-buffered): each finding as it comes, the verdict at the end.
                self.groups.add(fd.clone());
                text::finding(out.buffer(), fd);
                out.end_record()?;
            }
            Format::Text | Format::Markdown => {
                if let (Some(i), Some(store)) = (self.groups.add(fd.clone()), &self.store) {
                    if let Some(l) = store
                        .of(fd)
                        .and_then(|(steps, omitted)| render::ladder::draw(fd, &steps, omitted))
                    {
                        // A finding about the same packets as an earlier one
                        // (intermittent_backend after the failures it sums up) draws none.
                        if self.drawn.insert(fd.frames.clone()) {
                            self.ladders.insert(i, l);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

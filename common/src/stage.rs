//! The stage driver: the loop every JSON stage (tcpflows, ttlhops, tcpflag, portmap) runs on.
//!
//! A stage is records in, records out. [`run`] reads every input named by [`CommonArgs`] in
//! turn (standard input when none), takes each line's `type`
//! ([`Line::record_type`](crate::jsonl::Line::record_type): a line that is not a JSON object
//! with a `type` is an input error naming the line), and hands the line to the stage:
//! [`Stage::tick`] for the `tick` clock records of a live capture (docs/contract.md, "Live
//! captures"), [`Stage::record`] for every other one. A stage consumes the types it knows and
//! writes every other line back with [`pass_through`]: the very bytes that came in, after
//! checking that they are JSON in UTF-8. [`Stage::finish`] is called once at the end of the
//! input, also when reading failed, so that what the stage holds is written before the error
//! (unless the output itself is gone).
//!
//! Before every read that may block, the reader flushes the writer, so a live pipeline sees each
//! record as soon as it is made.
//!
//! ```text
//! impl<W: Write> Stage<W> for MyStage {
//!     fn record(&mut self, line: &Line<'_>, ty: &str, out: &mut JsonlWriter<W>) -> Result<()> {
//!         match ty {
//!             "flow" => { /* read it, write what it says */ Ok(()) }
//!             _ => pass_through(line, out),
//!         }
//!     }
//!     fn finish(&mut self, read: Result<()>, out: &mut JsonlWriter<W>) -> Result<Exit> {
//!         read?;
//!         Ok(Exit::Ok)
//!     }
//! }
//! ```

use std::io::Write;

use anyhow::Result;

use crate::cli::{Exit, Input};
use crate::jsonl::{JsonlReader, JsonlWriter, Line};
use crate::records::types;

/// The arguments every JSON stage takes (`#[command(flatten)]` into the tool's `Args`).
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct CommonArgs {
    /// Input files of JSON lines ('-' or none: standard input).
    pub files: Vec<String>,

    /// Flush after every record (the default flushes whenever input would block, and per
    /// record on a terminal).
    #[arg(long)]
    pub line_buffered: bool,
}

/// One JSON stage: what it does with each record, each tick, and at the end of the input.
pub trait Stage<W: Write> {
    /// One record whose `type` is `ty` (never `tick`): consume it, enrich it, or
    /// [`pass_through`] it.
    fn record(&mut self, line: &Line<'_>, ty: &str, out: &mut JsonlWriter<W>) -> Result<()>;

    /// A `tick` record: capture time is now its `ts` (a live capture with no packet for a
    /// second). A stage with timers moves them, writes what they release, then passes the tick
    /// on after those records. The default passes it on.
    fn tick(&mut self, line: &Line<'_>, out: &mut JsonlWriter<W>) -> Result<()> {
        pass_through(line, out)
    }

    /// The end of the input: `read` is `Err` when reading stopped on an input or output error.
    /// The stage writes what it still holds (unless the output failed:
    /// [`output_failed`]) and returns the error, or the exit status.
    fn finish(&mut self, read: Result<()>, out: &mut JsonlWriter<W>) -> Result<Exit>;
}

/// True when reading stopped because the output failed (a closed pipe): nothing more can be
/// written.
pub fn output_failed(read: &Result<()>) -> bool {
    read.as_ref().err().is_some_and(crate::cli::is_broken_pipe)
}

/// Writes a record the stage does not consume back unchanged, byte for byte, after checking
/// that it is well-formed JSON in UTF-8 (a damaged line is an input error, consumed or not).
pub fn pass_through<W: Write>(line: &Line<'_>, out: &mut JsonlWriter<W>) -> Result<()> {
    line.validate()?;
    out.write_raw(line.bytes)?;
    Ok(())
}

/// Runs `stage` over every input of `args` (see the module docs) and returns its exit status.
pub fn run<S: Stage<W>, W: Write>(
    stage: &mut S,
    args: &CommonArgs,
    out: &mut JsonlWriter<W>,
) -> Result<Exit> {
    if args.line_buffered {
        out.set_line_buffered(true);
    }
    let read = read_all(stage, &args.files, out);
    stage.finish(read, out)
}

fn read_all<S: Stage<W>, W: Write>(
    stage: &mut S,
    files: &[String],
    out: &mut JsonlWriter<W>,
) -> Result<()> {
    for input in Input::list(files) {
        let mut reader = JsonlReader::new(input.open()?, input.name());
        while let Some(line) = reader.next_line(out)? {
            let ty = line.record_type()?;
            if ty == types::TICK {
                stage.tick(&line, out)?;
            } else {
                stage.record(&line, &ty, out)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts `x` records, passes the rest on, and says how many at the end.
    #[derive(Default)]
    struct Count {
        x: u64,
        ticks: u64,
    }

    impl<W: Write> Stage<W> for Count {
        fn record(&mut self, line: &Line<'_>, ty: &str, out: &mut JsonlWriter<W>) -> Result<()> {
            if ty == "x" {
                self.x += 1;
                Ok(())
            } else {
                pass_through(line, out)
            }
        }

        fn tick(&mut self, line: &Line<'_>, out: &mut JsonlWriter<W>) -> Result<()> {
            self.ticks += 1;
            pass_through(line, out)
        }

        fn finish(&mut self, read: Result<()>, out: &mut JsonlWriter<W>) -> Result<Exit> {
            out.write_raw(format!("{{\"type\":\"n\",\"x\":{}}}", self.x).as_bytes())?;
            read?;
            Ok(Exit::Ok)
        }
    }

    fn drive(input: &str) -> (anyhow::Result<Exit>, String, Count) {
        let dir = std::env::temp_dir().join(format!("tcpwhy-stage-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}.jsonl", input.len()));
        std::fs::write(&path, input).unwrap();
        let args = CommonArgs {
            files: vec![path.display().to_string()],
            line_buffered: false,
        };
        let mut st = Count::default();
        let mut w = JsonlWriter::new(Vec::new());
        let r = run(&mut st, &args, &mut w);
        let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let _ = std::fs::remove_file(&path);
        (r, out, st)
    }

    #[test]
    fn dispatches_passes_through_and_finishes() {
        let (r, out, st) = drive(
            "{\"type\":\"x\"}\n{\"type\":\"y\", \"k\" : [1]}\n{\"type\":\"tick\",\"ts\":1.5}\n",
        );
        assert_eq!(r.unwrap(), Exit::Ok);
        assert_eq!((st.x, st.ticks), (1, 1));
        assert_eq!(
            out,
            "{\"type\":\"y\", \"k\" : [1]}\n{\"type\":\"tick\",\"ts\":1.5}\n{\"type\":\"n\",\"x\":1}\n"
        );
    }

    #[test]
    fn a_damaged_line_still_finishes_then_fails() {
        let (r, out, _) = drive("{\"type\":\"x\"}\n{\"type\":\"y\",}\n{\"type\":\"x\"}\n");
        let e = r.unwrap_err().to_string();
        assert!(e.contains(": line 2: "), "{e}");
        assert_eq!(out, "{\"type\":\"n\",\"x\":1}\n");
    }
}

//! Fuzz target body for the JSON-lines reader (`fuzz/fuzz_targets/jsonl_reader.rs`), callable from
//! stable tests: `tests/tests/fuzz_corpus.rs` replays the committed seeds in `make test`.

use std::io::Read;

use crate::jsonl::{JsonlReader, NoFlush};

/// The `type` of an object, as serde reads it (a duplicate key is an error).
#[derive(serde::Deserialize)]
struct TypeProbe {
    #[serde(rename = "type")]
    ty: Option<serde_json::Value>,
}

/// A reader that hands out at most `n` bytes per read, to cross every buffer boundary.
struct Trickle<'a> {
    data: &'a [u8],
    n: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.n.min(buf.len()).min(self.data.len());
        buf[..k].copy_from_slice(&self.data[..k]);
        self.data = &self.data[k..];
        Ok(k)
    }
}

/// Every line of `data` as the reader returns it: (number, bytes), or the error's text.
fn read_all(rd: impl Read) -> Result<Vec<(u64, Vec<u8>)>, String> {
    let mut r = JsonlReader::new(rd, "fuzz");
    let mut v = vec![];
    loop {
        match r.next_line(&mut NoFlush) {
            Ok(Some(l)) => v.push((l.no, l.bytes.to_vec())),
            Ok(None) => return Ok(v),
            Err(e) => return Err(format!("{e:#}")),
        }
    }
}

/// The lines `data` holds by definition: split at `\n`, one `\r` before it removed, blank lines
/// (ASCII whitespace only) skipped, numbered from 1 counting the blank ones.
fn reference(data: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut parts: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    if parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
        .into_iter()
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .map(|(i, l)| (i, l.to_vec()))
        .collect()
}

/// Reads `data` as JSON lines, whole and a few bytes at a time; both must give exactly the lines
/// of [`reference`]. For each line: `record_type` and `validate` never panic, `validate` accepts
/// exactly the UTF-8 lines serde reads as one JSON value, a `type` read from a well-formed line
/// is the string serde sees there, and errors name the line.
pub fn jsonl_reader(data: &[u8]) {
    let want = reference(data);
    let whole = read_all(data).expect("a JSON-lines reader over memory cannot fail");
    assert_eq!(whole, want, "lines read whole");
    let n = 1 + data.first().map_or(0, |b| *b as usize % 7);
    let trickled = read_all(Trickle { data, n }).expect("reading in pieces cannot fail");
    assert_eq!(trickled, want, "lines read {n} bytes at a time");
    for (no, bytes) in &want {
        let line = crate::jsonl::Line {
            no: *no,
            bytes,
            source: "fuzz",
        };
        let ty = line.record_type();
        let valid = line.validate().is_ok();
        let serde_ok = std::str::from_utf8(bytes)
            .is_ok_and(|t| serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok());
        assert_eq!(valid, serde_ok, "line {no}: validate() and serde disagree");
        // A well-formed object with one `type` (serde refuses duplicate keys here): the type
        // read is its string.
        if let (Ok(t), true, Ok(probe)) = (&ty, valid, serde_json::from_slice::<TypeProbe>(bytes)) {
            assert_eq!(
                probe.ty.as_ref().and_then(|v| v.as_str()),
                Some(t.as_ref()),
                "line {no}: type {t:?} read from a record whose \"type\" is {:?}",
                probe.ty
            );
        }
        if let Err(e) = ty {
            let e = format!("{e:#}");
            assert!(e.starts_with(&format!("fuzz: line {no}: ")), "{e}");
        }
    }
}

/// Declares the unit test of a fuzz target body, as `fuzz_target!` declares the target:
/// `#[test] fn a_few_inputs()` runs `$target` on each input, so `cargo test -p <crate>`
/// exercises the body without the committed corpus (`tests/tests/fuzz_corpus.rs` replays that).
#[macro_export]
macro_rules! fuzz_smoke_test {
    ($target:path, $($input:expr),+ $(,)?) => {
        #[cfg(test)]
        #[test]
        fn a_few_inputs() {
            for d in [$(&$input[..]),+] {
                $target(d);
            }
        }
    };
}

crate::fuzz_smoke_test!(
    jsonl_reader,
    b"",
    b"\n\n",
    b"{\"type\":\"x\"}\r\n  \n{\"a\":1}",
    b"{\"type\":\"\\u0078\"}\n\xff\xfe\n",
    b"{\"type\":\"x\"",
);

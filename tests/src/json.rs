//! Reading what the tools write: JSON lines to records, a record's values (numbers, strings,
//! arrays) with a panic that names what was there, and the checks on a record's fields.

use serde_json::Value;

/// Parses JSON lines (blank lines skipped); the output must be UTF-8 and every line JSON.
pub fn records(stdout: &[u8]) -> Vec<Value> {
    std::str::from_utf8(stdout)
        .unwrap_or_else(|e| panic!("output is not UTF-8: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The records of one `type`.
pub fn of_type<'a>(recs: &'a [Value], ty: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["type"] == ty).collect()
}

/// The records of one `type` in JSON lines, owned.
pub fn records_of(stdout: &[u8], ty: &str) -> Vec<Value> {
    records(stdout)
        .into_iter()
        .filter(|r| r["type"] == ty)
        .collect()
}

/// `rec` with the invalid UTF-8 bytes `caf\xe9` put where it has its `@` (in a string a stage
/// reads, or one it skips), as one line: for the one UTF-8 check every stage makes
/// (docs/contract.md, promise 4).
pub fn bad_utf8_line(rec: &str) -> Vec<u8> {
    let (a, b) = rec.split_once('@').expect("an @ where the bad bytes go");
    let mut line = a.as_bytes().to_vec();
    line.extend_from_slice(b"caf\xe9");
    line.extend_from_slice(b.as_bytes());
    line.push(b'\n');
    line
}

/// `{"type":"x"}`, then [`bad_utf8_line`] of `rec`.
pub fn with_bad_utf8(rec: &str) -> Vec<u8> {
    let mut input = b"{\"type\":\"x\"}\n".to_vec();
    input.extend(bad_utf8_line(rec));
    input
}

/// A JSON number as f64, or a panic naming what was there.
pub fn f64v(v: &serde_json::Value) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("expected a number, got {v}"))
}

/// A JSON integer as u64, or a panic naming what was there.
pub fn u64v(v: &serde_json::Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected an integer, got {v}"))
}

/// A JSON string as `&str`, or a panic naming what was there.
pub fn strv(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

/// Checks that the JSON string `text` contains each of `words`; a failure names the missing one
/// and shows the text.
pub fn assert_says(text: &Value, words: &[&str]) {
    let s = strv(text);
    for w in words {
        assert!(s.contains(w), "{w:?} is not in {s:?}");
    }
}

/// A JSON array of integers, or a panic naming what was there.
pub fn u64s(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(u64v)
        .collect()
}

/// A JSON array of numbers, or a panic naming what was there.
pub fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(f64v)
        .collect()
}

/// A finding's evidence `frames`.
pub fn frames(f: &serde_json::Value) -> Vec<u64> {
    assert!(f["frames"].is_array(), "no frames in {f}");
    u64s(&f["frames"])
}

/// Checks that `record` has every field of `expected` (a JSON object, usually written with
/// `json!`) with its value: nested objects are followed key by key, anything else is compared
/// whole, and an expected `null` also matches a missing field (as `record["a"]["b"]` reads it).
/// Fields `expected` does not name are not looked at. A mismatch fails naming the field's path
/// and the whole record.
#[track_caller]
pub fn assert_has(record: &Value, expected: &Value) {
    #[track_caller]
    fn walk(record: &Value, at: &Value, expected: &Value, path: &str) {
        match expected {
            Value::Object(fields) => {
                for (k, want) in fields {
                    walk(record, &at[k.as_str()], want, &format!("{path}.{k}"));
                }
            }
            want => assert!(
                at == want,
                "{path}: {at} where {want} was expected, in {record}"
            ),
        }
    }
    walk(record, record, expected, "");
}

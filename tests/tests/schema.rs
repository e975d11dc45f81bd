//! docs/schema.md is the record contract: real output must match it.
//!
//! Parses every `## \`<type>\`` section of docs/schema.md, collects the field names from the first
//! column of its markdown tables (backticked; a cell may list several, nested fields are written
//! `icmp_inner.src_ip` or `dns.answers[].name`; an object documented only through its fields
//! counts as documented), then runs every pipeline in `PIPELINES` on every
//! capture and checks each record whose type has a documented section:
//! - every key it has (nested ones included) is documented;
//! - every field that must always be present is present (for `packet`: the rows under the
//!   "always present" heading; for every other type: every documented top-level field, as the
//!   null rule says), except rows that say "absent";
//! - `type` is the first key.
//!
//! Sections without tables (placeholders such as "documented by the tcpflows issue") are skipped;
//! a record type with no section at all fails. To check another tool's records, add its pipeline
//! to `PIPELINES` (one line).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;
use tcpwhy_tests::{own_captures, pipeline, records, root, shared_captures};

/// Pipelines run on every capture: the first stage gets the capture file as its argument, each
/// later stage reads the previous one's output.
const PIPELINES: &[&[&str]] = &[
    &["pcap2jsonl"],
    &["pcap2jsonl", "tcpflows"],
    &["pcap2jsonl", "tcpflows", "ttlhops"],
    &["pcap2jsonl", "tcpflows", "ttlhops", "tcpflag"],
    &["pcap2jsonl", "tcpflows", "ttlhops", "tcpflag", "portmap"],
];

#[derive(Debug, Default)]
struct Section {
    /// Every documented field path.
    fields: BTreeSet<String>,
    /// Top-level fields that must be in every record.
    required: BTreeSet<String>,
}

/// Backticked names in a table cell: "`src_ip`, `dst_ip`" -> ["src_ip", "dst_ip"].
fn backticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn parse_schema(md: &str) -> BTreeMap<String, Section> {
    let mut out: BTreeMap<String, Section> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut always = false; // under a "### … always present" heading
    for line in md.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            current = backticked(h).into_iter().next();
            always = false;
            continue;
        }
        if let Some(h) = line.strip_prefix("### ") {
            always = h.to_lowercase().contains("always present");
            continue;
        }
        let Some(ty) = &current else { continue };
        let t = line.trim();
        if !t.starts_with('|') {
            continue;
        }
        let cells: Vec<&str> = t.trim_matches('|').split('|').map(str::trim).collect();
        let first = cells.first().copied().unwrap_or("");
        if first == "field" || first.starts_with("---") || first.is_empty() {
            continue;
        }
        let meaning = cells.last().copied().unwrap_or("").to_lowercase();
        let sec = out.entry(ty.clone()).or_default();
        for name in backticked(first) {
            let top_level = !name.contains('.');
            let may_be_absent = meaning.contains("absent");
            if top_level && !may_be_absent && (always || ty != "packet") {
                sec.required.insert(name.clone());
            }
            sec.fields.insert(name);
        }
    }
    out.retain(|_, s| !s.fields.is_empty()); // placeholders
    out
}

/// Checks the keys of `v` at `path` (nested objects and arrays of objects whose fields are
/// documented as `path.key` / `path[].key`) against the section.
fn check_keys(v: &Value, path: &str, sec: &Section, problems: &mut BTreeSet<String>) {
    let Some(obj) = v.as_object() else { return };
    for (k, child) in obj {
        let p = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        // documented itself, or through its fields (`p.x`, `p[].x`)
        let documented = sec.fields.contains(&p)
            || has_children(sec, &p)
            || has_children(sec, &format!("{p}[]"));
        if !documented {
            problems.insert(format!("undocumented field `{p}`"));
            continue;
        }
        match child {
            Value::Object(_) if has_children(sec, &p) => check_keys(child, &p, sec, problems),
            Value::Array(items) => {
                let ap = format!("{p}[]");
                if has_children(sec, &ap) {
                    for it in items {
                        check_keys(it, &ap, sec, problems);
                    }
                }
            }
            _ => {}
        }
    }
}

fn has_children(sec: &Section, p: &str) -> bool {
    let prefix = format!("{p}.");
    sec.fields.iter().any(|f| f.starts_with(&prefix))
}

/// The lab's captures, and the corpus' real ones when `with_corpus`.
fn captures(with_corpus: bool) -> Vec<PathBuf> {
    let mut v = vec![];
    let mut dirs = vec![
        own_captures(),
        // TLS handshakes, alerts and plaintext answers (real OpenSSL and curl)
        root().join("tools/pcap2jsonl/tests/fixtures/tls"),
        // connections through real Linux VXLAN devices
        root().join("tools/pcap2jsonl/tests/fixtures/tunnels"),
    ];
    if with_corpus {
        dirs.push(shared_captures().join("real"));
        dirs.push(shared_captures().join("encap"));
    }
    for dir in dirs {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let ext_ok = p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.ends_with(".pcap") || n.ends_with(".pcapng") || n.ends_with(".gz")
            });
            if p.is_file() && ext_ok {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

#[test]
fn parses_the_schema_tables() {
    let md = "## `packet` — x\n### Core — always present\n| field | type | meaning |\n|---|---|---|\n\
              | `a`, `b` | int | x |\n| `c` | string | absent when none |\n### More\n| field | t | m |\n\
              | `d.e` | int | nested |\n## `flow` — y\n*(placeholder)*\n";
    let s = parse_schema(md);
    assert_eq!(s.len(), 1, "placeholder sections are skipped");
    let p = &s["packet"];
    assert_eq!(
        p.fields.iter().cloned().collect::<Vec<_>>(),
        ["a", "b", "c", "d.e"]
    );
    assert_eq!(p.required.iter().cloned().collect::<Vec<_>>(), ["a", "b"]);
}

#[test]
fn real_output_matches_docs_schema() {
    let md = std::fs::read_to_string(root().join("docs/schema.md")).expect("docs/schema.md");
    let schema = parse_schema(&md);
    assert!(
        schema
            .get("packet")
            .is_some_and(|s| s.required.contains("frame")),
        "packet section not parsed"
    );
    // The corpus' captures when it is there (else a partial skip is reported), the lab's always.
    let with_corpus = tcpwhy_tests::corpus().is_some();
    let files = captures(with_corpus);
    let (min_files, min_packets) = if with_corpus { (30, 6000) } else { (15, 700) };
    assert!(
        files.len() >= min_files,
        "captures not found: {}",
        files.len()
    );
    // (record type, problem) -> an example
    let mut problems: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut seen_fields: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for stages in PIPELINES {
        for f in &files {
            let path = f.to_str().unwrap();
            let first: &[&str] = &[path];
            let st: Vec<(&str, &[&str])> = stages
                .iter()
                .enumerate()
                .map(|(i, t)| (*t, if i == 0 { first } else { &[][..] }))
                .collect();
            let outs = pipeline(&st, None);
            let last = outs.last().unwrap();
            let text = String::from_utf8_lossy(&last.stdout);
            for line in text.lines() {
                assert!(
                    line.starts_with("{\"type\":"),
                    "{stages:?} on {path}: `type` is not the first key: {line}"
                );
            }
            for r in records(&last.stdout) {
                let ty = r["type"].as_str().unwrap_or("?").to_string();
                *counts.entry(ty.clone()).or_default() += 1;
                let Some(sec) = schema.get(&ty) else {
                    if !md.contains(&format!("## `{ty}`")) {
                        problems
                            .entry((ty.clone(), "record type not in docs/schema.md".into()))
                            .or_insert_with(|| f.display().to_string());
                    }
                    continue;
                };
                let mut p = BTreeSet::new();
                check_keys(&r, "", sec, &mut p);
                for req in &sec.required {
                    if r.get(req).is_none() {
                        p.insert(format!("documented field `{req}` missing"));
                    }
                }
                let seen = seen_fields.entry(ty.clone()).or_default();
                if let Some(o) = r.as_object() {
                    seen.extend(o.keys().cloned());
                }
                for x in p {
                    problems
                        .entry((ty.clone(), x))
                        .or_insert_with(|| format!("{} record {}", f.display(), r["frame"]));
                }
            }
        }
    }
    for (ty, sec) in &schema {
        let seen = seen_fields.get(ty).cloned().unwrap_or_default();
        let never: Vec<&String> = sec
            .fields
            .iter()
            .filter(|f| !f.contains('.') && !seen.contains(*f))
            .collect();
        println!(
            "schema: {ty}: {} records checked, {} documented fields, never produced here: {never:?}",
            counts.get(ty).unwrap_or(&0),
            sec.fields.len()
        );
    }
    assert!(counts.get("packet").copied().unwrap_or(0) > min_packets);
    assert!(
        problems.is_empty(),
        "output does not match docs/schema.md:\n{}",
        problems
            .iter()
            .map(|((t, p), e)| format!("{t}: {p} (e.g. {e})"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

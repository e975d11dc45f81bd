//! The fuzz targets (fuzz/fuzz_targets/, cargo-fuzz layout: docs/fuzzing.md) replayed on their
//! committed seed corpora (fuzz/corpus/<target>/*) on stable Rust, through the same library
//! functions the targets call: every seed must pass, so a crash once found and saved as a seed
//! stays fixed, and the targets keep compiling in spirit with the code they exercise.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use tcpwhy_tests::root;

/// A target: its name, the function its body calls (as written in the target file) and that
/// function.
type Target = (&'static str, &'static str, fn(&[u8]));

/// `(name, "path::to::body", path::to::body)`: the function's path written once.
macro_rules! target {
    ($name:literal, $body:path) => {
        ($name, stringify!($body), $body)
    };
}

const TARGETS: &[Target] = &[
    target!("capture", pcap2jsonl::fuzz::capture),
    target!("tcpflows_scan", tcpflows::fuzz::scan_differential),
    target!("jsonl_reader", tcpwhy_common::fuzz::jsonl_reader),
    target!("portmap_listing", portmap::fuzz::listing),
];

fn seeds(target: &str) -> Vec<PathBuf> {
    let dir = root().join("fuzz/corpus").join(target);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn every_seed_of_every_target_passes() {
    let mut failures = vec![];
    for (target, _, body) in TARGETS {
        let seeds = seeds(target);
        assert!(
            seeds.len() >= 3,
            "fuzz/corpus/{target}: only {} seeds",
            seeds.len()
        );
        for seed in seeds {
            let data = std::fs::read(&seed).unwrap();
            if let Err(e) = catch_unwind(AssertUnwindSafe(|| body(&data))) {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{target}: {}: {msg}", seed.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The targets in fuzz/ are exactly these, each calling its function, each built by
/// fuzz/Cargo.toml and each with a corpus directory.
#[test]
fn the_targets_are_the_ones_replayed() {
    let dir = root().join("fuzz/fuzz_targets");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut want: Vec<String> = TARGETS.iter().map(|(t, _, _)| format!("{t}.rs")).collect();
    want.sort();
    assert_eq!(
        files, want,
        "fuzz/fuzz_targets/ vs tests/tests/fuzz_corpus.rs"
    );
    let manifest = std::fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
    for (target, call, _) in TARGETS {
        let src = std::fs::read_to_string(dir.join(format!("{target}.rs"))).unwrap();
        assert!(
            src.contains(&format!("{call}(data)")),
            "fuzz/fuzz_targets/{target}.rs must call {call}(data)"
        );
        assert!(
            manifest.contains(&format!("path = \"fuzz_targets/{target}.rs\"")),
            "fuzz/Cargo.toml has no [[bin]] for {target}"
        );
    }
}

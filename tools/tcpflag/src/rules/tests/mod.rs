//! Every rule on a hand-written flow where it must fire and one where it must not, a file per
//! group of rules; the helpers they share are here.

mod backend;
mod connect;
mod ending;
mod refused;
mod tls;
mod transfer;

use serde_json::json;
use tcpwhy_common::records::{Finding, Severity};

use super::testutil::*;
use super::*;
use crate::engine::Engine;
use crate::rules::intermittent_backend::BackendConfig;

fn findings(f: &Flow) -> Vec<Finding> {
    match evaluate(f, &Config::default()) {
        Verdict::Findings(v) => v,
        Verdict::Refused => vec![refused(&[(f, None)])],
    }
}

fn one(patch: serde_json::Value) -> Finding {
    let f = flow(patch);
    let v = findings(&f);
    assert_eq!(v.len(), 1, "expected one finding, got {v:#?}");
    v.into_iter().next().unwrap()
}

fn none(patch: serde_json::Value) {
    let f = flow(patch);
    let v = findings(&f);
    assert!(v.is_empty(), "expected no finding, got {v:#?}");
}

/// Checks a finding's kind, evidence frames and Windows error code.
#[track_caller]
fn check(fd: &Finding, kind: &str, frames: &[u64], windows: u32) {
    assert_eq!(fd.kind, kind);
    assert_eq!(fd.frames, frames);
    assert_eq!(windows_code(fd), Some(windows));
}

fn engine() -> Engine {
    Engine::new(Config::default(), BackendConfig::default())
}

//! Rendering findings for people (`--format text` and `--format markdown`): grouping, ladders.

pub mod color;
pub mod group;
pub mod ladder;
pub mod markdown;

//! Rendering findings for people (`--format text` and `--format markdown`): grouping, ladders.

pub(crate) mod color;
pub(crate) mod group;
pub(crate) mod ladder;
pub(crate) mod markdown;

//! Fuzz target body for the listing parsers (`fuzz/fuzz_targets/portmap_listing.rs`), callable
//! from stable tests: `tests/tests/fuzz_corpus.rs` replays the committed seeds in `make test`.

use std::sync::OnceLock;

use crate::parse::{self, Format};
use crate::services::Services;

fn services() -> &'static Services {
    static S: OnceLock<Services> = OnceLock::new();
    S.get_or_init(Services::builtin)
}

/// Decodes `data` as a listing file is decoded (UTF-8, UTF-16, code pages), detects its format
/// and parses it, then parses it as every other format too (as `--format` forces): never a
/// panic, errors name the file, no more sockets than lines.
pub fn listing(data: &[u8]) {
    for part in parse::decode::decode(data, None) {
        let text = part.text;
        let detected = parse::detect(&text);
        for format in detected.into_iter().chain(Format::ALL) {
            match parse::parse("fuzz", &text, 0, format, services()) {
                Ok(l) => {
                    assert_eq!(l.format, format);
                    assert!(
                        l.sockets.len() <= text.lines().count() + 1,
                        "{format:?}: more sockets than lines"
                    );
                }
                Err(e) => {
                    let e = format!("{e:#}");
                    assert!(
                        e.starts_with("fuzz"),
                        "{format:?}: error without the file: {e}"
                    );
                }
            }
        }
    }
}

tcpwhy_common::fuzz_smoke_test!(
    listing,
    b"",
    b"Proto  Local Address          Foreign Address        State           PID\r\n",
    b"\xff\xfeP\x00r\x00",
    b"State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n",
);

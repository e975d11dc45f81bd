//! Live pipelines: stopping on Ctrl-C without losing what was found.
//!
//! On the first SIGINT or SIGTERM a stop flag is set ([`stop_requested`]): `pcap2jsonl` stops
//! reading and ends as at the end of its input; the other stages, reading a pipe, go on reading
//! until their input ends (it does once the stage before them exits) and then flush everything as
//! at end of input. A second signal exits at once with status 128 + the signal (130 for SIGINT,
//! 143 for SIGTERM), writing nothing more.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Installs the two-step SIGINT/SIGTERM handling described in the module documentation.
/// Calling it again does nothing more.
pub fn install_stop_handler() {
    if STOP.get().is_some() {
        return;
    }
    let flag = STOP.get_or_init(|| Arc::new(AtomicBool::new(false)));
    for (sig, code) in [
        (signal_hook::consts::SIGINT, 130),
        (signal_hook::consts::SIGTERM, 143),
    ] {
        // Order matters: the conditional exit runs first and sees the flag of the signal before.
        let _ = signal_hook::flag::register_conditional_shutdown(sig, code, Arc::clone(flag));
        let _ = signal_hook::flag::register(sig, Arc::clone(flag));
    }
}

/// True once a first SIGINT/SIGTERM arrived (after [`install_stop_handler`]).
pub fn stop_requested() -> bool {
    STOP.get().is_some_and(|f| f.load(Ordering::Relaxed))
}

//! What a test needs from outside the repository (the corpus, a tool, network namespaces,
//! scapy), and the `SKIPPED:` line it reports when that is missing (see the crate's doc).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::corpus_path;

/// True under `TCPWHY_REQUIRE_CORPUS=1` (CI): whatever a test needs must be there.
pub fn required() -> bool {
    std::env::var_os("TCPWHY_REQUIRE_CORPUS").is_some_and(|v| v == "1")
}

/// The running test's name (libtest names each test's thread after it).
pub fn test_name() -> String {
    std::thread::current().name().unwrap_or("test").to_string()
}

/// Reports that the running test cannot run (all of it, or the part the caller skips): prints
/// `SKIPPED: <test>: <missing>; <how>` on stderr, or panics with that line under
/// `TCPWHY_REQUIRE_CORPUS=1`.
///
/// The line is written to the process' stderr directly, not through `eprintln!`, so that libtest's
/// output capture does not hide it in a passing test; it is also appended to
/// `<target>/<profile>/tcpwhy-skipped.txt`, which `make test` counts at the end.
pub fn skip(missing: &str, how: &str) {
    let line = format!("SKIPPED: {}: {missing}; {how}", test_name());
    if required() {
        panic!("{line} (TCPWHY_REQUIRE_CORPUS=1: nothing may be skipped)");
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
    if let Some(log) = skip_log() {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// `<target>/<profile>/tcpwhy-skipped.txt` for a test binary at `<target>/<profile>/deps/<test>`.
fn skip_log() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile = exe.parent()?.parent()?;
    Some(profile.join("tcpwhy-skipped.txt"))
}

/// The external corpus' directory when it is there (with `captures/real/`); else reports the
/// skip (see [`skip`]) and returns `None`: `let Some(corpus) = corpus() else { return };`.
pub fn corpus() -> Option<PathBuf> {
    let dir = corpus_path();
    if dir.join("captures/real").is_dir() {
        Some(dir)
    } else {
        skip(
            &format!("the external corpus is not at {}", dir.display()),
            "put the shared corpus (captures/real, captures/malformed, bench/gen_pcap.py) \
             beside the clone as ../shared or point TCPWHY_CORPUS at it",
        );
        None
    }
}

/// True when `tool` is on PATH (it can be started: `tool --version`, whatever its exit status),
/// without reporting anything.
pub fn have_tool(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// True when `tool` runs; else reports the skip (see [`skip`]). `package` is the Debian package
/// that has it.
pub fn need_tool(tool: &str, package: &str) -> bool {
    if have_tool(tool) {
        return true;
    }
    skip(
        &format!("{tool} is not installed"),
        &format!("install it (Debian/Ubuntu: apt-get install {package})"),
    );
    false
}

/// True when this process may create network namespaces (root, `ip` from iproute2, a kernel
/// that allows it: one is made and deleted to find out, once per test process); else reports
/// the skip.
pub fn need_netns() -> bool {
    static PROBE: std::sync::OnceLock<Result<(), &'static str>> = std::sync::OnceLock::new();
    let probe = PROBE.get_or_init(|| {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        if !root {
            return Err("not root (network namespaces are needed)");
        }
        if !have_tool("ip") {
            return Err("iproute2's `ip` is not installed");
        }
        let ns = format!("tcpwhy-probe-{}", std::process::id());
        if !netns_add(&ns) {
            return Err("cannot create a network namespace");
        }
        let _ = Command::new("ip").args(["netns", "del", &ns]).status();
        Ok(())
    });
    match probe {
        Ok(()) => true,
        Err(why) => {
            skip(
                why,
                "run the tests as root on Linux with iproute2 (CI does: sudo make test)",
            );
            false
        }
    }
}

/// Creates the network namespace `name` (`ip netns add`, its stderr dropped): whether it was made.
pub fn netns_add(name: &str) -> bool {
    Command::new("ip")
        .args(["netns", "add", name])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// True when `python3` with scapy is there; else reports the skip.
pub fn need_scapy() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import scapy.all"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip(
            "python3 with scapy is not installed",
            "install it (Debian/Ubuntu: apt-get install python3-scapy)",
        );
    }
    ok
}

//! `make install` (scripts/install.sh): the five binaries, their man pages and bash/zsh/fish
//! completions (each tool writes its own: `--generate man|complete-…`) land where distributions
//! put them, under DESTDIR+PREFIX. Runs the script on the binaries of this test build
//! (TCPWHY_BIN_DIR), as `make install` does on the `dist` profile's; nothing else is needed
//! (plain `cargo test --workspace` builds the binaries).

use std::process::Command;

use tcpwhy_tests::{bin, output_ok, root};

const TOOLS: [&str; 5] = ["pcap2jsonl", "tcpflows", "ttlhops", "tcpflag", "portmap"];

/// The documentation a support engineer reads offline, under share/doc/tcpwhy.
const DOCS: [&str; 6] = [
    "README.md",
    "tutorial.md",
    "rules.md",
    "schema.md",
    "runbooks/connection-refused.md",
    "runbooks/timeouts.md",
];

#[test]
fn install_puts_binaries_man_pages_and_completions_under_destdir_prefix() {
    let bindir = bin("pcap2jsonl").parent().unwrap().to_path_buf();
    let destdir = tempfile::tempdir().unwrap();
    let dest = destdir.path().join("usr/local");
    output_ok(
        Command::new("sh")
            .arg(root().join("scripts/install.sh"))
            .arg(&dest)
            .env("TCPWHY_BIN_DIR", &bindir),
    );
    for t in TOOLS {
        let exe = dest.join("bin").join(t);
        let v = Command::new(&exe).arg("--version").output().unwrap();
        assert!(v.status.success(), "{t} --version");
        assert!(String::from_utf8_lossy(&v.stdout).starts_with(t));

        let man = std::fs::read_to_string(dest.join(format!("share/man/man1/{t}.1"))).unwrap();
        for (part, what) in [
            (".TH", "is a man page"),
            (t, "names its tool"),
            (".SH \"SEE ALSO\"", "points to the other tools"),
            (".SH EXAMPLES", "has EXAMPLES"),
            (".SH \"EXIT STATUS\"", "has EXIT STATUS"),
            ("share/doc/tcpwhy", "names the installed docs"),
        ] {
            assert!(man.contains(part), "{t}.1 {what}");
        }
        assert!(
            man.contains("\\-\\-help") || man.contains("\\-h"),
            "{t}.1 lists options"
        );
        assert!(!man.contains("EXTRA"), "{t}.1 has no EXTRA section");

        let bash =
            std::fs::read_to_string(dest.join(format!("share/bash-completion/completions/{t}")))
                .unwrap();
        assert!(
            bash.contains("complete -F") && bash.contains(t),
            "bash completion of {t}"
        );
        let zsh =
            std::fs::read_to_string(dest.join(format!("share/zsh/site-functions/_{t}"))).unwrap();
        assert!(
            zsh.starts_with(&format!("#compdef {t}")),
            "zsh completion of {t}"
        );
        let fish =
            std::fs::read_to_string(dest.join(format!("share/fish/vendor_completions.d/{t}.fish")))
                .unwrap();
        assert!(
            fish.contains(&format!("complete -c {t}")),
            "fish completion of {t}"
        );
    }
    for doc in DOCS {
        assert!(
            dest.join("share/doc/tcpwhy").join(doc).is_file(),
            "share/doc/tcpwhy/{doc}"
        );
    }
    // Nothing outside DESTDIR+PREFIX.
    let top: Vec<_> = std::fs::read_dir(destdir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(top, vec!["usr"]);
}

/// TCPWHY_BIN_DIR and DEST relative to the directory the script is run from.
#[test]
fn relative_bin_dir_and_destination() {
    let bindir = bin("pcap2jsonl").parent().unwrap().to_path_buf();
    let work = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&bindir, work.path().join("bins")).unwrap();
    output_ok(
        Command::new("sh")
            .arg(root().join("scripts/install.sh"))
            .arg("pkg/usr")
            .current_dir(work.path())
            .env("TCPWHY_BIN_DIR", "bins"),
    );
    for t in TOOLS {
        assert!(work.path().join("pkg/usr/bin").join(t).is_file(), "{t}");
    }
}

/// `--generate` writes one file on stdout; a wrong kind is a usage error naming the kinds.
#[test]
fn tools_generate_their_man_page_and_completions() {
    for t in TOOLS {
        let out = Command::new(bin(t))
            .args(["--generate", "man"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{t} --generate man");
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!(".TH {t} 1")));
        let out = Command::new(bin(t))
            .arg("--generate=complete-fish")
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("complete -c {t}")));
        let out = Command::new(bin(t))
            .args(["--generate", "pdf"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{t} --generate pdf");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("complete-bash") && out.stdout.is_empty(),
            "{err}"
        );
    }
}

#[test]
fn install_without_a_destination_is_a_usage_error() {
    let out = Command::new("sh")
        .arg(root().join("scripts/install.sh"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
}

#!/bin/sh
# The MSRV check beyond clippy's incompatible_msrv (which checks std APIs against the workspace's
# rust-version, in `make lint`): no dependency in Cargo.lock declares a newer rust-version, and
# the code uses no language feature newer than it among those listed below. Only the machine's
# toolchain is installed, so this cannot build with the old compiler itself: a feature missing
# from the list, or a std API used through a macro, can still slip by (docs/architecture.md).
set -eu
cd "$(dirname "$0")/.."
cargo metadata --format-version 1 --locked | python3 -c '
import json, re, subprocess, sys

def ver(v):
    return tuple(int(x) for x in re.findall(r"\d+", v)[:3]) + (0,) * (3 - len(re.findall(r"\d+", v)[:3]))

m = json.load(sys.stdin)
ws = set(m["workspace_members"])
pk = {p["id"]: p for p in m["packages"]}
msrv = {pk[i].get("rust_version") for i in ws}
if len(msrv) != 1 or None in msrv:
    sys.exit("msrv: every workspace crate takes rust-version from the workspace: %s" % msrv)
msrv = msrv.pop()
bad = []
for node in m["resolve"]["nodes"]:
    p = pk[node["id"]]
    rv = p.get("rust_version")
    if node["id"] not in ws and rv and ver(rv) > ver(msrv):
        bad.append("%s %s needs Rust %s" % (p["name"], p["version"], rv))

# Language features newer than 1.85 (edition 2024 itself needs 1.85), as `git grep` patterns.
FEATURES = [
    ("1.88", "let chains (`if let ... && let ...`)", r"&&[[:space:]]*let[[:space:]]|^[[:space:]]*&&[[:space:]]*let "),
]
for since, what, pattern in FEATURES:
    if ver(since) <= ver(msrv):
        continue
    hits = subprocess.run(["git", "grep", "-nE", pattern, "--", "*.rs"], capture_output=True, text=True).stdout
    for h in hits.splitlines():
        bad.append("%s: %s needs Rust %s" % (h.split(":")[0] + ":" + h.split(":")[1], what, since))
if bad:
    print("msrv: rust-version is %s but:" % msrv, *bad, sep="\n  ")
    sys.exit(1)
print("msrv: rust-version %s: every dependency and the known language features fit" % msrv)
'

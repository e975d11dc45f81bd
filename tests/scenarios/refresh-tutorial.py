#!/usr/bin/env python3
"""Refreshes the outputs pasted in docs/tutorial.md: every ```sh block is run from the repository
root (tools from target/debug, else target/release, first on PATH) and the ```text block right
after it is replaced by what it printed. Run after the tools' output changed:

    python3 tests/scenarios/refresh-tutorial.py [--check]

--check only reports blocks whose pasted output differs (exit 1), changing nothing.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOC = os.path.join(ROOT, "docs", "tutorial.md")


def main():
    check = "--check" in sys.argv[1:]
    env = dict(os.environ)
    bins = [os.path.join(ROOT, "target", p) for p in ("debug", "release")]
    env["PATH"] = os.pathsep.join(bins + [env.get("PATH", "")])
    text = open(DOC, encoding="utf-8").read()
    block = re.compile(r"```sh\n(.*?)```\n\n```text\n(.*?)```\n", re.S)
    stale = 0

    def fill(m):
        nonlocal stale
        cmd, old = m.group(1), m.group(2)
        r = subprocess.run(["sh", "-c", cmd], cwd=ROOT, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("refresh-tutorial: failed (%d): %s\n%s" % (r.returncode, cmd, r.stderr))
        out = r.stdout
        if out and not out.endswith("\n"):
            out += "\n"
        if out != old:
            stale += 1
            if check:
                print("stale output after:\n" + cmd)
        return "```sh\n%s```\n\n```text\n%s```\n" % (cmd, out)

    new = block.sub(fill, text)
    if check:
        sys.exit(1 if stale else 0)
    if new != text:
        open(DOC, "w", encoding="utf-8").write(new)
    print("refresh-tutorial: %d block(s) updated" % stale)


if __name__ == "__main__":
    main()

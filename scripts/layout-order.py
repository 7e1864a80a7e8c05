#!/usr/bin/env python3
"""Write the code layout of the charm binary from callgrind profiles of its hooks.

Usage: layout-order.py <profile dir> <output file>

The profile directory holds one callgrind output per dispatch (scripts/profile-layout.sh
names them `<time>-<hook>-<unit>`, `-` for a run outside Juju). Every function that ran
in a dispatch appears in it. The output is an lld symbol ordering file
(`--symbol-ordering-file`, one mangled symbol per line, `#` starts a comment): the
linker places these functions first in .text, in this order, and leaves the rest where
it would.

Why: the kernel maps a binary's code into a process in 64 KiB fault-around blocks, so
the memory a hook holds is the number of blocks its code touches, not the size of that
code. Without a layout the ~400 KiB a steady update-status runs is scattered over most
of the 5.4 MiB of .text. The order puts first what the most frequent hook runs (every
update-status), then what the other hooks run, most widely run first.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

# callgrind marks a function's recursion levels as name'2, name'3, ...
RECURSION_SUFFIX = re.compile(r"'\d+$")
DEFINITION = re.compile(r"^c?fn=\((\d+)\)(?: (.+))?$")


def functions_run(profile: Path) -> set[str]:
    """The functions with a cost in one callgrind output (names compressed as `(id) name`
    on first use, `(id)` after)."""
    names: dict[str, str] = {}
    run: set[str] = set()
    with profile.open(errors="replace") as lines:
        for line in lines:
            if not line.startswith(("fn=", "cfn=")):
                continue
            match = DEFINITION.match(line.rstrip("\n"))
            if match is None:
                continue
            ident, name = match.groups()
            if name is not None:
                names[ident] = RECURSION_SUFFIX.sub("", name)
            if line.startswith("fn=") and ident in names:
                run.add(names[ident])
    # Names callgrind makes up, not symbols: "(below main)", bare addresses.
    return {n for n in run if not n.startswith(("(", "0x"))}


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    profiles = sorted(p for p in Path(sys.argv[1]).iterdir() if p.is_file())
    if not profiles:
        print(f"layout-order: no profiles in {sys.argv[1]}", file=sys.stderr)
        return 1
    every_update_status: set[str] | None = None
    runs_of: Counter[str] = Counter()
    for profile in profiles:
        run = functions_run(profile)
        runs_of.update(run)
        if "update-status" in profile.name:
            every_update_status = run if every_update_status is None else every_update_status & run
    steady = every_update_status or set()
    # Steady update-status first, then by how many dispatches ran the function; the name
    # breaks ties so the same profiles always give the same file.
    order = sorted(runs_of, key=lambda n: (n not in steady, -runs_of[n], n))
    hooks = Counter(p.name.split("-", 1)[-1].rsplit("-", 1)[0] or "outside Juju" for p in profiles)
    header = [
        "# The code layout of the charm binary: lld --symbol-ordering-file (scripts/build-dispatch.sh).",
        "# Written by scripts/profile-layout.sh from callgrind profiles of the bench scenario;",
        "# run it again when Cargo.lock or the toolchain changes (the symbol hashes change).",
        f"# {len(profiles)} dispatches profiled ({len(hooks)} kinds); {len(order)} functions ran,",
        f"# the first {len(steady)} in every update-status.",
    ]
    Path(sys.argv[2]).write_text("\n".join(header + order) + "\n")
    print(f"layout-order: {len(order)} functions from {len(profiles)} dispatches, "
          f"{len(steady)} in every update-status -> {sys.argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Write layout/dispatch.order, the code layout of the charm binary, from profiles of the
# bench scenario (README.md, "Benchmarks"): scripts/bench.sh runs every dispatch under
# callgrind (valgrind), one profile per dispatch, and scripts/layout-order.py lists the
# functions that ran, those of every update-status first. scripts/build-dispatch.sh links
# them first in .text. Run it again when Cargo.lock or the Rust toolchain changes (the
# build then warns that the layout is stale), and commit the file it writes.
#
#   scripts/profile-layout.sh        # needs root (as the bench) and valgrind
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null \
    || { echo "profile-layout: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
profiles=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$profiles" "$log"' EXIT
if ! BENCH_CALLGRIND_DIR="$profiles" scripts/bench.sh >"$log" 2>&1; then
    tail -20 "$log" >&2
    echo "profile-layout: the bench failed" >&2
    exit 1
fi
python3 scripts/layout-order.py "$profiles" layout/dispatch.order

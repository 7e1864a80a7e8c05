#!/usr/bin/env bash
# The benchmark: the release build of the charm under the Juju emulator, each unit in a pod
# with a real Pebble running the real Kratos on a real PostgreSQL, through a fixed scenario
# (deploy, every integration, config changes, steady update-status, a second unit,
# leadership moving). Prints each hook dispatch's wall time, CPU time, peak RSS, hook-tool
# calls and Pebble requests, the medians per hook kind, the static release binary's size
# and the floor (a no-op process, one hook-tool call). See README.md, "Benchmarks".
#
#   scripts/bench.sh [--json FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/charm-kratos/target}
export CHARM_KRATOS_BIN=${CHARM_KRATOS_BIN:-$HOME/.cache/charm-kratos/bin}
scripts/install-pebble.sh
scripts/install-postgres.sh
scripts/install-kratos.sh >/dev/null
cargo build --quiet --release --bin charm-kratos
cargo build --quiet --release -p juju-rs-ops-testing --bin juju-emulator
cargo build --quiet --example bench_launcher
static_dir=$(mktemp -d)
trap 'rm -rf "$static_dir"' EXIT
scripts/build-dispatch.sh "$static_dir/dispatch"
export JUJU_EMULATOR_BIN="$CARGO_TARGET_DIR/release/juju-emulator"
# The dispatches run the static binary that ships in the .charm.
export CHARM_DISPATCH="$static_dir/dispatch"
if [ -n "${BENCH_CALLGRIND_DIR:-}" ]; then
    # scripts/profile-layout.sh: every dispatch runs the same binary before stripping (its
    # symbols name the functions) under callgrind, one profile per dispatch.
    command -v valgrind >/dev/null || { echo "bench: BENCH_CALLGRIND_DIR needs valgrind" >&2; exit 1; }
    unstripped="$CARGO_TARGET_DIR/$(uname -m)-unknown-linux-gnu/release/charm-kratos"
    {
        echo '#!/usr/bin/env bash'
        echo "out=\"$BENCH_CALLGRIND_DIR/\$(date +%s%N)-\${JUJU_DISPATCH_PATH//\//_}-\${JUJU_UNIT_NAME//\//_}\""
        echo "exec valgrind --quiet --tool=callgrind --demangle=no --callgrind-out-file=\"\$out\" \"$unstripped\" \"\$@\""
    } >"$static_dir/dispatch-callgrind"
    chmod 0755 "$static_dir/dispatch-callgrind"
    export CHARM_DISPATCH="$static_dir/dispatch-callgrind"
fi
export BENCH_LAUNCHER="$CARGO_TARGET_DIR/debug/examples/bench_launcher"
export BENCH_STATIC_BIN="$static_dir/dispatch"
cargo run --quiet --example bench -- "$@"

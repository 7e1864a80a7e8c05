#!/usr/bin/env bash
# The main job: bring up the charm under the local Juju emulator driving a real Pebble that
# runs the real Kratos against a real PostgreSQL, print each event with the resulting
# status, query Kratos, run actions, and tear down. `--hold` keeps it up with a prompt for
# actions until `quit`; `--down` cleans up after an interrupted run.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/charm-kratos/target}
export CHARM_KRATOS_BIN=${CHARM_KRATOS_BIN:-$HOME/.cache/charm-kratos/bin}
scripts/install-pebble.sh
scripts/install-postgres.sh
scripts/install-kratos.sh >/dev/null
cargo build --quiet --release --bin charm-kratos
cargo build --quiet -p juju-rs-ops-testing --bin juju-emulator
export JUJU_EMULATOR_BIN="$CARGO_TARGET_DIR/debug/juju-emulator"
export CHARM_DISPATCH="$CARGO_TARGET_DIR/release/charm-kratos"
exec cargo run --quiet --example local_deploy -- "$@"

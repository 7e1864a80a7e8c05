#!/usr/bin/env bash
# The main job: bring up the charm under the local Juju emulator driving a real Pebble that
# runs the real Kratos against a real PostgreSQL, print each event with the resulting
# status, query Kratos, run actions; then bring up Mailpit, Hydra and a Traefik stand-in on
# this machine's loopback, integrate them (smtp, hydra, public-route, an external IdP, a
# login UI), show a login brokered by Hydra and a recovery e-mail, and tear down. `--hold`
# keeps it up with a prompt for actions, `oidc-login <email>` and `recover <email>` until
# `quit`; `--down` cleans up after an interrupted run.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/charm-kratos/target}
export CHARM_KRATOS_BIN=${CHARM_KRATOS_BIN:-$HOME/.cache/charm-kratos/bin}
scripts/install-pebble.sh
scripts/install-postgres.sh
scripts/install-kratos.sh >/dev/null
# Quiet when cached; a first build says so (it takes a minute or two each).
quiet_when_cached() { "$@" | { grep -v ' is already ' || true; }; }
quiet_when_cached scripts/install-hydra.sh
quiet_when_cached scripts/install-mailpit.sh
cargo build --quiet --release --bin charm-kratos
cargo build --quiet -p juju-rs-ops-testing --bin juju-emulator
export JUJU_EMULATOR_BIN="$CARGO_TARGET_DIR/debug/juju-emulator"
export CHARM_DISPATCH="$CARGO_TARGET_DIR/release/charm-kratos"
exec cargo run --quiet --example local_deploy -- "$@"

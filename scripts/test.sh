#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need (idempotent and
# quick when present), checks formatting and lints, builds the Juju emulator, runs every
# test (unit, in-process, process-level against real Pebble, end to end against real
# Kratos and PostgreSQL), then checks the packed charm with charmcraft.
set -euo pipefail
cd "$(dirname "$0")/.."
# Builds are cached outside the clone so repeated runs (and CI) are quick.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/charm-kratos/target}
export CHARM_KRATOS_BIN=${CHARM_KRATOS_BIN:-$HOME/.cache/charm-kratos/bin}

step() { printf '\n==> %s\n' "$*"; }

step "Installing test prerequisites"
scripts/install-pebble.sh
scripts/install-postgres.sh
scripts/install-kratos.sh
scripts/install-hydra.sh
scripts/install-mailpit.sh
# The observability backends: a tracing backend (OTLP) and a metrics scraper with its rule checker.
scripts/install-jaeger.sh
scripts/install-prometheus.sh
scripts/install-python-ops.sh
scripts/install-jsonnet.sh
# A real Kubernetes API server and its etcd, for the charm's Kubernetes tests.
scripts/install-etcd.sh
scripts/install-kube-apiserver.sh
# OpenTofu, whose `tofu fmt` checks the Terraform module (tests/terraform.rs).
scripts/install-opentofu.sh

step "Formatting and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "Building the Juju emulator"
cargo build -p juju-rs-ops-testing --bin juju-emulator
export JUJU_EMULATOR_BIN="$CARGO_TARGET_DIR/debug/juju-emulator"
export PEBBLE_BIN="$CHARM_KRATOS_BIN/pebble"
export KRATOS_BIN="$CHARM_KRATOS_BIN/kratos"
# Peers of the end-to-end tests: an OIDC provider and an SMTP server with an HTTP API.
export HYDRA_BIN="$CHARM_KRATOS_BIN/hydra"
export MAILPIT_BIN="$CHARM_KRATOS_BIN/mailpit"
# Observability backends: Jaeger (OTLP in, query API out), Prometheus and promtool.
export JAEGER_BIN="$CHARM_KRATOS_BIN/jaeger"
export PROMETHEUS_BIN="$CHARM_KRATOS_BIN/prometheus"
export PROMTOOL_BIN="$CHARM_KRATOS_BIN/promtool"
# The Kubernetes API server (and its store) the Kubernetes tests run (tests/common/kube.rs).
export KUBE_APISERVER_BIN="$CHARM_KRATOS_BIN/kube-apiserver"
export ETCD_BIN="$CHARM_KRATOS_BIN/etcd"
# OpenTofu for the Terraform module's formatting check (tests/terraform.rs).
export TOFU_BIN="$CHARM_KRATOS_BIN/tofu"

step "Tests"
cargo test --workspace --all-features

step "Fuzz corpora (every fuzz target over its committed corpus)"
# The targets' bodies on the stable toolchain, without libFuzzer: a regression check of
# every seed and past finding. Fuzzing itself is scripts/fuzz.sh (nightly, ASan).
cargo fmt --manifest-path fuzz/Cargo.toml -- --check
cargo test --locked --manifest-path fuzz/Cargo.toml --test corpus

step "Packing and checking the charm"
scripts/check-charm.sh

#!/usr/bin/env bash
# Build the charm binary (the `dispatch` of the .charm) and install it at the given path.
#
# Usage: scripts/build-dispatch.sh <output-path>
#
# The binary is linked statically against glibc (`+crt-static`), so it runs on any charm
# base whatever its glibc. The flag goes through RUSTFLAGS together with an explicit
# `--target`: cargo then applies it to the charm only, not to build scripts and proc-macros
# (which cannot be static), and keeps the artefacts in target/<triple>/ so ordinary
# `cargo build --release` caches are not invalidated. Used by scripts/pack.sh and by the
# charmcraft.yaml build part, so both produce the same binary.
set -euo pipefail

if [ "$#" -ne 1 ]; then
    echo "usage: $0 <output-path>" >&2
    exit 2
fi
output="$1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
triple="$(uname -m)-unknown-linux-gnu"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

cd "$root"
RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static" \
    cargo build --locked --release --bin charm-kratos --target "$triple"

binary="$target_dir/$triple/release/charm-kratos"
# A static binary has no program interpreter and needs no shared library.
if readelf -lW "$binary" | grep -q 'INTERP' || readelf -dW "$binary" | grep -q '(NEEDED)'; then
    echo "error: $binary is not statically linked" >&2
    exit 1
fi
mkdir -p "$(dirname "$output")"
install -m 0755 "$binary" "$output"
echo "built $output ($(stat -c %s "$output") bytes, static, $triple)" >&2

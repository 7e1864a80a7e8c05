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
#
# Two link options keep the memory a hook holds small (README, "Benchmarks"); the linker,
# scripts/link-dispatch.sh, adds them when rustc links with lld (x86_64):
# - `-z pack-relative-relocs`: the relocations of the static PIE in the compact RELR form
#   (glibc >= 2.36 applies them at start-up; the build base has 2.39): 4 KiB instead of
#   340 KiB that every start read in full;
# - the code layout of layout/dispatch.order: the functions the hooks run, first in .text
#   and together (scripts/profile-layout.sh writes the file from profiles of the bench;
#   scripts/link-dispatch.sh hands it to lld as --symbol-ordering-file).
#   The kernel maps code in 64 KiB blocks, so scattered hot code costs whole blocks.
# The symbols' hashes depend on the profile settings, so cargo links the binary unstripped
# (the profiles are taken on this very file) and the copy installed at <output-path> is
# stripped.
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
RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static -C linker=$root/scripts/link-dispatch.sh" \
CARGO_PROFILE_RELEASE_STRIP=false \
    cargo build --locked --release --bin charm-kratos --target "$triple"

binary="$target_dir/$triple/release/charm-kratos"
# A static binary has no program interpreter and needs no shared library.
if readelf -lW "$binary" | grep -q 'INTERP' || readelf -dW "$binary" | grep -q '(NEEDED)'; then
    echo "error: $binary is not statically linked" >&2
    exit 1
fi
# How much of the layout the link could follow (scripts/link-dispatch.sh counts it): after
# a change of Cargo.lock or of the toolchain the hashes in the names change, and the file
# needs writing again.
layout_report="$target_dir/$triple/release/dispatch-layout.txt"
if [ ! -f "$layout_report" ]; then
    echo "layout: not applied (no layout/dispatch.order, or the linker is not lld)" >&2
elif read -r listed by_name by_key instances passed \
    <"$layout_report"; then
    echo "layout: of the $listed functions of layout/dispatch.order, $by_name found by name," \
        "$by_key by name without hash ($instances symbols), $passed left to lld (C library)" >&2
    if [ $((by_key * 10)) -gt "$listed" ]; then
        echo "note: the layout's names are out of date (Cargo.lock or toolchain);" \
            "scripts/profile-layout.sh writes them again" >&2
    fi
fi
mkdir -p "$(dirname "$output")"
strip --strip-all -o "$output.tmp" "$binary"
chmod 0755 "$output.tmp"
mv "$output.tmp" "$output"
echo "built $output ($(stat -c %s "$output") bytes, static, $triple)" >&2

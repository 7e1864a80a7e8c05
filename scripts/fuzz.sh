#!/usr/bin/env bash
# Fuzzes every parser of outside input: builds the cargo-fuzz targets of fuzz/ (libFuzzer,
# AddressSanitizer, the nightly toolchain) and runs each for a fixed time.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]  fuzz each target for SECONDS (default 60); new
#                                          inputs go to fuzz/corpus-new/<target>/
#   scripts/fuzz.sh --smoke [TARGET...]    CI: each target over its committed corpus
#                                          (fuzz/corpus/<target>/) plus a few seconds of
#                                          fuzzing (FUZZ_SMOKE_SECONDS, default 3)
#
# A panic, an input taking more than FUZZ_TIMEOUT seconds (default 10: a hang) or a
# process above FUZZ_RSS_MB MiB (default 2048; a single allocation above it too: unbounded
# allocation) is a finding: libFuzzer saves the input in fuzz/artifacts/<target>/ and this
# script exits non-zero after running the other targets. Reproduce one with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>
# Builds go to $FUZZ_TARGET_DIR (default ~/.cache/charm-kratos/target-fuzz), never to the
# stable toolchain's target directory. cargo-fuzz is installed once into ~/.cargo/bin.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
smoke=false
seconds=60
if [[ ${1:-} == --smoke ]]; then
    smoke=true
    seconds=${FUZZ_SMOKE_SECONDS:-3}
    shift
elif [[ ${1:-} =~ ^[0-9]+$ ]]; then
    seconds=$1
    shift
fi
timeout_s=${FUZZ_TIMEOUT:-10}
rss_mb=${FUZZ_RSS_MB:-2048}
# The charm's own target directory (scripts/test.sh exports it) is the stable
# toolchain's: the sanitised nightly build has one of its own.
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$HOME/.cache/charm-kratos/target-fuzz}
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz.sh: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
    exit 1
fi
if [[ "$(cargo-fuzz --version 2>/dev/null || true)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
    echo "==> Installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

echo "==> Building ${#targets[@]} fuzz targets (nightly, AddressSanitizer)"
cargo +nightly fuzz build
bin_dir="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release"

# libFuzzer writes new inputs into the first corpus directory: a scratch one, so the
# committed seeds stay as they are (the smoke run's is thrown away).
if $smoke; then
    found_root=$(mktemp -d)
    trap 'rm -rf "$found_root"' EXIT
else
    found_root=fuzz/corpus-new
fi

failed=()
for target in "${targets[@]}"; do
    seeds="fuzz/corpus/$target"
    mkdir -p "fuzz/artifacts/$target"
    found="$found_root/$target"
    mkdir -p "$found"
    dict=()
    [[ -f "fuzz/dict/$target.dict" ]] && dict=("-dict=fuzz/dict/$target.dict")
    echo "==> $target: $(find "$seeds" -type f | wc -l) seeds, ${seconds}s"
    if ! "$bin_dir/$target" "$found" "$seeds" "${dict[@]}" \
        -max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb="$rss_mb" \
        -malloc_limit_mb="$rss_mb" -artifact_prefix="fuzz/artifacts/$target/" \
        -print_final_stats=1 2> "fuzz/artifacts/$target/last-run.log"; then
        tail -40 "fuzz/artifacts/$target/last-run.log" >&2
        failed+=("$target")
    else
        grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' \
            "fuzz/artifacts/$target/last-run.log" | tail -2 || true
    fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz.sh: findings in: ${failed[*]} (inputs in fuzz/artifacts/<target>/)" >&2
    exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, no findings"

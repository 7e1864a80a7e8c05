#!/usr/bin/env bash
# Build the Kratos charm artefact locally: build/kratos_<arch>.charm.
#
# `charmcraft pack` needs LXD or an Ubuntu host matching the build base, so this command
# produces the same artefact directly: the statically linked binary as `dispatch`
# (scripts/build-dispatch.sh, also used by charmcraft.yaml), the Juju metadata files, a
# manifest.yaml in charmcraft's layout, and the run-time assets. scripts/write-charm.py
# writes the zip (Python's standard zipfile: exact entries and modes, no dependency).
#
# Usage: scripts/pack.sh            (SOURCE_DATE_EPOCH, if set, fixes all timestamps)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
    *) echo "error: unsupported build architecture $(uname -m)" >&2; exit 1 ;;
esac
# The base the charm runs on; keep in step with charmcraft.yaml.
base_name=ubuntu
base_channel=24.04

stage="$root/build/stage"
rm -rf "$stage"
mkdir -p "$stage"
scripts/build-dispatch.sh "$stage/dispatch"

output="$root/build/kratos_${arch}.charm"
python3 scripts/write-charm.py \
    --root "$root" \
    --dispatch "$stage/dispatch" \
    --base "$base_name@$base_channel" \
    --arch "$arch" \
    --output "$output"
rm -rf "$stage"
echo "$output"

#!/usr/bin/env bash
# Installs the pinned Pebble daemon (tools/pebble/go.mod) from the Go module proxy into a
# cache outside the clone. Quick when it is already there.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=${CHARM_KRATOS_BIN:-$HOME/.cache/charm-kratos/bin}
version=$(awk '$1 == "github.com/canonical/pebble" { print $2 }' "$here/tools/pebble/go.mod")
if [ -x "$bin_dir/pebble" ] && [ "$("$bin_dir/pebble" version --client 2>/dev/null)" = "$version" ]; then
  exit 0
fi
mkdir -p "$bin_dir"
# `go install pkg@version` would ask the proxy for the module's version list, which it
# refuses here; building inside a pinned module avoids that lookup.
(cd "$here/tools/pebble" && CGO_ENABLED=0 go build -trimpath -o "$bin_dir/pebble" github.com/canonical/pebble/cmd/pebble)
echo "pebble $version installed in $bin_dir"

#!/usr/bin/env bash
# Installs the pinned Jsonnet interpreter (tools/jsonnet/go.mod; go-jsonnet, the implementation
# Kratos embeds) from the Go module proxy into a cache outside the clone. Quick when it is
# already there. The unit tests of the claim mappers run it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=${CHARM_KRATOS_BIN:-$HOME/.cache/charm-kratos/bin}
version=$(awk '$1 == "github.com/google/go-jsonnet" { print $2 } $1 == "require" && $2 == "github.com/google/go-jsonnet" { print $3 }' "$here/tools/jsonnet/go.mod")
if [ -z "$version" ]; then echo "no go-jsonnet version in tools/jsonnet/go.mod" >&2; exit 1; fi
if [ -x "$bin_dir/jsonnet" ] && "$bin_dir/jsonnet" --version 2>/dev/null | grep -qF " $version"; then
  exit 0
fi
mkdir -p "$bin_dir"
# Build inside the pinned module: `go install pkg@version` would ask the proxy for a version
# list. Build to a temporary name and rename, so that concurrent runs never see half a file.
tmp="$bin_dir/.jsonnet.$$"
(cd "$here/tools/jsonnet" && CGO_ENABLED=0 go build -trimpath -o "$tmp" github.com/google/go-jsonnet/cmd/jsonnet)
mv -f "$tmp" "$bin_dir/jsonnet"
echo "jsonnet $version installed in $bin_dir" >&2

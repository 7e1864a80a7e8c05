#!/usr/bin/env bash
# Build the etcd that the charm's Kubernetes tests give kube-apiserver (from
# scripts/install-kube-apiserver.sh) as its store, from the Go module proxy only
# (module go.etcd.io/etcd/server/v3 at the version pinned in tools/etcd/go.mod,
# whose root package is etcd's main), and cache it outside the git clone.
#
#   scripts/install-etcd.sh              # builds or reuses $ETCD_BIN
#
# Environment:
#   ETCD_BIN     where the binary goes (default $CHARM_KRATOS_BIN/etcd, and
#                $CHARM_KRATOS_BIN defaults to $HOME/.cache/charm-kratos/bin)
#   GOMODCACHE / GOCACHE keep Go's defaults (under $HOME), outside the clone.
#
# Idempotent: when $ETCD_BIN exists and `etcd --version` reports the pinned
# version it exits at once. A cold build (empty Go build cache, modules already
# downloaded) took about 40 seconds on 2 cores.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$ROOT/tools/etcd"
ETCD_BIN="${ETCD_BIN:-${CHARM_KRATOS_BIN:-$HOME/.cache/charm-kratos/bin}/etcd}"
MODULE="go.etcd.io/etcd/server/v3"

# The pinned version, read from the require line of tools/etcd/go.mod.
ETCD_VERSION="$(awk -v m="$MODULE" '($1 == m && $2 ~ /^v/) {print $2; exit} ($1 == "require" && $2 == m) {print $3; exit}' "$TOOLS_DIR/go.mod")"
if [[ -z "$ETCD_VERSION" ]]; then
    echo "install-etcd: no $MODULE requirement in $TOOLS_DIR/go.mod" >&2
    exit 1
fi

installed_version() {
    # `etcd --version` prints "etcd Version: X.Y.Z" (no "v") on its first line.
    "$ETCD_BIN" --version 2>/dev/null | awk '$1 == "etcd" && $2 == "Version:" {print "v" $3; exit}'
}

if [[ -x "$ETCD_BIN" ]] && [[ "$(installed_version || true)" == "$ETCD_VERSION" ]]; then
    echo "install-etcd: $ETCD_BIN is already $ETCD_VERSION"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "install-etcd: the Go toolchain (go >= 1.24) is needed to build etcd" >&2
    exit 1
fi

# The version itself is a constant of go.etcd.io/etcd/api/v3/version; upstream's
# scripts/build_lib.sh only stamps the commit (version.GitSHA), which the module
# proxy does not give, so it keeps its default ("Not provided ...").
mkdir -p "$(dirname "$ETCD_BIN")"
tmp="$ETCD_BIN.tmp.$$"
trap 'rm -f "$tmp"' EXIT

cd "$TOOLS_DIR"
echo "install-etcd: building $MODULE@$ETCD_VERSION from the Go module proxy into $ETCD_BIN (this takes a while)..."
start=$SECONDS
# Upstream's release builds are static, without cgo.
CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "-s -w" -o "$tmp" "$MODULE"
mv -f "$tmp" "$ETCD_BIN"
echo "install-etcd: built in $((SECONDS - start))s"

got="$(installed_version || true)"
if [[ "$got" != "$ETCD_VERSION" ]]; then
    echo "install-etcd: built binary reports version '$got', expected '$ETCD_VERSION'" >&2
    exit 1
fi
"$ETCD_BIN" --version

#!/usr/bin/env bash
# Build the Ory Kratos binary that the charm's integration tests run, from the
# Go module proxy only (module github.com/ory/kratos at the version pinned in
# tools/kratos/go.mod), and cache it outside the git clone.
#
#   scripts/install-kratos.sh            # builds or reuses $KRATOS_BIN
#
# Environment:
#   KRATOS_BIN   where the binary goes (default $HOME/.cache/charm-kratos/bin/kratos)
#   GOMODCACHE / GOCACHE keep Go's defaults (under $HOME), outside the clone.
#
# Idempotent: when $KRATOS_BIN exists and `kratos version` reports the pinned
# version it exits at once. A cold build takes several minutes on 2 cores.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$ROOT/tools/kratos"
KRATOS_BIN="${KRATOS_BIN:-$HOME/.cache/charm-kratos/bin/kratos}"
MODULE="github.com/ory/kratos"

# The pinned version, read from the require line of tools/kratos/go.mod.
KRATOS_VERSION="$(awk -v m="$MODULE" '($1 == m && $2 ~ /^v/) {print $2; exit} ($1 == "require" && $2 == m) {print $3; exit}' "$TOOLS_DIR/go.mod")"
if [[ -z "$KRATOS_VERSION" ]]; then
    echo "install-kratos: no $MODULE requirement in $TOOLS_DIR/go.mod" >&2
    exit 1
fi

installed_version() {
    # `kratos version` prints "Version:<tabs>vX.Y.Z" on its first line.
    "$KRATOS_BIN" version 2>/dev/null | awk '$1 == "Version:" {print $2; exit}'
}

if [[ -x "$KRATOS_BIN" ]] && [[ "$(installed_version || true)" == "$KRATOS_VERSION" ]]; then
    echo "install-kratos: $KRATOS_BIN is already $KRATOS_VERSION"
    "$KRATOS_BIN" version
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "install-kratos: the Go toolchain (go >= 1.24) is needed to build Kratos" >&2
    exit 1
fi

# Upstream's release builds stamp these (see .goreleaser.yml / Dockerfile-build:
# -X github.com/ory/kratos/driver/config.{Version,Commit,Date}); `kratos serve`
# also compares config.Version with the `version:` key of its config file.
case "$KRATOS_VERSION" in
    v1.3.1) KRATOS_COMMIT=36e624c716e45ab405599c71b42c384dd45bdfbb ;; # commit of upstream tag v1.3.1
    *) KRATOS_COMMIT=unknown ;;
esac

cd "$TOOLS_DIR"
KRATOS_DATE="$(go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' "$MODULE" 2>/dev/null || true)"
KRATOS_DATE="${KRATOS_DATE:-undefined}"

pkg="github.com/ory/kratos/driver/config"
ldflags="-s -w -X '$pkg.Version=$KRATOS_VERSION' -X '$pkg.Commit=$KRATOS_COMMIT' -X '$pkg.Date=$KRATOS_DATE'"

mkdir -p "$(dirname "$KRATOS_BIN")"
tmp="$KRATOS_BIN.tmp.$$"
trap 'rm -f "$tmp"' EXIT

echo "install-kratos: building $MODULE@$KRATOS_VERSION from the Go module proxy into $KRATOS_BIN (this takes a while)..."
start=$SECONDS
# Postgres only: no sqlite build tag, so no cgo is needed.
CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "$ldflags" -o "$tmp" "$MODULE"
mv -f "$tmp" "$KRATOS_BIN"
echo "install-kratos: built in $((SECONDS - start))s"

got="$(installed_version || true)"
if [[ "$got" != "$KRATOS_VERSION" ]]; then
    echo "install-kratos: built binary reports version '$got', expected '$KRATOS_VERSION'" >&2
    exit 1
fi
"$KRATOS_BIN" version

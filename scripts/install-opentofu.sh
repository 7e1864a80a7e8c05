#!/usr/bin/env bash
# Build the OpenTofu CLI (`tofu`) that the tests use to check the formatting of the
# Terraform module in terraform/, from the Go module proxy only (module
# github.com/opentofu/opentofu at the version pinned in tools/opentofu/go.mod, command
# cmd/tofu), and cache it outside the git clone.
#
#   scripts/install-opentofu.sh          # builds or reuses $TOFU_BIN
#
# Environment:
#   TOFU_BIN     where the binary goes (default $CHARM_KRATOS_BIN/tofu, and
#                $CHARM_KRATOS_BIN defaults to $HOME/.cache/charm-kratos/bin)
#   GOMODCACHE / GOCACHE keep Go's defaults (under $HOME), outside the clone.
#
# Idempotent: when $TOFU_BIN exists and `tofu version` reports the pinned version it
# exits at once. The first build here took about 16 minutes (2 cores, shared with other
# builds); the binary is about 115 MB.
#
# Only `tofu fmt` is used: `tofu validate` and `tofu init` need the juju provider
# (registry.opentofu.org/juju/juju), which no registry serves to this machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$ROOT/tools/opentofu"
TOFU_BIN="${TOFU_BIN:-${CHARM_KRATOS_BIN:-$HOME/.cache/charm-kratos/bin}/tofu}"
MODULE="github.com/opentofu/opentofu"

# The pinned version, read from the require line of tools/opentofu/go.mod.
TOFU_VERSION="$(awk -v m="$MODULE" '($1 == m && $2 ~ /^v/) {print $2; exit} ($1 == "require" && $2 == m) {print $3; exit}' "$TOOLS_DIR/go.mod")"
if [[ -z "$TOFU_VERSION" ]]; then
    echo "install-opentofu: no $MODULE requirement in $TOOLS_DIR/go.mod" >&2
    exit 1
fi

installed_version() {
    # `tofu version` prints "OpenTofu vX.Y.Z" on its first line (and "-dev" after it
    # unless the release ldflag below is set).
    "$TOFU_BIN" version 2>/dev/null | awk '$1 == "OpenTofu" {print $2; exit}'
}

if [[ -x "$TOFU_BIN" ]] && [[ "$(installed_version || true)" == "$TOFU_VERSION" ]]; then
    echo "install-opentofu: $TOFU_BIN is already $TOFU_VERSION"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "install-opentofu: the Go toolchain (go >= 1.26.6) is needed to build OpenTofu" >&2
    exit 1
fi

# Upstream's release builds (.goreleaser.yaml) set this; the version itself is embedded
# from the module's version/VERSION file.
ldflags="-s -w -X 'github.com/opentofu/opentofu/version.dev=no'"

mkdir -p "$(dirname "$TOFU_BIN")"
tmp="$TOFU_BIN.tmp.$$"
trap 'rm -f "$tmp"' EXIT

echo "install-opentofu: building $MODULE/cmd/tofu@$TOFU_VERSION from the Go module proxy into $TOFU_BIN..."
start=$SECONDS
cd "$TOOLS_DIR"
CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "$ldflags" -o "$tmp" "$MODULE/cmd/tofu"
mv -f "$tmp" "$TOFU_BIN"
echo "install-opentofu: built in $((SECONDS - start))s"

got="$(installed_version || true)"
if [[ "$got" != "$TOFU_VERSION" ]]; then
    echo "install-opentofu: built binary reports version '$got', expected '$TOFU_VERSION'" >&2
    exit 1
fi
"$TOFU_BIN" version

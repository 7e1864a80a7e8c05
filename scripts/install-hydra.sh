#!/usr/bin/env bash
# Build the Ory Hydra binary (OAuth2/OIDC provider) that the end-to-end tests run
# as a peer, from the Go module proxy only (module github.com/ory/hydra/v2 at the
# version pinned in tools/hydra/go.mod), and cache it outside the git clone.
#
#   scripts/install-hydra.sh             # builds or reuses $HYDRA_BIN
#
# Environment:
#   HYDRA_BIN    where the binary goes (default $CHARM_KRATOS_BIN/hydra, and
#                $CHARM_KRATOS_BIN defaults to $HOME/.cache/charm-kratos/bin)
#   GOMODCACHE / GOCACHE keep Go's defaults (under $HOME), outside the clone.
#
# Idempotent: when $HYDRA_BIN exists and `hydra version` reports the pinned
# version it exits at once. A cold build (empty Go build cache) took about
# a minute on 2 cores.
#
# The binary is built without cgo and without the sqlite tag: it runs on
# PostgreSQL only. Checked against a throwaway cluster (scripts/pg-test-server.sh):
#   export DSN='postgres://postgres:postgres@127.0.0.1:PORT/hydra?sslmode=disable'
#   hydra migrate sql up -e --yes              # -e: DSN from the environment
#   hydra serve all --dev --sqa-opt-out        # public :4444, admin :4445
# (`hydra migrate sql -e --yes` works too, but is deprecated in favour of `up`.)
# Settings, as environment variables (or the same keys in a --config file):
#   URLS_SELF_ISSUER=http://127.0.0.1:4444     issuer and public base URL
#   URLS_LOGIN, URLS_CONSENT (URLS_LOGOUT, URLS_ERROR)  the login/consent app;
#                                              /oauth2/auth redirects to
#                                              URLS_LOGIN?login_challenge=...
#   SECRETS_SYSTEM=<at least 16 characters>  needed: hydra starts without it, but
#                                              its OAuth2 endpoints then fail
#   SERVE_PUBLIC_PORT, SERVE_ADMIN_PORT, SERVE_PUBLIC_HOST, SERVE_ADMIN_HOST
# `--dev` allows plain http for the issuer and redirect URLs; `--sqa-opt-out`
# turns off Ory's anonymous usage reports. Readiness: GET <admin>/health/ready;
# OAuth2 clients: POST <admin>/admin/clients (or `hydra create client -e <admin>`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$ROOT/tools/hydra"
HYDRA_BIN="${HYDRA_BIN:-${CHARM_KRATOS_BIN:-$HOME/.cache/charm-kratos/bin}/hydra}"
MODULE="github.com/ory/hydra/v2"

# The pinned version, read from the require line of tools/hydra/go.mod.
HYDRA_VERSION="$(awk -v m="$MODULE" '($1 == m && $2 ~ /^v/) {print $2; exit} ($1 == "require" && $2 == m) {print $3; exit}' "$TOOLS_DIR/go.mod")"
if [[ -z "$HYDRA_VERSION" ]]; then
    echo "install-hydra: no $MODULE requirement in $TOOLS_DIR/go.mod" >&2
    exit 1
fi

installed_version() {
    # `hydra version` prints "Version:    vX.Y.Z" on its first line.
    "$HYDRA_BIN" version 2>/dev/null | awk '$1 == "Version:" {print $2; exit}'
}

if [[ -x "$HYDRA_BIN" ]] && [[ "$(installed_version || true)" == "$HYDRA_VERSION" ]]; then
    echo "install-hydra: $HYDRA_BIN is already $HYDRA_VERSION"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "install-hydra: the Go toolchain (go >= 1.24) is needed to build Hydra" >&2
    exit 1
fi

# Upstream's release builds stamp these (.goreleaser.yml buildinfo_{tag,hash,date},
# Makefile: -X github.com/ory/hydra/v2/driver/config.{Version,Commit,Date}).
case "$HYDRA_VERSION" in
    v2.3.0) HYDRA_COMMIT=ee8c339ddada3a42529c0416897abc32bad03bbb ;; # commit of upstream tag v2.3.0
    *) HYDRA_COMMIT=unknown ;;
esac

cd "$TOOLS_DIR"
HYDRA_DATE="$(go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' "$MODULE" 2>/dev/null || true)"
HYDRA_DATE="${HYDRA_DATE:-undefined}"

pkg="github.com/ory/hydra/v2/driver/config"
ldflags="-s -w -X '$pkg.Version=$HYDRA_VERSION' -X '$pkg.Commit=$HYDRA_COMMIT' -X '$pkg.Date=$HYDRA_DATE'"

mkdir -p "$(dirname "$HYDRA_BIN")"
tmp="$HYDRA_BIN.tmp.$$"
trap 'rm -f "$tmp"' EXIT

echo "install-hydra: building $MODULE@$HYDRA_VERSION from the Go module proxy into $HYDRA_BIN (this takes a while)..."
start=$SECONDS
# Postgres only: no sqlite build tag, so no cgo is needed.
CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "$ldflags" -o "$tmp" "$MODULE"
mv -f "$tmp" "$HYDRA_BIN"
echo "install-hydra: built in $((SECONDS - start))s"

got="$(installed_version || true)"
if [[ "$got" != "$HYDRA_VERSION" ]]; then
    echo "install-hydra: built binary reports version '$got', expected '$HYDRA_VERSION'" >&2
    exit 1
fi
"$HYDRA_BIN" version

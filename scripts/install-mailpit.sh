#!/usr/bin/env bash
# Build Mailpit (an SMTP server that keeps what it receives and serves it over an
# HTTP API), which the end-to-end tests run as the mail peer of Kratos' courier,
# from the Go module proxy only (module github.com/axllent/mailpit at the version
# pinned in tools/mailpit/go.mod), and cache it outside the git clone.
#
#   scripts/install-mailpit.sh           # builds or reuses $MAILPIT_BIN
#
# Environment:
#   MAILPIT_BIN  where the binary goes (default $CHARM_KRATOS_BIN/mailpit, and
#                $CHARM_KRATOS_BIN defaults to $HOME/.cache/charm-kratos/bin)
#   GOMODCACHE / GOCACHE keep Go's defaults (under $HOME), outside the clone.
#
# Idempotent: when $MAILPIT_BIN exists and `mailpit version --no-release-check`
# reports the pinned version it exits at once.
#
# A cold build (empty Go build cache) took about 70s on 2 cores. The web UI's
# JavaScript bundle (server/ui/dist, made by npm) is not in the module zip, so
# the browser UI is blank; the SMTP server and the HTTP API are complete.
#
# Running it for a test (checked with this build):
#   mailpit --smtp 127.0.0.1:SMTP_PORT --listen 127.0.0.1:HTTP_PORT \
#       --smtp-auth-file FILE --smtp-auth-allow-insecure --disable-version-check
# (defaults: SMTP [::]:1025, HTTP [::]:8025; without --database the store is a
# temporary file removed on exit.)
#
# SMTP AUTH with one fixed user and password over plain SMTP (no TLS):
#   - FILE is htpasswd-style, one `user:password` per line; a plain-text password
#     is accepted as is (bcrypt/md5/sha hashes too).
#   - --smtp-auth-allow-insecure is required with it when there is no TLS
#     certificate: without it mailpit refuses to start ("authentication requires
#     STARTTLS or TLS encryption"), since a password file otherwise forces STARTTLS.
#   - Then AUTH PLAIN and AUTH LOGIN are offered and required: a wrong password
#     gets `535 5.7.8 Authentication credentials invalid`, no AUTH gets
#     `530 5.7.0 Authentication required` at MAIL FROM.
#   - Same without a file: environment MP_SMTP_AUTH='user:password' (several
#     separated by spaces) and MP_SMTP_AUTH_ALLOW_INSECURE=true.
#   - --smtp-auth-accept-any (with --smtp-auth-allow-insecure) instead accepts any
#     user and password, or none; it cannot be combined with a password file.
#
# HTTP API (no auth unless --ui-auth-file):
#   GET    /api/v1/messages            {"total":N,"messages":[{"ID","From","To",
#                                       "Subject","Username",...}]}, newest first
#   GET    /api/v1/message/{ID}        full message: "Text", "HTML", headers...
#                                      ({ID} may be `latest`: the newest message)
#   GET    /api/v1/message/{ID}/raw    the raw RFC 5322 source
#   GET    /api/v1/search?query=to:alice@example.com
#   DELETE /api/v1/messages            delete all
#   GET    /readyz, /livez             200 when up
# "Username" is the SMTP AUTH user the message was sent with.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$ROOT/tools/mailpit"
MAILPIT_BIN="${MAILPIT_BIN:-${CHARM_KRATOS_BIN:-$HOME/.cache/charm-kratos/bin}/mailpit}"
MODULE="github.com/axllent/mailpit"

# The pinned version, read from the require line of tools/mailpit/go.mod.
MAILPIT_VERSION="$(awk -v m="$MODULE" '($1 == m && $2 ~ /^v/) {print $2; exit} ($1 == "require" && $2 == m) {print $3; exit}' "$TOOLS_DIR/go.mod")"
if [[ -z "$MAILPIT_VERSION" ]]; then
    echo "install-mailpit: no $MODULE requirement in $TOOLS_DIR/go.mod" >&2
    exit 1
fi

installed_version() {
    # `mailpit version --no-release-check` prints "<argv0> vX.Y.Z compiled with ..."
    # (without the flag it asks GitHub for the latest release, and fails offline).
    "$MAILPIT_BIN" version --no-release-check 2>/dev/null | awk '{print $2; exit}'
}

if [[ -x "$MAILPIT_BIN" ]] && [[ "$(installed_version || true)" == "$MAILPIT_VERSION" ]]; then
    echo "install-mailpit: $MAILPIT_BIN is already $MAILPIT_VERSION"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "install-mailpit: the Go toolchain (go >= 1.26) is needed to build Mailpit" >&2
    exit 1
fi

# Upstream's release builds stamp the version (.github/workflows/build-release.yml,
# Dockerfile: -X github.com/axllent/mailpit/config.Version=<tag>).
ldflags="-s -w -X 'github.com/axllent/mailpit/config.Version=$MAILPIT_VERSION'"

mkdir -p "$(dirname "$MAILPIT_BIN")"
tmp="$MAILPIT_BIN.tmp.$$"
trap 'rm -f "$tmp"' EXIT

echo "install-mailpit: building $MODULE@$MAILPIT_VERSION from the Go module proxy into $MAILPIT_BIN..."
start=$SECONDS
# Its SQLite is modernc.org/sqlite (pure Go), so no cgo is needed.
cd "$TOOLS_DIR"
CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "$ldflags" -o "$tmp" "$MODULE"
mv -f "$tmp" "$MAILPIT_BIN"
echo "install-mailpit: built in $((SECONDS - start))s"

got="$(installed_version || true)"
if [[ "$got" != "$MAILPIT_VERSION" ]]; then
    echo "install-mailpit: built binary reports version '$got', expected '$MAILPIT_VERSION'" >&2
    exit 1
fi
"$MAILPIT_BIN" version --no-release-check

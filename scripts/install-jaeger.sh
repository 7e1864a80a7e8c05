#!/usr/bin/env bash
# Build Jaeger (the v2 binary `jaeger`, an OpenTelemetry collector with Jaeger's
# storage and query API), which the observability tests run as the tracing
# backend that Kratos exports to over OTLP, from the Go module proxy only
# (package github.com/jaegertracing/jaeger/cmd/jaeger of the module version
# pinned in tools/jaeger/go.mod), and cache it outside the git clone.
#
#   scripts/install-jaeger.sh            # builds or reuses $JAEGER_BIN
#
# Environment:
#   JAEGER_BIN   where the binary goes (default $CHARM_KRATOS_BIN/jaeger, and
#                $CHARM_KRATOS_BIN defaults to $HOME/.cache/charm-kratos/bin)
#   GOMODCACHE / GOCACHE keep Go's defaults (under $HOME), outside the clone.
#
# Idempotent: when $JAEGER_BIN exists and `jaeger version` reports the pinned
# version it exits at once. Jaeger's module keeps v1 numbers while the binary
# is released as v2: module v1.76.0 is Jaeger v2.13.0, and the binary reports
# the v2 number (as upstream's Makefile stamps it). A cold build (empty Go
# build cache) took about 9 minutes on 2 busy cores.
#
# The UI's JavaScript bundle is not in the module zip (upstream builds it with
# npm and the `ui` build tag), so the browser UI is a placeholder page; the
# query HTTP API is complete.
#
# Running it for a test (checked with this build): testdata/jaeger/test.yaml is
# a minimal all-in-one configuration (in-memory storage, an OTLP receiver over
# HTTP only, the query API, nothing else listening), its addresses taken from
# the environment:
#   JAEGER_OTLP_HTTP=127.0.0.1:4318 JAEGER_QUERY_HTTP=127.0.0.1:16686 \
#   JAEGER_QUERY_GRPC=127.0.0.1:16685 jaeger --config testdata/jaeger/test.yaml
# (those are the defaults; the query service always opens its gRPC port too).
# Ready when GET http://$JAEGER_QUERY_HTTP/api/services answers 200 (about
# 0.1s); SIGTERM stops it at once, exit status 0. Without --config, jaeger runs its built-in all-in-one configuration
# (memory storage too, but also OTLP gRPC 4317, Jaeger and Zipkin receivers,
# sampling 5778/5779, health check 13133/13132, expvar, zpages, metrics 8888,
# UDP 6831/6832: fixed ports on JAEGER_LISTEN_HOST, default localhost, and the
# query ports 16686/16685 on all interfaces). Any key of either configuration
# can be overridden with `--set key=value`, e.g.
#   --set receivers.otlp.protocols.http.endpoint=127.0.0.1:14318
# Unless `extensions.jaeger_query.enable_tracing: false` (set in the test
# config), the v2 query service traces its own requests and exports them over
# OTLP gRPC to localhost:4317 (OTEL_EXPORTER_OTLP_* apply): with nothing there
# it logs connection warnings and takes ~10s to stop.
#
# Sending: POST http://$JAEGER_OTLP_HTTP/v1/traces, Content-Type
# application/json (OTLP/JSON) or application/x-protobuf; traceId is 32 hex
# digits, spanId 16. Reading (the query service's HTTP API, JSON):
#   GET /api/services                  {"data":["kratos",...],"total":N,...}
#   GET /api/services/<svc>/operations {"data":["GET /health/ready",...],...}
#   GET /api/traces?service=<svc>[&operation=..&limit=N&lookback=1h]
#                                      {"data":[{"traceID":..,"spans":[{
#                                       "operationName":..,"tags":[..],
#                                       "processID":..}],"processes":{..}}]}
#   GET /api/traces/<traceID>          one trace, same shape
# (a POST answers 200 {"partialSuccess":{}}). The batch processor is left out
# of the test config, so a span is queryable as soon as its POST is answered.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$ROOT/tools/jaeger"
JAEGER_BIN="${JAEGER_BIN:-${CHARM_KRATOS_BIN:-$HOME/.cache/charm-kratos/bin}/jaeger}"
MODULE="github.com/jaegertracing/jaeger"
PACKAGE="$MODULE/cmd/jaeger"

# The pinned module version, read from the require line of tools/jaeger/go.mod.
MODULE_VERSION="$(awk -v m="$MODULE" '($1 == m && $2 ~ /^v/) {print $2; exit} ($1 == "require" && $2 == m) {print $3; exit}' "$TOOLS_DIR/go.mod")"
if [[ -z "$MODULE_VERSION" ]]; then
    echo "install-jaeger: no $MODULE requirement in $TOOLS_DIR/go.mod" >&2
    exit 1
fi
# v2.0.0 was released with v1.63.0, and every release since carries both
# numbers (CHANGELOG.md: "v1.76.0 / v2.13.0").
if [[ "$MODULE_VERSION" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] && (( BASH_REMATCH[1] >= 63 )); then
    JAEGER_VERSION="v2.$((BASH_REMATCH[1] - 63)).${BASH_REMATCH[2]}"
else
    echo "install-jaeger: cannot tell the Jaeger v2 version of module version $MODULE_VERSION" >&2
    exit 1
fi

installed_version() {
    # `jaeger version` prints {"gitCommit":..,"gitVersion":"v2.x.y","buildDate":..}.
    "$JAEGER_BIN" version 2>/dev/null | sed -n 's/.*"gitVersion":"\([^"]*\)".*/\1/p'
}

if [[ -x "$JAEGER_BIN" ]] && [[ "$(installed_version || true)" == "$JAEGER_VERSION" ]]; then
    echo "install-jaeger: $JAEGER_BIN is already $JAEGER_VERSION (module $MODULE_VERSION)"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "install-jaeger: the Go toolchain (go >= 1.24.6) is needed to build Jaeger" >&2
    exit 1
fi

# Upstream's Makefile stamps these (scripts/makefiles/BuildInfo.mk, BUILD_INFO_V2:
# -X github.com/jaegertracing/jaeger/internal/version.{commitSHA,latestVersion,date}).
# The commit is not known from the module proxy.
cd "$TOOLS_DIR"
JAEGER_DATE="$(go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' "$MODULE" 2>/dev/null || true)"
pkg="$MODULE/internal/version"
ldflags="-s -w -X '$pkg.latestVersion=$JAEGER_VERSION' -X '$pkg.commitSHA=unknown' -X '$pkg.date=${JAEGER_DATE:-unknown}'"

mkdir -p "$(dirname "$JAEGER_BIN")"
tmp="$JAEGER_BIN.tmp.$$"
trap 'rm -f "$tmp"' EXIT

echo "install-jaeger: building $PACKAGE@$MODULE_VERSION ($JAEGER_VERSION) from the Go module proxy into $JAEGER_BIN (this takes a while)..."
start=$SECONDS
CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "$ldflags" -o "$tmp" "$PACKAGE"
mv -f "$tmp" "$JAEGER_BIN"
echo "install-jaeger: built in $((SECONDS - start))s"

got="$(installed_version || true)"
if [[ "$got" != "$JAEGER_VERSION" ]]; then
    echo "install-jaeger: built binary reports version '$got', expected '$JAEGER_VERSION'" >&2
    exit 1
fi
"$JAEGER_BIN" version
echo

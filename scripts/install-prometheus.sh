#!/usr/bin/env bash
# Build Prometheus and promtool, which the observability tests run to scrape the
# charm's metrics endpoints and to check its alert rules, from the Go module
# proxy only (packages cmd/prometheus and cmd/promtool of module
# github.com/prometheus/prometheus at the version pinned in
# tools/prometheus/go.mod), and cache them outside the git clone.
#
#   scripts/install-prometheus.sh        # builds or reuses both
#
# Environment:
#   PROMETHEUS_BIN  where prometheus goes (default $CHARM_KRATOS_BIN/prometheus,
#                   and $CHARM_KRATOS_BIN defaults to $HOME/.cache/charm-kratos/bin)
#   PROMTOOL_BIN    where promtool goes (default $CHARM_KRATOS_BIN/promtool)
#   GOMODCACHE / GOCACHE keep Go's defaults (under $HOME), outside the clone.
#
# Idempotent: when both exist and `--version` reports the pinned version it
# exits at once. The Go module keeps 0.x numbers: v0.316.0 is Prometheus 3.16.0
# (its VERSION file), which is what the binaries report. Building both took
# about 8 minutes on 2 busy cores (after Jaeger's build, which shares some
# dependencies).
#
# Built without the `builtinassets` tag (upstream's release builds set it after
# building the React UI with npm; the UI is not in the module zip): the server
# then looks for UI files relative to its working directory, finds none and
# answers 500 for the UI pages (logging "Error opening React index.html"),
# while /api/v1/*, /metrics, /-/ready and /-/healthy work. No --web.* flag is
# needed for that.
#
# Running it for a test (checked with this build):
#   prometheus --config.file=CONFIG.yml --storage.tsdb.path=TMPDIR \
#       --web.listen-address=127.0.0.1:PORT
# (default listen address 0.0.0.0:9090; --web.enable-lifecycle adds
# POST /-/reload and /-/quit). A minimal config scraping itself:
#   global: {scrape_interval: 1s, evaluation_interval: 1s}
#   rule_files: [rules.yml]                 # optional, relative to the config
#   scrape_configs:
#     - job_name: self
#       static_configs: [{targets: ['127.0.0.1:PORT']}]
# Targets only appear (and are scraped) once the scrape manager takes its first
# discovery update, throttled to every 5s: a target is "up" about 6s after
# start-up. The hidden flag --scrape.discovery-reload-interval=100ms brings that
# to about 1s.
# HTTP API (JSON, {"status":"success","data":...}):
#   GET /-/ready                         200 "Prometheus Server is Ready." once
#                                        the TSDB is open (503 before)
#   GET /api/v1/targets                  data.activeTargets[]: {labels:{job,
#                                        instance},scrapeUrl,health:"up"|"down"|
#                                        "unknown",lastError,...}
#   GET /api/v1/query?query=up{job="self"}  data.result[]: {metric,value:[t,"1"]}
#   GET /api/v1/rules, /api/v1/alerts    loaded rule groups, firing alerts
# promtool: `promtool check rules FILE` (exit 0, "SUCCESS: N rules found"),
# `promtool check config FILE`, `promtool test rules TESTFILE` (unit tests of
# rules with input series).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$ROOT/tools/prometheus"
BIN_DIR="${CHARM_KRATOS_BIN:-$HOME/.cache/charm-kratos/bin}"
PROMETHEUS_BIN="${PROMETHEUS_BIN:-$BIN_DIR/prometheus}"
PROMTOOL_BIN="${PROMTOOL_BIN:-$BIN_DIR/promtool}"
MODULE="github.com/prometheus/prometheus"

# The pinned module version, read from the require line of tools/prometheus/go.mod.
MODULE_VERSION="$(awk -v m="$MODULE" '($1 == m && $2 ~ /^v/) {print $2; exit} ($1 == "require" && $2 == m) {print $3; exit}' "$TOOLS_DIR/go.mod")"
if [[ -z "$MODULE_VERSION" ]]; then
    echo "install-prometheus: no $MODULE requirement in $TOOLS_DIR/go.mod" >&2
    exit 1
fi
# Module v0.XYY.Z is Prometheus X.YY.Z (3.x): v0.316.0 -> 3.16.0, v0.305.1 -> 3.5.1.
if [[ "$MODULE_VERSION" =~ ^v0\.([1-9])([0-9][0-9])\.([0-9]+)$ ]]; then
    PROMETHEUS_VERSION="${BASH_REMATCH[1]}.$((10#${BASH_REMATCH[2]})).${BASH_REMATCH[3]}"
else
    echo "install-prometheus: cannot tell the Prometheus version of module version $MODULE_VERSION" >&2
    exit 1
fi

installed_version() {
    # `prometheus --version` / `promtool --version` print
    # "<name>, version X.Y.Z (branch: ..., revision: ...)" on their first line.
    "$1" --version 2>/dev/null | awk '$2 == "version" {print $3; exit}'
}

if [[ -x "$PROMETHEUS_BIN" && -x "$PROMTOOL_BIN" ]] &&
    [[ "$(installed_version "$PROMETHEUS_BIN" || true)" == "$PROMETHEUS_VERSION" ]] &&
    [[ "$(installed_version "$PROMTOOL_BIN" || true)" == "$PROMETHEUS_VERSION" ]]; then
    echo "install-prometheus: $PROMETHEUS_BIN and $PROMTOOL_BIN are already $PROMETHEUS_VERSION"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "install-prometheus: the Go toolchain (go >= 1.26.7) is needed to build Prometheus" >&2
    exit 1
fi

# Upstream's release builds stamp these (.promu.yml: -X
# github.com/prometheus/common/version.{Version,Revision,Branch,BuildUser,BuildDate}).
# The revision is not known from the module proxy.
cd "$TOOLS_DIR"
BUILD_DATE="$(go list -m -f '{{if .Time}}{{.Time.UTC.Format "20060102-15:04:05"}}{{end}}' "$MODULE" 2>/dev/null || true)"
pkg="github.com/prometheus/common/version"
ldflags="-s -w -X '$pkg.Version=$PROMETHEUS_VERSION' -X '$pkg.Revision=unknown' -X '$pkg.Branch=$MODULE_VERSION' -X '$pkg.BuildUser=charm-kratos' -X '$pkg.BuildDate=${BUILD_DATE:-unknown}'"

mkdir -p "$(dirname "$PROMETHEUS_BIN")" "$(dirname "$PROMTOOL_BIN")"
tmp="$(mktemp -d "$(dirname "$PROMETHEUS_BIN")/prometheus-build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "install-prometheus: building $MODULE@$MODULE_VERSION (Prometheus $PROMETHEUS_VERSION) cmd/prometheus and cmd/promtool from the Go module proxy (this takes a while)..."
start=$SECONDS
# Upstream builds with the netgo tag; without cgo Go's own resolver is used anyway.
CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "$ldflags" -o "$tmp/" \
    "$MODULE/cmd/prometheus" "$MODULE/cmd/promtool"
mv -f "$tmp/prometheus" "$PROMETHEUS_BIN"
mv -f "$tmp/promtool" "$PROMTOOL_BIN"
echo "install-prometheus: built in $((SECONDS - start))s"

for bin in "$PROMETHEUS_BIN" "$PROMTOOL_BIN"; do
    got="$(installed_version "$bin" || true)"
    if [[ "$got" != "$PROMETHEUS_VERSION" ]]; then
        echo "install-prometheus: built $bin reports version '$got', expected '$PROMETHEUS_VERSION'" >&2
        exit 1
    fi
    "$bin" --version | head -1
done

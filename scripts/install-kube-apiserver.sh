#!/usr/bin/env bash
# Build the Kubernetes API server that the charm's Kubernetes tests run (with
# etcd from scripts/install-etcd.sh), from the Go module proxy only (package
# k8s.io/kubernetes/cmd/kube-apiserver at the version pinned in
# tools/kube-apiserver/go.mod), and cache it outside the git clone.
#
#   scripts/install-kube-apiserver.sh    # builds or reuses $KUBE_APISERVER_BIN
#
# Environment:
#   KUBE_APISERVER_BIN  where the binary goes (default $CHARM_KRATOS_BIN/kube-apiserver,
#                       and $CHARM_KRATOS_BIN defaults to $HOME/.cache/charm-kratos/bin)
#   GOMODCACHE / GOCACHE keep Go's defaults (under $HOME), outside the clone.
#
# Idempotent: when $KUBE_APISERVER_BIN exists and `kube-apiserver --version`
# reports the pinned version it exits at once. A cold build (empty Go build
# cache, modules already downloaded) took about 5 minutes on 2 shared cores.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$ROOT/tools/kube-apiserver"
KUBE_APISERVER_BIN="${KUBE_APISERVER_BIN:-${CHARM_KRATOS_BIN:-$HOME/.cache/charm-kratos/bin}/kube-apiserver}"
MODULE="k8s.io/kubernetes"
PACKAGE="$MODULE/cmd/kube-apiserver"

# The pinned version, read from the require line of tools/kube-apiserver/go.mod.
KUBE_VERSION="$(awk -v m="$MODULE" '($1 == m && $2 ~ /^v/) {print $2; exit} ($1 == "require" && $2 == m) {print $3; exit}' "$TOOLS_DIR/go.mod")"
if [[ -z "$KUBE_VERSION" ]]; then
    echo "install-kube-apiserver: no $MODULE requirement in $TOOLS_DIR/go.mod" >&2
    exit 1
fi

installed_version() {
    # `kube-apiserver --version` prints "Kubernetes vX.Y.Z".
    "$KUBE_APISERVER_BIN" --version 2>/dev/null | awk '$1 == "Kubernetes" {print $2; exit}'
}

if [[ -x "$KUBE_APISERVER_BIN" ]] && [[ "$(installed_version || true)" == "$KUBE_VERSION" ]]; then
    echo "install-kube-apiserver: $KUBE_APISERVER_BIN is already $KUBE_VERSION"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    echo "install-kube-apiserver: the Go toolchain (go >= 1.24) is needed to build kube-apiserver" >&2
    exit 1
fi

cd "$TOOLS_DIR"
BUILD_DATE="$(go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' "$MODULE" 2>/dev/null || true)"
BUILD_DATE="${BUILD_DATE:-1970-01-01T00:00:00Z}"

# What upstream's hack/lib/version.sh (kube::version::ldflags) stamps, into both
# k8s.io/component-base/version and k8s.io/client-go/pkg/version. gitCommit and
# gitTreeState are stamped only when the commit is known (as upstream does);
# the module proxy does not say which commit a tag is.
major_minor="${KUBE_VERSION#v}"
major="${major_minor%%.*}"
minor="${major_minor#*.}"
minor="${minor%%.*}"
ldflags="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags+=" -X '$pkg.buildDate=$BUILD_DATE'"
    ldflags+=" -X '$pkg.gitVersion=$KUBE_VERSION'"
    ldflags+=" -X '$pkg.gitMajor=$major'"
    ldflags+=" -X '$pkg.gitMinor=$minor'"
done

mkdir -p "$(dirname "$KUBE_APISERVER_BIN")"
tmp="$KUBE_APISERVER_BIN.tmp.$$"
trap 'rm -f "$tmp"' EXIT

echo "install-kube-apiserver: building $PACKAGE@$KUBE_VERSION from the Go module proxy into $KUBE_APISERVER_BIN (this takes a while)..."
start=$SECONDS
# Upstream builds its server binaries statically, without cgo.
CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "$ldflags" -o "$tmp" "$PACKAGE"
mv -f "$tmp" "$KUBE_APISERVER_BIN"
echo "install-kube-apiserver: built in $((SECONDS - start))s"

got="$(installed_version || true)"
if [[ "$got" != "$KUBE_VERSION" ]]; then
    echo "install-kube-apiserver: built binary reports version '$got', expected '$KUBE_VERSION'" >&2
    exit 1
fi
"$KUBE_APISERVER_BIN" --version

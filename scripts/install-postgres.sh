#!/usr/bin/env bash
# Install the Debian packages the process-level tests and the local deployment use:
# PostgreSQL (server binaries for scripts/pg-test-server.sh, and psql), iproute2 (`ip netns`
# for the pods' network namespaces), util-linux (`unshare`, `nsenter`) and curl.
# Idempotent: does nothing when everything is installed.
set -euo pipefail

missing=()
dpkg-query -W -f='${Status}' postgresql 2>/dev/null | grep -q '^install ok installed$' \
    && compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v psql >/dev/null || missing+=(postgresql-client)
command -v ip >/dev/null || missing+=(iproute2)
{ command -v unshare && command -v nsenter; } >/dev/null || missing+=(util-linux)
command -v curl >/dev/null || missing+=(curl)

if ((${#missing[@]} == 0)); then
    echo "install-postgres: postgresql and the system tools are already installed"
    exit 0
fi

SUDO=()
if [[ "$(id -u)" != 0 ]]; then
    SUDO=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y "${missing[@]}"

#!/usr/bin/env bash
# Install PostgreSQL server binaries (Debian's `postgresql` package) for the
# integration tests. Idempotent: does nothing when the package is installed.
# scripts/pg-test-server.sh runs throwaway clusters from these binaries.
set -euo pipefail

if dpkg-query -W -f='${Status}' postgresql 2>/dev/null | grep -q '^install ok installed$' \
    && compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    echo "install-postgres: postgresql is already installed"
    exit 0
fi

SUDO=()
if [[ "$(id -u)" != 0 ]]; then
    SUDO=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y postgresql

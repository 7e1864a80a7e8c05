#!/usr/bin/env bash
# Creates the Python venv with the pinned `ops` library that the emulator's fidelity test
# runs its Python fixture charm with (crates/juju-rs-ops-testing/tests/ops-charm). Idempotent and
# quick when the venv already holds the pinned version.
set -euo pipefail
ops_version=3.8.3
venv=${CHARM_KRATOS_VENV:-$HOME/.cache/charm-kratos/venv}
python=${PYTHON:-python3}
if [ -x "$venv/bin/python" ] &&
  [ "$("$venv/bin/python" -c 'import ops; print(ops.__version__)' 2>/dev/null)" = "$ops_version" ]; then
  exit 0
fi
mkdir -p "$(dirname "$venv")"
"$python" -m venv --clear "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "ops==$ops_version"
echo "ops $ops_version installed in $venv"

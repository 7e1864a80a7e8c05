#!/usr/bin/env bash
# Judge the charm project and its artefact with charmcraft itself, offline.
#
#  1. charmcraft 4.5.0 (from PyPI, in a venv cached at
#     $HOME/.cache/charm-kratos/charmcraft-venv; quick when already there);
#  2. `charmcraft expand-extensions` must accept charmcraft.yaml + metadata/config/actions;
#  3. scripts/pack.sh builds build/kratos_<arch>.charm;
#  4. the zip layout Juju needs: files at the root, no directory entries, dispatch 0755,
#     metadata.yaml and manifest.yaml present;
#  5. `charmcraft analyse` on it: exit 0 passes; exit 3 (warnings) passes only for the
#     accepted warning below; exit 2 (errors) or anything else fails;
#  6. dispatch is static (or its glibc symbol versions fit the base), at most 8 MiB, and
#     starts here.
#
# Accepted warning: naming-conventions about config options in snake_case. The option names
# (log_level, enable_local_idp, ...) are the reference charm's wire names, used by existing
# deployments, bundles and Terraform modules; renaming them would break `juju config` for
# every user. A naming warning about actions or action params is NOT accepted.
set -euo pipefail

CHARMCRAFT_VERSION=4.5.0
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${CHARMCRAFT_VENV:-$HOME/.cache/charm-kratos/charmcraft-venv}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# charmcraft wants a private runtime dir; a throw-away one keeps its warnings quiet.
export XDG_RUNTIME_DIR="$work/xdg"
mkdir -m 0700 "$XDG_RUNTIME_DIR"

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'check-charm: FAIL: %s\n' "$*" >&2; exit 1; }

step "charmcraft $CHARMCRAFT_VERSION in $venv"
if ! compgen -G "$venv/lib/python3*/site-packages/charmcraft-$CHARMCRAFT_VERSION.dist-info" >/dev/null \
    || [ ! -x "$venv/bin/charmcraft" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "charmcraft==$CHARMCRAFT_VERSION"
fi
charmcraft="$venv/bin/charmcraft"
echo "ok"

step "charmcraft expand-extensions"
(cd "$root" && "$charmcraft" expand-extensions >"$work/expanded.yaml" 2>"$work/expand.err") \
    || { cat "$work/expand.err" >&2; fail "charmcraft rejects the project files"; }
echo "ok: charmcraft.yaml, metadata.yaml, config.yaml and actions.yaml accepted"

step "pack"
charm="$("$root/scripts/pack.sh")"
echo "$charm"

step "zip layout"
python3 - "$charm" <<'EOF' || fail "bad .charm layout"
import stat, sys, zipfile
path = sys.argv[1]
problems = []
with zipfile.ZipFile(path) as archive:
    infos = {info.filename: info for info in archive.infolist()}
for name, info in infos.items():
    if name.endswith("/"):
        problems.append(f"directory entry {name}")
    if info.compress_type != zipfile.ZIP_DEFLATED:
        problems.append(f"{name} is not deflated")
for required in ("dispatch", "metadata.yaml", "manifest.yaml"):
    if required not in infos:
        problems.append(f"{required} missing")
if "dispatch" in infos:
    mode = infos["dispatch"].external_attr >> 16
    if not stat.S_ISREG(mode) or stat.S_IMODE(mode) != 0o755:
        problems.append(f"dispatch has mode {oct(mode)}, not a regular file with 0755")
for problem in problems:
    print(problem, file=sys.stderr)
print(f"{len(infos)} files: " + ", ".join(sorted(infos)))
sys.exit(1 if problems else 0)
EOF

step "charmcraft analyse"
set +e
"$charmcraft" analyse --format=json "$charm" >"$work/analysis.json" 2>"$work/analyse.err"
analyse_rc=$?
set -e
python3 - "$work/analysis.json" "$analyse_rc" <<'EOF' || { cat "$work/analyse.err" >&2; fail "charmcraft analyse"; }
import json, sys
path, rc = sys.argv[1], int(sys.argv[2])
try:
    results = json.load(open(path))
except ValueError:
    print(f"analyse exited {rc} without a JSON report", file=sys.stderr)
    sys.exit(1)
for r in results:
    text = " ".join(r["text"].split())
    print(f"  {r['name']}: {r['result']}" + (f" - {text}" if text else ""))
warnings = [r for r in results if r["result"] == "warning"]
errors = [r for r in results if r["result"] in ("error", "fatal")]
def accepted(r):
    # Only the snake_case config options of the reference (see the header of this script).
    return (r["name"] == "naming-conventions"
            and "config-options" in r["text"]
            and "actions" not in r["text"] and "action params" not in r["text"])
if rc == 0:
    print("analyse: ok")
elif rc == 3 and not errors and all(accepted(r) for r in warnings):
    print("analyse: warnings, all accepted (snake_case config option names kept from the reference)")
else:
    bad = errors + [r for r in warnings if not accepted(r)]
    print(f"analyse exited {rc}; not accepted: " + ", ".join(r["name"] for r in bad), file=sys.stderr)
    sys.exit(1)
EOF

step "dispatch runs on the base"
mkdir "$work/unpacked"
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("dispatch", sys.argv[2])' "$charm" "$work/unpacked"
dispatch="$work/unpacked/dispatch"
chmod 0755 "$dispatch"
channel="$(python3 -c 'import re, sys, zipfile
m = re.search(r"channel: .?(\d+\.\d+)", zipfile.ZipFile(sys.argv[1]).read("manifest.yaml").decode())
print(m.group(1) if m else "")' "$charm")"
case "$channel" in
    22.04) glibc_max=2.35 ;;
    24.04) glibc_max=2.39 ;;
    *) fail "unknown base channel '$channel' in manifest.yaml" ;;
esac
# The size budget of the one binary (the Kubernetes client is most of it).
max_bytes=$((8 * 1024 * 1024))
size="$(stat -c %s "$dispatch")"
if [ "$size" -gt "$max_bytes" ]; then
    fail "dispatch is $size bytes, over the budget of $max_bytes"
fi
if ! readelf -lW "$dispatch" | grep -q INTERP && ! readelf -dW "$dispatch" | grep -q '(NEEDED)'; then
    echo "static binary ($(stat -c %s "$dispatch") bytes): runs on any base"
else
    needed="$(readelf -VW "$dispatch" | grep -o 'GLIBC_[0-9]\+\.[0-9]\+' | sed 's/GLIBC_//' | sort -uV | tail -1)"
    echo "dynamic binary: needs glibc ${needed:-?}, base ubuntu@$channel has $glibc_max"
    if [ -z "$needed" ] || [ "$(printf '%s\n%s\n' "$needed" "$glibc_max" | sort -V | tail -1)" != "$glibc_max" ]; then
        fail "dispatch needs glibc $needed, newer than the base's $glibc_max"
    fi
fi
# Outside a hook the charm should exit with an error, not fail to load or crash.
set +e
(cd "$work" && env -i PATH=/usr/bin:/bin timeout 10 "$dispatch" </dev/null >"$work/run.out" 2>&1)
run_rc=$?
set -e
if [ "$run_rc" -ge 124 ]; then
    cat "$work/run.out" >&2
    fail "dispatch could not run outside a hook (exit $run_rc: cannot execute, timed out or killed by a signal)"
fi
echo "ok: dispatch starts and exits ($run_rc) outside a hook"
# What keeps a hook's memory small (README, "Benchmarks"): compact relocations, and a link
# that followed the code layout (scripts/link-dispatch.sh counts what it matched).
readelf -SW "$dispatch" | grep -q '\.relr\.dyn' \
    || fail "dispatch has no RELR relocations (scripts/build-dispatch.sh links with -z pack-relative-relocs)"
report="${CARGO_TARGET_DIR:-$root/target}/$(uname -m)-unknown-linux-gnu/release/dispatch-layout.txt"
read -r listed by_name by_key _ _ <"$report" \
    || fail "no code layout report at $report (was dispatch linked by scripts/link-dispatch.sh?)"
if [ "$listed" -eq 0 ] || [ $(((by_name + by_key) * 2)) -lt "$listed" ]; then
    fail "the link matched $((by_name + by_key)) of the $listed functions of layout/dispatch.order"
fi
echo "ok: RELR relocations; code layout followed ($by_name of $listed functions by name, $by_key without hash)"

printf '\ncheck-charm: OK (%s)\n' "$charm"

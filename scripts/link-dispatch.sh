#!/usr/bin/env bash
# The linker of scripts/build-dispatch.sh: `cc` (rustc's own choice, with its arguments
# unchanged) plus, when rustc links with lld (`-fuse-ld=lld`, its default on x86_64
# Linux), RELR relocations (`-z pack-relative-relocs`) and the code layout of
# layout/dispatch.order resolved against the symbols of this very link. With another
# linker (GNU ld on other architectures: no --symbol-ordering-file) it links as rustc asked.
#
# The layout names functions by their mangled symbols, whose hash changes with Cargo.lock
# and with the toolchain. A name found as it is is placed as it is; one that is not is
# matched without its hash (legacy `17h<hex>E`, v0 crate disambiguators), which places
# every instance of that function (the generic ones may have several): a little more
# code in the hot blocks, instead of none of it where a dependency moved. A name not in
# the compiled objects (the C library's, from libc.a) goes to lld as it is. What was
# matched is counted in release/dispatch-layout.txt of the target directory, which
# build-dispatch.sh reports.
set -euo pipefail

layout="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/layout/dispatch.order"
output=""
objects=()
previous=""
lld=false
for arg in "$@"; do
    if [ "$arg" = "-fuse-ld=lld" ]; then
        lld=true
    fi
    if [ "$previous" = "-o" ]; then
        output="$arg"
    fi
    case "$arg" in
        *.o) objects+=("$arg") ;;
    esac
    previous="$arg"
done

report="$(dirname "${output:-.}")/../dispatch-layout.txt"
if ! $lld; then
    rm -f "$report"
    exec cc "$@"
fi
if [ ! -f "$layout" ] || [ -z "$output" ] || [ "${#objects[@]}" -eq 0 ]; then
    rm -f "$report"
    exec cc "$@" -Wl,-z,pack-relative-relocs
fi

resolved="$output.order"
symbols="$output.symbols"
nm --defined-only "${objects[@]}" | awk '{ print $NF }' >"$symbols"
if [ ! -s "$symbols" ]; then
    # Nothing to match against: the layout goes to lld as it is.
    echo "link-dispatch: no symbols in ${objects[*]}" >&2
    cp "$layout" "$resolved"
    rm -f "$report"
    exec cc "$@" -Wl,-z,pack-relative-relocs \
        -Wl,--symbol-ordering-file="$resolved" -Wl,--no-warn-symbol-ordering
fi
awk -v resolved="$resolved" -v report="$report" '
        function key(name,    k) {
            k = name
            sub(/17h[0-9a-f]+E$/, "E", k)
            if (k ~ /^_R/) gsub(/Cs[0-9A-Za-z]+_/, "C", k)
            return k
        }
        FNR == NR { exact[$0] = 1; k = key($0); byKey[k] = byKey[k] SUBSEP $0; next }
        /^[ \t]*(#|$)/ { next }
        {
            listed++
            if ($1 in exact) {
                if (!($1 in out)) { out[$1] = 1; print $1 > resolved }
                byName++
                next
            }
            k = key($1)
            if (!(k in byKey)) {
                # Not in the compiled objects: a C library function (linked from libc.a, its
                # name has no hash) or one gone since; lld places the first, skips the second.
                if (!($1 in out)) { out[$1] = 1; print $1 > resolved }
                passed++
                next
            }
            byKeyCount++
            n = split(substr(byKey[k], 2), names, SUBSEP)
            for (i = 1; i <= n; i++)
                if (!(names[i] in out)) { out[names[i]] = 1; print names[i] > resolved; instances++ }
        }
        END {
            printf "%d %d %d %d %d\n", listed, byName, byKeyCount, instances, passed > report
            close(resolved)
        }
    ' "$symbols" "$layout"
touch "$resolved"
exec cc "$@" -Wl,-z,pack-relative-relocs \
    -Wl,--symbol-ordering-file="$resolved" -Wl,--no-warn-symbol-ordering

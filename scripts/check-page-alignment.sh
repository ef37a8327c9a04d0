#!/usr/bin/env bash
# check-page-alignment.sh — fails unless every LOAD segment of each ELF shared library given is
# aligned to at least 16 KiB, which Google Play requires of native libraries (devices with
# 16 KiB pages refuse to load anything less). Used by the release workflow on the Android
# libraries and by tests/release on the host library.
#
# Usage: scripts/check-page-alignment.sh LIB.so...
# Environment: READELF (default: readelf, else llvm-readelf), MIN_ALIGN (default 16384).
set -euo pipefail

min=${MIN_ALIGN:-16384}
readelf=${READELF:-}
if [ -z "$readelf" ]; then
    if command -v readelf >/dev/null; then readelf=readelf; else readelf=llvm-readelf; fi
fi
[ $# -gt 0 ] || { echo "usage: $0 LIB.so..." >&2; exit 2; }

status=0
for lib in "$@"; do
    headers=$("$readelf" -lW "$lib") || { echo "FAIL $lib: not readable as ELF" >&2; status=1; continue; }
    # Program header rows: "LOAD 0x... 0x... 0x... 0x... 0x... R E 0x4000"; the alignment is
    # the last field (the flags column may hold spaces).
    aligns=$(awk '$1 == "LOAD" { print $NF }' <<<"$headers")
    if [ -z "$aligns" ]; then
        echo "FAIL $lib: no LOAD segment" >&2
        status=1
        continue
    fi
    smallest=
    for a in $aligns; do
        v=$((a))
        if [ -z "$smallest" ] || [ "$v" -lt "$smallest" ]; then smallest=$v; fi
    done
    if [ "$smallest" -lt "$min" ]; then
        printf 'FAIL %s: a LOAD segment is aligned to %d bytes, below %d\n' "$lib" "$smallest" "$min" >&2
        status=1
    else
        printf 'ok   %s: every LOAD segment aligned to >= %d bytes (smallest %d)\n' "$lib" "$min" "$smallest"
    fi
done
exit "$status"

#!/usr/bin/env bash
# gradle.sh — runs the Android build (android/) with exactly the Gradle distribution that
# android/gradle/wrapper/gradle-wrapper.properties pins, after checking its SHA-256 against
# distributionSha256Sum. The release workflow builds through this; so can a developer who has
# no Gradle wrapper scripts yet (`scripts/gradle.sh wrapper` writes them, with the same pin).
#
# Usage: scripts/gradle.sh [GRADLE ARGS...]      e.g. scripts/gradle.sh :tracelet:assembleRelease
#
# Environment:
#   TRACELET_GRADLE_PROPERTIES  the wrapper properties to read (default: the file above)
#   TRACELET_GRADLE_DISTS       where verified distributions are unpacked
#                               (default: ${GRADLE_USER_HOME:-~/.gradle}/tracelet-dists)
#   TRACELET_GRADLE_PROJECT     the Gradle project directory (default: android/)
# Needs curl (for https URLs), unzip, and sha256sum or shasum; Gradle itself needs JDK 17+.
set -euo pipefail

die() { printf 'gradle.sh: %s\n' "$*" >&2; exit 1; }

root=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
properties=${TRACELET_GRADLE_PROPERTIES:-$root/android/gradle/wrapper/gradle-wrapper.properties}
dists=${TRACELET_GRADLE_DISTS:-${GRADLE_USER_HOME:-$HOME/.gradle}/tracelet-dists}
project=${TRACELET_GRADLE_PROJECT:-$root/android}
[ -f "$properties" ] || die "no $properties"

property() { # the value of key $1, with the properties format's `\:` escapes undone
    sed -n "s/^$1=//p" "$properties" | tail -n 1 | sed 's/\\:/:/g'
}
url=$(property distributionUrl)
sum=$(property distributionSha256Sum)
[ -n "$url" ] || die "distributionUrl missing in $properties"
[[ "$sum" =~ ^[0-9a-f]{64}$ ]] || die "distributionSha256Sum missing or malformed in $properties"
name=$(basename "$url" .zip) # gradle-9.2.1-bin
[[ "$name" =~ ^gradle-([0-9][0-9.]*)-(bin|all)$ ]] || die "unexpected distribution name: $name"
version=${BASH_REMATCH[1]}

sha256() {
    if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

home=$dists/$name-$sum
if [ ! -x "$home/gradle-$version/bin/gradle" ]; then
    mkdir -p "$dists"
    part=$(mktemp "$dists/.download.XXXXXX")
    trap 'rm -rf "$part" "$part.d"' EXIT
    case "$url" in
    file://*) cp -- "${url#file://}" "$part" ;;
    https://*) curl -fsSL --retry 3 -o "$part" "$url" ;;
    *) die "refusing a distribution URL that is neither https nor file: $url" ;;
    esac
    actual=$(sha256 "$part")
    [ "$actual" = "$sum" ] || die "checksum mismatch for $url: expected $sum, got $actual"
    mkdir "$part.d"
    unzip -q "$part" -d "$part.d"
    [ -x "$part.d/gradle-$version/bin/gradle" ] || die "$name holds no gradle-$version/bin/gradle"
    rm -rf "$home"
    mv "$part.d" "$home"
    rm -f "$part"
    trap - EXIT
fi

gradle=$home/gradle-$version/bin/gradle
if [ "${1:-}" = wrapper ]; then
    # Wrapper scripts that keep the same pin (and checksum) as the committed properties.
    shift
    exec "$gradle" -p "$project" wrapper --gradle-version "$version" \
        --distribution-type "${name##*-}" --gradle-distribution-sha256-sum "$sum" "$@"
fi
exec "$gradle" -p "$project" "$@"

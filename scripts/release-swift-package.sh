#!/usr/bin/env bash
# release-swift-package.sh — points Package.swift at a released XCFramework: rewrites the
# release asset's URL and checksum, and optionally commits that on the release tag, so that
# `.package(url: "https://github.com/<owner>/<repo>", from: "<version>")` resolves the binary.
#
# Usage:
#   scripts/release-swift-package.sh --zip ZIP --url URL [--manifest FILE] [--tag TAG]
#
#   --zip ZIP        the TraceletFFI.xcframework.zip that is (or will be) the release asset
#   --url URL        where the asset is downloaded from (https)
#   --manifest FILE  the manifest to rewrite (default: Package.swift at the repository root)
#   --tag TAG        also commit the manifest on top of TAG and move TAG to that commit (HEAD
#                    must be TAG's commit, and FILE inside the repository). Pushing the moved
#                    tag is left to the caller (`git push --force origin refs/tags/TAG`).
#
# The checksum is the SHA-256 of the zip, which is what `swift package compute-checksum`
# prints; the test suite checks the two agree (tests/release). Works on macOS and Linux.
set -euo pipefail

die() { printf 'release-swift-package: %s\n' "$*" >&2; exit 1; }

root=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
zip='' url='' tag=''
manifest=$root/Package.swift
while [ $# -gt 0 ]; do
    case "$1" in
    --zip) zip=${2:?}; shift 2 ;;
    --url) url=${2:?}; shift 2 ;;
    --manifest) manifest=${2:?}; shift 2 ;;
    --tag) tag=${2:?}; shift 2 ;;
    *) die "unknown argument: $1 (see the header of this script)" ;;
    esac
done
if [ -z "$zip" ] || [ -z "$url" ]; then die "--zip and --url are required"; fi
[ -f "$zip" ] || die "no such file: $zip"
[ -f "$manifest" ] || die "no such manifest: $manifest"
case "$url" in
https://*.zip) ;;
*) die "the URL must be https and end in .zip: $url" ;;
esac
case "$url" in *[\"\\\ ]*) die "the URL must not contain quotes, backslashes or spaces" ;; esac

# With --tag, check first (before touching the manifest) that the tag names the commit checked
# out, so that committing on it moves nothing else.
if [ -n "$tag" ]; then
    dir=$(cd -P -- "$(dirname -- "$manifest")" && pwd -P)
    git -C "$dir" rev-parse --git-dir >/dev/null 2>&1 || die "$manifest is not in a git repository"
    tagged=$(git -C "$dir" rev-parse --verify -q "refs/tags/$tag^{commit}") || die "no tag $tag"
    [ "$(git -C "$dir" rev-parse HEAD)" = "$tagged" ] || die "HEAD is not the commit of $tag"
fi

if command -v sha256sum >/dev/null; then
    checksum=$(sha256sum "$zip" | cut -d' ' -f1)
else
    checksum=$(shasum -a 256 "$zip" | cut -d' ' -f1)
fi
[[ "$checksum" =~ ^[0-9a-f]{64}$ ]] || die "could not compute the SHA-256 of $zip"

# Exactly one `let xcframeworkURL =` (value on the same or the next line) and one
# `let xcframeworkChecksum =`: anything else means the manifest changed shape, and a silent
# partial rewrite would publish a package that fails to resolve.
rewritten=$(mktemp)
trap 'rm -f "$rewritten"' EXIT
URL=$url CHECKSUM=$checksum perl -0777 -pe '
    my $u = s/(let\s+xcframeworkURL\s*=\s*)"[^"\n]*"/$1"$ENV{URL}"/g || 0;
    my $c = s/(let\s+xcframeworkChecksum\s*=\s*)"[^"\n]*"/$1"$ENV{CHECKSUM}"/g || 0;
    die "expected one xcframeworkURL and one xcframeworkChecksum, found $u and $c\n"
        unless $u == 1 && $c == 1;
' "$manifest" >"$rewritten" || die "could not rewrite $manifest (left unchanged)"
cat "$rewritten" >"$manifest" # in place, keeping the file's mode
printf 'release-swift-package: %s -> %s (checksum %s)\n' "$manifest" "$url" "$checksum"

[ -n "$tag" ] || exit 0

message=$(git -C "$dir" tag -l --format='%(contents)' "$tag")
[ -n "$message" ] || message="Release $tag"
git -C "$dir" add -- "$manifest"
git -C "$dir" -c user.name="${GIT_AUTHOR_NAME:-tracelet-release}" \
    -c user.email="${GIT_AUTHOR_EMAIL:-release@tracelet.invalid}" \
    commit -q -m "Package.swift: the XCFramework released as $tag" -- "$manifest"
# Annotated, like the tag it replaces, with the same message.
git -C "$dir" -c user.name="${GIT_AUTHOR_NAME:-tracelet-release}" \
    -c user.email="${GIT_AUTHOR_EMAIL:-release@tracelet.invalid}" \
    tag -f -a -m "$message" "$tag" HEAD >/dev/null
printf 'release-swift-package: %s now points at %s\n' "$tag" "$(git -C "$dir" rev-parse --short HEAD)"

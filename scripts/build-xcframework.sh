#!/usr/bin/env bash
# build-xcframework.sh — builds TraceletFFI.xcframework, the binary target that iOS apps get
# through Package.swift, from the tracelet-ffi staticlib. Runs on macOS with Xcode and rustup.
#
# Usage: scripts/build-xcframework.sh
#
# Produces:
#   ios/TraceletFFI.xcframework              used by Package.swift automatically when present
#                                            (SDK development; keep it out of git)
#   target/xcframework/TraceletFFI.xcframework.zip   the release asset
# and prints the checksum line for Package.swift (`swift package compute-checksum`).
#
# Slices: iOS device (aarch64-apple-ios), iOS simulator (aarch64-apple-ios-sim and
# x86_64-apple-ios) and macOS (aarch64-apple-darwin and x86_64-apple-darwin, so that `swift build`
# and `swift test` work on a Mac too). Each pair is merged with lipo: an XCFramework takes one
# library per platform variant.
#
# Environment:
#   IPHONEOS_DEPLOYMENT_TARGET   minimum iOS version of the Rust objects (default 15.0, as in
#                                Package.swift)
#   MACOSX_DEPLOYMENT_TARGET     minimum macOS version (default 12.0, as in Package.swift)
set -euo pipefail

die() { printf 'build-xcframework: %s\n' "$*" >&2; exit 1; }

[ "$(uname -s)" = Darwin ] || die "needs macOS with Xcode (xcodebuild, lipo)"
for tool in cargo rustup xcodebuild lipo ditto swift; do
    command -v "$tool" >/dev/null || die "missing $tool"
done

root=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"

device=aarch64-apple-ios
simulators=(aarch64-apple-ios-sim x86_64-apple-ios)
macs=(aarch64-apple-darwin x86_64-apple-darwin)
export IPHONEOS_DEPLOYMENT_TARGET=${IPHONEOS_DEPLOYMENT_TARGET:-15.0}
export MACOSX_DEPLOYMENT_TARGET=${MACOSX_DEPLOYMENT_TARGET:-12.0}

rustup target add "$device" "${simulators[@]}" "${macs[@]}"
for target in "$device" "${simulators[@]}" "${macs[@]}"; do
    echo "== cargo build --release -p tracelet-ffi --target $target"
    cargo build --release --locked -p tracelet-ffi --lib --target "$target"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Header and modulemap in a subdirectory named after the module: Xcode copies every static
# XCFramework's Headers/ into one include directory, where two top-level module.modulemap
# files would collide. Clang still finds the module there by name.
headers=$work/headers/TraceletFFI
mkdir -p "$headers"
cp ios/Sources/TraceletFFI/include/TraceletFFI.h ios/Sources/TraceletFFI/include/module.modulemap \
    "$headers/"

universal() { # universal NAME TARGET... : one fat library from several targets' builds
    local name=$1 target
    shift
    mkdir -p "$work/$name"
    local inputs=()
    for target in "$@"; do inputs+=("target/$target/release/libtracelet_ffi.a"); done
    lipo -create "${inputs[@]}" -output "$work/$name/libtracelet_ffi.a"
}
universal simulator "${simulators[@]}"
universal macos "${macs[@]}"

xcframework=ios/TraceletFFI.xcframework
rm -rf "$xcframework"
xcodebuild -create-xcframework \
    -library "target/$device/release/libtracelet_ffi.a" -headers "$work/headers" \
    -library "$work/simulator/libtracelet_ffi.a" -headers "$work/headers" \
    -library "$work/macos/libtracelet_ffi.a" -headers "$work/headers" \
    -output "$xcframework"

mkdir -p target/xcframework
zip=target/xcframework/TraceletFFI.xcframework.zip
rm -f "$zip"
# --keepParent: SwiftPM expects the .xcframework directory at the top of the archive.
ditto -c -k --sequesterRsrc --keepParent "$xcframework" "$zip"
checksum=$(swift package compute-checksum "$zip")

cat <<MSG

Built $xcframework (used by Package.swift while it exists) and $zip.
For a release, upload the zip as a release asset and set in Package.swift:
    let xcframeworkURL = "https://github.com/<owner>/<repo>/releases/download/<version>/TraceletFFI.xcframework.zip"
    let xcframeworkChecksum = "$checksum"
MSG

#!/usr/bin/env bash
# Regenerates the Kotlin and Swift bindings from the tracelet-ffi library with the workspace's
# own uniffi-bindgen, so the generator always matches the library.
#   scripts/gen-bindings.sh          write them into android/ and ios/
#   scripts/gen-bindings.sh --check  fail if the committed bindings are stale
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

mode="${1:-write}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# The debug library keeps the uniffi metadata symbols that the stripped release build drops;
# the generated code depends only on the API, not on the build profile.
cargo build -q -p tracelet-ffi -p uniffi-bindgen
./target/debug/uniffi-bindgen generate target/debug/libtracelet_ffi.so \
    --language kotlin --language swift --no-format --out-dir "$out" >/dev/null

# Two crates export to the foreign side: tracelet-core's API types (under its `uniffi`
# feature) and tracelet-ffi's object, configuration and errors. Kotlin gets one file per
# crate, in its own package; Swift compiles both sources into one module, and the C module
# TraceletFFI takes both headers through one module map (uniffi writes one per crate).
cat >"$out/module.modulemap" <<'MODULEMAP'
module TraceletFFI {
    header "TraceletFFI.h"
    header "TraceletCoreFFI.h"
    export *
    use "Darwin"
    use "_Builtin_stdbool"
    use "_Builtin_stdint"
}
MODULEMAP

# generated file -> committed location
declare -A targets=(
    ["dev/tracelet/internal/tracelet_ffi.kt"]="android/tracelet/src/main/kotlin/dev/tracelet/internal/tracelet_ffi.kt"
    ["dev/tracelet/internal/core/tracelet_core.kt"]="android/tracelet/src/main/kotlin/dev/tracelet/internal/core/tracelet_core.kt"
    ["TraceletBindings.swift"]="ios/Sources/TraceletBindings/TraceletBindings.swift"
    ["TraceletCore.swift"]="ios/Sources/TraceletBindings/TraceletCore.swift"
    ["TraceletFFI.h"]="ios/Sources/TraceletFFI/include/TraceletFFI.h"
    ["TraceletCoreFFI.h"]="ios/Sources/TraceletFFI/include/TraceletCoreFFI.h"
    ["module.modulemap"]="ios/Sources/TraceletFFI/include/module.modulemap"
)

stale=0
for generated in "${!targets[@]}"; do
    dest="${targets[$generated]}"
    if [ "$mode" = "--check" ]; then
        if ! cmp -s "$out/$generated" "$dest"; then
            echo "stale generated bindings: $dest (run scripts/gen-bindings.sh)" >&2
            stale=1
        fi
    else
        mkdir -p "$(dirname "$dest")"
        cp "$out/$generated" "$dest"
    fi
done
exit "$stale"

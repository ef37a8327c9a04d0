#!/usr/bin/env bash
# Runs every test of the project: Rust (core, collector, end-to-end), Kotlin on the JVM against
# the real library through JNA, and Swift on Linux. Installs what it needs on a fresh machine
# (Maven if missing, the Swift toolchain chroot), and ends with one summary line per language.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="$root/test-output"
mkdir -p "$out"
started=$(date +%s)

# Pinned tools the release checks install when missing.
ACTIONLINT_VERSION=v1.7.12

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'test-all: %s\n' "$*" >&2; exit 1; }

install_prerequisites() {
    command -v cargo >/dev/null || die "cargo not found: install Rust (rustup) first"
    if ! command -v mvn >/dev/null || ! command -v javac >/dev/null; then
        say "installing Maven and a JDK (Debian packages)"
        DEBIAN_FRONTEND=noninteractive apt-get update -q &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends maven default-jdk-headless ||
            die "could not install Maven"
    fi
    rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
    # The release checks (tests/release): pytest, actionlint (a Go module, pinned) and
    # ShellCheck, which actionlint runs on the shell steps of the workflows.
    python3 -m pytest --version >/dev/null 2>&1 || python3 -m pip install -q pytest ||
        die "could not install pytest"
    actionlint=$(go env GOPATH 2>/dev/null)/bin/actionlint
    if [ ! -x "$actionlint" ] || ! "$actionlint" -version | grep -qx "$ACTIONLINT_VERSION"; then
        say "installing actionlint $ACTIONLINT_VERSION (Go module proxy)"
        command -v go >/dev/null || die "go not found: needed to install actionlint"
        go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" ||
            die "could not install actionlint"
    fi
    export TRACELET_ACTIONLINT=$actionlint
    if ! command -v shellcheck >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends shellcheck ||
            { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends shellcheck; } ||
            die "could not install shellcheck"
    fi
    # The collector's PostgreSQL suite (storage on both backends, replicas, the live stream
    # across replicas): its Rust helper (examples/collector/tests/common/cluster.rs) starts a
    # throwaway cluster with these binaries as the unprivileged postgres user on a free
    # loopback port and removes it afterwards. It never skips: no cluster, failed tests.
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ||
        ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
        say "installing PostgreSQL and PostGIS (Debian packages)"
        DEBIAN_FRONTEND=noninteractive apt-get update -q &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                postgresql-15 postgresql-15-postgis-3 ||
            die "could not install PostgreSQL and PostGIS"
    fi
    id postgres >/dev/null 2>&1 || die "no postgres user: the PostgreSQL suite needs one to run initdb"
    # The deployment files' checks (tests/release/test_deploy.py) parse YAML.
    python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q pyyaml ||
        die "could not install PyYAML"
    say "Swift toolchain (cached Debian 13 chroot; about 2 minutes on a fresh machine)"
    scripts/swift-toolchain.sh ensure || die "could not install the Swift toolchain"
}

# Sums "test result: ok. N passed; M failed" lines of cargo test.
rust_counts() {
    awk '/^test result:/ { p += $4; f += $6 } END { printf "%d %d", p, f }' "$1"
}

# Surefire's final "Tests run: X, Failures: F, Errors: E, Skipped: S" line.
kotlin_counts() {
    grep -E 'Tests run: [0-9]+, Failures: [0-9]+, Errors: [0-9]+, Skipped: [0-9]+$' "$1" | tail -n 1 |
        sed -E 's/.*Tests run: ([0-9]+), Failures: ([0-9]+), Errors: ([0-9]+), Skipped: ([0-9]+)/\1 \2 \3 \4/' |
        awk '{ printf "%d %d", $1 - $2 - $3 - $4, $2 + $3 }'
}

# XCTest's last "Executed N tests, with F failures" line (the whole run).
swift_counts() {
    grep -E 'Executed [0-9]+ tests?, with [0-9]+ failures?' "$1" | tail -n 1 |
        sed -E 's/.*Executed ([0-9]+) tests?, with ([0-9]+) failures?.*/\1 \2/' |
        awk '{ printf "%d %d", $1 - $2, $2 }'
}

# pytest's closing line: "N passed, M failed, K errors in ...s" (any part may be missing).
pytest_counts() {
    tail -n 1 "$1" | awk '{
        for (i = 2; i <= NF; i++) {
            if ($i ~ /^passed/) p = $(i - 1)
            if ($i ~ /^(failed|errors?)/) f += $(i - 1)
        }
    } END { printf "%d %d", p, f }'
}

# node --test's final "# pass N" and "# fail N" lines.
browser_counts() {
    awk '/^# pass [0-9]+$/ { p = $3 } /^# fail [0-9]+$/ { f = $3 } END { printf "%d %d", p, f }' "$1"
}

declare -A passed failed
record() { # language, log, counter function, exit status
    local counts p f
    counts=$("$3" "$2")
    p=${counts% *}
    f=${counts#* }
    [ -n "$p" ] || p=0
    [ -n "$f" ] || f=0
    # A suite that crashed before reporting still counts as a failure.
    if [ "$4" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed[$1]=$p
    failed[$1]=$f
}

install_prerequisites

say "lint: cargo fmt --check, cargo clippy -D warnings"
lint_status=0
cargo fmt --all -- --check || lint_status=1
cargo clippy -q --workspace --all-targets -- -D warnings || lint_status=1

say "release build: the cdylib and staticlib, the collector, the demo"
cargo build --release -p tracelet-ffi -p tracelet-collector -p tracelet-demo || die "release build failed"

say "generated bindings are up to date"
scripts/gen-bindings.sh --check || lint_status=1

say "rust: cargo test --workspace"
cargo test --workspace --no-fail-fast 2>&1 | tee "$out/rust.log"
record rust "$out/rust.log" rust_counts "${PIPESTATUS[0]}"

say "demo: tracelet-demo --headless"
demo_status=0
./target/release/tracelet-demo --headless 2>&1 | tee "$out/demo.log" || demo_status=1

say "kotlin: mvn test (JVM, real libtracelet_ffi.so through JNA, real collector)"
(cd android && mvn -B -ntp test -Dtracelet.lib.dir="$root/target/release" \
    -Dtracelet.collector.bin="$root/target/release/tracelet-collector") 2>&1 | tee "$out/kotlin.log"
record kotlin "$out/kotlin.log" kotlin_counts "${PIPESTATUS[0]}"

say "swift: swift test (Linux, real library, real collector)"
TRACELET_LIB_DIR="$root/target/release" TRACELET_COLLECTOR_BIN="$root/target/release/tracelet-collector" \
    scripts/swift-toolchain.sh run swift test 2>&1 | tee "$out/swift.log"
record swift "$out/swift.log" swift_counts "${PIPESTATUS[0]}"

say "browser: the live map in headless Chromium (playwright-core): demo replay, 10,000-device fleet, vendored libraries"
(
    set -e
    if [ ! -x /usr/bin/chromium ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
    fi
    cd tests/browser
    npm install --no-audit --no-fund
    TRACELET_DEMO_BIN="$root/target/release/tracelet-demo" \
        TRACELET_COLLECTOR_BIN="$root/target/release/tracelet-collector" \
        node --test --test-concurrency=1 vendor.test.mjs live-map.test.mjs fleet-map.test.mjs
) 2>&1 | tee "$out/browser.log"
record browser "$out/browser.log" browser_counts "${PIPESTATUS[0]}"

say "release: workflows (actionlint), 16 KiB pages, Package.swift rewrite, privacy manifest, POM, Gradle pin, deploy files"
TRACELET_LIB_DIR="$root/target/release" python3 -m pytest -p no:cacheprovider tests/release 2>&1 |
    tee "$out/release.log"
record release "$out/release.log" pytest_counts "${PIPESTATUS[0]}"

elapsed=$(($(date +%s) - started))
echo
echo "== summary ($((elapsed / 60)) min $((elapsed % 60)) s; logs in test-output/) =="
[ "$lint_status" -eq 0 ] && echo "lint: ok" || echo "lint: FAILED (fmt, clippy or stale bindings)"
[ "$demo_status" -eq 0 ] && echo "demo: ok" || echo "demo: FAILED"
total_p=0
total_f=0
for lang in rust kotlin swift browser release; do
    echo "$lang: ${passed[$lang]} passed, ${failed[$lang]} failed"
    total_p=$((total_p + passed[$lang]))
    total_f=$((total_f + failed[$lang]))
done
echo "total: $total_p passed, $total_f failed"
[ "$total_f" -eq 0 ] && [ "$lint_status" -eq 0 ] && [ "$demo_status" -eq 0 ]

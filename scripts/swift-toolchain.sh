#!/usr/bin/env bash
# swift-toolchain.sh — a Swift 6 toolchain for this Debian 12 (bookworm) host.
#
# Bookworm ships no Swift package, but Debian 13 (trixie) ships `swiftlang`
# (Swift 6.0.x). So we keep a cached trixie chroot with Swift in it, and run
# commands inside it with this repository bind-mounted at the *same absolute
# path* as on the host (so absolute paths in linker flags, .build caches and
# error messages stay valid on both sides).
#
# Usage:
#   scripts/swift-toolchain.sh ensure             create/repair the cached chroot
#   scripts/swift-toolchain.sh run [--] CMD ARGS  ensure, then run CMD in the
#                                                 chroot, in the caller's cwd
#                                                 (must be inside the repo);
#                                                 CMD's exit code is returned.
#
# Environment:
#   TRACELET_SWIFT_CHROOT     chroot location (default /var/cache/tracelet/swift-trixie)
#   TRACELET_DEBIAN_MIRROR    Debian mirror (default http://deb.debian.org/debian)
#   TRACELET_SWIFT_PASS_ENV   extra variable names (space separated) to pass into the chroot
#   TRACELET_SWIFT_NO_UNSHARE =1 to skip the private mount namespace (debug/testing)
#
# Needs root (debootstrap, chroot and mount all do). Non-interactive.
set -euo pipefail

# --- configuration --------------------------------------------------------

SUITE=trixie
MIRROR=${TRACELET_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# swiftlang itself depends on gcc, binutils, libcurl, libxml2, python3.13 etc.
# (clang, lld, XCTest, Foundation and ICU are bundled in it). libc6-dev and
# libstdc++-14-dev give clang the C/C++ headers and crt/link files for C
# targets; ca-certificates for any TLS use (Foundation/URLSession, SwiftPM).
PACKAGES=(swiftlang libc6-dev libstdc++-14-dev ca-certificates)
# Bump RECIPE when the install steps change in a way that needs a rebuild.
RECIPE=1
STAMP="recipe=$RECIPE suite=$SUITE packages=${PACKAGES[*]}"
STAMP_FILE=.tracelet-swift-toolchain.stamp

CHROOT=${TRACELET_SWIFT_CHROOT:-/var/cache/tracelet/swift-trixie}
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

SCRIPT=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)/$(basename -- "${BASH_SOURCE[0]}")
REPO=$(cd -P -- "$(dirname -- "$SCRIPT")/.." && pwd -P)

# --- helpers ----------------------------------------------------------------

log() { printf '[swift-toolchain] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    sed -n '10,16p' "$SCRIPT" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# Mount points we created, in order; unmounted in reverse by cleanup.
MOUNTED=()
# Half-built chroot to delete if we die during an install.
INSTALL_TMP=

do_mount() { # do_mount ARGS... TARGET  (TARGET must be the last argument)
    mount "$@"
    MOUNTED+=("${*: -1}")
}

unmount_ours() {
    local i
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
        # Lazy unmount as a fallback: a straggler process keeping the mount
        # busy must not leave the repo bind-mounted inside the chroot.
        umount "${MOUNTED[i]}" 2>/dev/null || umount -l "${MOUNTED[i]}" ||
            log "warning: could not unmount ${MOUNTED[i]}"
    done
    MOUNTED=()
}

# Mount points (from this process's mount namespace) at or below $1, deepest first.
mounts_under() {
    local dir=${1%/} mp
    while read -r _ _ _ _ mp _; do
        mp=$(printf '%b' "$mp") # mountinfo escapes spaces etc. as \040
        case "$mp" in "$dir" | "$dir"/*) printf '%s\n' "$mp" ;; esac
    done </proc/self/mountinfo | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-
}

# Unmount everything at or below $1 (stale mounts of killed runs; stacked
# mounts need several rounds).
unmount_under() {
    local dir=$1 mp _
    for _ in 1 2 3 4 5 6 7 8; do
        [ -n "$(mounts_under "$dir")" ] || return 0
        while IFS= read -r mp; do
            [ -n "$mp" ] || continue
            log "unmounting stale $mp"
            umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
        done < <(mounts_under "$dir")
    done
    [ -z "$(mounts_under "$dir")" ]
}

# rm -rf a chroot, but never while anything (above all the repo bind mount!)
# is still mounted inside it: rm would happily recurse into the repository.
safe_rm_tree() {
    local t=$1
    case "$t" in
    "$CHROOT" | "$CHROOT".new.* | "$CHROOT".old.*) ;;
    *) die "refusing to delete unexpected path '$t'" ;;
    esac
    [ -e "$t" ] || return 0
    if ! unmount_under "$t"; then
        die "refusing to delete $t: still mounted inside it: $(mounts_under "$t" | tr '\n' ' ')"
    fi
    if mountpoint -q -- "$t$REPO" 2>/dev/null; then
        die "refusing to delete $t: the repository is bind-mounted at $t$REPO"
    fi
    # Note --one-file-system does NOT stop at a bind mount of the same
    # filesystem (tested: it deletes the contents), hence the checks above;
    # it only helps against mounts of other devices we somehow missed.
    rm -rf --one-file-system -- "$t"
}

# shellcheck disable=SC2317 # invoked via trap
cleanup() {
    local rc=$?
    set +e
    unmount_ours
    if [ -n "$INSTALL_TMP" ] && [ -e "$INSTALL_TMP" ]; then
        log "removing incomplete install $INSTALL_TMP"
        (safe_rm_tree "$INSTALL_TMP")
    fi
    exit "$rc"
}

is_ready() {
    [ -f "$CHROOT/$STAMP_FILE" ] && [ "$(cat "$CHROOT/$STAMP_FILE")" = "$STAMP" ] &&
        # /usr/bin/swift is an absolute symlink, only valid inside the chroot.
        { [ -L "$CHROOT/usr/bin/swift" ] || [ -x "$CHROOT/usr/bin/swift" ]; }
}

ensure_debootstrap() {
    command -v debootstrap >/dev/null && return 0
    log "installing debootstrap on the host"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap; } \
        >>"$LOG" 2>&1 </dev/null; then
        tail -n 30 "$LOG" >&2
        die "could not install debootstrap (log: $LOG)"
    fi
}

# Run a command in chroot $1 with a clean environment (apt/dpkg only).
chroot_sh() {
    local root=$1
    shift
    chroot "$root" /usr/bin/env -i PATH="$CHROOT_PATH" HOME=/root LANG=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive /bin/sh -c "$@" </dev/null
}

install_chroot() {
    local start=$SECONDS d
    log "installing Swift chroot at $CHROOT (suite $SUITE, packages: ${PACKAGES[*]}); log: $LOG"
    : >"$LOG"
    # Leftovers of killed installs/replacements (we hold the exclusive lock,
    # so nobody else is building them right now).
    for d in "$CHROOT".new.* "$CHROOT".old.*; do
        [ -e "$d" ] || continue
        log "removing leftover $d"
        safe_rm_tree "$d"
    done
    ensure_debootstrap

    # Build next to the final location and rename when complete, so a killed
    # install never leaves something that looks ready.
    INSTALL_TMP=$(mktemp -d "$CHROOT.new.XXXXXX")
    log "debootstrap $SUITE ($MIRROR) ..."
    debootstrap --variant=minbase "$SUITE" "$INSTALL_TMP" "$MIRROR" >>"$LOG" 2>&1 </dev/null ||
        { tail -n 30 "$LOG" >&2; die "debootstrap failed (log: $LOG)"; }
    # DNS for apt inside the chroot.
    [ -e /etc/resolv.conf ] && cp -L /etc/resolv.conf "$INSTALL_TMP/etc/resolv.conf"

    log "apt-get install ${PACKAGES[*]} ..."
    # swift (and some dpkg scripts) need /proc: libswiftCore.so is found via
    # /proc/self/exe, without it swift fails with "cannot open shared object".
    do_mount -t proc proc "$INSTALL_TMP/proc"
    chroot_sh "$INSTALL_TMP" "apt-get update -q && apt-get install -y -q -o Dpkg::Use-Pty=0 \
        --no-install-recommends ${PACKAGES[*]} && apt-get clean" >>"$LOG" 2>&1 ||
        { tail -n 30 "$LOG" >&2; die "apt-get install in chroot failed (log: $LOG)"; }
    # Smoke test before declaring the chroot ready.
    chroot_sh "$INSTALL_TMP" "swift --version" >>"$LOG" 2>&1 ||
        { tail -n 30 "$LOG" >&2; die "swift does not run in the new chroot (log: $LOG)"; }
    unmount_ours

    printf '%s\n' "$STAMP" >"$INSTALL_TMP/$STAMP_FILE"
    chmod 755 "$INSTALL_TMP" # mktemp -d made it 0700
    local old=
    if [ -e "$CHROOT" ]; then
        old="$CHROOT.old.$$"
        mv -T -- "$CHROOT" "$old"
    fi
    mv -T -- "$INSTALL_TMP" "$CHROOT"
    INSTALL_TMP=
    [ -z "$old" ] || safe_rm_tree "$old"
    log "install took $((SECONDS - start))s"
}

# --- main -----------------------------------------------------------------

[ $# -ge 1 ] || usage
CMD=$1
shift
case "$CMD" in
ensure) [ $# -eq 0 ] || usage ;;
run)
    [ "${1:-}" != "--" ] || shift
    [ $# -ge 1 ] || usage
    ;;
-h | --help | help) usage ;;
*) usage ;;
esac

[ "$(id -u)" -eq 0 ] ||
    die "must run as root (debootstrap, chroot and mount need it); e.g. sudo $SCRIPT $CMD ..."

case "$CHROOT" in /*) ;; *) die "TRACELET_SWIFT_CHROOT must be an absolute path: $CHROOT" ;; esac
CHROOT=${CHROOT%/}
[ -n "$CHROOT" ] || die "TRACELET_SWIFT_CHROOT must not be /"
case "$CHROOT/" in "$REPO"/*) die "chroot $CHROOT must not be inside the repository $REPO" ;; esac
case "$REPO/" in "$CHROOT"/*) die "repository $REPO must not be inside the chroot $CHROOT" ;; esac

if [ "$CMD" = run ]; then
    CWD=$(pwd -P)
    case "$CWD/" in "$REPO"/*) ;; *) die "run from inside the repository $REPO (cwd is $CWD)" ;; esac
fi

mkdir -p -- "$(dirname -- "$CHROOT")"
LOG=$CHROOT.install.log
LOCK=$CHROOT.lock

# Mounts go into a private mount namespace when possible: they then vanish
# with the process even on SIGKILL, and are invisible to (so cannot be
# followed by) an rm -rf running on the host. The trap still unmounts them.
if [ -z "${_SWIFT_TOOLCHAIN_IN_NS:-}" ]; then
    USE_NS=0
    if [ "${TRACELET_SWIFT_NO_UNSHARE:-}" != 1 ] &&
        unshare --mount --propagation private true 2>/dev/null; then
        USE_NS=1
    elif [ "${TRACELET_SWIFT_NO_UNSHARE:-}" != 1 ]; then
        log "warning: unshare --mount not available; mounting in the host namespace"
    fi

    # Locking: runners hold a shared lock; (re)building needs the exclusive
    # one. Without a private namespace, runs share the host mount table, so
    # they are serialised (exclusive) to keep mounts from stacking.
    exec 9>>"$LOCK"
    if [ "$USE_NS" = 1 ] && ! flock -x -n 9; then
        flock -s 9
    else
        flock -x 9
        # Exclusive lock held: nobody is using the chroot, so any mount under
        # it in the host namespace is a leftover of a killed (SIGKILL) run.
        unmount_under "$CHROOT" || die "cannot unmount stale mounts under $CHROOT"
    fi

    if [ "$USE_NS" = 1 ]; then
        # fd 9 (and the lock on it) is inherited across exec.
        _SWIFT_TOOLCHAIN_IN_NS=1 exec unshare --mount --propagation private -- \
            "$BASH" "$SCRIPT" "$CMD" "$@"
    fi
fi

trap cleanup EXIT
# Signals: exit (running the EXIT trap) with the conventional status.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_start=$SECONDS
if ! is_ready; then
    flock -x 9 # may wait for running commands to finish
    if ! is_ready; then
        if [ -e "$CHROOT" ]; then
            log "chroot at $CHROOT is missing its stamp or is outdated; rebuilding"
        fi
        install_chroot
    fi
fi
if [ -n "${_SWIFT_TOOLCHAIN_IN_NS:-}" ]; then
    flock -s 9 # let other runs proceed concurrently
fi
log "chroot ready: $CHROOT ($((SECONDS - ensure_start))s)"

[ "$CMD" = run ] || exit 0

# --- run ------------------------------------------------------------------

# /proc: needed by swift to locate its runtime (see install_chroot).
do_mount -t proc proc "$CHROOT/proc"
# Fresh /tmp and /dev/shm per run, so nothing accumulates in the cache.
do_mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$CHROOT/tmp"
do_mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$CHROOT/dev/shm"
# debootstrap created real device nodes in /dev (null, zero, urandom, tty, ...),
# which is all builds need. Where it could not (no mknod, e.g. some containers)
# bind the host's nodes over them.
for n in null zero full random urandom tty; do
    if [ ! -c "$CHROOT/dev/$n" ]; then
        [ -e "$CHROOT/dev/$n" ] || : >"$CHROOT/dev/$n"
        do_mount --bind "/dev/$n" "$CHROOT/dev/$n"
    fi
done
# The repository at the same absolute path as on the host.
mkdir -p -- "$CHROOT$REPO"
do_mount --bind "$REPO" "$CHROOT$REPO"

# Clean environment: the host PATH/HOME mean nothing in the chroot. Pass
# through CI/terminal settings and the project's SWIFT_*/TRACELET_* knobs.
envs=(PATH="$CHROOT_PATH" HOME=/root USER=root LOGNAME=root SHELL=/bin/sh
    LANG=C.UTF-8 TMPDIR=/tmp)
pass=" CI TERM NO_COLOR FORCE_COLOR CLICOLOR TZ SOURCE_DATE_EPOCH ${TRACELET_SWIFT_PASS_ENV:-} "
while IFS= read -r name; do
    case "$name" in
    _SWIFT_TOOLCHAIN_*) continue ;;
    SWIFT_* | TRACELET_*) ;;
    *) [[ "$pass" == *" $name "* ]] || continue ;;
    esac
    envs+=("$name=${!name}")
done < <(compgen -e)

log "run (cwd $CWD): $*"
set +e
# 9>&-: the command must not inherit the lock fd, or a daemon it leaves
# behind would hold the lock (and block rebuilds) forever.
# shellcheck disable=SC2016 # $1/$@ are expanded by the inner sh
chroot "$CHROOT" /usr/bin/env -i "${envs[@]}" /bin/sh -c 'cd "$1" || exit 125; shift; exec "$@"' \
    swift-toolchain "$CWD" "$@" 9>&-
rc=$?
set -e
[ "$rc" -eq 0 ] || log "command exited with status $rc"
exit "$rc"

#!/usr/bin/env bash
# The same tracelet-load run against SQLite (one collector) and PostgreSQL (REPLICAS collectors
# on a scratch cluster from scripts/pg-scratch.sh, default durability), printed side by side
# with the CPU each part used. Needs `cargo build --release -p tracelet-collector -p tracelet-load`.
#   DEVICES=1000 BATCHES=20 FIXES=50 CONCURRENCY=32 REPLICAS=2 scripts/load-compare.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/target/release"
devices=${DEVICES:-1000}
batches=${BATCHES:-20}
fixes=${FIXES:-50}
concurrency=${CONCURRENCY:-32}
replicas=${REPLICAS:-2}
[ -x "$bin/tracelet-load" ] && [ -x "$bin/tracelet-collector" ] ||
    { echo "build first: cargo build --release -p tracelet-collector -p tracelet-load" >&2; exit 1; }

work=$(mktemp -d)
chmod 755 "$work"
url=$("$root/scripts/pg-scratch.sh" start "$work/pg")
trap '"$root/scripts/pg-scratch.sh" stop "$work/pg"; rm -rf "$work"' EXIT

# CPU seconds the cluster used so far: the postmaster, its exited children (reaped) and its
# live children (checkpointer, WAL writer, ...).
pg_cpu() {
    local pm
    pm=$(head -n 1 "$work/pg/data/postmaster.pid")
    {
        awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat"
        for child in $(ps -o pid= --ppid "$pm"); do
            awk '{ print $14 + $15 }' "/proc/$child/stat" 2>/dev/null || true
        done
    } | awk '{ s += $1 } END { printf "%.2f", s / 100 }'
}

common=(--devices "$devices" --batches-per-device "$batches" --fixes-per-batch "$fixes"
    --concurrency "$concurrency" --json)
sqlite=$("$bin/tracelet-load" --spawn-replicas 1 "${common[@]}")
before=$(pg_cpu)
postgres=$("$bin/tracelet-load" --spawn-replicas "$replicas" --database-url "$url" "${common[@]}")
sleep 1 # let the postmaster reap the replicas' backends
after=$(pg_cpu)

python3 - "$sqlite" "$postgres" "$before" "$after" <<'PY'
import json, sys
sqlite, postgres = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pg_cpu = float(sys.argv[4]) - float(sys.argv[3])
postgres["database_cpu_s"] = pg_cpu
postgres["database_cpu_us_per_fix"] = pg_cpu * 1e6 / postgres["sent"]
rows = [
    ("collectors", "replicas", "{}"),
    ("fixes sent", "sent", "{}"),
    ("fixes stored (counted in the database)", "stored", "{}"),
    ("lost", "lost", "{}"),
    ("duplicates", "duplicates", "{}"),
    ("fixes/s", "fixes_per_s", "{:,.0f}"),
    ("p50 per batch, ms", "p50_ms", "{:.1f}"),
    ("p99 per batch, ms", "p99_ms", "{:.1f}"),
    ("collector CPU, µs per fix", "collector_cpu_us_per_fix", "{:.1f}"),
    ("database CPU, µs per fix", "database_cpu_us_per_fix", "{:.1f}"),
]
print(f"{sqlite['devices']} devices x {sqlite['batches'] // sqlite['devices']} batches x "
      f"{sqlite['sent'] // sqlite['batches']} fixes, {sqlite['concurrency']} batches in flight")
print(f"| | SQLite | PostgreSQL |")
print(f"|---|---:|---:|")
for label, key, fmt in rows:
    cells = [fmt.format(r[key]) if r.get(key) is not None else "n/a" for r in (sqlite, postgres)]
    print(f"| {label} | {cells[0]} | {cells[1]} |")
print(json.dumps({"sqlite": sqlite, "postgres": postgres}))
PY

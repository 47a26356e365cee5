#!/usr/bin/env bash
# Runs the peer and invariant benchmarks, then prints markdown: the machine,
# one table per workload, steadfast's commit/conflict counters, and the
# ratios measured with the contenders taking turns (benches/ratios.rs).
# Progress goes to stderr, the tables to stdout:
#   scripts/bench-table.sh > table.md
# Extra arguments go to criterion (e.g. --measurement-time 5).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
log="$target/bench-table.log"
mkdir -p "$target"

# Results left by an older version of the benchmarks would mix into the tables.
groups=(transfer-1t transfer-2t read-only-1t read-only-2t invariants)
for group in "${groups[@]}"; do
    rm -rf "${target:?}/criterion/$group"
done

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
cores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)
load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime | sed 's/.*average[s]*: //'; }
load_before=$(load)

cargo bench --bench stm_peers --bench invariants -- "$@" 2>&1 | tee "$log" >&2

echo "Machine: ${cpu:-unknown CPU}, $cores cores; $(rustc --version | cut -d' ' -f1-2);"
echo "load average (1, 5, 15 min) $load_before before, $(load) after."
echo
cargo run --release --quiet --example bench_table -- "${groups[@]/#/$target/criterion/}"
echo "### steadfast's counters over each benchmark (warm-up included)"
echo
echo "| benchmark | commits | conflicts | lock conflicts | serial runs |"
echo "|---|---:|---:|---:|---:|"
awk '/^steadfast-stats / { sub(":", "", $2); printf "| %s | %s | %s | %s | %s |\n", $2, $4, $6, $8, $10 }' "$log"
echo
echo "### Ratios measured in alternation"
echo
cargo bench --bench ratios 2>>"$log" | grep '^|'

#!/usr/bin/env bash
# Counts the instructions of steadfast's common operations with callgrind and
# prints them as a markdown table (the "Instruction counts" table of the
# book's performance page). Each operation runs N = 100,000 and N = 200,000
# times; the difference of the two totals divided by 100,000 leaves out
# start-up and shutdown, so the counts repeat exactly from run to run.
# Needs valgrind. Arguments, if any, choose the operations (see
# examples/op_counts.rs for their names).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "count-instructions: valgrind is needed" >&2; exit 1; }

ops=("$@")
if [ ${#ops[@]} -eq 0 ]; then
    ops=(transfer hand-transfer empty read-only-sum checked-write
         checked-write-of-100000 box-read cache-hit field-read)
fi

cargo build --release --quiet --example op_counts
bin=target/release/examples/op_counts

total() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
        awk '/Collected/ { print $4 }'
}

echo "| operation | instructions |"
echo "|---|---:|"
for op in "${ops[@]}"; do
    small=$(total "$op" 100000)
    large=$(total "$op" 200000)
    [ -n "$small" ] && [ -n "$large" ] || { echo "count-instructions: $op did not run" >&2; exit 1; }
    awk -v op="$op" -v a="$small" -v b="$large" 'BEGIN { printf "| %s | %.1f |\n", op, (b - a) / 100000 }'
done

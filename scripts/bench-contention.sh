#!/usr/bin/env bash
# Issue #25's contention gate: end-to-end time with 2 threads against 1 thread while a busy loop
# holds one core (pinned with taskset), alternating A/B runs. Use a release build on an otherwise
# quiet 2-core machine (or pass the cores to use: the busy loop goes on the last one):
#   swift build -c release --product gpt-sovits
#   scripts/bench-contention.sh [ROUNDS] [extra bench arguments, e.g. --tokens 100]
# Default workload: full-size random v2 weights, the 100-character bench text, cut0, 250 tokens.
# Prints each run and the median end-to-end wall time per thread count (the gate: 2 threads ≤ 1).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
shift || true
bin=.build/release/gpt-sovits
[ -x "$bin" ] || { echo "error: $bin not found (swift build -c release --product gpt-sovits)"; exit 1; }
command -v taskset >/dev/null || { echo "error: taskset (util-linux) is needed"; exit 1; }
last=$(($(nproc) - 1))
taskset -c "$last" sh -c 'while :; do :; done' &
busy=$!
trap 'kill $busy 2>/dev/null' EXIT
echo "busy loop pid $busy on CPU $last; load average $(cut -d' ' -f1-3 /proc/loadavg)"
results=()
for ((r = 1; r <= rounds; r++)); do
    for threads in 1 2; do
        wall=$(GSV_THREADS=$threads "$bin" bench --random-weights v2 --text-split-method cut0 --tokens 250 \
            --runs 1 --gpt-batch 1 "$@" --json 2>/dev/null |
            python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["median_wall_s"])')
        echo "round $r, $threads thread(s): end to end $wall s (load average $(cut -d' ' -f1 /proc/loadavg))"
        results+=("$threads $wall")
    done
done
printf '%s\n' "${results[@]}" | python3 -c '
import sys, statistics
runs = {}
for line in sys.stdin:
    t, w = line.split()
    runs.setdefault(int(t), []).append(float(w))
one, two = statistics.median(runs[1]), statistics.median(runs[2])
print(f"median end to end: 1 thread {one:.2f} s, 2 threads {two:.2f} s (2/1 = {two / one:.2f}; gate: <= 1)")'

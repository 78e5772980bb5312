#!/usr/bin/env bash
# Microbenchmark of the C kernels at every kernel level this CPU has (Tests/CKernels/kernel_bench.c):
# fp16 GPT products (batch 1, 4, 12), decode attention, direct convolutions and Winograd transforms,
# one thread, best of N runs (argument; default 7). Compare levels within one run.
#   scripts/bench-kernels-c.sh pool [ROUNDS] [STEPS]: the thread pool instead — wall time of
#   decode-like steps with 1 and 2 threads, alternating; e.g. beside a busy loop on one core:
#   taskset -c 1 sh -c 'while :; do :; done' & scripts/bench-kernels-c.sh pool; kill $!
set -euo pipefail
cd "$(dirname "$0")/.."
out="${TMPDIR:-/tmp}/gsv-kernel-bench.$$"
trap 'rm -f "$out"' EXIT
cc=clang
command -v clang >/dev/null 2>&1 || cc=cc
"$cc" -O2 -std=gnu11 -Wno-psabi -ISources/GSVKernels/include -o "$out" Tests/CKernels/kernel_bench.c \
    Sources/GSVKernels/*.c -lm -lpthread
"$out" "${@:-7}"

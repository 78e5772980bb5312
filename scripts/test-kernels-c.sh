#!/usr/bin/env bash
# Tests the GSVKernels C kernels at every kernel level (Tests/CKernels/kernel_tests.c):
#   1. natively, with the compiler SwiftPM uses (clang) or cc: every x86-64 level this CPU has
#      (levels it lacks are reported as skipped);
#   2. cross-compiled for AArch64 (clang, or Debian's gcc-aarch64-linux-gnu, with that toolchain's
#      libraries) and run under qemu-user: the NEON and portable levels, against the same references.
# Step 2 runs when the cross compiler and qemu are installed (scripts/install-deps.sh installs them
# on x86-64 Linux); otherwise it says it was skipped. GSV_KERNEL_TESTS_REQUIRE_AARCH64=1 makes a
# missing toolchain an error (CI). Takes a few seconds natively and well under a minute under qemu.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${TMPDIR:-/tmp}/gsv-kernel-tests.$$"
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT

sources=()
for f in Sources/GSVKernels/*.c; do
    [ "$(basename "$f")" = pool.c ] || sources+=("$f")   # pool.c is compiled into the test (test hook)
done
flags=(-O2 -std=gnu11 -Wall -Wextra -Werror -Wno-psabi -ISources/GSVKernels/include -ISources/GSVKernels)

cc=""
for c in clang cc gcc; do command -v "$c" >/dev/null 2>&1 && { cc="$c"; break; }; done
[ -n "$cc" ] || { echo "error: no C compiler"; exit 1; }
echo "== native ($cc, $(uname -m))"
"$cc" "${flags[@]}" -o "$out/native" Tests/CKernels/kernel_tests.c "${sources[@]}" -lm -lpthread
"$out/native"

case "$(uname -m)" in aarch64 | arm64) exit 0 ;; esac   # the native run was the AArch64 one
# The cross compiler: clang (what SwiftPM builds the kernels with) targeting AArch64 with the
# Debian cross toolchain's libraries, else that toolchain's gcc.
cross=()
if command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
    cross=(aarch64-linux-gnu-gcc)
    if [ "$cc" = clang ] && echo 'int main(void){return 0;}' | clang --target=aarch64-linux-gnu -static -x c - -o "$out/probe" 2>/dev/null; then
        cross=(clang --target=aarch64-linux-gnu)
    fi
fi
qemu=""
for q in qemu-aarch64-static qemu-aarch64; do command -v "$q" >/dev/null 2>&1 && { qemu="$q"; break; }; done
if [ ${#cross[@]} -eq 0 ] || [ -z "$qemu" ]; then
    msg="AArch64 kernel tests SKIPPED: need aarch64-linux-gnu-gcc and qemu-aarch64 (scripts/install-deps.sh installs them)"
    if [ "${GSV_KERNEL_TESTS_REQUIRE_AARCH64:-0}" = 1 ]; then echo "error: $msg"; exit 1; fi
    echo "$msg"
    exit 0
fi
echo "== aarch64 (${cross[*]}, $qemu -cpu max)"
"${cross[@]}" "${flags[@]}" -static -o "$out/aarch64" Tests/CKernels/kernel_tests.c "${sources[@]}" -lm -lpthread
"$qemu" -cpu max "$out/aarch64" --quick

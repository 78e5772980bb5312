#!/usr/bin/env bash
# Installs system dependencies, then runs the C kernels' tests (natively and for AArch64 under
# qemu) and the whole test suite (Swift Testing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# On Linux, install-deps.sh provides the AArch64 toolchain, so its absence is an error there.
if [ "$(uname)" = Linux ]; then export GSV_KERNEL_TESTS_REQUIRE_AARCH64="${GSV_KERNEL_TESTS_REQUIRE_AARCH64:-1}"; fi
bash scripts/test-kernels-c.sh
swift build --build-tests
swift test --skip-build

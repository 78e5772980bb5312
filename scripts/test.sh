#!/usr/bin/env bash
# Installs system dependencies, then runs the C kernels' tests (natively and for AArch64 under
# qemu) and the whole test suite (Swift Testing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# On Linux, install-deps.sh provides the AArch64 toolchain, so its absence is an error there.
if [ "$(uname)" = Linux ]; then export GSV_KERNEL_TESTS_REQUIRE_AARCH64="${GSV_KERNEL_TESTS_REQUIRE_AARCH64:-1}"; fi
bash scripts/test-kernels-c.sh
# The OpenAI route's real-client test drives the server with the `openai` Python package, which
# install-deps.sh installs; on Linux its absence is an error here rather than a skipped test
# (GSV_REQUIRE_OPENAI_CLIENT=0 allows the skip, e.g. on a machine without PyPI).
if [ "$(uname)" = Linux ] && [ "${GSV_REQUIRE_OPENAI_CLIENT:-1}" = 1 ] && ! python3 -c "import openai" >/dev/null 2>&1; then
    echo "error: python3 cannot import the openai package (scripts/install-deps.sh installs it); the OpenAI client test would be skipped"
    exit 1
fi
swift build --build-tests
swift test --skip-build

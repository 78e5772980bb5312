#!/usr/bin/env bash
# Installs system dependencies, then runs the whole test suite (Swift Testing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --build-tests
swift test --skip-build

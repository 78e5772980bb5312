#!/usr/bin/env bash
# Installs system dependencies and builds the release binary at .build/release/gpt-sovits.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product gpt-sovits
echo "built $(pwd)/.build/release/gpt-sovits"

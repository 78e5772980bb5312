#!/usr/bin/env bash
# Installs the system packages swift-gpt-sovits needs on Debian/Ubuntu, only when missing:
#   libopenblas-dev + pkg-config (BLAS), ffmpeg (non-WAV audio/video input and output),
#   python3 (tests only: a local HTTP server for the downloader tests) with the openai package
#   (tests only: the OpenAI route's real-client test), on x86-64 the AArch64
#   cross compiler and qemu-user (tests only: the C kernels' NEON level, scripts/test-kernels-c.sh),
#   chromium + chromium-driver + fonts-wqy-microhei (tests only: the studio's pages in a headless
#   browser, and Chinese glyphs in its screenshots), espeak-ng and the pocketsphinx Python package
#   (tests only: a real speech recogniser for `prepare transcribe`).
# Swift itself (6.x) must already be installed.
set -euo pipefail
need=()
dpkg -s libopenblas-dev >/dev/null 2>&1 || need+=(libopenblas-dev)
dpkg -s pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v python3 >/dev/null 2>&1 || need+=(python3)   # the downloader tests run a local HTTP server
# The C kernels' AArch64 (NEON) tests under qemu-user (scripts/test-kernels-c.sh), from x86-64 hosts.
if [ "$(uname)" = "Linux" ] && [ "$(uname -m)" = x86_64 ]; then
    command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need+=(gcc-aarch64-linux-gnu)
    dpkg -s libc6-dev-arm64-cross >/dev/null 2>&1 || need+=(libc6-dev-arm64-cross)
    command -v qemu-aarch64-static >/dev/null 2>&1 || command -v qemu-aarch64 >/dev/null 2>&1 || need+=(qemu-user-static)
fi
command -v chromium >/dev/null 2>&1 || need+=(chromium)   # the studio's browser tests (WebDriver)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || need+=(fonts-wqy-microhei)   # Chinese text in the studio's test screenshots
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)   # prepare: speech for the recogniser tests
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
if [ "$(uname)" = "Linux" ] && [ ${#need[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "installing: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
# Tests only: the OpenAI route is driven by the official `openai` Python package.
if command -v python3 >/dev/null 2>&1 && ! python3 -c "import openai" >/dev/null 2>&1; then
    echo "installing the openai Python package (tests)"
    python3 -m pip install --quiet openai 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages openai \
        || echo "warning: could not install the openai Python package; its client test will be skipped"
fi
# Tests only: a real speech recogniser for `prepare transcribe` (English model included).
if command -v python3 >/dev/null 2>&1 && ! python3 -c "import pocketsphinx" >/dev/null 2>&1; then
    echo "installing the pocketsphinx Python package (tests)"
    python3 -m pip install --quiet pocketsphinx 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages pocketsphinx \
        || echo "warning: could not install pocketsphinx; the recogniser tests will be skipped"
fi
command -v swift >/dev/null 2>&1 || { echo "error: swift is not on PATH (install Swift 6.x first)"; exit 1; }

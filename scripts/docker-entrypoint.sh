#!/bin/sh
# Container entry point: makes sure the models volume holds the official v2 set (downloading it on
# the first start unless GSV_SKIP_DOWNLOAD=1), then runs `gpt-sovits "$@"`.
set -eu
if [ "${1:-}" = "serve" ] && [ ! -f "${GSV_CACHE_DIR:-/models}/gsv-v2final-pretrained/s2G2333k.pth" ]; then
    if [ "${GSV_SKIP_DOWNLOAD:-0}" = "1" ]; then
        echo "error: no models in ${GSV_CACHE_DIR:-/models} (mount a volume holding them, or unset GSV_SKIP_DOWNLOAD)" >&2
        exit 1
    fi
    gpt-sovits models download v2
fi
exec gpt-sovits "$@"

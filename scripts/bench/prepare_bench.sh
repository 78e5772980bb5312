#!/usr/bin/env bash
# Benchmark of `gpt-sovits prepare all` on about 10 minutes of speech with full-size random models
# (--random-weights v2: CN-HuBERT base, RoBERTa large, the v2 SoVITS), printing the time of every step.
#
#   bash scripts/bench/prepare_bench.sh [MINUTES] [BINARY]
#
# The recording is made here with espeak-ng (Mandarin and English sentences, pauses of 0.2–1.5 s,
# a little noise), 32 kHz mono. The recogniser is a command that prints a fixed Chinese sentence:
# the `transcribe` time is our overhead only (a real recogniser's time is its own), while the
# format step runs BERT on every row. Needs espeak-ng, sox, ffmpeg, python3 with numpy.
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES="${1:-10}"
BIN="${2:-.build/release/gpt-sovits}"
[ -x "$BIN" ] || { echo "building $BIN"; swift build -c release --product gpt-sovits; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
python3 - "$WORK" "$MINUTES" <<'PY'
import os, subprocess, sys, numpy as np
work, minutes = sys.argv[1], float(sys.argv[2])
zh = ["今天天气很好，我们去公园散步吧。", "这本书我已经读了三遍了。", "请把窗户关上，外面风很大。", "明天早上八点我们在学校门口见面。",
      "他说这个问题需要再讨论一下。", "春眠不觉晓，处处闻啼鸟。"]
en = ["The quick brown fox jumps over the lazy dog.", "Please record in a quiet room.", "Every slice holds one sentence."]
rng = np.random.default_rng(7)
cache, parts, total = {}, [], 0
while total < minutes * 60 * 32000:
    text, voice = (zh[rng.integers(len(zh))], "cmn") if rng.random() < 0.7 else (en[rng.integers(len(en))], "en-us")
    key = (text, voice)
    if key not in cache:
        raw, res = os.path.join(work, "a.wav"), os.path.join(work, "b.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", "170", "-w", raw, text], check=True)
        subprocess.run(["sox", raw, "-r", "32000", "-b", "16", res], check=True)
        cache[key] = np.frombuffer(open(res, "rb").read()[44:], dtype="<i2").astype(np.float32) / 32768
    speech = cache[key]
    pause = np.zeros(int(32000 * rng.uniform(0.2, 1.5)), np.float32)
    parts += [speech, pause]
    total += len(speech) + len(pause)
x = np.concatenate(parts)
x += 0.0005 * rng.standard_normal(len(x)).astype(np.float32)
pcm = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")
from scipy.io import wavfile
wavfile.write(os.path.join(work, "bench.wav"), 32000, pcm)
print(f"recording: {len(pcm) / 32000 / 60:.1f} min")
PY
uptime
"$BIN" prepare all "$WORK/bench.wav" --name bench --root "$WORK/prepare" --language zh \
    --asr-command 'printf %s 今天天气很好，我们去散步吧。 # {wav}' --random-weights v2
uptime

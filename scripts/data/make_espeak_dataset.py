"""Writes a training folder in the official layout from espeak-ng speech, for the training
benchmark and smoke runs: 5-wav32k/<name> (espeak-ng → 32 kHz 16-bit), 2-name2text.txt (phones from
`gpt-sovits g2p`), 4-cnhubert/<name>.pt (N(0,1) stand-ins for HuBERT features, one per spectrogram
frame: costs do not depend on the values), 6-name2semantic.tsv (random tokens, 25 Hz). English only,
so no 3-bert/ (the GPT loader uses zeros, as official).

Usage: python3 make_espeak_dataset.py OUT_DIR [--seconds 60] [--voice en-us] [--cli .build/release/gpt-sovits]
"""
import argparse
import json
import os
import subprocess
import tempfile
import wave

import numpy as np
import torch

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.", "She sells sea shells by the sea shore.",
    "A journey of a thousand miles begins with a single step.", "All that glitters is not gold.",
    "Better late than never, but never late is better.", "The early bird catches the worm.",
    "Actions speak louder than words, so let us begin today.", "Knowledge is power, and practice makes it real.",
    "When the going gets tough, the tough get going.", "Time and tide wait for no one at all.",
    "Every cloud has a silver lining somewhere above.", "Where there is a will, there is always a way.",
    "The pen is mightier than the sword in many stories.", "Fortune favours the bold and the patient alike.",
    "Rome was not built in a single day, nor was this voice.", "Practice every morning and the words will flow.",
    "A picture is worth a thousand words, they often say.", "Two heads are better than one in most cases.",
    "Laughter is the best medicine for a long week.", "Curiosity is the engine of every discovery we make.",
]

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--seconds", type=float, default=60)
ap.add_argument("--voice", default="en-us")
ap.add_argument("--cli", default=".build/release/gpt-sovits")
a = ap.parse_args()
for d in ["4-cnhubert", "5-wav32k"]:
    os.makedirs(os.path.join(a.out, d), exist_ok=True)
rng = np.random.default_rng(1)
total, i = 0.0, 0
text_lines, sem_lines = [], ["item_name\tsemantic_audio"]
with tempfile.TemporaryDirectory() as tmp:
    while total < a.seconds:
        text = SENTENCES[i % len(SENTENCES)]
        name = f"clip{i:03d}.wav"
        raw = os.path.join(tmp, "raw.wav")
        subprocess.run(["espeak-ng", "-v", a.voice, "-s", str(150 + 10 * (i % 4)), "-w", raw, text], check=True)
        path = os.path.join(a.out, "5-wav32k", name)
        subprocess.run(["sox", "-D", raw, "-r", "32000", "-b", "16", "-c", "1", path], check=True)
        with wave.open(path) as w:
            n = w.getnframes()
        frames = n // 640
        phones = json.loads(subprocess.run([a.cli, "g2p", "--lang", "en", "--json", text], check=True,
                                           capture_output=True, text=True).stdout)["result"]["phones"]
        torch.save(torch.from_numpy(rng.standard_normal((1, 768, frames)).astype("float32")),
                   os.path.join(a.out, "4-cnhubert", name + ".pt"))
        tokens = rng.integers(0, 1024, size=(frames + 1) // 2)
        text_lines.append(f"{name}\t{' '.join(phones)}\tNone\t{text}")
        sem_lines.append(f"{name}\t{' '.join(map(str, tokens))}")
        total += n / 32000
        i += 1
open(os.path.join(a.out, "2-name2text.txt"), "w").write("\n".join(text_lines) + "\n")
open(os.path.join(a.out, "6-name2semantic.tsv"), "w").write("\n".join(sem_lines) + "\n")
print(json.dumps({"clips": i, "seconds": round(total, 2)}))

"""Writes a tiny training folder in the official layout (what prepare_datasets/1-get-text.py,
2-get-hubert-wav32k.py and 3-get-semantic.py write) from the SoVITS training fixture batch:
2-name2text.txt, 3-bert/<name>.pt, 4-cnhubert/<name>.pt, 5-wav32k/<name>, 6-name2semantic.tsv.

Audio, SSL features and phones are the fixture's own (espeak-ng clips, N(0,1) "HuBERT" features);
semantic tokens are the fixture's quantizer codes of those features; BERT features of the Chinese
item are N(0,1). Usage: python3 make_train_dataset.py FIXTURE_TRAIN_DIR OUT_DIR
"""
import json
import os
import sys
import wave

import numpy as np
import torch
from safetensors.numpy import load_file

src, out = sys.argv[1], sys.argv[2]
batch = load_file(os.path.join(src, "s2/s2_batch.safetensors"))
fwd = load_file(os.path.join(src, "s2/s2_forward.safetensors"))
info = json.load(open(os.path.join(src, "s2/s2_batch.json")))
order = info["batch_order"]                      # batch row i holds utterance order[i]
utts = {u["name"]: u for u in info["utterances"]}
for d in ["3-bert", "4-cnhubert", "5-wav32k"]:
    os.makedirs(os.path.join(out, d), exist_ok=True)
rng = np.random.default_rng(7)
text_lines, sem_lines = [], ["item_name\tsemantic_audio"]
for i, name in enumerate(order):
    u = utts[name]
    n = u["samples"]
    wav = batch["wav"][i, 0, :n]
    pcm = np.clip(np.round(wav * 32768), -32768, 32767).astype("<i2")
    with wave.open(os.path.join(out, "5-wav32k", name), "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(32000); w.writeframes(pcm.tobytes())
    ssl = torch.from_numpy(batch["ssl"][i:i + 1, :, :u["ssl_frames"]].copy())
    torch.save(ssl, os.path.join(out, "4-cnhubert", name + ".pt"))
    phones = u["phones"]
    if u["lang"] == "zh":
        torch.save(torch.from_numpy(rng.standard_normal((1024, len(phones))).astype("float32")),
                   os.path.join(out, "3-bert", name + ".pt"))
    text_lines.append(f"{name}\t{' '.join(phones)}\tNone\t{u['text']}")
    t = (u["ssl_frames"] + 1) // 2
    sem_lines.append(f"{name}\t{' '.join(str(int(c)) for c in fwd['codes'][0, i, :t])}")
open(os.path.join(out, "2-name2text.txt"), "w").write("\n".join(text_lines) + "\n")
open(os.path.join(out, "6-name2semantic.tsv"), "w").write("\n".join(sem_lines) + "\n")

#!/usr/bin/env python3
"""Exports the weights of Silero VAD's default model (the 16 kHz network of `silero_vad.jit`, what
`silero_vad.load_silero_vad()` returns) to `Sources/GSVModels/Resources/vad/silero_vad.safetensors`.

Needs torch and `pip install --no-deps silero-vad==6.2.3` (MIT). Tensor names follow the package's own
`silero_vad_16k.safetensors` / `tinygrad_model.py` (stft_conv, conv1…conv4, lstm_cell, final_conv). That
file is not used because it holds different weights from the package's default model: its
probabilities differ from `load_silero_vad()`'s by up to 0.65 on our test recording, while these weights,
run the way `tinygrad_model.py` describes, match it within 1e-6 (checked by
Tests/Fixtures/prepare/make_vad_fixture.py).

    python3 scripts/data/export_silero_vad.py
"""
import os

import silero_vad
import torch
from safetensors.torch import save_file
from silero_vad import load_silero_vad

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Sources", "GSVModels", "Resources", "vad",
                   "silero_vad.safetensors")


def weights():
    m = load_silero_vad()._model  # the 16 kHz network
    w = {"stft_conv.weight": m.stft.forward_basis_buffer}
    for i in range(4):
        conv = getattr(m.encoder, str(i)).reparam_conv
        w[f"conv{i + 1}.weight"] = conv.weight
        w[f"conv{i + 1}.bias"] = conv.bias
    for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        w[f"lstm_cell.{k}"] = getattr(m.decoder.rnn, k)
    final = dict(m.decoder.decoder.named_parameters())
    w["final_conv.weight"] = final["2.weight"]
    w["final_conv.bias"] = final["2.bias"]
    return {k: v.detach().float().contiguous().clone() for k, v in w.items()}


if __name__ == "__main__":
    save_file(weights(), OUT, metadata={"source": f"silero-vad {silero_vad.__version__} silero_vad.jit (16 kHz model)",
                                         "license": "MIT, Copyright (c) 2020-present Silero Team"})
    print(os.path.normpath(OUT), os.path.getsize(OUT), "bytes")

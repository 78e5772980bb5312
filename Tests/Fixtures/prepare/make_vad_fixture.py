#!/usr/bin/env python3
"""Makes `vad.json`: Silero VAD's speech probabilities and speech timestamps on `recording.flac`.

Uses the `silero-vad` package from PyPI (MIT; `pip install --no-deps silero-vad==6.2.3` next to torch —
its extras pull torchaudio, which is not needed here): the official TorchScript model
(`load_silero_vad()`, `silero_vad.jit`) and its `get_speech_timestamps` with default settings on the
32 kHz recording (the function keeps every second sample for a 32 kHz input), plus the per-window
probabilities as `get_speech_timestamps` computes them (state reset, then one 512-sample window of the
16 kHz signal per call, the last one zero-padded).

It also checks that the weights we bundle (`Sources/GSVModels/Resources/vad/silero_vad.safetensors`,
exported from that TorchScript model by `scripts/data/export_silero_vad.py`), run as the package's plain
reference implementation describes the network (`tinygrad_model.py`: STFT conv, four convs, an LSTM
cell, the decoder, 64 samples of context), give the same probabilities as the TorchScript model, and
records the largest difference.

    python3 make_vad_fixture.py
"""
import hashlib
import json
import os

import numpy as np
import soundfile
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

import silero_vad
from silero_vad import get_speech_timestamps, load_silero_vad

HERE = os.path.dirname(os.path.abspath(__file__))


def reference_probs(w, audio16k):
    """The safetensors network, following silero_vad/tinygrad_model.py (written with torch ops)."""
    x = torch.from_numpy(audio16k).float()[None]
    n = x.shape[1]
    if n % 512:
        x = F.pad(x, (0, 512 - n % 512))
    x = F.pad(x, (64, 0))
    h = torch.zeros(1, 128)
    c = torch.zeros(1, 128)
    out = []
    for i in range(64, x.shape[1], 512):
        chunk = x[:, i - 64:i + 512]
        y = F.pad(chunk, (0, 64), mode="reflect").unsqueeze(1)
        y = F.conv1d(y, w["stft_conv.weight"], stride=128)
        y = torch.sqrt(y[:, :129] ** 2 + y[:, 129:] ** 2)
        y = F.relu(F.conv1d(y, w["conv1.weight"], w["conv1.bias"], padding=1))
        y = F.relu(F.conv1d(y, w["conv2.weight"], w["conv2.bias"], stride=2, padding=1))
        y = F.relu(F.conv1d(y, w["conv3.weight"], w["conv3.bias"], stride=2, padding=1))
        y = F.relu(F.conv1d(y, w["conv4.weight"], w["conv4.bias"], padding=1)).squeeze(-1)
        gates = y @ w["lstm_cell.weight_ih"].T + w["lstm_cell.bias_ih"] + h @ w["lstm_cell.weight_hh"].T + w["lstm_cell.bias_hh"]
        ig, fg, gg, og = gates.chunk(4, 1)
        c = torch.sigmoid(fg) * c + torch.sigmoid(ig) * torch.tanh(gg)
        h = torch.sigmoid(og) * torch.tanh(c)
        z = F.conv1d(F.relu(h.unsqueeze(-1)), w["final_conv.weight"], w["final_conv.bias"])
        out.append(torch.sigmoid(z).squeeze(1).mean(dim=1).item())
    return out


def main():
    torch.set_num_threads(1)
    data, sr = soundfile.read(os.path.join(HERE, "recording.flac"), dtype="int16")
    assert sr == 32000 and data.ndim == 1
    audio = torch.from_numpy(data.astype(np.float32) / 32768)
    model = load_silero_vad()
    stamps = get_speech_timestamps(audio, model, sampling_rate=32000)
    # The probabilities get_speech_timestamps computed (same loop, same model state handling).
    a16 = audio[::2]
    model.reset_states()
    probs = []
    for s in range(0, len(a16), 512):
        chunk = a16[s:s + 512]
        if len(chunk) < 512:
            chunk = F.pad(chunk, (0, 512 - len(chunk)))
        probs.append(model(chunk, 16000).item())
    weights_path = os.path.join(HERE, "..", "..", "..", "Sources", "GSVModels", "Resources", "vad", "silero_vad.safetensors")
    ref = reference_probs(load_file(weights_path), a16.numpy())
    diff = max(abs(a - b) for a, b in zip(probs, ref))
    assert len(ref) == len(probs) and diff < 1e-5, diff
    # A second setting: a higher threshold with longer minimum silence, from the same probabilities.
    stamps_strict = get_speech_timestamps(audio, model, sampling_rate=32000, threshold=0.7, min_silence_duration_ms=300,
                                          speech_pad_ms=100, min_speech_duration_ms=500)
    out = {
        "input": "recording.flac",
        "input_sample_rate": 32000,
        "silero_vad_version": silero_vad.__version__,
        "torch": torch.__version__,
        "weights_sha256": hashlib.sha256(open(weights_path, "rb").read()).hexdigest(),
        "window_samples_16k": 512,
        "speech_probs": probs,
        "reference_impl_max_abs_diff": diff,
        "timestamps_default": stamps,
        "timestamps_strict": {"settings": {"threshold": 0.7, "min_silence_duration_ms": 300, "speech_pad_ms": 100,
                                           "min_speech_duration_ms": 500}, "timestamps": stamps_strict},
    }
    with open(os.path.join(HERE, "vad.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(len(probs), "windows; reference max diff", diff)
    print("default", stamps)
    print("strict", stamps_strict)


if __name__ == "__main__":
    main()

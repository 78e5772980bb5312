#!/usr/bin/env python3
"""Generates cases.json: Kaldi fbank features of short deterministic signals under non-default
options, computed by the official implementation's `GPT_SoVITS/eres2net/kaldi.py` (a copy of
torchaudio.compliance.kaldi), for KaldiFbankTests. Our own script; the official file is imported
from a checkout of RVC-Boss/GPT-SoVITS, not copied.

Usage: python3 make_cases.py /path/to/GPT-SoVITS > cases.json
  (e.g. git -C /work/.mirror/RVC-Boss+GPT-SoVITS/repo archive HEAD GPT_SoVITS | tar -x -C /tmp/gsv)
"""
import base64
import json
import math
import sys

import torch

sys.path.insert(0, sys.argv[1] + "/GPT_SoVITS/eres2net")
import kaldi  # noqa: E402

torch.set_num_threads(1)


def signal(n, sr, seed):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n, dtype=torch.float64) / sr
    x = 0.3 * torch.sin(2 * math.pi * 440 * t) + 0.2 * torch.sin(2 * math.pi * 1375.5 * t + 0.3)
    x = x + 0.05 * torch.randn(n, generator=g, dtype=torch.float64)
    return x.to(torch.float32)


CASES = [
    ("defaults_80", dict(num_mel_bins=80, sample_frequency=16000, dither=0.0), 2400, 16000),
    ("hamming_no_snip", dict(num_mel_bins=23, window_type="hamming", snip_edges=False), 3000, 16000),
    ("energy_raw", dict(num_mel_bins=30, use_energy=True), 2500, 16000),
    ("energy_windowed_htk", dict(num_mel_bins=30, use_energy=True, raw_energy=False, htk_compat=True, energy_floor=0.0), 2500, 16000),
    ("magnitude_linear", dict(num_mel_bins=40, use_power=False, use_log_fbank=False), 2400, 16000),
    ("blackman_8k_no_preemph_no_dc", dict(num_mel_bins=24, sample_frequency=8000, window_type="blackman",
                                          preemphasis_coefficient=0.0, remove_dc_offset=False, low_freq=64, high_freq=-200), 1600, 8000),
    ("rect_no_pow2_subtract_mean", dict(num_mel_bins=20, window_type="rectangular", round_to_power_of_two=False,
                                        frame_length=20.0, frame_shift=7.5, subtract_mean=True, high_freq=7000), 2000, 16000),
    ("hanning_22k", dict(num_mel_bins=64, sample_frequency=22050, window_type="hanning", frame_length=30.0), 5000, 22050),
]

out = []
for i, (name, opts, n, sr) in enumerate(CASES):
    x = signal(n, sr, 1000 + i)
    y = kaldi.fbank(x[None], **opts)
    # float32 little-endian, base64 (compact and exact).
    out.append({"name": name, "options": opts, "sample_rate": sr,
                "signal_f32_base64": base64.b64encode(x.numpy().astype("<f4").tobytes()).decode(),
                "shape": list(y.shape),
                "features_f32_base64": base64.b64encode(y.contiguous().numpy().astype("<f4").tobytes()).decode()})
json.dump({"generator": "make_cases.py", "torch": torch.__version__, "cases": out}, sys.stdout, indent=1)

#!/usr/bin/env python3
"""How far the official v2Pro/v2ProPlus pipeline's own audio moves when its speaker-verification
branch is computed exactly: the spread ProEndToEndTests gates our end-to-end SNR by.

Why: the fixture's random ERes2NetV2 amplifies rounding enormously (its README §5: a 1-thread rerun
moves the embedding by 2e-3 of its maximum from bit-identical input). From the waveform the Kaldi
filter bank adds float32 FFT rounding (~1e-5 of the maximum), which the random network turns into
percent-level changes of the 20480-d embedding, so no float32 implementation can reproduce the
official audio to 40 dB; the official code cannot either against an exact computation of its own
branch. This script measures that: for every end-to-end case of the set it runs the official SV
branch (`kaldi.fbank` + `ERes2NetV2.forward3`) on the official 16 kHz speaker inputs once in float32
(as TTS.run does) and once in float64, then every recorded `SynthesizerTrn.decode` call of the case
(its codes, phones, speed, the default noise scale and the recorded noise injected) with each set
of embeddings, and records the SNR of the float32 audio against the float64-branch audio over all
decode calls of the case. It also records how close both sets of embeddings are to the stored ones
(`sv_embeddings`: the official float64 branch's distance is the spread our embedding is gated by).

Our own script (no official code is copied): it imports the official modules from a checkout of
RVC-Boss/GPT-SoVITS (needs torch and einops; the v3 DiT's x_transformers import is stubbed, it is
never used here). Usage:
  git -C /work/.mirror/RVC-Boss+GPT-SoVITS/repo archive HEAD GPT_SoVITS | tar -x -C /tmp/gsv
  python3 make_e2e_reruns.py /tmp/gsv ../../Fixtures/v2pro > reruns.json
"""
import io
import json
import math
import os
import sys
import types

import torch
from safetensors.torch import load_file

gsv, fixtures = sys.argv[1], sys.argv[2]
sys.path.insert(0, gsv)
sys.path.insert(0, gsv + "/GPT_SoVITS")
sys.path.insert(0, gsv + "/GPT_SoVITS/eres2net")


class _Stub(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (), {"__init__": lambda self, *a, **k: None})


for name in ["x_transformers", "x_transformers.x_transformers"]:
    sys.modules[name] = _Stub(name)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../GSVModelsTests/SpeakerModelReruns"))
from rerun_support import figures, fnv1a64, install_hparams_stub  # noqa: E402

install_hparams_stub()

from ERes2NetV2 import ERes2NetV2  # noqa: E402
import kaldi as Kaldi  # noqa: E402
from module.models import SynthesizerTrn  # noqa: E402

torch.set_num_threads(2)


def as_dict(x):
    return x if isinstance(x, dict) else dict(x.__dict__)


golden_path = fixtures + "/golden/reference.safetensors"
e2e_path = fixtures + "/e2e/e2e.safetensors"
sv_path = fixtures + "/models/sv/pretrained_eres2netv2w24s4ep4.ckpt"
golden = load_file(golden_path)
e2e = load_file(e2e_path)
meta = json.load(open(fixtures + "/e2e/e2e.json"))

sv_state = torch.load(sv_path, map_location="cpu", weights_only=False)
speaker = ERes2NetV2(baseWidth=24, scale=4, expansion=4)
speaker.load_state_dict(sv_state)
speaker.eval()


def sv_embedding(wav16k, dtype):
    m = speaker.to(dtype)
    with torch.no_grad():
        feat = Kaldi.fbank(wav16k.to(dtype)[None], num_mel_bins=80, sample_frequency=16000, dither=0)
        return m.forward3(feat[None]).float()


# Reference clips in the order TTS.run passes them (main, then auxiliary): the official spectrograms
# and 16 kHz speaker inputs of the fixture's own golden file.
refs = {"main": (golden["refer_spec"], golden["sv_input_16k"]),
        "aux": (golden["aux_refer_spec"], golden["aux_sv_input_16k"])}
embeddings = {k: {dt: sv_embedding(wav, dt) for dt in (torch.float32, torch.float64)} for k, (_, wav) in refs.items()}
print("speaker embeddings done", file=sys.stderr, flush=True)


def vits(version):
    raw = bytearray(open("%s/models/sovits_%s_tiny.pth" % (fixtures, version), "rb").read())
    raw[:2] = b"PK"
    ck = torch.load(io.BytesIO(bytes(raw)), map_location="cpu", weights_only=False)
    hps = as_dict(ck["config"])
    model, data, train = as_dict(hps["model"]), as_dict(hps["data"]), as_dict(hps["train"])
    model["version"] = version
    model["semantic_frame_rate"] = "25hz"
    net = SynthesizerTrn(data["filter_length"] // 2 + 1, train["segment_size"] // data["hop_length"],
                         n_speakers=data["n_speakers"], **model)
    net.load_state_dict({k: v.float() for k, v in ck["weight"].items()}, strict=False)
    return net.eval()


def snr_db(signal, noise):
    return 10 * math.log10(signal / noise) if noise > 0 else float("inf")


rows, sv_rows = [], []
for version, cases in meta["cases"].items():
    net = vits(version)
    for case in cases:
        name = "%s/%s" % (version, case["name"])
        keys = ["main"] + ["aux"] * len(case["inputs"].get("aux_ref_audio_paths", []))
        specs = [refs[k][0][None] for k in keys]
        for i, key in enumerate(keys[:2]):
            stored = e2e["%s/sv%d" % (name, i)][None]
            sv_rows.append({"case": name, "reference": i, "float32_vs_stored": figures(embeddings[key][torch.float32], stored),
                            "float64_vs_stored": figures(embeddings[key][torch.float64], stored)})
        signal = noise = 0.0
        for k, call in enumerate(case["decode_calls"]):
            codes = e2e["%s/decode%d_codes" % (name, k)].long()[None, None]
            phones = e2e["%s/decode%d_phone_ids" % (name, k)].long()[None]
            recorded = e2e["%s/noise%d" % (name, k)][None]
            out = {}
            for dt in (torch.float32, torch.float64):
                sv = [embeddings[key][dt] for key in keys]
                real = torch.randn_like
                torch.randn_like = lambda t, *a, **kw: recorded.to(t.dtype).clone()
                try:
                    with torch.no_grad():
                        out[dt] = net.decode(codes, phones, specs, speed=call["speed"], sv_emb=sv)[0, 0].double()
                finally:
                    torch.randn_like = real
            signal += float((out[torch.float64] ** 2).sum())
            noise += float(((out[torch.float32] - out[torch.float64]) ** 2).sum())
        rows.append({"case": name, "decode_calls": len(case["decode_calls"]), "snr_db": snr_db(signal, noise)})
        print(name, rows[-1]["snr_db"], file=sys.stderr, flush=True)

json.dump({"generator": "make_e2e_reruns.py", "torch": torch.__version__,
           "applies_to": {"e2e/e2e.safetensors": fnv1a64(e2e_path), "golden/reference.safetensors": fnv1a64(golden_path),
                          "models/sv/pretrained_eres2netv2w24s4ep4.ckpt": fnv1a64(sv_path)},
           "what": "SNR (dB) of the official decode audio with float32 speaker embeddings (as TTS.run computes them) "
                   "against the same decode with the SV branch (kaldi.fbank + forward3) in float64",
           "sv_embeddings": sv_rows,
           "audio_snr_float32_vs_float64_sv": rows}, sys.stdout, indent=1)

"""Loads weight files written by `gpt-sovits train` with the official GPT-SoVITS loaders, run from
an official checkout (not part of this repository).

Usage: python3 verify_train_outputs.py OFFICIAL_CHECKOUT [--gpt FILE.ckpt] [--sovits FILE.pth]

GPT: `Text2SemanticLightningModule(config, "****", is_train=False)` then `load_state_dict(weight)`
(strict), as TTS.init_t2s_weights does. SoVITS: `process_ckpt.get_sovits_version_from_path_fast`
and `load_sovits_new`, then `SynthesizerTrn(**hps.model)` and `load_state_dict(weight, strict=False)`
with no missing key other than `enc_q.*`, as TTS.init_vits_weights does. Prints one JSON line.
"""
import argparse
import json
import os
import sys

ap = argparse.ArgumentParser()
ap.add_argument("checkout")
ap.add_argument("--gpt")
ap.add_argument("--sovits")
a = ap.parse_args()
root = os.path.join(a.checkout, "GPT_SoVITS")
sys.path.insert(0, root)
sys.path.insert(0, a.checkout)
os.chdir(a.checkout)
import types  # noqa: E402

import torch  # noqa: E402

# Modules the official files import for plotting / UI only: inert stand-ins.
sys.modules.setdefault("gradio", types.ModuleType("gradio"))

report = {}
if a.gpt:
    from AR.models.t2s_lightning_module import Text2SemanticLightningModule
    ck = torch.load(a.gpt, map_location="cpu", weights_only=False)
    m = Text2SemanticLightningModule(ck["config"], "****", is_train=False)
    r = m.load_state_dict(ck["weight"])
    report["gpt"] = {"info": ck["info"], "tensors": len(ck["weight"]), "dtype": str(next(iter(ck["weight"].values())).dtype),
                     "missing": list(r.missing_keys), "unexpected": list(r.unexpected_keys)}
if a.sovits:
    from process_ckpt import get_sovits_version_from_path_fast, load_sovits_new
    from module.models import SynthesizerTrn
    version = get_sovits_version_from_path_fast(a.sovits)
    d = load_sovits_new(a.sovits)
    hps = d["config"]
    hps.model.semantic_frame_rate = "25hz"
    model_version = version[1] if version[1] in ("v2Pro", "v2ProPlus") else version[0]
    hps.model.version = model_version
    net = SynthesizerTrn(hps.data.filter_length // 2 + 1, hps.train.segment_size // hps.data.hop_length,
                         n_speakers=hps.data.n_speakers, **hps.model)
    r = net.load_state_dict(d["weight"], strict=False)
    report["sovits"] = {"version": list(version), "header": open(a.sovits, "rb").read(2).decode("latin-1"),
                        "info": d["info"], "tensors": len(d["weight"]),
                        "missing_not_enc_q": [k for k in r.missing_keys if "enc_q" not in k],
                        "unexpected": list(r.unexpected_keys)}
print(json.dumps(report))

#!/usr/bin/env python3
"""Reruns of the official speaker-verification branch on the v2pro fixture set under other
settings, recorded as extra tolerances (same schema as the fixture's tolerances.json "relative"
section) for SpeakerModelParityTests and the Pro-head tests.

Why: the fixture's tolerances.json records one rerun (1 thread vs 2). The random ERes2NetV2
amplifies rounding so much that the official code itself, in float64 (exact to ~1e-12) or in
float32 on another torch version, lands 2-4x further from the stored golden than that rerun: a
gate of "twice the recorded spread" cannot be met by any implementation, the official one
included. These reruns measure how far the official code moves under those settings:
  * "official ERes2NetV2 in float64 (torch <v>)"
  * "official float32, torch <v>, 1 thread" / "... 2 threads"
  * "official float32 with BatchNorm folded into the convolutions (torch <v>)"
and the Pro head (`sv_emb`, `prelu`, `ge_to512`, mean over references) applied to each rerun's
embeddings with the fixture SoVITS files' weights and the golden `ref_enc` outputs.

Our own script (no official code is copied): it imports eres2net/ERes2NetV2.py from a checkout of
RVC-Boss/GPT-SoVITS.  Usage:
  git -C /work/.mirror/RVC-Boss+GPT-SoVITS/repo archive HEAD GPT_SoVITS | tar -x -C /tmp/gsv
  python3 make_reruns.py /tmp/gsv ../../Fixtures/v2pro > reruns.json
"""
import io
import json
import sys

import torch
from safetensors.torch import load_file

gsv, fixtures = sys.argv[1], sys.argv[2]
sys.path.insert(0, gsv + "/GPT_SoVITS/eres2net")
from ERes2NetV2 import ERes2NetV2  # noqa: E402
from torch.nn.utils.fusion import fuse_conv_bn_eval  # noqa: E402

import os  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rerun_support import figures, fnv1a64, install_hparams_stub  # noqa: E402

# The SoVITS files pickle their config as utils.HParams: a plain attribute bag is enough to read them.
install_hparams_stub()

golden_path = fixtures + "/golden/reference.safetensors"
golden = load_file(golden_path)
sv_path = fixtures + "/models/sv/pretrained_eres2netv2w24s4ep4.ckpt"
state = torch.load(sv_path, map_location="cpu", weights_only=False)


def model(dtype=torch.float32, fold=False):
    m = ERes2NetV2(baseWidth=24, scale=4, expansion=4)
    m.load_state_dict(state)
    m.eval()
    if fold:
        fold_bn(m)
    return m.to(dtype)


def fold_bn(mod):
    for c in mod.children():
        fold_bn(c)
    for a, b in [("conv1", "bn1"), ("conv3", "bn3")]:
        if isinstance(getattr(mod, b, None), torch.nn.BatchNorm2d):
            setattr(mod, a, fuse_conv_bn_eval(getattr(mod, a), getattr(mod, b)))
            setattr(mod, b, torch.nn.Identity())
    if hasattr(mod, "convs"):
        for i in range(len(mod.convs)):
            mod.convs[i] = fuse_conv_bn_eval(mod.convs[i], mod.bns[i])
            mod.bns[i] = torch.nn.Identity()
    if isinstance(mod, torch.nn.Sequential):
        for i in range(len(mod) - 1):
            if isinstance(mod[i], torch.nn.Conv2d) and isinstance(mod[i + 1], torch.nn.BatchNorm2d):
                mod[i] = fuse_conv_bn_eval(mod[i], mod[i + 1])
                mod[i + 1] = torch.nn.Identity()


def run(m, dtype):
    rec, out = {}, {}
    hooks = [getattr(m, n).register_forward_hook(lambda mod, i, o, n=n: rec.__setitem__(n, o.detach()))
             for n in ["bn1", "layer1", "layer2", "layer3", "layer4", "layer3_ds", "fuse34"]]
    for key, pre in [("sv_fbank", ""), ("aux_sv_fbank", "aux_")]:
        with torch.no_grad():
            out[pre + "sv_embedding"] = m.forward3(golden[key][None].to(dtype))[0].double()
        for n, t in rec.items():
            out["%ssv_stage_%s_tmean" % (pre, n)] = t[0].mean(-1).double()
        out[pre + "sv_stage_bn1_t0_8"] = rec["bn1"][0, :, :, :8].double()
        out[pre + "sv_stage_layer1_t0_8"] = rec["layer1"][0, :, :, :8].double()
    for h in hooks:
        h.remove()
    return out


def pro_head(out, dtype):
    """The SoVITS Pro head on a rerun's embeddings (weights from the fixture .pth files)."""
    for ver in ["v2Pro", "v2ProPlus"]:
        raw = bytearray(open("%s/models/sovits_%s_tiny.pth" % (fixtures, ver), "rb").read())
        raw[:2] = b"PK"
        ck = torch.load(io.BytesIO(bytes(raw)), map_location="cpu", weights_only=False)
        w = {k: v.to(dtype) for k, v in ck["weight"].items() if k.split(".")[0] in ("sv_emb", "prelu", "ge_to512")}

        def head(emb, ref_ge):
            proj = torch.nn.functional.linear(emb.to(dtype), w["sv_emb.weight"], w["sv_emb.bias"])
            s = ref_ge.to(dtype) + proj
            return proj, s, torch.nn.functional.prelu(s[None], w["prelu.weight"])[0]

        proj, s, p = head(out["sv_embedding"], golden[ver + "/ref_enc_ge"])
        out[ver + "/sv_emb_proj"], out[ver + "/ge_sum"], out[ver + "/ge_prelu"], out[ver + "/ge"] = proj, s, p, p
        out[ver + "/ge_to512"] = torch.nn.functional.linear(p, w["ge_to512.weight"], w["ge_to512.bias"])
        per = []
        for r, pre in enumerate(["", "aux_"]):
            proj, s, p = head(out[pre + "sv_embedding"], golden["%s/tworefs_ref_enc_ge_ref%d" % (ver, r)])
            out["%s/tworefs_sv_emb_proj_ref%d" % (ver, r)] = proj
            out["%s/tworefs_ge_sum_ref%d" % (ver, r)] = s
            out["%s/tworefs_ge_prelu_ref%d" % (ver, r)] = p
            per.append(p)
        ge = torch.stack(per).mean(0)
        out[ver + "/tworefs_ge"] = ge
        out[ver + "/tworefs_ge_to512"] = torch.nn.functional.linear(ge, w["ge_to512.weight"], w["ge_to512.bias"])
    return {k: v.double() for k, v in out.items()}


reruns = {}
v = torch.__version__
settings = [("official ERes2NetV2 in float64 (torch %s)" % v, torch.float64, False, 2),
            ("official float32, torch %s, 1 thread" % v, torch.float32, False, 1),
            ("official float32, torch %s, 2 threads" % v, torch.float32, False, 2),
            ("official float32 with BatchNorm folded into the convolutions (torch %s)" % v, torch.float32, True, 2)]
for name, dtype, fold, threads in settings:
    torch.set_num_threads(threads)
    out = pro_head(run(model(dtype, fold), dtype), dtype)
    rows = []
    for k in sorted(k for k in out if k in golden):
        f = figures(out[k], golden[k])
        rows.append({"file": "golden/reference.safetensors", "tensor": k, **f})
    reruns[name] = sorted(rows, key=lambda r: -r["rel_to_max"])

json.dump({"generator": "make_reruns.py", "torch": v,
           "applies_to": {"golden/reference.safetensors": fnv1a64(golden_path),
                          "models/sv/pretrained_eres2netv2w24s4ep4.ckpt": fnv1a64(sv_path)},
           "relative": reruns}, sys.stdout, indent=1)

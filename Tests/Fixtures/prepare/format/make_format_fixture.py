#!/usr/bin/env python3
"""Makes the formatting fixture: what the official dataset-formatting scripts write for `input.list`.

1. Speaks the clips in `clips/` with espeak-ng (32 kHz mono int16 through sox) unless they exist.
2. Runs the unmodified official scripts of a GPT-SoVITS work tree, as the web UI runs them (one part:
   i_part 0 of 1, CPU, `is_half` False): `GPT_SoVITS/prepare_datasets/1-get-text.py`,
   `2-get-hubert-wav32k.py`, `3-get-semantic.py`, with the tiny random models of
   `Tests/Fixtures/v2/models`, `input.list` as `inp_text` and `clips/` as the audio folder
   (`inp_wav_dir`), then merges the part files as `webui.py` does.
3. Stores: `official/2-name2text.txt`, `official/6-name2semantic.tsv` (as written), every feature
   tensor in `official/features.safetensors` (`bert/<name>` [1024, phones], `hubert/<name>`
   [1, 768, T], float32), one feature file of each kind exactly as written (`official/pt/*.pt`, to
   check that we read official files), and `format.json` (the SHA-256 of every `5-wav32k` file, the
   rows, which rows we expect to be formatted or skipped and why, the tolerances).

Run with numpy<2 (the official pin) and the packages of the official frontend
(`pip install librosa==0.10.2 transformers==4.51.3 jieba_fast jieba pypinyin==0.55.0 cn2an g2p_en nltk
wordsegment`), the unzipped textblob-aptagger 0.2.0 wheel for the English tagger:

    python3 make_format_fixture.py --gsv /path/to/GPT-SoVITS --aptagger /path/to/textblob_aptagger

Deviations from a stock install (the same as for the v2 fixtures, see Tests/Fixtures/README.md §7):
g2pW is off (an inert `text.g2pw` module, `chinese2.is_g2pw = False`); nltk's `pos_tag` runs the
textblob-aptagger model; and `3-get-semantic.py` picks the model version from the file size
(`< 82978 KiB` → v1), which would build a v1 network that cannot load the tiny v2 file, so
`os.path.getsize` reports 90 MiB for that one file while the script runs (→ "v2", what the real
pretrained v2 file gives). `s2config_path` is the tiny model's own `hps` written to JSON (without `model.version`, which
`configs/s2.json` does not have either).
"""
import argparse
import contextlib
import hashlib
import io
import json
import os
import pickle
import runpy
import shutil
import subprocess
import sys
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "..", "v2", "models")

CLIPS = [
    ("zh_a.wav", "cmn", 260, "今天天气很好，我们去散步吧。"),
    ("en_b.wav", "en-us", 220, "Nice to meet you, my friend."),
    ("zh_c.wav", "cmn", 260, "春眠不觉晓。"),
    ("short_e.wav", "cmn", 220, "好的。"),
]

# (line, expectation for our formatter, why)
ROWS = [
    ("clips/zh_a.wav|speaker|ZH|今天天气很好，我们去散步吧。", "formatted", ""),
    ("clips/en_b.wav|speaker|EN|Nice to meet you, my friend.", "formatted", ""),
    ("clips/missing.wav|speaker|ZH|这个文件不存在。", "skipped",
     "missing audio: the official text step still writes its line; we leave the row out of every file"),
    ("clips/zh_c.wav|speaker|zh|春眠不觉晓。", "formatted", ""),
    ("clips/en_b.wav|speaker|FR|Bonjour tout le monde.", "skipped", "unsupported language (the official text step warns and skips it)"),
    ("clips/short_e.wav|speaker|ZH|", "skipped",
     "empty text (the official text step fails on it; its audio steps still write features, we do not)"),
    ("clips/zh_a.wav|speaker|ZH", "skipped", "malformed line (three fields)"),
]


def speak():
    os.makedirs(os.path.join(HERE, "clips"), exist_ok=True)
    for name, voice, speed, text in CLIPS:
        out = os.path.join(HERE, "clips", name)
        if os.path.exists(out):
            continue
        with tempfile.TemporaryDirectory() as d:
            raw = os.path.join(d, "a.wav")
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", raw, text], check=True)
            subprocess.run(["sox", raw, "-r", "32000", "-b", "16", out], check=True)


def stub_modules(aptagger):
    for name in ("gradio",):
        try:
            __import__(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)
    import nltk
    from nltk.tag.perceptron import PerceptronTagger
    real_find = nltk.data.find

    def find(resource, *a, **k):
        if "averaged_perceptron_tagger" in resource or "cmudict" in resource:
            return resource
        return real_find(resource, *a, **k)

    nltk.data.find = find
    import nltk.corpus

    class _Cmu:
        @staticmethod
        def dict():
            return {}

    nltk.corpus.cmudict = _Cmu
    with open(os.path.join(aptagger, "trontagger-0.1.0.pickle"), "rb") as f:
        weights, tagdict, classes = pickle.load(f, encoding="latin1")
    tagger = PerceptronTagger(load=False)
    tagger.model.weights = weights
    tagger.tagdict = tagdict
    tagger.classes = set(classes)
    tagger.model.classes = tagger.classes
    import g2p_en.g2p
    g2p_en.g2p.cmudict = _Cmu
    g2pw = types.ModuleType("text.g2pw")
    g2pw.G2PWPinyin = lambda *args, **kw: None
    g2pw.correct_pronunciation = None
    import text  # noqa: F401  (GPT_SoVITS/text)
    sys.modules["text.g2pw"] = g2pw
    import text.chinese2 as c2
    c2.is_g2pw = False
    from text import english
    english.pos_tag = tagger.tag


def run_script(gsv, script, env):
    os.environ.update(env)
    sys.argv = [script]
    runpy.run_path(os.path.join(gsv, "GPT_SoVITS", "prepare_datasets", script), run_name="__main__")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gsv", required=True, help="official GPT-SoVITS work tree")
    ap.add_argument("--aptagger", required=True, help="folder with trontagger-0.1.0.pickle")
    a = ap.parse_args()
    gsv = os.path.abspath(a.gsv)
    speak()
    with open(os.path.join(HERE, "input.list"), "w", encoding="utf8") as f:
        f.write("\n".join(r[0] for r in ROWS) + "\n")

    import numpy as np
    import torch
    torch.set_num_threads(1)
    sys.path.insert(0, os.path.join(gsv, "GPT_SoVITS"))
    sys.path.insert(0, gsv)
    os.chdir(gsv)
    stub_modules(a.aptagger)

    models = os.path.abspath(MODELS)
    sovits = os.path.join(models, "sovits_v2_tiny.pth")
    work = tempfile.mkdtemp()
    opt = os.path.join(work, "exp")
    hps = torch.load(sovits, map_location="cpu", weights_only=False)["config"]

    def plain(o):
        return {k: plain(v) for k, v in vars(o).items()} if hasattr(o, "__dict__") else (
            {k: plain(v) for k, v in o.items()} if isinstance(o, dict) else o)

    s2config = os.path.join(work, "s2_tiny.json")
    config = plain(hps)
    config["model"].pop("version", None)  # configs/s2.json has none (the script passes version= itself)
    with open(s2config, "w") as f:
        json.dump(config, f)
    env = {"inp_text": os.path.join(HERE, "input.list"), "inp_wav_dir": os.path.join(HERE, "clips"), "exp_name": "exp",
           "opt_dir": opt, "i_part": "0", "all_parts": "1", "is_half": "False", "version": "v2",
           "bert_pretrained_dir": os.path.join(models, "chinese-roberta-wwm-ext-large-tiny"),
           "cnhubert_base_dir": os.path.join(models, "chinese-hubert-base-tiny"),
           "pretrained_s2G": sovits, "s2config_path": s2config}
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        run_script(gsv, "1-get-text.py", env)
        run_script(gsv, "2-get-hubert-wav32k.py", env)
        real_getsize = os.path.getsize
        os.path.getsize = lambda p: 90 * 1024 * 1024 if os.path.abspath(p) == sovits else real_getsize(p)
        try:
            run_script(gsv, "3-get-semantic.py", env)
        finally:
            os.path.getsize = real_getsize
    # Merge the part files as webui.py does.
    with open(os.path.join(opt, "2-name2text-0.txt"), encoding="utf8") as f:
        text_lines = f.read().strip("\n").split("\n")
    with open(os.path.join(opt, "6-name2semantic-0.tsv"), encoding="utf8") as f:
        sem_lines = ["item_name\tsemantic_audio"] + f.read().strip("\n").split("\n")

    out = os.path.join(HERE, "official")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(out, "pt"))
    with open(os.path.join(out, "2-name2text.txt"), "w", encoding="utf8") as f:
        f.write("\n".join(text_lines) + "\n")
    with open(os.path.join(out, "6-name2semantic.tsv"), "w", encoding="utf8") as f:
        f.write("\n".join(sem_lines) + "\n")
    from safetensors.torch import save_file
    tensors, wav_sha = {}, {}
    for sub, key in (("3-bert", "bert"), ("4-cnhubert", "hubert")):
        for fn in sorted(os.listdir(os.path.join(opt, sub))):
            t = torch.load(os.path.join(opt, sub, fn), map_location="cpu")
            tensors[f"{key}/{fn[:-3]}"] = t.float().contiguous()
    for fn in sorted(os.listdir(os.path.join(opt, "5-wav32k"))):
        wav_sha[fn] = hashlib.sha256(open(os.path.join(opt, "5-wav32k", fn), "rb").read()).hexdigest()
    save_file(tensors, os.path.join(out, "features.safetensors"))
    # Two official feature files as written (strided views inside torch zip files).
    shutil.copy(os.path.join(opt, "3-bert", "zh_c.wav.pt"), os.path.join(out, "pt", "bert_zh_c.wav.pt"))
    shutil.copy(os.path.join(opt, "4-cnhubert", "short_e.wav.pt"), os.path.join(out, "pt", "hubert_short_e.wav.pt"))
    manifest = {
        "list": "input.list",
        "audio_folder": "clips",
        "models": {"sovits": "v2/models/sovits_v2_tiny.pth", "hubert": "v2/models/chinese-hubert-base-tiny",
                   "bert": "v2/models/chinese-roberta-wwm-ext-large-tiny"},
        "rows": [{"line": i + 1, "name": os.path.basename(r[0].split("|")[0]), "expect": r[1], "why": r[2]} for i, r in enumerate(ROWS)],
        "official_files": {"text": "official/2-name2text.txt", "semantic": "official/6-name2semantic.tsv",
                           "features": "official/features.safetensors",
                           "pt": {"bert/zh_c.wav": "official/pt/bert_zh_c.wav.pt", "hubert/short_e.wav": "official/pt/hubert_short_e.wav.pt"}},
        "wav32k_sha256": wav_sha,
        "tolerances": {"bert": {"cosine": 0.99999, "max_rel": 1e-3}, "hubert": {"cosine": 0.99999, "max_rel": 1e-3},
                       "semantic": "identical", "text": "identical", "wav32k": "identical"},
        "env": {"numpy": np.__version__, "torch": torch.__version__},
    }
    with open(os.path.join(HERE, "format.json"), "w", encoding="utf8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("\n".join(text_lines))
    print("\n".join(sem_lines)[:400])
    print(sorted(tensors), wav_sha)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()

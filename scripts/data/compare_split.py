#!/usr/bin/env python3
"""Dumps the official text splitting (TextPreprocessor.replace_consecutive_punctuation + pre_seg_text with
cut0…cut5) on random text, for the opt-in Swift test `ExternalCorpusTests.splitterMatchesOfficialDump`.

The official TextPreprocessor module imports torch and transformers; only its text functions are needed,
so they are taken from the source with `ast` and run on their own (no model code runs).

    python3 scripts/data/compare_split.py --gsv /path/to/GPT-SoVITS --out /tmp/split_official.jsonl
    GSV_SPLIT_COMPARE=/tmp/split_official.jsonl swift test --filter ExternalCorpusTests
"""
import argparse, ast, json, os, random, re, subprocess, sys, types

ap = argparse.ArgumentParser()
ap.add_argument("--gsv", required=True, help="official work tree or bare git dir")
ap.add_argument("--out", required=True)
ap.add_argument("-n", type=int, default=1500)
ap.add_argument("--seed", type=int, default=3)
a = ap.parse_args()


def official(path):
    if os.path.isdir(os.path.join(a.gsv, "GPT_SoVITS")):
        return open(os.path.join(a.gsv, path), encoding="utf-8").read()
    return subprocess.check_output(["git", "--git-dir", a.gsv, "show", "HEAD:" + path]).decode()


seg = types.ModuleType("text_segmentation_method")
exec(compile(official("GPT_SoVITS/TTS_infer_pack/text_segmentation_method.py"), "tsm.py", "exec"), seg.__dict__)
tree = ast.parse(official("GPT_SoVITS/TTS_infer_pack/TextPreprocessor.py"))
ns = {"re": re, "splits": seg.splits, "split_big_text": seg.split_big_text, "get_seg_method": seg.get_method,
      "i18n": lambda s: "请输入有效文本" if s == "请输入有效文本" else s, "print": lambda *x, **k: None, "List": list}
keep = []
for node in tree.body:
    if isinstance(node, ast.FunctionDef) and node.name in ("get_first", "merge_short_text_in_array"):
        keep.append(node)
    if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "punctuation" for t in node.targets):
        keep.append(node)
    if isinstance(node, ast.ClassDef) and node.name == "TextPreprocessor":
        node.body = [m for m in node.body if isinstance(m, ast.FunctionDef) and m.name in
                     ("pre_seg_text", "filter_text", "replace_consecutive_punctuation")]
        node.bases = []
        keep.append(node)
exec(compile(ast.Module(body=keep, type_ignores=[]), "TextPreprocessor.py", "exec"), ns)
tp = ns["TextPreprocessor"].__new__(ns["TextPreprocessor"])

rng = random.Random(a.seed)
frag = ["今天天气很好", "我们", "去公园", "散步吧", "Hello", "world", "this is a test", "3.14", "100", "你好", "他说", "好",
        "一", "A", "abc", " ", "  ", "\n", "，", "。", "！", "？", ",", ".", "!", "?", "~", ":", "：", "—", "——", "…", "……",
        "、", ";", "-", "..."]
with open(a.out, "w", encoding="utf-8") as f:
    for _ in range(a.n):
        t = "".join(rng.choice(frag) for _ in range(rng.randint(1, 30)))
        if rng.random() < 0.05:
            t = t * 40  # long texts (split_big_text)
        lang = rng.choice(["zh", "en", "all_zh", "auto"])
        rec = {"text": t, "lang": lang, "consecutive": tp.replace_consecutive_punctuation(t), "cuts": {}}
        for m in ("cut0", "cut1", "cut2", "cut3", "cut4", "cut5"):
            try:
                rec["cuts"][m] = tp.pre_seg_text(rec["consecutive"], lang, m)
            except Exception as e:
                rec["cuts"][m] = None
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")

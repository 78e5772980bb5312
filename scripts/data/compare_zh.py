#!/usr/bin/env python3
"""Dumps the official Chinese frontend (text/chinese2.py, non-g2pW branch as in the fixtures) on random
Chinese text, for the opt-in Swift test `ExternalCorpusTests`.

Needs `pip install jieba_fast==0.53 jieba==0.42.1 pypinyin==0.55.0 cn2an==0.5.24` and the official repository
(`--gsv`, a work tree). Writes JSON lines {text, norm, phones, word2ph}:

    python3 scripts/data/compare_zh.py --gsv /path/to/GPT-SoVITS --out /tmp/zh_official.jsonl
    GSV_ZH_COMPARE=/tmp/zh_official.jsonl swift test --filter ExternalCorpusTests

Inputs mix dictionary words, random CJK characters (unseen words → HMM paths), numbers / dates / units /
phone numbers, punctuation and traditional characters.
"""
import argparse, contextlib, io, json, os, random, sys, types

ap = argparse.ArgumentParser()
ap.add_argument("--gsv", required=True, help="official GPT-SoVITS work tree")
ap.add_argument("--out", required=True)
ap.add_argument("-n", type=int, default=2000)
ap.add_argument("--seed", type=int, default=11)
a = ap.parse_args()

sys.path.insert(0, os.path.join(a.gsv, "GPT_SoVITS"))
stub = types.ModuleType("text.g2pw")  # g2pW needs a model download; the fixtures ran without it
stub.G2PWPinyin = lambda *args, **kw: None
stub.correct_pronunciation = None
import text  # noqa: E402
sys.modules["text.g2pw"] = stub
import text.chinese2 as c2  # noqa: E402
c2.is_g2pw = False
import jieba  # noqa: E402

rng = random.Random(a.seed)
words = [l.split()[0] for l in open(os.path.join(os.path.dirname(jieba.__file__), "dict.txt"), encoding="utf-8")]
chars = [chr(c) for c in range(0x4E00, 0x9FA6)]
nums = ["3个", "2024年5月1日", "12.5%", "100元", "第1名", "13:45", "-3℃", "1/4", "010-88886666", "3.14", "5~10个",
        "1,000", "２０２４", "v1.2.3", "18个月", "9点30分", "40kg", "15km", "x²", "3+5=8", "400-123-4567", "20多个",
        "①", "α", "100万", "0.5", "007", "1990年代"]
punc = ["，", "。", "！", "？", "、", "：", "；", "“", "”", "《", "》", "（", "）", "…", "——", "~", " ", "·", "～", "!", "?", ",", "."]
trad = "這是一個繁體中文的句子學習使我快樂會議電腦網絡後來發現問題"
with open(a.out, "w", encoding="utf-8") as f:
    for _ in range(a.n):
        parts = []
        for _ in range(rng.randint(2, 12)):
            r = rng.random()
            if r < 0.55:
                parts.append(rng.choice(words))
            elif r < 0.7:
                parts.append("".join(rng.choice(chars) for _ in range(rng.randint(1, 4))))
            elif r < 0.8:
                parts.append(rng.choice(nums))
            elif r < 0.93:
                parts.append(rng.choice(punc))
            else:
                parts.append("".join(rng.choice(trad) for _ in range(rng.randint(1, 3))))
        t = "".join(parts).strip()
        if not t:
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                norm = c2.text_normalize(t)
                phones, word2ph = c2.g2p(norm)
            f.write(json.dumps({"text": t, "norm": norm, "phones": phones, "word2ph": word2ph}, ensure_ascii=False) + "\n")
        except Exception as e:  # the official code raises on a few inputs; recorded, skipped by the test
            f.write(json.dumps({"text": t, "error": repr(e)}, ensure_ascii=False) + "\n")

#!/usr/bin/env python3
"""Builds the Chinese / symbol data files of GSVText from their upstream sources.

Reproducible: `pip install jieba==0.42.1 pypinyin==0.55.0`, fetch the official GPT-SoVITS repository
(commit 48b1a0169a28582a8984402f82cf438d3bfa6aca), then

    python3 scripts/data/make_zh_data.py --gsv /path/to/GPT-SoVITS [--out Sources/GSVText/Resources]

(`--gsv` may also be a bare git directory; files are then read with `git show HEAD:<path>`.)

Outputs (all little-endian):
  zh/jieba_dict.gsvk       word -> u32 freq + POS            (jieba dict.txt; jieba_fast ships the same file)
  zh/jieba_finalseg.gsvk   char -> 4 x f64 emission (B,M,E,S) (jieba finalseg/prob_emit)
  zh/jieba_posseg.gsvk     char -> allowed states + emissions (jieba posseg char_state_tab + prob_emit)
  zh/jieba_hmm.json        start / transition tables of both HMMs and the posseg state names
  zh/pinyin_chars.gsvk     char -> syllable id of its first reading (pypinyin pinyin_dict)
  zh/pinyin_phrases.gsvk   phrase -> syllable ids of its first readings (pypinyin phrases_dict)
  zh/pinyin_syllables.txt  syllable id -> "pinyin<TAB>initial<TAB>final_tone3" (strict, neutral tone 5)
  zh/polyphonic.gsvk       word -> syllable ids (official g2pw/polyphonic.rep + polyphonic-fix.rep; opt-in)
  zh/opencpop-strict.txt   official pinyin -> phone mapping (copied)
  zh/t2s.txt               traditional -> simplified pairs (official zh_normalization/char_convert.py)
  zh/quantifiers.txt       measure-word alternation of zh_normalization/num.py (COM_QUANTIFIERS)
  zh/tone_sandhi_words.txt must/must-not neutral-tone words, erhua lists (official tone_sandhi.py, chinese2.py)
  common/symbols_v1.txt, common/symbols_v2.txt   phone tables, one symbol per line (index = id)

`.gsvk` = sorted key table: b"GSVK", u32 version (1), u32 count, u32 offsets[count+1] (relative to the
record area), records sorted by key bytes; record = u8 key length, key (UTF-8), payload.
"""
import argparse, ast, json, math, os, struct, subprocess, sys


def read_official(gsv, path):
    if os.path.isdir(os.path.join(gsv, "GPT_SoVITS")):
        with open(os.path.join(gsv, path), encoding="utf-8") as f:
            return f.read()
    return subprocess.check_output(["git", "--git-dir", gsv, "show", f"HEAD:{path}"]).decode("utf-8")


def write_table(path, items):
    """items: dict key(str) -> payload(bytes)"""
    keys = sorted(items.keys(), key=lambda k: k.encode("utf-8"))
    blob = bytearray()
    offsets = []
    for k in keys:
        kb = k.encode("utf-8")
        assert len(kb) < 256, k
        offsets.append(len(blob))
        blob += bytes([len(kb)]) + kb + items[k]
    offsets.append(len(blob))
    with open(path, "wb") as f:
        f.write(b"GSVK" + struct.pack("<II", 1, len(keys)))
        f.write(struct.pack("<%dI" % len(offsets), *offsets))
        f.write(blob)


def py_literal_assign(src, name):
    tree = ast.parse(src)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Attribute) and t.attr == name or isinstance(t, ast.Name) and t.id == name:
                    return ast.literal_eval(node.value)
    raise KeyError(name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gsv", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "Sources", "GSVText", "Resources"))
    a = ap.parse_args()
    zh = os.path.join(a.out, "zh"); common = os.path.join(a.out, "common")
    os.makedirs(zh, exist_ok=True); os.makedirs(common, exist_ok=True)

    import jieba, pypinyin
    from jieba.finalseg import prob_emit as fs_emit, prob_start as fs_start, prob_trans as fs_trans
    from jieba.posseg import prob_emit as ps_emit, prob_start as ps_start, prob_trans as ps_trans, char_state_tab as ps_cs
    jdir = os.path.dirname(jieba.__file__)

    # ---- jieba dictionary
    entries = {}
    total = 0
    with open(os.path.join(jdir, "dict.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            word, freq, tag = line.split(" ")
            freq = int(freq)
            total += freq
            entries[word] = struct.pack("<I", freq) + tag.encode("ascii")
    write_table(os.path.join(zh, "jieba_dict.gsvk"), entries)

    # ---- finalseg HMM (states B M E S)
    MIN_FLOAT = -3.14e100
    fs_states = "BMES"
    chars = set()
    for s in fs_states:
        chars |= set(fs_emit.P[s].keys())
    fs_items = {c: struct.pack("<4d", *[fs_emit.P[s].get(c, MIN_FLOAT) for s in fs_states]) for c in chars}
    write_table(os.path.join(zh, "jieba_finalseg.gsvk"), fs_items)

    # ---- posseg HMM
    states = sorted(ps_trans.P.keys())
    sid = {s: i for i, s in enumerate(states)}
    per_char = {}
    for s, tab in ps_emit.P.items():
        for c, p in tab.items():
            per_char.setdefault(c, []).append((sid[s], p))
    allc = set(per_char) | set(ps_cs.P)
    ps_items = {}
    for c in allc:
        allowed = [sid[s] for s in ps_cs.P.get(c, ())]
        em = sorted(per_char.get(c, []))
        b = struct.pack("<H", len(allowed)) + struct.pack("<%dH" % len(allowed), *allowed)
        b += struct.pack("<H", len(em)) + b"".join(struct.pack("<Hd", i, p) for i, p in em)
        # flag: char present in char_state_tab (absent -> all states allowed)
        ps_items[c] = (b"\x01" if c in ps_cs.P else b"\x00") + b
    write_table(os.path.join(zh, "jieba_posseg.gsvk"), ps_items)
    hmm = {
        "finalseg": {"start": [fs_start.P[s] for s in fs_states],
                     "trans": [[fs_trans.P[s].get(t, None) for t in fs_states] for s in fs_states]},
        "posseg": {"states": ["%s-%s" % s for s in states],
                   "start": [ps_start.P.get(s, MIN_FLOAT) for s in states],
                   "trans": [[[sid[t], p] for t, p in sorted(ps_trans.P[s].items(), key=lambda x: sid[x[0]])] for s in states]},
        "total_freq": total,
        "min_float": MIN_FLOAT,
    }
    with open(os.path.join(zh, "jieba_hmm.json"), "w") as f:
        json.dump(hmm, f, separators=(",", ":"))

    # ---- pypinyin (first readings only: lazy_pinyin never looks further)
    from pypinyin.constants import PINYIN_DICT, PHRASES_DICT
    from pypinyin import Style, lazy_pinyin
    from pypinyin.converter import UltimateConverter
    conv = UltimateConverter(neutral_tone_with_five=True)
    syl_ids = {}
    syl_list = []

    def syl(p):
        if p not in syl_ids:
            syl_ids[p] = len(syl_list)
            ini = conv.convert_style("", p, Style.INITIALS, True)
            fin = conv.convert_style("", p, Style.FINALS_TONE3, True)
            syl_list.append((p, ini, fin))
        return syl_ids[p]

    ch_items = {}
    for cp, pys in PINYIN_DICT.items():
        ch_items[chr(cp)] = struct.pack("<H", syl(pys.split(",")[0]))
    ph_items = {}
    for w, pys in PHRASES_DICT.items():
        ids = [syl(p[0]) for p in pys]
        ph_items[w] = struct.pack("<%dH" % len(ids), *ids)
    # official polyphonic dictionary (text/g2pw/polyphonic.rep, then polyphonic-fix.rep overriding it; values
    # are TONE3 pinyin converted the way chinese2._g2p does: to_initials / to_finals_tone3)
    from pypinyin.contrib.tone_convert import to_finals_tone3, to_initials
    import ast as _ast
    poly = {}
    for name in ("GPT_SoVITS/text/g2pw/polyphonic.rep", "GPT_SoVITS/text/g2pw/polyphonic-fix.rep"):
        for line in read_official(a.gsv, name).splitlines():
            if not line.strip():
                continue
            key, value = line.split(":")
            poly[key.strip()] = _ast.literal_eval(value.strip())

    def syl3(p3):
        k = "\x01" + p3
        if k not in syl_ids:
            syl_ids[k] = len(syl_list)
            if p3[:1].isalpha():
                syl_list.append((p3, to_initials(p3), to_finals_tone3(p3, neutral_tone_with_five=True)))
            else:
                syl_list.append((p3, p3, p3))
        return syl_ids[k]

    poly_items = {w: struct.pack("<%dH" % len(v), *[syl3(p) for p in v]) for w, v in poly.items()}
    write_table(os.path.join(zh, "polyphonic.gsvk"), poly_items)
    assert len(syl_list) < 65536
    write_table(os.path.join(zh, "pinyin_chars.gsvk"), ch_items)
    write_table(os.path.join(zh, "pinyin_phrases.gsvk"), ph_items)
    with open(os.path.join(zh, "pinyin_syllables.txt"), "w", encoding="utf-8") as f:
        for p, i, fi in syl_list:
            assert "\t" not in p + i + fi and "\n" not in p + i + fi
            f.write("%s\t%s\t%s\n" % (p, i, fi))
    # self-check: the per-syllable conversion equals lazy_pinyin on every single character
    bad = 0
    for cp, pys in list(PINYIN_DICT.items()):
        c = chr(cp)
        s = syl_list[syl_ids[pys.split(",")[0]]]
        if lazy_pinyin(c, style=Style.INITIALS, neutral_tone_with_five=True) != [s[1]] or \
           lazy_pinyin(c, style=Style.FINALS_TONE3, neutral_tone_with_five=True) != [s[2]]:
            bad += 1
    print("pypinyin self-check mismatches:", bad, file=sys.stderr)

    # ---- official files
    with open(os.path.join(zh, "opencpop-strict.txt"), "w", encoding="utf-8") as f:
        f.write(read_official(a.gsv, "GPT_SoVITS/text/opencpop-strict.txt"))
    src = read_official(a.gsv, "GPT_SoVITS/text/zh_normalization/char_convert.py")
    simp = py_literal_assign(src, "simplified_charcters"); trad = py_literal_assign(src, "traditional_characters")
    t2s = {}
    for i, s in enumerate(simp):
        t2s[trad[i]] = s
    with open(os.path.join(zh, "t2s.txt"), "w", encoding="utf-8") as f:
        for t in sorted(t2s):
            if t2s[t] != t:
                f.write("%s\t%s\n" % (t, t2s[t]))
    ts = read_official(a.gsv, "GPT_SoVITS/text/tone_sandhi.py")
    c2 = read_official(a.gsv, "GPT_SoVITS/text/chinese2.py")
    lists = {
        "must_neural_tone_words": py_literal_assign(ts, "must_neural_tone_words"),
        "must_not_neural_tone_words": py_literal_assign(ts, "must_not_neural_tone_words"),
        "must_erhua": py_literal_assign(c2, "must_erhua"),
        "not_erhua": py_literal_assign(c2, "not_erhua"),
    }
    num = read_official(a.gsv, "GPT_SoVITS/text/zh_normalization/num.py")
    with open(os.path.join(zh, "quantifiers.txt"), "w", encoding="utf-8") as f:
        f.write(py_literal_assign(num, "COM_QUANTIFIERS") + "\n")
    with open(os.path.join(zh, "tone_sandhi_words.txt"), "w", encoding="utf-8") as f:
        for name, words in lists.items():
            f.write("[%s]\n" % name)
            for w in sorted(words):
                f.write(w + "\n")

    # ---- symbol tables
    ns1 = {}
    exec(compile(read_official(a.gsv, "GPT_SoVITS/text/symbols.py"), "symbols.py", "exec"), ns1)
    ns2 = {"__name__": "symbols2"}
    exec(compile(read_official(a.gsv, "GPT_SoVITS/text/symbols2.py"), "symbols2.py", "exec"), ns2)
    for name, syms in (("symbols_v1.txt", ns1["symbols"]), ("symbols_v2.txt", ns2["symbols"])):
        with open(os.path.join(common, name), "w", encoding="utf-8") as f:
            for s in syms:
                assert "\n" not in s
                f.write(s + "\n")
    print("done: %d dict words, %d syllables, %d phrases" % (len(entries), len(syl_list), len(ph_items)), file=sys.stderr)


if __name__ == "__main__":
    main()

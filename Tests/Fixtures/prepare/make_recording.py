#!/usr/bin/env python3
"""Makes `recording.flac`: the test recording of the dataset-preparation fixtures.

espeak-ng speech (English and Mandarin) with pauses of several lengths, a stretch of synthetic
music (no speech), a noise burst and a low noise floor throughout; 32 kHz mono int16 FLAC (the rate the
official slicer works at, so that decoding it involves no resampling).

Needs `espeak-ng`, `sox` and `ffmpeg` (apt), numpy and scipy. Deterministic for a given espeak-ng/sox version; the
committed file is the reference, regenerate only together with the fixtures made from it:

    python3 make_recording.py && python3 make_slicer_fixture.py --gsv /path/to/GPT-SoVITS && python3 make_vad_fixture.py
"""
import os
import subprocess
import tempfile

import numpy as np

SR = 32000
HERE = os.path.dirname(os.path.abspath(__file__))


def speak(text, voice, speed=165, pitch=50):
    with tempfile.TemporaryDirectory() as d:
        raw, res = os.path.join(d, "a.wav"), os.path.join(d, "b.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", raw, text], check=True)
        subprocess.run(["sox", raw, "-r", str(SR), "-b", "16", res], check=True)
        data = np.frombuffer(open(res, "rb").read()[44:], dtype="<i2").astype(np.float64) / 32768
    return data


def silence(seconds):
    return np.zeros(int(round(seconds * SR)))


def music(seconds, rng):
    t = np.arange(int(round(seconds * SR))) / SR
    out = np.zeros_like(t)
    notes = [220.0, 277.18, 329.63, 440.0, 329.63, 277.18]
    beat = 0.25
    for k, f in enumerate(notes * int(np.ceil(seconds / (beat * len(notes))))):
        lo, hi = int(k * beat * SR), int((k + 1) * beat * SR)
        if lo >= len(t):
            break
        seg = t[lo:hi] - t[lo]
        env = np.exp(-seg * 6)
        out[lo:hi] += 0.25 * env * (np.sin(2 * np.pi * f * seg) + 0.4 * np.sin(2 * np.pi * 2 * f * seg))
    out += 0.08 * np.sin(2 * np.pi * 110 * t)  # a held bass note
    return out


def main():
    rng = np.random.default_rng(20261207)
    parts = [
        silence(0.35),
        speak("The quick brown fox jumps over the lazy dog.", "en-us", speed=180),
        silence(0.22),  # shorter than the 300 ms minimum interval: never cut here
        speak("Preparing a voice takes five simple steps.", "en-us", speed=175),
        silence(0.8),
        speak("今天天气很好，我们去公园散步吧。", "cmn"),
        silence(2.1),
        music(2.6, rng),
        silence(0.6),
        speak("我们明天再见。", "cmn", speed=150),
        silence(0.35),
        speak("Every slice holds one sentence.", "en-us", speed=180),
        silence(1.6),
    ]
    x = np.concatenate(parts)
    # A short noise burst inside the long pause before the music.
    burst_at = int(sum(len(p) for p in parts[:7]) + 0.9 * SR)
    x[burst_at:burst_at + int(0.12 * SR)] += 0.05 * rng.standard_normal(int(0.12 * SR))
    # Noise floor (about -66 dBFS RMS) everywhere.
    x += 0.0005 * rng.standard_normal(len(x))
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2")
    from scipy.io import wavfile
    with tempfile.TemporaryDirectory() as d:
        wav = os.path.join(d, "recording.wav")
        wavfile.write(wav, SR, pcm)
        # FLAC is lossless: every decoder gives back these int16 samples (half the size of the WAV).
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", wav, "-c:a", "flac", "-compression_level", "12",
                        os.path.join(HERE, "recording.flac")], check=True)
    print(f"recording.flac: {len(pcm)} samples, {len(pcm) / SR:.2f} s")


if __name__ == "__main__":
    main()

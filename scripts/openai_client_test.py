#!/usr/bin/env python3
"""Drives a running `gpt-sovits serve` with the official `openai` Python package, as OpenAI clients
use it, and checks every answer. Used by the Swift test `OpenAIClientTests` (which starts the
server) and runnable by hand:

    python3 scripts/openai_client_test.py --base-url http://127.0.0.1:9880/v1 --api-key TOKEN --voice default

Prints one line per check and exits non-zero when one fails.
"""
import argparse
import io
import json
import sys
import wave

import openai

parser = argparse.ArgumentParser()
parser.add_argument("--base-url", required=True)
parser.add_argument("--api-key", required=True)
parser.add_argument("--voice", default="default")
parser.add_argument("--text", default="你好，世界。")
parser.add_argument("--extra", default="{}", help="JSON object of extra body fields (e.g. a token cap)")
args = parser.parse_args()
extra = json.loads(args.extra)

client = openai.OpenAI(base_url=args.base_url, api_key=args.api_key, max_retries=0, timeout=600)
failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (": " + detail if detail else ""), flush=True)
    if not ok:
        failures.append(name)


# /v1/models
ids = [m.id for m in client.models.list().data]
check("models.list names tts-1", "tts-1" in ids, str(ids))

# Non-streamed use of the SDK: the whole body at once. No language: the server picks one.
speech = client.audio.speech.create(model="tts-1", voice=args.voice, input=args.text, response_format="wav", extra_body=extra)
data = speech.content
check("speech.create wav starts with RIFF/WAVE", data[:4] == b"RIFF" and data[8:12] == b"WAVE", repr(data[:12]))
# The streamed WAV header carries no length; Python's wave module must still read every frame.
with wave.open(io.BytesIO(data)) as w:
    frames = w.readframes(w.getnframes() if w.getnframes() < 2**31 - 1 else 1 << 30)
    check("wave reads the streamed WAV", w.getframerate() == 32000 and w.getsampwidth() == 2 and len(frames) == len(data) - 44,
          "rate %d, %d of %d sample bytes" % (w.getframerate(), len(frames), len(data) - 44))

# Streamed use: with_streaming_response, pcm (24 kHz int16).
total = 0
parts = 0
with client.audio.speech.with_streaming_response.create(model="tts-1", voice=args.voice, input=args.text,
                                                        response_format="pcm", extra_body=extra) as response:
    check("streaming response is audio/pcm", response.headers.get("content-type") == "audio/pcm", response.headers.get("content-type"))
    for chunk in response.iter_bytes():
        total += len(chunk)
        parts += 1
check("streamed pcm has whole int16 samples", total > 0 and total % 2 == 0, "%d bytes in %d parts" % (total, parts))
# 24 kHz pcm is the 32 kHz wav's audio at 3/4 of the length (rounded up).
samples32 = (len(data) - 44) // 2
check("pcm length is 24/32 of the wav's", total // 2 == (samples32 * 3 + 3) // 4, "%d vs %d" % (total // 2, (samples32 * 3 + 3) // 4))

# speed through the SDK's own parameter.
fast = client.audio.speech.create(model="tts-1", voice=args.voice, input=args.text, response_format="wav", speed=2.0, extra_body=extra)
check("speed=2.0 accepted", fast.content[:4] == b"RIFF")

# Errors as the SDK raises them.
try:
    client.audio.speech.create(model="tts-1", voice="no-such-voice", input=args.text)
    check("unknown voice is an error", False)
except openai.BadRequestError as e:
    check("unknown voice is BadRequestError 400 naming the voice", e.status_code == 400 and "no-such-voice" in str(e), str(e))
try:
    client.audio.speech.create(model="tts-1", voice=args.voice, input=args.text, speed=9)
    check("speed out of range is an error", False)
except openai.BadRequestError as e:
    check("speed out of range is BadRequestError with param speed", e.status_code == 400 and (e.body or {}).get("param") == "speed", str(e.body))
bad = openai.OpenAI(base_url=args.base_url, api_key="wrong-" + args.api_key, max_retries=0)
try:
    bad.models.list()
    check("a wrong key is refused", False)
except openai.AuthenticationError as e:
    check("a wrong key is AuthenticationError 401", e.status_code == 401)

print("%d checks failed" % len(failures) if failures else "all checks passed")
sys.exit(1 if failures else 0)

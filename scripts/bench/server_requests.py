#!/usr/bin/env python3
"""Measures the HTTP server's own cost per request against a running `gpt-sovits serve`: requests per
second for GET /health and for a POST /tts that fails validation (request decoding and the error
answer, no synthesis), and the latency of a small synthesis (POST /tts, top_k 1, fixed seed).
One connection at a time, as api_v2 clients use it. Prints one JSON object.

    gpt-sovits serve -p 9880 --gpt … --ref-root DIR &
    python3 scripts/bench/server_requests.py --port 9880 --ref DIR/ref.wav --ref-text "…"

Compare two builds by running both (alternating, several times) on the same machine.
"""
import argparse
import http.client
import json
import statistics
import time

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=9880)
parser.add_argument("--ref", required=True)
parser.add_argument("--ref-text", default="")
parser.add_argument("--seconds", type=float, default=5, help="duration of each throughput measurement")
parser.add_argument("--syntheses", type=int, default=10)
args = parser.parse_args()


def request(method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=600)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def throughput(method, path, body=None, expect=200):
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        status, _ = request(method, path, body)
        if status != expect:
            raise SystemExit("%s %s answered %d, expected %d" % (method, path, status, expect))
        n += 1
    return n / (time.perf_counter() - start)


bad = {"text": "你好。", "text_lang": "zh", "ref_audio_path": args.ref, "prompt_lang": "zh", "top_k": "abc"}
good = {"text": "你好。", "text_lang": "zh", "ref_audio_path": args.ref, "prompt_text": args.ref_text,
        "prompt_lang": "zh", "top_k": 1, "seed": 1}
request("POST", "/tts", good)  # warm the voice cache
latencies = []
for _ in range(args.syntheses):
    t = time.perf_counter()
    status, data = request("POST", "/tts", good)
    latencies.append(time.perf_counter() - t)
    if status != 200:
        raise SystemExit("synthesis answered %d: %s" % (status, data[:200]))
print(json.dumps({
    "health_per_s": round(throughput("GET", "/health"), 1),
    "tts_400_per_s": round(throughput("POST", "/tts", bad, expect=400), 1),
    "tts_synthesis_ms_median": round(1000 * statistics.median(latencies), 1),
    "tts_synthesis_ms_min": round(1000 * min(latencies), 1),
}))

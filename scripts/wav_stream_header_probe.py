#!/usr/bin/env python3
"""Measures which streamed-WAV header the common tools read completely.

A streamed WAV (api_v2 `streaming_mode` with media_type wav, OpenAI `response_format: wav`) must
send its header before the length is known. This writes one second of a 440 Hz tone (32 kHz,
16-bit mono, 32000 frames) behind each candidate header and asks every tool how many frames it
decodes:

  ffff   RIFF and data sizes 0xFFFFFFFF ("unknown", what this server sends)
  zero   RIFF size 36, data size 0 (what the official api_v2 sends: Python's wave module with no frames)
  large  data size 0x7FFFF000, RIFF size data + 36 (a large even placeholder)
  exact  the true sizes (a control: a finished file)

Tools: Python's `wave`, sox, ffmpeg (from a file and from a pipe, as a stream arrives), and
headless chromium (Web Audio decodeAudioData of the fetched body, and an <audio> element's
duration). Missing tools are reported as such. Usage: python3 scripts/wav_stream_header_probe.py
"""
import http.server
import io
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import wave

RATE = 32000
FRAMES = 32000
PCM = b"".join(struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * i / RATE))) for i in range(FRAMES))


def header(riff_size, data_size):
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, RATE, RATE * 2, 2, 16)
    return b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + fmt + b"data" + struct.pack("<I", data_size)


VARIANTS = {
    "ffff": header(0xFFFFFFFF, 0xFFFFFFFF) + PCM,
    "zero": header(36, 0) + PCM,
    "large": header(0x7FFFF000 + 36, 0x7FFFF000) + PCM,
    "exact": header(36 + len(PCM), len(PCM)) + PCM,
}


def python_wave(path):
    try:
        with wave.open(path) as w:
            n = w.getnframes()
            data = w.readframes(min(n, 1 << 30))
            return len(data) // 2, ""
    except Exception as e:  # noqa: BLE001 - report what the module says
        return None, "%s: %s" % (type(e).__name__, e)


def run_count(cmd, stdin=None):
    """Runs a decoder writing raw s16le to stdout; returns (frames, stderr summary)."""
    try:
        p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    except FileNotFoundError:
        return None, "not installed"
    err = p.stderr.decode("utf-8", "replace")
    notes = [line.strip() for line in err.splitlines() if "warn" in line.lower() or "error" in line.lower() or "invalid" in line.lower()]
    if p.returncode != 0:
        return None, "exit %d: %s" % (p.returncode, (notes or [err.strip()[-200:]])[0])
    return len(p.stdout) // 2, "; ".join(notes[:2])


def sox(path):
    return run_count(["sox", "-V1", path, "-t", "raw", "-e", "signed", "-b", "16", "-"])


def ffmpeg_file(path):
    return run_count(["ffmpeg", "-v", "warning", "-i", path, "-f", "s16le", "-"])


def ffmpeg_pipe(path):
    with open(path, "rb") as f:
        data = f.read()
    return run_count(["ffmpeg", "-v", "warning", "-f", "wav", "-i", "pipe:0", "-f", "s16le", "-"], stdin=data)


PAGE = """<!doctype html><html><body><pre id="out">pending</pre><script>
const names = %s;
const out = {};
async function probe(name) {
  const r = {};
  try {
    const body = await (await fetch(name + ".wav")).arrayBuffer();
    const ctx = new OfflineAudioContext(1, 1, %d);
    const buf = await ctx.decodeAudioData(body);
    r.decodeAudioData = Math.round(buf.length * %d / buf.sampleRate);
  } catch (e) { r.decodeAudioData = "error: " + e.message; }
  r.audioElement = await new Promise(resolve => {
    const a = document.createElement("audio");
    a.preload = "auto";
    a.muted = true;
    a.onloadedmetadata = () => resolve(a.duration);
    a.onerror = () => resolve("error: " + (a.error && a.error.message));
    setTimeout(() => resolve("no metadata after 3 s"), 3000);
    document.body.appendChild(a);
    a.src = name + ".wav";
    a.load();
  });
  out[name] = r;
  document.getElementById("out").textContent = "PARTIAL " + JSON.stringify(out);
}
(async () => {
  for (const n of names) await probe(n);
  document.getElementById("out").textContent = "RESULT " + JSON.stringify(out);
})();
</script></body></html>"""


def chromium(folder):
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not exe:
        return None
    with open(os.path.join(folder, "index.html"), "w") as f:
        f.write(PAGE % (json.dumps(list(VARIANTS)), RATE, RATE))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        """Serves the page, and each WAV as a live stream does: no Content-Length, the body ends when
        the connection closes (HTTP/1.0), the audio in pieces."""

        def __init__(self, *a, **k):
            super().__init__(*a, directory=folder, **k)

        def log_message(self, *args):
            pass

        def do_GET(self):
            if not self.path.endswith(".wav"):
                return super().do_GET()
            with open(os.path.join(folder, os.path.basename(self.path)), "rb") as f:
                data = f.read()
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.end_headers()
            for i in range(0, len(data), 8192):
                self.wfile.write(data[i:i + 8192])
                self.wfile.flush()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        p = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required",
                            "--virtual-time-budget=120000", "--dump-dom", "http://127.0.0.1:%d/index.html" % server.server_address[1]],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        dom = p.stdout.decode("utf-8", "replace")
        marker = '<pre id="out">RESULT '
        if marker not in dom:
            partial = dom.split('<pre id="out">', 1)[1].split("</pre>", 1)[0] if '<pre id="out">' in dom else ""
            return {"error": "no result (exit %d) %s %s" % (p.returncode, partial[:300], p.stderr.decode("utf-8", "replace")[-300:])}
        text = dom.split(marker, 1)[1].split("</pre>", 1)[0]
        return json.loads(text.replace("&quot;", '"'))
    finally:
        server.shutdown()


def main():
    folder = tempfile.mkdtemp(prefix="wavprobe-")
    for name, data in VARIANTS.items():
        with open(os.path.join(folder, name + ".wav"), "wb") as f:
            f.write(data)
    rows = {}
    for name in VARIANTS:
        path = os.path.join(folder, name + ".wav")
        rows[name] = {"python wave": python_wave(path), "sox": sox(path), "ffmpeg (file)": ffmpeg_file(path),
                      "ffmpeg (pipe)": ffmpeg_pipe(path)}
    browser = chromium(folder)
    version = ""
    exe = shutil.which("chromium")
    if exe:
        version = subprocess.run([exe, "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
    print("frames decoded of %d (one second at %d Hz); notes after the number" % (FRAMES, RATE))
    tools = ["python wave", "sox", "ffmpeg (file)", "ffmpeg (pipe)"]
    print("| header | " + " | ".join(tools + ["chromium decodeAudioData", "chromium <audio> duration"]) + " |")
    print("|---" * (len(tools) + 3) + "|")
    for name in VARIANTS:
        cells = []
        for t in tools:
            frames, note = rows[name][t]
            cells.append(("%d" % frames if frames is not None else "fails") + (" (%s)" % note if note else ""))
        if browser is None:
            cells += ["not installed", "not installed"]
        elif "error" in browser:
            cells += [browser["error"], ""]
        else:
            b = browser.get(name, {})
            cells += [str(b.get("decodeAudioData")), str(b.get("audioElement"))]
        print("| %s | %s |" % (name, " | ".join(cells)))
    print("versions: python %s; %s; %s; %s" % (
        sys.version.split()[0],
        (subprocess.run(["sox", "--version"], stdout=subprocess.PIPE).stdout.decode().strip() if shutil.which("sox") else "no sox"),
        (subprocess.run(["ffmpeg", "-version"], stdout=subprocess.PIPE).stdout.decode().splitlines()[0] if shutil.which("ffmpeg") else "no ffmpeg"),
        version or "no chromium"))
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

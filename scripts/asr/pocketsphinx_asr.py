#!/usr/bin/env python3
"""English speech recognition with pocketsphinx (CMU Sphinx, BSD licence; `pip install pocketsphinx`
ships an English model), for `gpt-sovits prepare transcribe` — as an external command or as an
OpenAI-compatible server:

    # one clip → its transcript on standard output
    python3 scripts/asr/pocketsphinx_asr.py clip.wav
    gpt-sovits prepare transcribe CLIPS --language en --asr-command "python3 scripts/asr/pocketsphinx_asr.py {wav}"

    # POST /v1/audio/transcriptions (multipart: file, model, language, response_format)
    python3 scripts/asr/pocketsphinx_asr.py --serve --port 8765
    gpt-sovits prepare transcribe CLIPS --language en --asr-url http://127.0.0.1:8765

`--grammar FILE.jsgf` restricts the vocabulary (faster and more accurate when the words are known).
Audio of any format is converted to 16 kHz mono by ffmpeg. Pocketsphinx is a small, old recogniser:
for real datasets use a Whisper-class server behind --asr-url.
"""
import argparse
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def pcm16k(data_or_path):
    """16 kHz mono s16le bytes of a file path or of encoded bytes."""
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", "pipe:0" if isinstance(data_or_path, bytes) else data_or_path,
           "-ar", "16000", "-ac", "1", "-f", "s16le", "pipe:1"]
    r = subprocess.run(cmd, input=data_or_path if isinstance(data_or_path, bytes) else None, capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.decode(errors="replace").strip() or "ffmpeg failed")
    return r.stdout


class Recognizer:
    def __init__(self, grammar=None):
        from pocketsphinx import Decoder
        self.decoder = Decoder(samprate=16000, jsgf=grammar, lm=None) if grammar else Decoder(samprate=16000)
        self.lock = threading.Lock()

    def __call__(self, pcm):
        with self.lock:
            d = self.decoder
            d.start_utt()
            d.process_raw(pcm, full_utt=True)
            d.end_utt()
            hyp = d.hyp()
            return hyp.hypstr if hyp else ""


def parse_multipart(body, content_type):
    """The parts of a multipart/form-data body: name → (filename, bytes)."""
    boundary = None
    for item in content_type.split(";"):
        item = item.strip()
        if item.startswith("boundary="):
            boundary = item[len("boundary="):].strip('"')
    if not boundary:
        raise ValueError("no multipart boundary")
    parts = {}
    for chunk in body.split(b"--" + boundary.encode()):
        if not chunk.strip() or chunk.strip() == b"--":
            continue
        head, _, data = chunk.lstrip(b"\r\n").partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        name = filename = None
        for line in head.decode(errors="replace").split("\r\n"):
            if line.lower().startswith("content-disposition"):
                for field in line.split(";"):
                    field = field.strip()
                    if field.startswith("name="):
                        name = field[5:].strip('"')
                    elif field.startswith("filename="):
                        filename = field[9:].strip('"')
        if name:
            parts[name] = (filename, data)
    return parts


def serve(recognize, port):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # answers "Expect: 100-continue", keeps connections open

        def log_message(self, *args):
            pass

        def reply(self, status, obj):
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path.split("?")[0].rstrip("/") != "/v1/audio/transcriptions":
                return self.reply(404, {"error": {"message": "not found"}})
            try:
                parts = parse_multipart(body, self.headers.get("Content-Type", ""))
                if "file" not in parts:
                    return self.reply(400, {"error": {"message": "missing file"}})
                text = recognize(pcm16k(parts["file"][1]))
            except Exception as e:  # report, keep serving
                return self.reply(500, {"error": {"message": str(e)}})
            self.reply(200, {"text": text, "language": "en"})

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wav", nargs="?")
    ap.add_argument("--grammar")
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--port", type=int, default=8765)
    a = ap.parse_args()
    recognize = Recognizer(a.grammar)
    if a.serve:
        serve(recognize, a.port)
    elif a.wav:
        print(recognize(pcm16k(a.wav)))
    else:
        ap.error("give a WAV file or --serve")


if __name__ == "__main__":
    sys.exit(main())

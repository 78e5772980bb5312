#!/usr/bin/env python3
"""A local stand-in for a Hugging Face file server, for the downloader tests.

Serves the files under ROOT at /<owner>/<repo>/resolve/main/<path> like huggingface.co does for LFS
files: HEAD and GET answer 302 to /cdn/<path> with X-Linked-Etag (the SHA-256) and X-Linked-Size;
/cdn/<path> serves the bytes with Range support. Paths listed in --drop-once are cut off halfway the
first time they are fetched (the connection closes early), to exercise resume. --bad-hash makes the
announced SHA-256 wrong for every file. Prints the port on stdout, then serves until killed.
Usage: hf_test_server.py ROOT [--drop-once PATH ...] [--bad-hash]
"""
import hashlib
import http.server
import os
import sys
import threading
import urllib.parse

root = sys.argv[1]
drop_once = set()
bad_hash = "--bad-hash" in sys.argv
if "--drop-once" in sys.argv:
    i = sys.argv.index("--drop-once") + 1
    while i < len(sys.argv) and not sys.argv[i].startswith("--"):
        drop_once.add(sys.argv[i])
        i += 1
lock = threading.Lock()
requests_log = open(os.path.join(root, ".requests.log"), "a")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _file(self, rel):
        path = os.path.normpath(os.path.join(root, rel))
        if not path.startswith(os.path.abspath(root)) or not os.path.isfile(path):
            return None
        return path

    def _resolve(self, head):
        parts = self.path.split("/resolve/main/", 1)
        if len(parts) != 2:
            self.send_error(404)
            return
        rel = parts[0].lstrip("/") + "/" + urllib.parse.unquote(parts[1])
        path = self._file(rel)
        if path is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = open(path, "rb").read()
        digest = hashlib.sha256(data).hexdigest()
        if bad_hash:
            digest = "0" * 64
        self.send_response(302)
        self.send_header("Location", "/cdn/" + urllib.parse.quote(rel))
        self.send_header("X-Linked-Etag", '"%s"' % digest)
        self.send_header("X-Linked-Size", str(len(data)))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self):
        self._resolve(True)

    def do_GET(self):
        requests_log.write("%s %s\n" % (self.path, self.headers.get("Range", "")))
        requests_log.flush()
        if not self.path.startswith("/cdn/"):
            self._resolve(False)
            return
        rel = urllib.parse.unquote(self.path[len("/cdn/"):])
        path = self._file(rel)
        if path is None:
            self.send_error(404)
            return
        data = open(path, "rb").read()
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            start = int(rng[len("bytes="):].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with lock:
            drop = rel in drop_once
            drop_once.discard(rel)
        if drop:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()

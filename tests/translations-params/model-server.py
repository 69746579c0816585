#!/usr/bin/env python3
"""A loopback stand-in for the storage that pretrained models live in.

    model-server.py [PORT]        (default 18765, on 127.0.0.1)

Training continuation asks, with an HTTP HEAD (following redirects),
whether a pretrained model has one shared `vocab.spm` or one vocab per
language. The params files here that continue from `continue`/`use` models
point at this server, so both the reference and graphgen get the same
answers without the network. What it answers, by the first path segment:

    /joint/...   200 for everything (a model with a shared vocab.spm)
    /split/...   404 for .../vocab.spm, 200 otherwise (per-language vocabs)
    /moved/...   302 to the same path under /joint/
    anything else  404
"""

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def answer(self, with_body):
        segments = self.path.lstrip("/").split("/")
        head, rest = segments[0], "/".join(segments[1:])
        if head == "moved":
            self.send_response(302)
            self.send_header("Location", f"/joint/{rest}")
        elif head == "joint" or (head == "split" and not rest.endswith("/vocab.spm")):
            self.send_response(200)
        else:
            self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self):
        self.answer(False)

    def do_GET(self):
        self.answer(True)

    def log_message(self, format, *args):
        sys.stderr.write(f"model-server: {self.command} {self.path}\n")


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 18765
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()

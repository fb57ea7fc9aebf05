#!/usr/bin/env python3
"""Serve the tfsep web page (this folder) on 127.0.0.1: stdlib only.

``python3 mobile/web/serve.py`` (after ``npm ci`` in mobile/web) -> open
http://127.0.0.1:8000/.  It sends the cross-origin isolation headers
(COOP/COEP) so LiteRT.js can run its threaded WASM; ``--models DIR`` serves
DIR as ``/models/`` (default: ``mobile/web/models``).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import posixpath
import threading
import urllib.parse

ROOT = os.path.dirname(os.path.abspath(__file__))


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".json": "application/json",
        ".wasm": "application/wasm",
        ".tflite": "application/octet-stream",
    }

    def __init__(self, *args, models=None, quiet=False, isolate=True, **kwargs):
        self.models = models
        self.quiet = quiet
        self.isolate = isolate
        super().__init__(*args, **kwargs)

    def translate_path(self, path):
        rel = posixpath.normpath(urllib.parse.unquote(urllib.parse.urlsplit(path).path))
        if self.models and rel.startswith("/models/"):
            parts = [p for p in rel[len("/models/") :].split("/") if p not in ("", ".", "..")]
            return os.path.join(self.models, *parts)
        return super().translate_path(path)

    def end_headers(self):
        if self.isolate:  # cross-origin isolation: SharedArrayBuffer, hence LiteRT's threaded WASM
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format, *args):
        if not self.quiet:
            super().log_message(format, *args)


def make_server(host="127.0.0.1", port=8000, root=ROOT, models=None, quiet=False, isolate=True):
    """A ThreadingHTTPServer for ``root`` (``models`` at /models/); port 0 picks a free one.

    ``isolate=False`` leaves out the COOP/COEP headers, as ``python -m http.server``
    does: the page then runs LiteRT's single-threaded WASM.
    """
    models = os.path.abspath(models or os.path.join(root, "models"))
    handler = functools.partial(Handler, directory=root, models=models, quiet=quiet, isolate=isolate)
    return http.server.ThreadingHTTPServer((host, port), handler)


def serve_in_thread(**kwargs):
    """Start ``make_server(**kwargs)`` on a daemon thread; returns ``(server, base_url)``."""
    server = make_server(**kwargs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f"http://{host}:{port}/"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--models", default=None, help="folder served as /models/ (default mobile/web/models)")
    ap.add_argument("--no-isolation", action="store_true", help="no COOP/COEP headers (single-threaded WASM)")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    if not os.path.isdir(os.path.join(ROOT, "node_modules", "@litertjs", "core")):
        print(f"note: {ROOT}/node_modules is missing: run `npm ci` in {ROOT} first")
    server = make_server(args.host, args.port, models=args.models, quiet=args.quiet, isolate=not args.no_isolation)
    host, port = server.server_address[:2]
    print(f"serving tfsep web on http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

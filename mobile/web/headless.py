#!/usr/bin/env python3
"""Drive the tfsep web page in headless Chromium: stdlib only (DevTools protocol over a pipe).

Used by ``tests/test_web.py`` and ``bench/web_speed.py``; also a command:
``python mobile/web/headless.py MODEL.tflite song.wav -o OUTDIR`` serves the
page on 127.0.0.1, opens it in headless Chromium, picks the song in its file
input as a person would, and saves the stems the page offers for download.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import serve  # beside this file: on sys.path when run as a script, or loaded by the caller
except ImportError:
    sys.path.insert(0, HERE)
    import serve

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--mute-audio",
]


class BrowserError(RuntimeError):
    pass


def chromium_binary() -> str | None:
    """``$TFSEP_CHROMIUM``, else Debian's ``/usr/bin/chromium`` or one on PATH."""
    for cand in (os.environ.get("TFSEP_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def node_modules_ready() -> bool:
    return os.path.isdir(os.path.join(HERE, "node_modules", "@litertjs", "core", "wasm"))


class Chromium:
    """One headless Chromium with a fresh profile, spoken to over ``--remote-debugging-pipe``."""

    def __init__(self, binary=None, flags=()):
        binary = binary or chromium_binary()
        if not binary:
            raise BrowserError("chromium not found (apt-get install chromium, or set TFSEP_CHROMIUM)")
        self.profile = tempfile.mkdtemp(prefix="tfsep-chromium-")
        cmd_r, self._cmd_w = os.pipe()  # we write commands; chromium reads fd 3
        self._evt_r, evt_w = os.pipe()  # chromium writes fd 4
        args = [*FLAGS, *flags, f"--user-data-dir={self.profile}", "--remote-debugging-pipe", "about:blank"]
        # Chromium reads commands on fd 3 and writes events to fd 4.  Move the pipe
        # ends there in the child (via fds >= 10 first, so that neither clobbers
        # the other); close_fds then keeps only 3 and 4.  (A shell redirection
        # cannot name the pipe's fd when pytest's capture has pushed it above 9.)

        def to_fds_3_and_4():
            high_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(evt_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [binary, *args],
            pass_fds=(3, 4),
            preexec_fn=to_fds_3_and_4,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.close(cmd_r)
        os.close(evt_w)
        self._next_id = 0
        self._replies = {}
        self._cond = threading.Condition()
        self.console = []
        self._closed = False
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self):
        for line in self.proc.stderr:
            line = line.decode(errors="replace").rstrip()
            if line and "dbus" not in line:  # no system bus in containers: noise
                self.console.append(f"[chromium] {line}")

    def _read(self):
        buf = b""
        with os.fdopen(self._evt_r, "rb", buffering=0) as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                buf += chunk
                while b"\0" in buf:
                    raw, buf = buf.split(b"\0", 1)
                    self._dispatch(json.loads(raw))
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _dispatch(self, msg):
        if "id" in msg:
            with self._cond:
                self._replies[msg["id"]] = msg
                self._cond.notify_all()
            return
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.console.append(f"[console.{params.get('type')}] {text}")
        elif method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            self.console.append(f"[exception] {d.get('exception', {}).get('description') or d.get('text')}")

    def send(self, method, params=None, session=None, timeout=60):
        with self._cond:
            self._next_id += 1
            mid = self._next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cond:
            while mid not in self._replies:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    why = "chromium exited" if self._closed else f"no reply in {timeout} s"
                    raise BrowserError(f"{method}: {why}\n" + "\n".join(self.console[-20:]))
                self._cond.wait(left)
            reply = self._replies.pop(mid)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error'].get('message')}")
        return reply["result"]

    def new_page(self):
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        page.send("Runtime.enable")
        return page

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except (BrowserError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_w)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Page:
    def __init__(self, browser, session):
        self.browser = browser
        self.session = session

    def send(self, method, params=None, timeout=60):
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def navigate(self, url):
        self.send("Page.navigate", {"url": url})

    def evaluate(self, expression, timeout=60):
        """The value of a JS expression (promises awaited), as JSON."""
        res = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout=timeout,
        )
        if "exceptionDetails" in res:
            d = res["exceptionDetails"]
            raise BrowserError(f"{expression[:80]}: {d.get('exception', {}).get('description') or d.get('text')}")
        return res["result"].get("value")

    def wait_for(self, expression, timeout=60, poll=0.2):
        """Poll until ``expression`` is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except BrowserError:
                value = None  # e.g. the page is still navigating
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out after {timeout} s waiting for {expression}\n" + self.log_tail())
            time.sleep(poll)

    def set_files(self, selector, paths):
        """Pick files in an ``<input type=file>`` as a person would (fires its change event)."""
        root = self.send("DOM.getDocument")["root"]["nodeId"]
        node = self.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        if not node:
            raise BrowserError(f"no element {selector}")
        self.send("DOM.setFileInputFiles", {"nodeId": node, "files": [os.path.abspath(p) for p in paths]})

    def log_tail(self, n=30):
        return "\n".join(self.browser.console[-n:])


# The WAV behind each stem's download link, base64 (what a person downloads).
READ_DOWNLOADS = """(async () => {
  const out = {};
  for (const row of document.querySelectorAll('#stems .stem')) {
    const link = row.querySelector('a[download]');
    const blob = await (await fetch(link.href)).blob();
    const url = await new Promise((ok) => { const r = new FileReader(); r.onload = () => ok(r.result); r.readAsDataURL(blob); });
    out[row.dataset.stem] = {name: link.download, data: url.slice(url.indexOf(',') + 1)};
  }
  return out;
})()"""


def open_page(browser, base_url, model_url, accelerator="wasm", timeout=300):
    """Open the page with ``model_url`` and wait until its model is loaded; returns the Page."""
    page = browser.new_page()
    query = f"?model={model_url}&accelerator={accelerator}"
    page.navigate(base_url + query)
    state = page.wait_for(
        "window.tfsepWeb && ['ready', 'error'].includes(tfsepWeb.state) && tfsepWeb.state", timeout=timeout
    )
    if state == "error":
        raise BrowserError(f"page: {page.evaluate('tfsepWeb.error')}\n{page.log_tail()}")
    return page


def separate_file(page, audio_path=None, wav_bits=32, timeout=600, downloads=True):
    """Pick ``audio_path``, wait for the stems; returns ``{'error', 'result', 'wavs': {stem: WAV bytes}}``.

    ``audio_path=None`` separates the file already picked once more (the page's button).
    """
    page.evaluate(f"document.getElementById('wav-format').value = '{wav_bits}'")
    page.evaluate("tfsepWeb.state = 'picking'")
    if audio_path is None:
        page.evaluate("document.getElementById('separate').click()")
    else:
        page.evaluate("document.getElementById('audio-file').value = ''")  # picking the same file again: a change
        page.set_files("#audio-file", [audio_path])
    state = page.wait_for("['done', 'error'].includes(tfsepWeb.state) && tfsepWeb.state", timeout=timeout, poll=0.5)
    if state == "error":
        return {"error": page.evaluate("tfsepWeb.error"), "result": None, "wavs": {}}
    out = {"error": None, "result": page.evaluate("tfsepWeb.result"), "wavs": {}}
    if downloads:
        for stem, item in page.evaluate(READ_DOWNLOADS, timeout=timeout).items():
            out["wavs"][stem] = base64.b64decode(item["data"])
    return out


def fake_microphone_flags(wav_path) -> list[str]:
    """Chromium flags: a microphone that plays ``wav_path`` (looped), granted without asking, audio that autoplays."""
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={os.path.abspath(wav_path)}",
        "--autoplay-policy=no-user-gesture-required",
    ]


# What the live page's worker recorded, its first `seconds`, as base64 float32 (input and each stem).
READ_LIVE_RECORD = """(async (seconds) => {
  const r = await tfsepLive.record();
  const C = tfsepLive.meta.n_channels, n = Math.round(seconds * tfsepLive.meta.sample_rate) * C;
  const b64 = (a) => {
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  };
  return {input: b64(r.input.subarray(0, n)), stems: r.stems.map((y) => b64(y.subarray(0, n))),
          received: r.received, busy: r.busy};
})"""


def run_live(browser, base_url, model_url, latency, seconds, record_seconds=0.0, accelerator="wasm"):
    """Open the live page on the (fake) microphone for ``seconds``; its plan, figures and first recorded seconds.

    Returns ``{'plan', 'figures', 'record'}``; ``record`` (with ``record_seconds``) holds ``input`` and
    ``stems`` as float32 arrays ``(n, channels)`` and the worker's ``received`` samples and ``busy`` seconds.
    """
    import numpy as np

    page = browser.new_page()
    query = f"?model={model_url}&latency={latency}&source=mic&accelerator={accelerator}"
    page.navigate(base_url + "live.html" + query + ("&record=1" if record_seconds else ""))
    page.wait_for("window.tfsepLive", timeout=60)
    page.evaluate("tfsepLive.start()", timeout=600)
    state = page.wait_for("['running', 'error'].includes(tfsepLive.state) && tfsepLive.state", timeout=600)
    if state == "error":
        raise BrowserError(f"live page: {page.evaluate('tfsepLive.error')}\n{page.log_tail()}")
    time.sleep(seconds)
    out = {"plan": page.evaluate("tfsepLive.plan"), "figures": page.evaluate("tfsepLive.figures"), "record": None}
    if page.evaluate("tfsepLive.state") == "error":
        raise BrowserError(f"live page: {page.evaluate('tfsepLive.error')}\n{page.log_tail()}")
    if record_seconds:
        raw = page.evaluate(f"{READ_LIVE_RECORD}({record_seconds})", timeout=300)
        C = page.evaluate("tfsepLive.meta.n_channels")

        def array(data):
            return np.frombuffer(base64.b64decode(data), np.float32).reshape(-1, C)

        out["record"] = {
            "input": array(raw["input"]),
            "stems": [array(s) for s in raw["stems"]],
            "received": raw["received"],
            "busy": raw["busy"],
        }
    page.evaluate("tfsepLive.stop()")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="MODEL.tflite of a full-graph export (MODEL.json beside it)")
    ap.add_argument("input", help="audio file")
    ap.add_argument("-o", "--output", default="separated")
    ap.add_argument("--accelerator", default="wasm", choices=("auto", "wasm", "webgpu"))
    ap.add_argument("--bits", type=int, default=16, choices=(16, 32))
    args = ap.parse_args(argv)
    model = os.path.abspath(args.model)
    server, base = serve.serve_in_thread(port=0, models=os.path.dirname(model), quiet=True)
    try:
        with Chromium() as browser:
            page = open_page(browser, base, "models/" + os.path.basename(model), args.accelerator)
            out = separate_file(page, args.input, wav_bits=args.bits)
    finally:
        server.shutdown()
    if out["error"]:
        sys.exit(out["error"])
    os.makedirs(args.output, exist_ok=True)
    for stem, data in out["wavs"].items():
        with open(os.path.join(args.output, f"{stem}.wav"), "wb") as f:
            f.write(data)
    r = out["result"]
    print(f"{r['audioSeconds']:.1f} s in {r['seconds']:.2f} s ({r['xRealTime']:.2f}x real time, {r['backend']})")


if __name__ == "__main__":
    main()

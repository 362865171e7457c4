"""Headless Chromium driven over its DevTools pipe (``--remote-debugging-pipe``: JSON messages
separated by NUL bytes on file descriptors 3 and 4), with nothing but the standard library.

:func:`load_page` opens a file in a fresh browser profile, waits for its load event, and returns
a full-page PNG screenshot, where each element matching a selector is on it, and every network
request the page made.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    return next((found for name in NAMES if (found := shutil.which(name))), None)


@dataclass
class Page:
    png: bytes
    #: selector match id -> (x, y, width, height) in CSS pixels of the full page
    boxes: dict[str, tuple[float, float, float, float]]
    #: the URL of every request the page made (its own file included)
    requests: list[str] = field(default_factory=list)


class _Pipe:
    def __init__(self, process: subprocess.Popen[bytes], to_browser: int, from_browser: int):
        self.process = process
        self.out = os.fdopen(to_browser, "wb")
        self.into = os.fdopen(from_browser, "rb")
        self.next_id = 0
        self.buffer = b""
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        self.out.write(json.dumps(message).encode() + b"\0")
        self.out.flush()
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        for index, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(index)
        while True:
            event = self._read()
            if event.get("method") == method:
                return event
            self.events.append(event)

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            chunk = self.into.read1(1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)


def _as_fds_3_and_4(commands: int, replies: int) -> None:
    """In the child: the pipe's ends as fds 3 and 4 (moved out of the way first, in case
    either already is 3 or 4), inheritable across exec."""
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (commands, replies)]
    os.dup2(high[0], 3)
    os.dup2(high[1], 4)


def load_page(path: Path, selector: str, width: int = 1280) -> Page:
    """Load ``path`` in headless Chromium (see the module's docstring)."""
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("no chromium on PATH")
    commands_read, commands_write = os.pipe()
    replies_read, replies_write = os.pipe()
    # ignore_cleanup_errors: a helper process may still be leaving the profile as it is removed
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [
                chromium,
                "--headless",
                "--no-sandbox",  # running as root in CI
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: its helpers end with it
            close_fds=False,  # the pipe's ends become 3 and 4; every other fd is close-on-exec
            preexec_fn=lambda: _as_fds_3_and_4(commands_read, replies_write),
        )
        os.close(commands_read)
        os.close(replies_write)
        pipe = _Pipe(process, commands_write, replies_read)
        try:
            return _drive(pipe, path, selector, width)
        finally:
            _close(pipe, process)


def _close(pipe: _Pipe, process: subprocess.Popen[bytes]) -> None:
    """Ask the browser to quit, then end its process group (renderer and GPU helpers
    included) if it has not within a few seconds."""
    with contextlib.suppress(OSError, RuntimeError):
        pipe.send("Browser.close")
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    pipe.out.close()
    pipe.into.close()


def _drive(pipe: _Pipe, path: Path, selector: str, width: int) -> Page:
    target = pipe.send("Target.createTarget", url="about:blank")["targetId"]
    session = pipe.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    pipe.send("Page.enable", session)
    pipe.send("Network.enable", session)
    pipe.send(
        "Emulation.setDeviceMetricsOverride",
        session,
        width=width,
        height=900,
        deviceScaleFactor=1,
        mobile=False,
    )
    pipe.send("Page.navigate", session, url=path.resolve().as_uri())
    pipe.wait_for("Page.loadEventFired")
    script = (
        "JSON.stringify({height: document.documentElement.scrollHeight, boxes: "
        f"[...document.querySelectorAll({json.dumps(selector)})].map(e => {{"
        "const r = e.getBoundingClientRect();"
        "return [e.id, r.x + scrollX, r.y + scrollY, r.width, r.height]; })})"
    )
    found = json.loads(
        pipe.send("Runtime.evaluate", session, expression=script, returnByValue=True)["result"][
            "value"
        ]
    )
    height = int(found["height"])
    pipe.send(
        "Emulation.setDeviceMetricsOverride",
        session,
        width=width,
        height=height,
        deviceScaleFactor=1,
        mobile=False,
    )
    shot = pipe.send("Page.captureScreenshot", session, format="png", captureBeyondViewport=True)
    requests = [
        e["params"]["request"]["url"]
        for e in pipe.events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    boxes = {str(i): (x, y, w, h) for i, x, y, w, h in found["boxes"]}
    return Page(base64.b64decode(shot["data"]), boxes, requests)

"""Headless Chromium (Debian's `chromium`) driven over the DevTools protocol, for tests that need a real browser.

The protocol runs on a pipe (`--remote-debugging-pipe`: commands in on fd 3, answers out on fd 4, each message JSON
ended by a NUL byte), so it needs no websocket library, no port and no browser download. The page is loaded as a
user would (`file://`, under its own Content-Security-Policy); scripts the test runs through `Runtime.evaluate`
are the debugger's and are not subject to the page's policy.

    python -m tests.support.browser report.html shot.png   # a full-page screenshot (how docs/img/report.png was made)
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
INSTALL_HINT = "install Chromium: apt-get install -y chromium (Debian); .ci/run does it on a fresh machine"


class BrowserError(Exception):
    """Chromium could not be started, answered with an error, or did not answer in time."""


def find_chromium() -> str | None:
    """$CHROMIUM, else the first of CANDIDATES on PATH."""
    explicit = os.environ.get("CHROMIUM")
    return explicit if explicit else next(filter(None, map(shutil.which, CANDIDATES)), None)


class Browser:
    """One headless Chromium with a throwaway profile and one page; a context manager that always ends it."""

    def __init__(self, executable: str, width: int = 1200, height: int = 900, timeout_s: float = 60.0) -> None:
        self.timeout_s = timeout_s
        self.events: list[dict[str, Any]] = []
        self._next_id = 0
        self._buffer = b""
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        to_browser, self._out = os.pipe()
        self._in, from_browser = os.pipe()
        args = [
            executable,
            "--headless",
            "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile.name}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        self._process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=lambda: _as_fds_3_and_4(to_browser, from_browser),
            pass_fds=(3, 4),
        )
        os.close(to_browser)
        os.close(from_browser)
        self._session = ""
        self._width, self._height = width, height

    def __enter__(self) -> Browser:
        try:
            target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            self._session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                self.send(f"{domain}.enable")
            metrics = {"width": self._width, "height": self._height, "deviceScaleFactor": 1, "mobile": False}
            self.send("Emulation.setDeviceMetricsOverride", metrics)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def open(self, url: str) -> None:
        """Navigate and wait for the load event: every image of the page has loaded (or failed) by then."""
        self.events.clear()
        answer = self.send("Page.navigate", {"url": url})
        if answer.get("errorText"):
            raise BrowserError(f"cannot open {url}: {answer['errorText']}")
        self._wait_for_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (a promise is awaited)."""
        params = {"expression": expression, "awaitPromise": True, "returnByValue": True}
        answer = self.send("Runtime.evaluate", params)
        if "exceptionDetails" in answer:
            raise BrowserError(f"script failed: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def screenshot(self, full_page: bool = False) -> bytes:
        """PNG of the viewport, or of the whole page."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
            params["captureBeyondViewport"] = True
        return base64.b64decode(self.send("Page.captureScreenshot", params)["data"])

    def log_entries(self) -> list[dict[str, Any]]:
        """What the page logged since it was opened (`Log.entryAdded`): a CSP violation would be here."""
        return [event["params"]["entry"] for event in self.events if event.get("method") == "Log.entryAdded"]

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if self._session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self._session
        try:
            os.write(self._out, json.dumps(message).encode() + b"\0")
        except OSError as error:
            raise BrowserError(f"Chromium is gone ({method}): {error}") from error
        deadline = time.monotonic() + self.timeout_s
        while True:
            reply = self._receive(deadline, method)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return dict(reply.get("result") or {})
            self.events.append(reply)

    def close(self) -> None:
        if self._process.poll() is None:
            try:
                os.write(self._out, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
                self._process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()
        for fd in (self._in, self._out):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._in = self._out = -1
        self._profile.cleanup()

    def _wait_for_event(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_s
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(self._receive(deadline, method))

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise BrowserError(f"no answer from Chromium within {self.timeout_s:g} s ({waiting_for})")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium exited (code {self._process.poll()}) while waiting for {waiting_for}")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return dict(json.loads(message))


def _as_fds_3_and_4(read_fd: int, write_fd: int) -> None:
    """In the child before exec: the pipe ends where Chromium looks for them. Moved above 10 first, so that one
    already at 3 or 4 is not overwritten by the other."""
    high_read, high_write = fcntl.fcntl(read_fd, fcntl.F_DUPFD, 10), fcntl.fcntl(write_fd, fcntl.F_DUPFD, 10)
    os.dup2(high_read, 3)  # dup2 clears close-on-exec: Chromium inherits them
    os.dup2(high_write, 4)


def main(argv: list[str]) -> int:
    page, out = Path(argv[0]).resolve(), Path(argv[1])
    executable = find_chromium()
    if executable is None:
        print(f"no Chromium found: {INSTALL_HINT}", file=sys.stderr)
        return 1
    with Browser(executable, width=int(argv[2]) if len(argv) > 2 else 1000) as browser:
        browser.open(page.as_uri())
        out.write_bytes(browser.screenshot(full_page=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

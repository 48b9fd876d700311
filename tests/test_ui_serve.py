"""``secfeed ui --serve``: the app in a web browser. Headless Chromium, driven through its
DevTools protocol (websocket-client), opens the page that ``secfeed ui --serve 0`` serves on
127.0.0.1; the test reads what the page received over its websocket (the rows of the feed)
and takes a screenshot, whose pixels must show rows of text, not textual-serve's intro."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import websocket

from secfeed_cli.emulator.server import Emulator

from .conftest import ROOT, cli_env
from .patience import WAIT
from .processes import track

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("SECFEED_REQUIRE_CHROMIUM"):
        raise RuntimeError("chromium is required (SECFEED_REQUIRE_CHROMIUM is set)")
    pytest.skip("chromium is not installed", allow_module_level=True)

ACCESSION = re.compile(rb"\d{10}-\d\d-\d{6}")
#: What a headless Chromium needs here: no sandbox (root), no GPU, no calls home.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


def first_line(stream: IO[bytes], pattern: str, timeout: float = WAIT) -> re.Match[str]:
    """The first line of ``stream`` that matches (a process saying where it listens)."""
    import select
    import time

    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        if not select.select([stream], [], [], deadline - time.monotonic())[0]:
            break
        line = stream.readline().decode("utf-8", "replace")
        if not line:
            break
        seen.append(line)
        found = re.search(pattern, line)
        if found:
            return found
    raise AssertionError(f"never printed {pattern!r}; printed: {''.join(seen)[-2000:]}")


class DevTools:
    """One page of a headless Chromium, through the DevTools protocol."""

    def __init__(self, tmp: Path) -> None:
        assert CHROMIUM is not None
        # Its temporary folders (a SingletonSocket folder each start) in one of the test's
        # own, short (a socket's path is at most 107 bytes), removed at close: left in /tmp,
        # they outlived every run.
        self.tmp = tempfile.mkdtemp(prefix="secfeed-chromium-")
        self.proc = track(
            subprocess.Popen(
                [CHROMIUM, *FLAGS, f"--user-data-dir={tmp / 'chromium'}", "about:blank"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
                env={**os.environ, "TMPDIR": self.tmp},
            )
        )
        assert self.proc.stderr is not None
        browser = first_line(self.proc.stderr, r"DevTools listening on (ws://127\.0\.0\.1:(\d+)/)")
        listing = f"http://127.0.0.1:{browser.group(2)}/json/list"
        with urllib.request.urlopen(listing, timeout=10) as answer:
            pages = json.load(answer)
        page = next(p for p in pages if p["type"] == "page")
        # No Origin header: Chromium 111 and later refuse a DevTools client that sends one
        # unless started with --remote-allow-origins, and a client without one (as a program
        # is) is let in by every version.
        self.ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=WAIT, suppress_origin=True
        )
        self.n = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.n:
                assert "error" not in message, message
                result: dict[str, Any] = message["result"]
                return result
            self.events.append(message)

    def until(self, done: Callable[[dict[str, Any]], bool]) -> None:
        """Read the page's events until one satisfies ``done`` (the socket's timeout bounds
        each wait)."""
        for event in self.events:
            if done(event):
                return
        while True:
            event = json.loads(self.ws.recv())
            self.events.append(event)
            if done(event):
                return

    def close(self) -> None:
        self.ws.close()
        os.killpg(self.proc.pid, signal.SIGKILL)  # the browser and its helpers
        self.proc.wait()
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def png_rows(data: bytes) -> list[bytes]:
    """The pixel rows of an 8-bit RGB or RGBA PNG, not interlaced (as Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    width = height = channels = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6) and body[12] == 0
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line[c] for c in range(0, stride, channels)))  # the red channel
        prev = line
    return rows


def text_bands(rows: list[bytes], light: int = 90) -> int:
    """How many bands of rows hold light pixels (lines of text on a dark terminal), in the
    left half (the right edge has the scrollbar, lit all the way down)."""
    bands, inside = 0, False
    for row in rows:
        lit = sum(1 for value in row[: len(row) // 2] if value >= light) >= 4
        if lit and not inside:
            bands += 1
        inside = lit
    return bands


def start_server(url: str) -> tuple[subprocess.Popen[bytes], str]:
    proc = track(
        subprocess.Popen(
            [sys.executable, "-m", "secfeed_cli", "ui", "--serve", "0", "--url", url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            cwd=ROOT,
            env=cli_env(),
            start_new_session=True,
        )
    )
    assert proc.stderr is not None
    found = first_line(proc.stderr, r"serving the ui on (http://127\.0\.0\.1:\d+/[\w-]{20,}/) ")
    return proc, found.group(1)


def open_page(browser: DevTools, url: str, backlog: set[bytes]) -> None:
    """Open the ui's page and wait until the rows of the backlog and LIVE have reached it."""
    browser.call("Network.enable")
    browser.call("Page.navigate", url=url)
    received = bytearray()

    def rows_arrived(event: dict[str, Any]) -> bool:
        if event.get("method") != "Network.webSocketFrameReceived":
            return False
        response = event["params"]["response"]
        payload = response["payloadData"]
        binary = response["opcode"] == 2
        received.extend(base64.b64decode(payload) if binary else payload.encode())
        plain = re.sub(rb"\x1b\[[0-?]*[ -/]*[@-~]", b"", bytes(received))
        return len(set(ACCESSION.findall(plain)) & backlog) >= 20 and b"LIVE" in plain

    browser.until(rows_arrived)


@pytest.fixture
def served(emulator_factory: Callable[..., Emulator]) -> Iterator[tuple[str, Emulator]]:
    em = emulator_factory(backlog=30)
    proc, url = start_server(em.url)
    assert proc.stderr is not None and proc.stdout is not None
    try:
        yield url, em
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=WAIT) == 0
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        assert out == b"", out.decode("utf-8", "replace")  # stdout stays data only: nothing
        assert b"Traceback" not in err and b"Error" not in err, err.decode("utf-8", "replace")


def test_the_ui_in_a_browser_shows_the_rows(served: tuple[str, Emulator], tmp_path: Path) -> None:
    url, em = served
    backlog = {a.encode() for a in em_accessions(em)}
    browser = DevTools(tmp_path)
    try:
        open_page(browser, url, backlog)
        # The page has the rows; the screenshot must show them. The terminal paints on
        # animation frames, and under load more than one may pass before it has: each look is
        # after the next two frames, until the rows are there (at most 50 looks).
        two_frames = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        bands = 0
        for _ in range(50):
            browser.call("Runtime.evaluate", expression=two_frames, awaitPromise=True)
            shot = base64.b64decode(browser.call("Page.captureScreenshot", format="png")["data"])
            bands = text_bands(png_rows(shot))
            if bands >= 20:
                break
        (tmp_path / "ui.png").write_bytes(shot)
        assert bands >= 20, f"{bands} rows of text in the screenshot (tmp_path/ui.png)"
    finally:
        browser.close()


def em_accessions(em: Emulator) -> list[str]:
    """The accession numbers of the emulator's backlog, read as tail reads them."""
    from .conftest import secfeed

    res = secfeed("tail", "--url", em.url, "--backlog-only")
    assert res.returncode == 0
    return [json.loads(line)["accession_no"] for line in res.stdout.splitlines()]


def test_a_pages_app_ends_with_the_server_however_it_ends(
    emulator_factory: Callable[..., Emulator], tmp_path: Path
) -> None:
    em = emulator_factory(backlog=30)
    proc, url = start_server(em.url)
    browser = DevTools(tmp_path)
    try:
        open_page(browser, url, {a.encode() for a in em_accessions(em)})
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert len(children) == 1  # the page's app, the server's own child (exec)
        app = os.pidfd_open(int(children[0]))
        proc.kill()  # no stop, no goodbye to the page's app
        proc.wait()
        import select

        assert select.select([app], [], [], WAIT)[0], "the page's app outlived the server"
        os.close(app)
    finally:
        browser.close()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.unit
def test_the_served_app_runs_with_the_same_options_less_the_servers() -> None:
    from secfeed_cli.ui.serve import app_args

    assert app_args(["ui", "--serve", "--form", "4"]) == ["ui", "--form", "4"]
    assert app_args(["ui", "--serve", "9000", "--url", "ws://h"]) == ["ui", "--url", "ws://h"]
    assert app_args(["ui", "--serve=9000", "--serve-host", "0.0.0.0", "-v"]) == ["ui", "-v"]
    assert app_args(["ui", "--serve-host=::1", "--serve"]) == ["ui"]


def test_the_server_lets_in_its_own_page_only(
    served: tuple[str, Emulator],
) -> None:
    """Any page open in a browser here can reach 127.0.0.1: without the token nothing is
    served, and the websocket takes only the served page's own origin."""
    import urllib.error

    from secfeed_cli.ui.serve import MAX_PAGES

    url, _ = served
    origin = url.split("/", 3)
    base, token = "/".join(origin[:3]), origin[3].strip("/")
    with urllib.request.urlopen(url, timeout=WAIT) as page:
        assert b"data-session-websocket-url" in page.read()
    for guess in (base + "/", base + "/ws", f"{base}/{token[:-1]}/"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(guess, timeout=WAIT)
        assert refused.value.code == 404
        refused.value.close()
    ws_url = f"ws{base[4:]}/{token}/ws"
    for other in ("http://127.0.0.1:1", "http://evil.example", "null"):
        with pytest.raises(websocket.WebSocketBadStatusException) as bad:
            websocket.create_connection(ws_url, origin=other, timeout=WAIT)
        assert bad.value.status_code == 403
    # The page's own origin: in, up to MAX_PAGES at once; the next is told so.
    pages = [
        websocket.create_connection(ws_url, origin=base, timeout=WAIT) for _ in range(MAX_PAGES)
    ]
    try:
        with pytest.raises(websocket.WebSocketBadStatusException) as full:
            websocket.create_connection(ws_url, origin=base, timeout=WAIT)
        assert full.value.status_code == 503
    finally:
        for page in pages:
            page.close()

"""``--notify URL``: a message per burst of filings through apprise (Slack, Discord, Telegram,
ntfy, email, generic JSON/form webhooks: apprise's URL syntax).

One thread per run: filings that arrive within :data:`WINDOW` seconds of the first become one
message (a burst of 40 filings is one message, not 40), sent to every URL, each retried with
backoff when it fails. Webhook URLs carry tokens: they are shown masked and registered with the
redaction step, like the API key. apprise is an optional extra (``secfeed[notify]``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import msgspec

from ..companies import who
from ..filing import Filing
from ..redact import add_secret

#: Seconds after a burst's first filing during which later ones join its message.
WINDOW = 1.0
#: At most this many filings in one message (the rest start the next one).
BATCH = 50
#: Attempts per message and URL, and the first pause between them (doubling).
ATTEMPTS = 4
BACKOFF = 1.0
QUEUE = 10_000

INSTALL = "pip install 'secfeed[notify]'"


class NotifyUnavailable(RuntimeError):
    pass


def load_apprise() -> Any:
    try:
        import apprise
    except ImportError:
        raise NotifyUnavailable(f"--notify needs apprise, an optional extra: {INSTALL}") from None
    # apprise logs failures itself, URLs included; secfeed reports them, masked.
    log = logging.getLogger("apprise")
    log.addHandler(logging.NullHandler())
    log.propagate = False
    log.setLevel(logging.CRITICAL + 1)
    return apprise


def register_secrets(url: str) -> None:
    """Every part of a notification URL that can be a token joins the redaction registry."""
    add_secret(url)
    parts = urlsplit(url)
    candidates = [parts.password or "", parts.username or "", parts.netloc]
    candidates += parts.path.split("/") + [kv.partition("=")[2] for kv in parts.query.split("&")]
    for part in candidates:
        if len(part) >= 6 and not part.replace(".", "").isdigit():
            add_secret(part)


def masked(service: Any, url: str) -> str:
    """apprise's own privacy form of the URL, without the query string."""
    try:
        text = str(service.url(privacy=True))
    except Exception:  # noqa: BLE001 - a plugin's url() is not ours to trust
        text = f"{urlsplit(url).scheme}://***"
    return text.split("?", 1)[0]


def services(urls: tuple[str, ...]) -> list[tuple[Any, str]]:
    """(apprise service, masked URL) per URL; ValueError names the one apprise cannot use."""
    apprise = load_apprise()
    found = []
    for url in urls:
        register_secrets(url)
        service = apprise.Apprise.instantiate(url)
        if service is None:
            scheme = urlsplit(url).scheme or url.split(":", 1)[0]
            raise ValueError(f"--notify: apprise does not understand this {scheme}:// URL")
        found.append((service, masked(service, url)))
    return found


def message(filings: list[Filing]) -> tuple[str, str]:
    """(title, body) for a burst."""

    def name(f: Filing) -> str:
        company, ticker = who(f)
        text = company or f.description
        return f"{text} ({ticker})" if ticker else text

    if len(filings) == 1:
        f = filings[0]
        return f"{f.form}: {name(f)}", f"{f.description}\n{f.url}"
    title = f"{len(filings)} new SEC filings"
    body = "\n".join(f"{f.form} · {name(f)} · {f.url}" for f in filings)
    return title, body


class Counts(msgspec.Struct):
    sent: int = 0  # messages delivered (per URL)
    filings: int = 0  # filings in them
    retries: int = 0
    failed: int = 0  # messages given up on
    dropped: int = 0  # filings not queued (queue full)


class Notifier:
    def __init__(
        self,
        urls: tuple[str, ...],
        warn: Callable[[str], None],
        window: float = WINDOW,
        backoff: float = BACKOFF,
    ) -> None:
        self.targets = services(urls)
        self.warn = warn
        self.window = window
        self.backoff = backoff
        self.counts = Counts()
        self.queue: queue.Queue[Filing] = queue.Queue(QUEUE)
        self.stop = threading.Event()
        self.deadline = float("inf")  # set by close(): when retries give up
        self._warned_full = False
        self.thread = threading.Thread(target=self._work, name="notify", daemon=True)
        self.thread.start()

    def deliver(self, filings: list[Filing]) -> None:
        for filing in filings:
            try:
                self.queue.put_nowait(filing)
            except queue.Full:
                self.counts.dropped += 1
                if not self._warned_full:
                    self._warned_full = True
                    self.warn(
                        f"--notify: {QUEUE} filings are waiting to be sent; newer ones are"
                        " dropped (and counted) until they catch up, so the feed never waits"
                    )

    def _work(self) -> None:
        while not (self.stop.is_set() and self.queue.empty()):
            try:
                first = self.queue.get(timeout=0.1)
            except queue.Empty:
                continue
            burst = [first]
            until = time.monotonic() + self.window
            while len(burst) < BATCH:
                left = until - time.monotonic()
                if self.stop.is_set():
                    left = 0.0
                try:
                    burst.append(
                        self.queue.get(timeout=left) if left > 0 else self.queue.get_nowait()
                    )
                except queue.Empty:
                    break
            self._send(burst)

    def _send(self, burst: list[Filing]) -> None:
        title, body = message(burst)
        for service, shown in self.targets:
            pause = self.backoff
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    ok = bool(service.notify(body=body, title=title))
                except Exception:  # noqa: BLE001 - a plugin's failure is a failed send
                    ok = False
                if ok:
                    self.counts.sent += 1
                    self.counts.filings += len(burst)
                    break
                if attempt == ATTEMPTS or time.monotonic() + pause > self.deadline:
                    self.counts.failed += 1
                    self.warn(
                        f"--notify: sending {len(burst)} filings to {shown} failed"
                        f" after {attempt} attempts"
                    )
                    break
                self.counts.retries += 1
                self.stop.wait(pause)  # this thread only: the feed is not waiting
                pause *= 2

    def close(self, grace: float) -> None:
        """What is queued is sent, for up to ``grace`` seconds (no retry past it)."""
        self.deadline = time.monotonic() + grace
        self.stop.set()
        self.thread.join(grace)

    def summary(self) -> str:
        c = self.counts
        text = (
            f"notifications: {c.sent} sent ({c.filings} filings), {c.failed} failed,"
            f" {c.retries} retries"
        )
        if c.dropped:
            text += f", {c.dropped} filings dropped (queue full)"
        return text

"""``--notify URL``: a message per burst of filings through apprise (Slack, Discord, Telegram,
ntfy, email, generic JSON/form webhooks: apprise's URL syntax).

Every target is on its own: its own queue and thread, so a target that answers a byte a second
holds up nobody else. Filings that arrive within :data:`WINDOW` seconds of the first become one
message (a burst of 40 filings is one message, not 40), retried with backoff when it fails.
Each attempt has a total deadline (``--notify-timeout``): apprise's own timeouts are per read,
so the call runs in a thread of its own that is let go at the deadline; while such a call is
still stuck, that target's next bursts are dropped (and counted) rather than starting another.
Every filing queued for a target ends as sent, failed or dropped, in that target's summary.

A target is shown as apprise's privacy form of its URL (scheme, host and port as written; the
tokens a plugin knows to be secret abbreviated), with token-like path segments masked too; the
parts masked are registered with the redaction step, like the API key. Why a send failed comes
from apprise's log records of that send: the HTTP status, refused, timed out.
apprise is an optional extra (``secfeed-cli[notify]``).
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import msgspec

from ..common.redact import Secrets
from ..extras import install_hint
from ..filtering.grep import first_match
from ..output.records import label
from ..wire.filing import Filing

#: Seconds after a burst's first filing during which later ones join its message.
WINDOW = 1.0
#: At most this many filings in one message (the rest start the next one).
BATCH = 50
#: Attempts per message and target, and the first pause between them (doubling).
ATTEMPTS = 4
BACKOFF = 1.0
#: Filings waiting per target; beyond this, newer ones are dropped (and counted).
QUEUE = 10_000
#: The default total deadline of one attempt (--notify-timeout).
SEND_TIMEOUT = 10.0

INSTALL = install_hint("notify")


class NotifyUnavailable(RuntimeError):
    pass


class _Reasons(logging.Handler):
    """apprise's log records, kept per sending thread: why its last send failed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.by_thread: dict[int, list[str]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        kept = self.by_thread.get(threading.get_ident())
        if kept is not None and len(kept) < 20:
            try:
                kept.append(record.getMessage()[:500])
            except Exception:  # noqa: BLE001 - a plugin's bad format string is no reason to stop
                pass


_reasons = _Reasons()


def load_apprise() -> Any:
    try:
        import apprise
    except ImportError:
        raise NotifyUnavailable(f"--notify needs apprise, an optional extra: {INSTALL}") from None
    # apprise logs failures itself, URLs included: its records go to us alone, and secfeed
    # words the reason itself (masked).
    log = logging.getLogger("apprise")
    if _reasons not in log.handlers:
        log.addHandler(_reasons)
    log.propagate = False
    log.setLevel(logging.DEBUG)
    return apprise


def reason(messages: list[str]) -> str:
    """A short cause from apprise's records of one failed send."""
    text = " ".join(messages)
    status = re.search(r"error=(\d{3})\b|error code:? ?(\d{3})\b", text)
    if status:
        return f"HTTP {status.group(1) or status.group(2)}"
    lowered = text.lower()
    for needle, said in (
        ("refused", "connection refused"),
        ("timed out", "timed out"),
        ("timeout", "timed out"),
        ("name or service not known", "cannot resolve the host"),
        ("nodename nor servname", "cannot resolve the host"),
        ("temporary failure in name resolution", "cannot resolve the host"),
        ("certificate", "TLS certificate not trusted"),
        ("ssl", "TLS error"),
        ("reset by peer", "connection reset"),
        ("remote end closed", "connection closed by the server"),
    ):
        if needle in lowered:
            return said
    return "the service said no (no reason given)"


_TOKENISH = re.compile(r"(?=.*\d)(?=.*[A-Za-z])[^/]{8,}|[^/]{20,}")


def _mask_segment(part: str) -> str:
    return f"{part[0]}...{part[-1]}" if _TOKENISH.fullmatch(part) else part


def shown(service: Any, url: str) -> str:
    """How a target is named in messages: apprise's privacy form of it, without the query,
    and with path segments that look like tokens abbreviated (``A...9``)."""
    try:
        text = str(service.url(privacy=True))
    except Exception:  # noqa: BLE001 - a plugin's url() is not ours to trust
        parts = urlsplit(url)
        text = f"{parts.scheme}://{parts.hostname or ''}"
    text = text.split("?", 1)[0]
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host}{slash}{'/'.join(_mask_segment(p) for p in path.split('/'))}"


def register_secrets(url: str, display: str, secrets: Secrets) -> None:
    """The secrets of ``url`` from now on: its password, each query value whole, and the parts
    that its display form hides unless they are a plain word. A plain word (``#filings``, a
    query's key such as ``token``) is no secret worth the cost: masked, it would blank that
    word in every line secfeed prints."""
    visible = set(re.split(r"[/:@?&=#]+", display))
    parts = urlsplit(url)
    address = url.split("://", 1)[-1].split("?", 1)[0]
    for part in re.split(r"[/:@&=#]+", address):
        if part not in visible and _secretish(part):
            secrets.add(part)
    secrets.add(parts.password)
    for pair in parts.query.split("&"):
        value = pair.partition("=")[2]
        if len(value) >= 4:
            secrets.add(value)


def _secretish(part: str) -> bool:
    return len(part) >= 4 and not _PLAIN_WORD.fullmatch(part)


_PLAIN_WORD = re.compile(r"[A-Za-z]?[a-z]+")


def services(urls: tuple[str, ...], secrets: Secrets) -> list[tuple[Any, str]]:
    """(apprise service, how it is shown) per URL, their secrets added to ``secrets``;
    ValueError names the one apprise cannot use, by its place among the --notify options and
    its scheme, never the rest of it."""
    apprise = load_apprise()
    found = []
    for n, url in enumerate(urls, 1):
        which = f"--notify #{n}" if len(urls) > 1 else "--notify"
        scheme, sep, _ = url.partition("://")
        if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
            raise ValueError(
                f"{which} is not a URL: apprise URLs look like json://HOST/PATH,"
                " slack://TOKEN/TOKEN/TOKEN or ntfy://TOPIC"
            )
        service = apprise.Apprise.instantiate(url)
        if service is None:
            raise ValueError(f"{which}: apprise does not understand this {scheme}:// URL")
        display = shown(service, url)
        register_secrets(url, display, secrets)
        found.append((service, display))
    return found


def message(filings: list[Filing]) -> tuple[str, str]:
    """(title, body) for a burst."""

    def said(f: Filing) -> str:  # --details: what the filing says, when known
        summary = f.details_summary
        match = first_match(f)  # --grep: where it matched
        return (f" · {summary}" if summary else "") + (f" · {match}" if match else "")

    if len(filings) == 1:
        f = filings[0]
        summary = f.details_summary
        match = first_match(f)
        lines = [f.description, *([summary] if summary else []), *([match] if match else [])]
        lines.append(f.url)
        return f"{f.form}: {label(f)}", "\n".join(lines)
    title = f"{len(filings)} new SEC filings"
    body = "\n".join(f"{f.form} · {label(f)}{said(f)} · {f.url}" for f in filings)
    return title, body


class Counts(msgspec.Struct):
    sent: int = 0  # messages delivered
    filings: int = 0  # filings in them
    retries: int = 0
    failed: int = 0  # messages given up on
    failed_filings: int = 0
    dropped: int = 0  # filings never sent: queue full, target stuck, or the run ended


class Target:
    """One --notify URL: its queue, its thread, its counts."""

    def __init__(
        self,
        service: Any,
        name: str,
        warn: Callable[[str], None],
        window: float,
        backoff: float,
        timeout: float,
    ) -> None:
        self.service = service
        self.name = name
        self.warn = warn
        self.window = window
        self.backoff = backoff
        self.timeout = timeout
        self.counts = Counts()
        self.lock = threading.Lock()
        self.queue: queue.Queue[Filing] = queue.Queue(QUEUE)
        self.stop = threading.Event()
        self.deadline = float("inf")  # set by close(): no attempt or retry past it
        self.stuck: threading.Thread | None = None  # a send let go at its deadline
        self.in_flight = 0  # filings of the burst the thread holds, not counted yet
        self._warned: set[str] = set()
        self.thread = threading.Thread(target=self._work, name="notify", daemon=True)
        self.thread.start()

    def deliver(self, filings: list[Filing]) -> None:
        for filing in filings:
            try:
                self.queue.put_nowait(filing)
            except queue.Full:
                with self.lock:
                    self.counts.dropped += 1
                self._warn_once(
                    "full",
                    f"--notify {self.name}: {QUEUE} filings are waiting to be sent; newer ones"
                    " are dropped (and counted) until it catches up, so the feed never waits",
                )

    def _warn_once(self, key: str, text: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.warn(text)

    def _work(self) -> None:
        while not (self.stop.is_set() and self.queue.empty()):
            try:
                first = self.queue.get(timeout=0.1)
            except queue.Empty:
                continue
            burst = [first]
            until = time.monotonic() + self.window
            while len(burst) < BATCH:
                left = 0.0 if self.stop.is_set() else until - time.monotonic()
                try:
                    burst.append(
                        self.queue.get(timeout=left) if left > 0 else self.queue.get_nowait()
                    )
                except queue.Empty:
                    break
            self.in_flight = len(burst)
            if time.monotonic() >= self.deadline:
                self._drop(len(burst))
            else:
                self._send(burst)
            self.in_flight = 0

    def _drop(self, n: int) -> None:
        with self.lock:
            self.counts.dropped += n

    def _send(self, burst: list[Filing]) -> None:
        if self.stuck is not None and self.stuck.is_alive():
            self._drop(len(burst))
            self._warn_once(
                "stuck",
                f"--notify {self.name}: a send is still stuck past --notify-timeout; its next"
                " filings are dropped (and counted) until it ends",
            )
            return
        self.stuck = None
        title, body = message(burst)
        pause = self.backoff
        for attempt in range(1, ATTEMPTS + 1):
            why = self._attempt(title, body)
            if why is None:
                with self.lock:
                    self.counts.sent += 1
                    self.counts.filings += len(burst)
                return
            last = attempt == ATTEMPTS or self.stuck is not None
            if last or time.monotonic() + pause >= self.deadline:
                with self.lock:
                    self.counts.failed += 1
                    self.counts.failed_filings += len(burst)
                tries = f"after {attempt} attempts" if attempt > 1 else "(1 attempt)"
                self.warn(
                    f"--notify: sending {_filings(len(burst))} to {self.name} failed {tries}: {why}"
                )
                return
            with self.lock:
                self.counts.retries += 1
            self.stop.wait(pause)  # this thread only: the feed is not waiting
            pause *= 2

    def _attempt(self, title: str, body: str) -> str | None:
        """One send within the deadline: None when it went through, else why not."""
        result: list[bool] = []
        said: list[str] = []

        def call() -> None:
            _reasons.by_thread[threading.get_ident()] = said
            try:
                result.append(bool(self.service.notify(body=body, title=title)))
            except Exception as exc:  # noqa: BLE001 - a plugin's failure is a failed send
                said.append(str(exc))
                result.append(False)
            finally:
                _reasons.by_thread.pop(threading.get_ident(), None)

        sender = threading.Thread(target=call, name="notify-send", daemon=True)
        sender.start()
        sender.join(max(0.0, min(self.timeout, self.deadline - time.monotonic())))
        if sender.is_alive():
            self.stuck = sender
            if time.monotonic() >= self.deadline:
                return "still sending when the run ended"
            return f"no answer within {self.timeout:g} s (--notify-timeout)"
        if result and result[0]:
            return None
        return reason(said)

    def close(self, deadline: float) -> None:
        self.deadline = deadline
        self.stop.set()

    def finish(self, deadline: float) -> None:
        """After close(): wait for the thread until ``deadline``; what is left is dropped."""
        self.thread.join(max(0.0, deadline - time.monotonic()))
        left = self.in_flight if self.thread.is_alive() else 0  # held by a thread not back
        self.in_flight = 0
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                break
            left += 1
        self._drop(left)

    def summary(self) -> str:
        with self.lock:
            c = self.counts
            text = f"notifications to {self.name}: {c.sent} sent ({c.filings} filings)"
            text += f", {c.failed} failed"
            if c.failed:
                text += f" ({c.failed_filings} filings)"
            text += f", {c.retries} retries"
            if c.dropped:
                text += f", {c.dropped} filings dropped"
        return text


class Notifier:
    def __init__(
        self,
        urls: tuple[str, ...],
        warn: Callable[[str], None],
        secrets: Secrets,
        window: float = WINDOW,
        backoff: float = BACKOFF,
        timeout: float = SEND_TIMEOUT,
    ) -> None:
        self.targets = [
            Target(service, name, warn, window, backoff, timeout)
            for service, name in services(urls, secrets)
        ]

    def deliver(self, filings: list[Filing]) -> None:
        for target in self.targets:
            target.deliver(filings)

    def close(self, grace: float) -> None:
        """What is queued is sent, for up to ``grace`` seconds (no attempt or retry past it);
        a send still under way then is let go, and what was not sent is counted dropped."""
        deadline = time.monotonic() + grace
        for target in self.targets:
            target.close(deadline)
        for target in self.targets:
            target.finish(deadline + 0.2)  # a send given up at the deadline is counted

    def summaries(self) -> list[str]:
        return [target.summary() for target in self.targets]


def _filings(n: int) -> str:
    return "1 filing" if n == 1 else f"{n} filings"

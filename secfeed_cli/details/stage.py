"""``--details``: filings of the forms that have details wait for them, briefly, in order.

Each filing of Forms 3/4/5, 8-K or Schedule 13D/G (and their amendments) that is to be shown
is asked of EDGAR by a small pool of threads sharing one :class:`edgar.EdgarClient` (its pace
and its stop after a refusal), live filings before backlog ones, the backlog newest first.
Filings go out in the order they came, each as soon as its details are in or ``wait`` seconds
after it was received, whichever is first, with a ``details`` object whose ``status`` says
which:

- ``ok``: the details, and their ``summary``;
- ``deferred``: not in within ``wait`` (EDGAR slow, or the queue long);
- ``unavailable``: EDGAR does not have the document (a 404 after retries), or holds no
  details for it (a text filing before 2003), or stopped answering (a 403/429);
- ``error``: the document could not be read (malformed XML), with a ``reason``.

A filing waits at most ``wait`` seconds in all: one behind it waits no longer than its own
``wait``, since they wait in the order they were received. Nothing is dropped or doubled.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable

import msgspec
from msgspec.structs import replace

from ..wire.details import (
    Details,
    EightK,
    Exhibit,
    NoDetails,
    Ownership,
    Report,
    Schedule13,
    Text,
)
from ..wire.filing import Filing
from . import edgar
from . import text as textual
from .criteria import DetailFilter
from .eightk import parse_8k
from .ownership import ownership_xml, parse_ownership
from .schedule13 import parse_schedule13
from .sgml import DetailsError, NoDocument, parse_header

#: Fetching threads: the pace (at most 10 a second) is the limit, not the threads. One more
#: takes live filings only: a live filing never waits for a backlog one's fetch to end.
WORKERS = 3
#: Filings asked for and not fetched yet, at most; beyond, a filing goes out ``deferred``.
MAX_QUEUED = 2_000
#: A 404 is asked again, this much later each time (EDGAR can lag the feed by seconds): a
#: live filing with backoff while its wait lasts, a backlog one once (it is not new on EDGAR).
RETRY_404 = (1.0, 2.0, 4.0, 8.0)


#: The kinds ``--details`` reads, and those ``--text`` reads (a 6-K only has words).
DETAILS_KINDS = frozenset({"ownership", "8-K", "13DG"})
TEXT_KINDS = frozenset({"8-K", "6-K"})


def kind(form: str) -> str | None:
    """Which details a form has: ``ownership``, ``8-K``, ``6-K``, ``13DG``, or None."""
    base = form.strip().upper().removesuffix("/A")
    if base in ("3", "4", "5"):
        return "ownership"
    if base == "8-K":
        return "8-K"
    if base == "6-K":
        return "6-K"
    if base in ("SCHEDULE 13D", "SCHEDULE 13G", "SC 13D", "SC 13G"):
        return "13DG"
    return None


# The outcomes of a fetch that found no details: each is ``unavailable`` or ``error`` on the
# wire (a NoDetails), and the type says what happened, so that what is retried never hangs on
# the words of a reason.


class Missing(NoDetails, frozen=True, kw_only=True):
    """EDGAR has no such document (a 404, after the client's own retries): a live filing is
    asked again a little later (EDGAR can lag the feed)."""


class Refused(NoDetails, frozen=True, kw_only=True):
    """EDGAR refused (a 403 or 429): no request goes out until its pause is over."""


class Unreadable(NoDetails, frozen=True, kw_only=True):
    """The document could not be read (malformed, hostile, too large, cut off)."""


def details_of(
    filing: Filing, client: edgar.EdgarClient, text: TextWanted | None = None
) -> Details:
    """Fetch and read one filing's details (in a worker thread). Whatever a document does
    ends as this filing's ``status``: a document that cannot be read is an ``error`` with a
    reason, and is not kept in the cache. ``text``: an 8-K's words too (``--text``)."""
    what = kind(filing.form)
    try:
        if what == "8-K":
            path = edgar.index_headers_path(filing.cik, filing.accession_no)
            details, docs = client.read(path, _read_8k_and_documents)
            if text is None:
                return details
            return replace(details, text=words_of(filing, client, docs, text))
        if what == "6-K" and text is not None:
            path = edgar.index_headers_path(filing.cik, filing.accession_no)
            docs = client.read(
                path, lambda page: textual.documents(page.decode("utf-8", "replace"))
            )
            words = words_of(filing, client, docs, text)
            return Report(form=filing.form, text=words, summary=report_summary(words))
        if what == "ownership":
            path = edgar.submission_path(filing.cik, filing.accession_no)
            return client.read(path, _read_ownership)
        if what == "13DG":
            path = edgar.submission_path(filing.cik, filing.accession_no)
            return client.read(path, _read_13dg)
        return NoDetails(status="unavailable", reason="no details for this form")
    except edgar.NotFound as exc:
        return Missing(status="unavailable", reason=str(exc))
    except edgar.Blocked as exc:
        return Refused(status="unavailable", reason=str(exc))
    except NoDocument as exc:
        return NoDetails(status="unavailable", reason=str(exc))
    except (DetailsError, edgar.EdgarError, ValueError) as exc:
        return Unreadable(status="error", reason=str(exc))
    except Exception as exc:  # anything else a document made the reading do
        return unreadable(exc)


def report_summary(words: Text) -> str:
    """A 6-K's one line: what its exhibits are (a 6-K's words are its exhibits')."""
    if words.status != "ok":
        return f"text {words.status}"
    named = [e.description or e.type for e in words.exhibits]
    return "; ".join(named)[:80] if named else f"{words.words:,} words"


def unreadable(exc: BaseException) -> Unreadable:
    """The details of a document that made the reading fail in a way no check foresaw."""
    reason = f"the document could not be read ({type(exc).__name__})"
    return Unreadable(status="error", reason=reason)


def _read_8k_and_documents(page: bytes) -> tuple[EightK, list[textual.Document]]:
    decoded = page.decode("utf-8", "replace")
    return parse_8k(decoded), textual.documents(decoded)


class TextWanted(msgspec.Struct, frozen=True):
    """``--text``: which words to fetch. They are read whole (``--grep`` and the archive
    want all of them); the run lets out the excerpts unless ``--text-full``."""

    exhibits: int = 3  # EX-99 documents read, at most


def words_of(
    filing: Filing, client: edgar.EdgarClient, docs: list[textual.Document], wanted: TextWanted
) -> Text:
    """An 8-K's words: its primary document item by item, and its EX-99 exhibits. A document
    that cannot be had makes the text ``unavailable`` or ``error`` (the primary) or gives the
    exhibit a ``problem``; never the whole filing's details."""
    folder = edgar.folder_path(filing.cik, filing.accession_no)
    main = textual.primary(docs, filing.form)
    if main is None:
        return Text(status="unavailable", reason="the index lists no primary document")
    url = edgar.PUBLIC_URL + f"{folder}/{main.filename}"
    try:
        body, cut = client.read(f"{folder}/{main.filename}", textual.plain_text)
    except (edgar.NotFound, edgar.Blocked) as exc:
        return Text(status="unavailable", reason=str(exc), url=url)
    except (edgar.EdgarError, textual.TextError) as exc:
        return Text(status="error", reason=str(exc), url=url)
    shown: list[Exhibit] = []
    for doc in textual.exhibits(docs, wanted.exhibits):
        shown.append(_exhibit(client, folder, doc))
        cut = cut or shown[-1].problem == textual.CUT
    items = textual.sections(body)
    said = Text(url=url, words=textual.words(body), items=items, exhibits=shown)
    return replace(said, cut=True) if cut else said


def _exhibit(client: edgar.EdgarClient, folder: str, doc: textual.Document) -> Exhibit:
    url = edgar.PUBLIC_URL + f"{folder}/{doc.filename}"
    try:
        body, cut = client.read(f"{folder}/{doc.filename}", textual.plain_text)
    except (edgar.EdgarError, textual.TextError) as exc:
        return Exhibit(type=doc.type, description=doc.description, url=url, problem=str(exc))
    said = Exhibit(
        type=doc.type,
        description=doc.description,
        url=url,
        words=textual.words(body),
        excerpt=textual.excerpt(body),
        text=body,
    )
    return replace(said, problem=textual.CUT) if cut else said


def _read_ownership(body: bytes) -> Ownership:
    text = body.decode("utf-8", "replace")
    header = parse_header(text, party="ISSUER")
    return parse_ownership(ownership_xml(text), header)


def _read_13dg(body: bytes) -> Schedule13:
    return parse_schedule13(ownership_xml(body.decode("utf-8", "replace")))


class _Held:
    __slots__ = ("filing", "received", "due", "details", "retried", "released")

    retried: int

    def __init__(self, filing: Filing, received: float, due: float) -> None:
        self.filing = filing
        self.received = received
        self.due = due
        self.details: Details | None = None
        self.retried = 0
        self.released = False  # let out ``deferred``: what comes later goes to ``late``


class Enricher:
    """Holds filings until their details are in or their wait is over; see the module."""

    def __init__(
        self,
        client: edgar.EdgarClient,
        wait: float,
        fetch: Callable[[Filing, edgar.EdgarClient], Details] = details_of,
        clock: Callable[[], float] = time.monotonic,
        criteria: DetailFilter | None = None,
        retries: tuple[float, ...] = RETRY_404,
        kinds: frozenset[str] | None = None,
    ) -> None:
        self.client = client
        #: The kinds of details fetched (``kind()``'s): --details', --text's, or both.
        self.kinds = DETAILS_KINDS if kinds is None else kinds
        #: ``--grep``: the filings to let out, with their ``matches`` (filtering/grep.py);
        #: applied by the run after ``criteria``, to the whole text.
        self.grep: Callable[[Filing], Filing | None] | None = None
        #: ``--text``: 8-Ks carry their words; ``--text-full``: the whole of them goes out
        #: (else the excerpts: the run trims the rest).
        self.text = False
        self.full_text = False
        #: Told of a filing let out ``deferred`` whose details came in later, with them (the
        #: ui updates its row; called on a worker thread).
        self.late: Callable[[Filing], None] | None = None
        self.retries = retries
        #: Filters that wait for details; the run applies them to what is ready.
        self.criteria = criteria
        self.wait = wait
        self.fetch = fetch
        self.clock = clock
        self.held: deque[tuple[_Held | None, Filing, float]] = deque()
        self.counts = {"ok": 0, "deferred": 0, "unavailable": 0, "error": 0}
        self._jobs: list[tuple[int, int, _Held]] = []  # (priority, seq, job): to fetch now
        self._later: list[tuple[float, int, _Held]] = []  # (when, seq, job): a 404 asked again
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"secfeed-details-{n}", daemon=True)
            for n in range(WORKERS)
        ]
        self._threads.append(
            threading.Thread(
                target=self._work, args=(True,), name="secfeed-details-live", daemon=True
            )
        )
        for thread in self._threads:
            thread.start()

    # -- the run's side --

    def add(self, filings: list[Filing], received: float) -> None:
        """Filings to be shown, in order; those with details are asked for at once."""
        now = self.clock()
        for filing in filings:
            what = kind(filing.form)
            if what is None or what not in self.kinds:
                self.held.append((None, filing, received))
                continue
            job = _Held(filing, received, now + self.wait)
            self.held.append((job, filing, received))
            with self._cond:
                if len(self._jobs) >= MAX_QUEUED:
                    job.details = NoDetails(status="deferred", reason="too many details waiting")
                    continue
                # Live filings first, in the order they came; then the backlog newest first:
                # the filings a person looks at first, and the ones a real backlog's oldest
                # (asked last) may leave deferred.
                seq = next(self._seq)
                if filing.is_historical:
                    heapq.heappush(self._jobs, (1, -seq, job))
                else:
                    heapq.heappush(self._jobs, (0, seq, job))
                self._cond.notify_all()  # the live-only worker takes no backlog job

    def ready(self, block: bool = False, end: bool = False) -> list[tuple[Filing, float]]:
        """The filings that may go out now, in order (``block``: wait for all of them; ``end``:
        all of them at once, those whose details are not in ``deferred``: the run is ending
        on a signal or an error, and no filing received is left behind)."""
        out: list[tuple[Filing, float]] = []
        while self.held:
            job, filing, received = self.held[0]
            if job is not None:
                with self._cond:
                    while job.details is None and block and not end and self.clock() < job.due:
                        self._cond.wait(max(0.0, min(0.05, job.due - self.clock())))
                    details = job.details
                if details is None and self.clock() < job.due and not end:
                    break  # the head waits: so does everything behind it
                if details is None and end:
                    details = NoDetails(status="deferred", reason="the run ended before they came")
                elif details is None:
                    details = NoDetails(status="deferred", reason=f"not in within {self.wait:g} s")
                    with self._cond:
                        job.released = job.details is None
                self.counts[details.status] = self.counts.get(details.status, 0) + 1
                filing = replace(filing, extra={**filing.extra, "details": details})
            self.held.popleft()
            out.append((filing, received))
        return out

    @property
    def waiting(self) -> int:
        return len(self.held)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._jobs.clear()
            self._later.clear()
            self._cond.notify_all()
        self.client.close()

    def summary(self) -> str:
        c = self.counts
        return (
            f"details: {c['ok']} ok, {c['deferred']} deferred, {c['unavailable']} unavailable,"
            f" {c['error']} errors; {self.client.requests} EDGAR requests"
        )

    # -- the workers' side --

    def _work(self, live_only: bool = False) -> None:
        while True:
            with self._cond:
                while not self._closed and not self._next_due(live_only):
                    self._cond.wait(self._sleep_for())
                if self._closed:
                    return
                _, _, job = heapq.heappop(self._jobs)
            try:
                self.client.urgent(not job.filing.is_historical)
                details = self.fetch(job.filing, self.client)
            except Exception as exc:  # a worker never dies: the filing carries the error
                details = unreadable(exc)
            missing = isinstance(details, Missing)
            with self._cond:
                again = self._retry_in(job) if missing else None
                if again is not None:
                    job.retried += 1  # EDGAR can lag the feed: again, a little later
                    heapq.heappush(self._later, (self.clock() + again, next(self._seq), job))
                else:
                    job.details = details
                self._cond.notify_all()
                late = self.late if job.released and again is None else None
            if late is not None:
                late(replace(job.filing, extra={**job.filing.extra, "details": details}))

    def _retry_in(self, job: _Held) -> float | None:
        """When to ask for a missing document again, if at all (see :data:`RETRY_404`)."""
        delays = self.retries if not job.filing.is_historical else self.retries[1:2]
        if job.retried >= len(delays):
            return None
        delay = delays[job.retried]
        return delay if self.clock() + delay < job.due or job.released else None

    def _next_due(self, live_only: bool = False) -> bool:
        """Whether a job can be fetched now (retries whose time has come join the queue);
        ``live_only``: a live filing's (they come first in the queue)."""
        now = self.clock()
        while self._later and self._later[0][0] <= now:
            _, seq, job = heapq.heappop(self._later)
            live = not job.filing.is_historical
            heapq.heappush(self._jobs, (0, seq, job) if live else (1, -seq, job))
        return bool(self._jobs) and (not live_only or self._jobs[0][0] == 0)

    def _sleep_for(self) -> float | None:
        if not self._later:
            return None
        return max(0.01, self._later[0][0] - self.clock())

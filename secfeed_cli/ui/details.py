"""The details pane as a widget: what the selected filing says, from ``--details`` or asked
of EDGAR on demand on a worker thread. Its text is ``pane.py``'s.

It scrolls with the mouse and never takes the keys from the list (``can_focus=False``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from msgspec.structs import replace
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..details.stage import Unreadable, kind
from ..wire.details import Details, NoDetails
from ..wire.filing import Filing
from .pane import describe

#: A filing's details from EDGAR (run on a worker thread).
Fetch = Callable[[Filing], Details]


class DetailsPane(VerticalScroll, can_focus=False):
    """``fetch``: None when there is no way to ask (no User-Agent); ``changed(seq, filing)``
    is told of a filing whose details came in, so that its row says what the pane says."""

    def __init__(
        self,
        fetch: Fetch | None,
        utc: bool,
        changed: Callable[[int, Filing], None],
        marks: Callable[[], tuple[re.Pattern[str], ...]] = tuple,
    ) -> None:
        super().__init__(id="pane")
        self.marks = marks  # what to highlight: --grep's patterns, the / filter's words
        self.filing: Filing | None = None  # the one shown
        self.text = Static(id="pane-text")
        self.fetch = fetch
        self.utc = utc
        self.changed = changed
        self.showing: str | None = None  # the accession shown
        self.fetched: dict[str, Details] = {}  # details asked on demand, by accession
        self.asking: set[str] = set()

    def compose(self) -> Any:
        yield self.text

    def open(self, filing: Filing, seq: int) -> None:
        """Show ``filing`` (row ``seq``), and ask EDGAR for its details if none are in."""
        self.showing = filing.accession_no
        self.add_class("open")
        self.show(filing)
        details = filing.details
        have = details is not None and not isinstance(details, NoDetails)
        accession = filing.accession_no
        if have or accession in self.fetched or accession in self.asking:
            return
        fetch = self.fetch
        if fetch is not None and kind(filing.form) is not None:
            self.asking.add(accession)
            self.run_worker(lambda: self._fetched(filing, seq, fetch), thread=True)

    def close(self) -> bool:
        """Close the pane; False: it was not open."""
        if self.showing is None:
            return False
        self.remove_class("open")
        self.showing = None
        return True

    def _fetched(self, filing: Filing, seq: int, fetch: Fetch) -> None:
        """On a worker thread: ask, then hand the details to the app's thread. Whatever goes
        wrong is the pane's one line (an unhandled error in a worker would end the app)."""
        try:
            details = fetch(filing)
        except Exception as exc:  # details_of says what it expects; this is the rest
            details = Unreadable(status="error", reason=f"{type(exc).__name__}: {exc}")
        self.app.call_from_thread(self._have, filing, seq, details)

    def _have(self, filing: Filing, seq: int, details: Details) -> None:
        self.asking.discard(filing.accession_no)
        self.fetched[filing.accession_no] = details
        # The row says what the pane says (it said "deferred" still): the filing as it is now.
        now = replace(filing, extra={**(filing.extra or {}), "details": details})
        self.changed(seq, now)
        if self.showing == filing.accession_no:
            self.show(now)

    def remark(self) -> None:
        """What to highlight changed (a new ``/`` filter): the pane shows it."""
        if self.showing is not None and self.filing is not None:
            self.show(self.filing)

    def show(self, filing: Filing) -> None:
        self.filing = filing
        details = self.fetched.get(filing.accession_no) or filing.details
        note = None
        if details is None or isinstance(details, NoDetails):
            if kind(filing.form) is None:
                note = "secfeed reads the details of Forms 3/4/5, 8-K and 13D/G, not this form's"
            elif filing.accession_no in self.asking:
                note = "asking EDGAR…"
            elif self.fetch is None and details is None:
                note = (
                    "details on demand read EDGAR: start secfeed ui with --user-agent"
                    " 'Your Name you@example.com' (SEC's rule), or with --details"
                )
        self.text.update(describe(filing, details, note, self.utc, self.marks()))

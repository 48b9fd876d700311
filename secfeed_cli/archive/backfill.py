"""``--backfill``: the filings of a gap, from EDGAR's public indexes, into the archive.

When a run's first backlog does not reach back to the newest filing the archive holds, the
filings of the gap are asked of EDGAR, as SEC's rules allow (the details client's User-Agent
and pace, a 403 or 429 stops it): the latest-filings Atom feed (``getcurrent``: the newest few
thousand filings, each with its acceptance time), page by page until it reaches back past the
gap, then the daily form index (``form.YYYYMMDD.idx``) of each older day of the gap, up to
:data:`MAX_DAYS` days. What they list goes into the archive as not seen live: ``discovered_time``
null (FinFeedAPI never announced it to us), exactly once with what the feed brings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from ..details.edgar import Blocked, EdgarClient, EdgarError, NotFound
from ..details.ownership import parse_xml
from ..details.sgml import DetailsError
from ..wire.filing import MAX_CIK, normalize_time, parse_time, split_description

#: The latest-filings feed, a page of 100 entries from ``start``.
ATOM = (
    "/cgi-bin/browse-edgar?action=getcurrent&count=100&start={start}&type=&owner=include"
    "&output=atom"
)
#: EDGAR serves the feed up to this many entries back.
ATOM_ENTRIES = 5100
#: The daily form index of one day (the quarter: 1 to 4).
DAILY = "/Archives/edgar/daily-index/{y}/QTR{q}/form.{y}{m:02d}{d:02d}.idx"
#: Days of daily indexes asked for at most: an older gap is filled for its newest days only.
MAX_DAYS = 31

_NS = "{http://www.w3.org/2005/Atom}"
_ACCESSION = re.compile(r"\d{10}-\d{2}-\d{6}\Z")
_FILED = re.compile(r"Filed:</b>\s*(\d{4}-\d{2}-\d{2})")
_FILE_NAME = re.compile(r"edgar/data/(\d{1,10})/(\d{10}-\d{2}-\d{6})\.txt\Z")


class Row(NamedTuple):
    """A filing as an index lists it, in the archive's column order (``archived_time`` is
    the batch's)."""

    accession_no: str
    form: str
    cik: int
    company: str | None
    ticker: None
    description: str
    filing_date: str
    accepted_time: str
    discovered_time: None  # not seen live
    is_historical: bool
    extra: None


def parse_atom(body: bytes) -> list[Row]:
    """The entries of one page of EDGAR's latest-filings Atom feed, newest first; an entry
    that does not hold a filing as EDGAR writes one is left out. DetailsError: not a feed."""
    root = parse_xml(body)
    if root.tag != f"{_NS}feed":
        raise DetailsError("not an Atom feed")
    rows = []
    for entry in root.iter(f"{_NS}entry"):
        row = _entry(entry)
        if row is not None:
            rows.append(row)
    return rows


def _entry(entry: Any) -> Row | None:
    title = (entry.findtext(f"{_NS}title") or "").strip()
    updated = (entry.findtext(f"{_NS}updated") or "").strip()
    ident = (entry.findtext(f"{_NS}id") or "").strip()
    summary = entry.findtext(f"{_NS}summary") or ""
    category = entry.find(f"{_NS}category")
    form = (category.get("term") if category is not None else None) or ""
    accession = ident.rpartition("accession-number=")[2]
    cik_text = re.search(r"\((\d{1,10})\)", title)
    filed = _FILED.search(summary)
    if not (_ACCESSION.match(accession) and cik_text and filed and form and updated):
        return None
    cik = int(cik_text.group(1))
    try:
        accepted = normalize_time(updated)
        parse_time(accepted)
    except ValueError:
        return None
    if not 1 <= cik <= MAX_CIK or not title.startswith(f"{form} - "):
        return None
    company = split_description(title, form)[0]
    return Row(
        accession, form, cik, company, None, title, filed.group(1), accepted, None, True, None
    )


def parse_form_index(body: bytes) -> list[Row]:
    """The filings of a daily form index (fixed width: form, company, CIK, date filed, file
    name); a row that is not one is left out. DetailsError: not a form index."""
    text = body.decode("latin-1")
    head, dashes, rest = text.partition("\n---")
    if not dashes or "Form Type" not in head:
        raise DetailsError("not an EDGAR form index")
    rows = []
    for line in rest.partition("\n")[2].splitlines():
        if len(line) < 99:
            continue
        form, company = line[0:12].strip(), line[12:74].strip()
        cik_text, filed, name = line[74:86].strip(), line[86:98].strip(), line[98:].strip()
        found = _FILE_NAME.match(name)
        if not (form and cik_text.isdigit() and len(filed) == 8 and filed.isdigit() and found):
            continue
        cik = int(cik_text)
        day = f"{filed[:4]}-{filed[4:6]}-{filed[6:]}"
        try:
            date.fromisoformat(day)
        except ValueError:
            continue
        if not 1 <= cik <= MAX_CIK:
            continue
        description = f"{form} - {company} ({cik:010d})"
        rows.append(
            Row(
                found.group(2),
                form,
                cik,
                company or None,
                None,
                description,
                day,
                day,
                None,
                True,
                None,
            )
        )
    return rows


class Backfill:
    """Fills the gap from ``since`` (the archive's newest ``discovered_time``) up to ``until``
    (the oldest filing of the new backlog), handing rows to ``add``."""

    def __init__(
        self,
        client: EdgarClient,
        add: Callable[[list[Row]], None],
        warn: Callable[[str], None],
    ) -> None:
        self.client = client
        self.add = add
        self.warn = warn
        self.pages = 0
        self.days = 0
        self.found = 0

    def run(self, since: str, until: str) -> None:
        start = parse_time(since[:19] + "Z")
        try:
            oldest = self._feed(start)
            self._days(start.date(), (oldest or parse_time(until[:19] + "Z")).date())
        except Blocked as exc:
            self.warn(f"--backfill stopped: {exc}")
        except EdgarError as exc:
            self.warn(f"--backfill stopped: {exc}")

    def _feed(self, since: datetime) -> datetime | None:
        """The latest-filings feed, page by page, until it reaches back past ``since``;
        returns the oldest acceptance time it reached (None: it did not answer)."""
        oldest = None
        for start in range(0, ATOM_ENTRIES, 100):
            try:
                body = self.client.document(ATOM.format(start=start), cache=False)
                rows = parse_atom(body)
            except NotFound:
                break
            except DetailsError as exc:
                self.warn(f"--backfill: EDGAR's latest-filings feed is not readable ({exc})")
                break
            self.pages += 1
            if not rows:
                break
            wanted = [r for r in rows if parse_time(r.accepted_time) >= since]
            self._take(wanted)
            oldest = min(parse_time(r.accepted_time) for r in rows)
            if oldest < since:
                break
        return oldest

    def _days(self, first: date, last: date) -> None:
        """The daily form index of each day from ``first`` to ``last`` (newest first, at
        most MAX_DAYS); a day without one (a weekend, a holiday, not out yet) is passed."""
        first = max(first, last - timedelta(days=MAX_DAYS - 1))
        day = last
        while day >= first:
            q = (day.month - 1) // 3 + 1
            path = DAILY.format(y=day.year, q=q, m=day.month, d=day.day)
            try:
                rows = parse_form_index(self.client.document(path, cache=False))
            except NotFound:
                rows = []
            except DetailsError as exc:
                self.warn(f"--backfill: {path} is not readable ({exc})")
                rows = []
            else:
                self.days += 1
            self._take([r for r in rows if r.filing_date >= first.isoformat()])
            day -= timedelta(days=1)

    def _take(self, rows: list[Row]) -> None:
        if rows:
            self.found += len(rows)
            self.add(rows)

    def summary(self) -> str:
        return (
            f"--backfill: {self.found:,} filings listed by EDGAR ({self.pages} pages of the"
            f" latest-filings feed, {self.days} daily indexes) offered to the archive"
        )

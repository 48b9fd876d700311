"""The live table's geometry and text: columns for a terminal width, cells cut to fit, the
status line fitted to one line. Pure: no terminal here (``table.py`` writes).

Column widths depend on the terminal width alone, never on the rows: a row printed now lines
up with every row printed before it at that width.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import msgspec

from ..common.escape import escape_control, has_control
from ..filtering.forms import family
from ..filtering.grep import first_hit
from ..wire.details import NoDetails, Ownership
from ..wire.filing import Filing, parse_time, split_description
from . import Status
from .latency import fmt_ms
from .records import label


class Column(msgspec.Struct, frozen=True):
    key: str
    header: str
    width: int  # 0: the flexible one (company)
    right: bool = False


COLUMNS = {
    c.key: c
    for c in (
        Column("time", "discovered", 10),
        Column("form", "form", 14),
        Column("company", "company", 0),
        Column("details", "details", 30),
        Column("role", "role", 9),
        Column("cik", "cik", 10, right=True),
        Column("accession", "accession", 20),
        Column("filed", "filed", 10),
        Column("accepted", "accepted", 14),
        Column("latency", "latency", 8, right=True),
    )
}
#: Left to right.
ORDER = tuple(COLUMNS)
#: What a narrower terminal keeps: these first, in this order (the README lists it).
PRIORITY = (
    "time",
    "form",
    "company",
    "details",
    "latency",
    "accession",
    "cik",
    "role",
    "filed",
    "accepted",
)
#: The company column never gets narrower than this to make room for another column, and
#: gets COMPANY_ROOM before the columns after the accession (role, CIK, dates) are shown:
#: the company and its ticker are what a row is read for.
COMPANY_MIN = 24
COMPANY_ROOM = 36
GAP = 2

#: SGR colour of each form family.
FAMILY_SGR = {
    "insider": "35",
    "periodic": "1;32",
    "current": "1;33",
    "registration": "36",
    "ownership": "34",
    "funds": "90",
    "other": "",
}


def layout(width: int, latency: bool, details: bool = False) -> list[tuple[Column, int]]:
    """The columns shown at ``width`` terminal cells, each with its width, left to right.

    The last cell of a line stays free (a line that fills it makes some terminals wrap)."""
    usable = max(width - 1, 20)
    keys = ["time", "form", "company"]
    used = sum(COLUMNS[k].width for k in keys) + GAP * 2
    for key in PRIORITY[3:]:
        if (key == "latency" and not latency) or (key == "details" and not details):
            continue
        need = COLUMNS[key].width + GAP
        room = COMPANY_MIN if key in ("latency", "accession", "details") else COMPANY_ROOM
        if used + need + room > usable:
            break  # in priority order: a column is shown only if all before it are
        keys.append(key)
        used += need
    company = max(usable - used, 8)
    return [(COLUMNS[k], COLUMNS[k].width or company) for k in ORDER if k in keys]


def fit_company(text: str, width: int, ticker: str | None) -> str:
    """:func:`fit` for ``COMPANY (TICKER)``: a cut shortens the name, never the ticker (unless
    the column cannot hold the ticker and a letter of the name)."""
    if ticker:
        suffix = f" ({ticker})"
        room = width - len(suffix)
        if room >= 2 and text.endswith(suffix) and cell_width(text) > width:
            return fit(text[: -len(suffix)], room) + suffix
    return fit(text, width)


def cell_width(text: str) -> int:
    if text.isascii():
        return len(text)
    from rich.cells import cell_len  # wide characters (CJK) take two cells

    return cell_len(text)


def fit(text: str, width: int, right: bool = False) -> str:
    """``text`` in exactly ``width`` cells: padded, or cut with an ellipsis."""
    if text.isascii():
        if len(text) > width:
            return text[: width - 1] + "…" if width > 0 else ""
        return text.rjust(width) if right else text.ljust(width)
    from rich.cells import set_cell_size

    if cell_width(text) > width:
        return set_cell_size(text, width - 1) + "…" if width > 0 else ""
    pad = " " * (width - cell_width(text))
    return pad + text if right else text + pad


#: Local (or UTC) times of the seconds seen, by the UTC text that names them (a burst shares
#: a few).
_LOCAL: dict[tuple[str, str, bool], str] = {}


def in_local_time(text: str, fmt: str, utc: bool = False) -> str:
    """A normalised UTC time (``YYYY-MM-DDTHH:MM:SS...Z``) in local time (or in UTC, for
    ``--utc``), cached by second."""
    key = (text[:19], fmt, utc)
    found = _LOCAL.get(key)
    if found is None:
        if len(_LOCAL) > 20_000:
            _LOCAL.clear()
        when = parse_time(text)
        found = (when if utc else when.astimezone()).strftime(fmt)
        _LOCAL[key] = found
    return found


def local_time(filing: Filing, utc: bool = False) -> str:
    try:
        return in_local_time(filing.discovered_time, "%H:%M:%S", utc)
    except ValueError:
        return "?"


def accepted(filing: Filing, utc: bool = False) -> str:
    text = filing.accepted_time
    if len(text) == 10:  # a date only
        return text
    try:
        return in_local_time(text, "%m-%d %H:%M:%S", utc)
    except ValueError:
        return escape_control(text)


#: How each column's text is made. Only form, company and role can hold control characters
#: (they come from the form and the description; the map's names were cleaned when loaded, the
#: rest was validated when the frame was parsed): :func:`row` escapes those when needed.
_CELLS: dict[str, Callable[[Filing, str, bool], str]] = {
    "time": lambda f, lat, utc: local_time(f, utc),
    "form": lambda f, lat, utc: f.form,
    "company": lambda f, lat, utc: label(f),
    "role": lambda f, lat, utc: split_description(f.description, f.form)[1] or "",
    "cik": lambda f, lat, utc: str(f.cik),
    "accession": lambda f, lat, utc: f.accession_no,
    "filed": lambda f, lat, utc: f.filing_date,
    "accepted": lambda f, lat, utc: accepted(f, utc),
    "latency": lambda f, lat, utc: lat,
    "details": lambda f, lat, utc: _details_cell(f),
}


def _details_cell(filing: Filing) -> str:
    """--details: the summary; else the status (``deferred``, ``error``); made safe, since it
    comes from a document's text. --grep: where it matched, from a little before the match
    (:func:`row` marks the match)."""
    hit = first_hit(filing)
    if hit is not None:
        near = hit.snippet[max(0, hit.start - _LEAD) :]
        return escape_control(near) if has_control(near) else near
    details = filing.details
    text: str = "" if details is None else details.status
    if isinstance(details, Ownership):
        from ..details.ownership import brief

        text = brief(details)
    elif details is not None and not isinstance(details, NoDetails):
        text = details.summary
    return escape_control(text) if has_control(text) else text


#: Characters of the snippet shown before the match in the details cell.
_LEAD = 4


def _mark_hit(text: str, filing: Filing) -> str:
    """The details cell (fitted) with --grep's match in reverse video, as far as it shows."""
    hit = first_hit(filing)
    if hit is None:
        return text
    snippet, start, end = hit.snippet, hit.start, hit.end
    at = min(start, _LEAD)
    shown = len(text.rstrip()) - (1 if text.rstrip().endswith("…") else 0)
    stop = min(at + end - start, shown)
    if stop <= at or text[at:stop] != snippet[start : start + stop - at]:
        return text  # escaped or cut otherwise: left unmarked
    return f"{text[:at]}\x1b[7m{text[at:stop]}\x1b[27m{text[stop:]}"


_MAY_HOLD_CONTROLS = frozenset(("form", "company", "role"))


def cells(
    filing: Filing, latency: str, keys: Sequence[str] = ORDER, utc: bool = False
) -> dict[str, str]:
    """The text of these columns for one filing, control characters escaped; times local,
    or UTC (``--utc``)."""
    unsafe = has_control(filing.form) or has_control(filing.description)
    return {
        key: escape_control(_CELLS[key](filing, latency, utc))
        if unsafe and key in _MAY_HOLD_CONTROLS
        else _CELLS[key](filing, latency, utc)
        for key in keys
    }


def sgr(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color and code else text


def highlighter(patterns: Sequence[str]) -> re.Pattern[str] | None:
    """One case-insensitive regex for ``--highlight`` patterns (None: none given)."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def row(
    filing: Filing,
    columns: Sequence[tuple[Column, int]],
    latency: str,
    color: bool,
    highlight: re.Pattern[str] | None = None,
    utc: bool = False,
) -> str:
    """One filing as one line (without its newline); a ``highlight`` match is marked: in
    reverse video, or without colour by a ``»`` after the time."""
    texts = cells(filing, latency, [c.key for c, _ in columns], utc)
    if highlight is not None and _matches(highlight, filing, texts["company"]):
        ticker = filing.ticker
        marked = (
            (" " * GAP)
            .join(
                fit_company(texts[c.key], w, ticker)
                if c.key == "company"
                else fit(texts[c.key], w, c.right)
                for c, w in columns
            )
            .rstrip()
        )
        # Without colour: a mark in the blank after the time (its column is 10 wide).
        return sgr(marked, "1;7", color) if color else marked[:9] + "»" + marked[10:]
    # One dim for the whole of a backlog row; the form in its family's colour; the accession
    # a link to EDGAR (live rows: a burst of backlog rows would carry a URL each for nothing).
    dim = "\x1b[2m" if color and filing.is_historical else ""
    parts = []
    for column, width in columns:
        key = column.key
        if key == "company":
            text = fit_company(texts[key], width, filing.ticker)
        else:
            text = fit(texts[key], width, column.right)
        if color and key == "form":
            code = FAMILY_SGR[family(filing.form)]
            if code:
                text = f"\x1b[{code}m{text}\x1b[0m{dim}"
        elif color and key == "accession" and not filing.is_historical:
            text = f"\x1b]8;;{filing.url}\x1b\\{text}\x1b]8;;\x1b\\"
        elif color and key == "details":
            text = _mark_hit(text, filing)
        parts.append(text)
    line = (" " * GAP).join(parts).rstrip()
    return f"{dim}{line}\x1b[0m" if dim else line


def _matches(pattern: re.Pattern[str], filing: Filing, company: str) -> bool:
    """The form, the company (with its ticker) or the description match."""
    return any(pattern.search(text) for text in (filing.form, company, filing.description))


def header(columns: Sequence[tuple[Column, int]], color: bool) -> str:
    text = (" " * GAP).join(fit(c.header, w, c.right) for c, w in columns).rstrip()
    return sgr(text, "1;4", color)


def marker(width: int, color: bool) -> str:
    return _note_line("── backlog above · live filings below ──", width, "1", color)


def undrawn_line(count: int, width: int, color: bool) -> str:
    """The line standing for the filings of a burst the table did not draw (dim)."""
    text = f"⋯ {count:,} filings not drawn: faster than a terminal can show (-f ndjson keeps all)"
    return _note_line(text, width, "2", color)


def _note_line(text: str, width: int, code: str, color: bool) -> str:
    """A line of the table's own among the rows, fitted short of the last column."""
    return sgr(fit(text, max(width - 1, 1)).rstrip(), code, color)


def latency_cell(ms: float | None) -> str:
    return "-" if ms is None else fmt_ms(ms)


# -- the status line --

SEPARATOR = " │ "


def _state(status: Status) -> tuple[str, list[str]]:
    """The colour of the state segment, and its texts from longest to shortest."""
    host = status.host
    if status.state == "connected":
        word = "live" if status.backlog_complete else "loading backlog"
        colour = "32" if status.backlog_complete else "33"
        return colour, [f"● {word} · {host}", f"● {word}"]
    if status.cause and status.retry_in is not None:
        wait = f" · retry in {status.retry_in:.0f}s"
        return "31", [
            f"● {host}: {status.cause}{wait}",
            f"● {status.cause}{wait}",
            f"● retry in {status.retry_in:.0f}s",
        ]
    if status.cause:
        return "33", [
            f"● {status.state} to {host} (last attempt: {status.cause})",
            f"● {status.state} ({status.cause})",
            f"● {status.state}",
        ]
    return "33", [f"● {status.state} to {host}", f"● {status.state}"]


def _counts(status: Status) -> list[str]:
    long = f"{status.shown} shown"
    if status.undrawn:
        long += f" · {status.undrawn} not drawn"
    long += f" · {status.filtered} filtered out"
    if status.skipped:
        long += f" · {status.skipped} backlog skipped"
    long += f" · {status.malformed} malformed"
    middle = f"{status.shown} shown · {status.filtered} filtered"
    if status.malformed:
        middle += f" · {status.malformed} bad"
    return [long, middle, f"{status.shown} shown"]


def _heartbeat(status: Status) -> list[str]:
    if not status.heartbeat_on:
        return ["heartbeat off"]
    if status.heartbeat_age is None:
        # Filings arriving say the connection is alive as well as a heartbeat would.
        return [] if status.received else ["no heartbeat yet"]
    age = status.heartbeat_age
    return [f"heartbeat {age:.1f}s ago", f"hb {age:.0f}s"]


def _latency(status: Status) -> list[str]:
    lat = status.latency
    if not lat.count:
        return ["live latency: no live filings yet"]
    return [f"live latency {lat}", f"p50 {fmt_ms(lat.p50)}"]


def status_segments(status: Status) -> list[tuple[str, list[str]]]:
    """(colour, texts from longest to shortest) per segment, most important first."""
    state_colour, state = _state(status)
    segments = [(state_colour, state), ("", _counts(status))]
    beat = _heartbeat(status)
    if beat:
        late = status.heartbeat_age is not None and status.heartbeat_age > 3
        segments.append(("31" if late else "2", beat))
    segments.append(("", _latency(status)))
    # Keys are not read (the table is tail -f's: the terminal stays the shell's), so q does
    # nothing; the way out is said where room allows.
    segments.append(("2", ["Ctrl-C quits"]))  # last: fit_status leaves it out first
    return segments


def fit_status(status: Status, width: int) -> list[tuple[str, str]]:
    """The status line for ``width`` cells as (colour, text) parts: the least important
    segments are shortened first, then left out; only the state is ever cut."""
    segments = status_segments(status)
    levels = [0] * len(segments)  # index into each segment's texts; len(texts) = left out
    hint = len(segments) - 1  # "Ctrl-C quits": left out before the state loses its host
    usable = max(width - 1, 1)

    def length() -> int:
        shown = [
            texts[lv] for (_, texts), lv in zip(segments, levels, strict=True) if lv < len(texts)
        ]
        return sum(map(cell_width, shown)) + len(SEPARATOR) * (len(shown) - 1)

    while length() > usable:
        # Shorten the least important segment that can be shortened (the state only loses its
        # host here); when none can, leave out the least important one still shown; the rest
        # of the state goes last of all.
        shorter = [
            i
            for i, (_, t) in enumerate(segments)
            if (i or levels[0] == 0) and levels[i] < len(t) - 1
        ]
        shown = [i for i, (_, t) in enumerate(segments) if i and levels[i] < len(t)]
        if shorter == [0] and levels[hint] < len(segments[hint][1]):
            levels[hint] = len(segments[hint][1])  # the hint goes before the host does
        elif shorter:
            levels[shorter[-1]] += 1
        elif shown:
            levels[shown[-1]] = len(segments[shown[-1]][1])
        elif levels[0] < len(segments[0][1]) - 1:
            levels[0] += 1
        else:
            break
    parts: list[tuple[str, str]] = []
    for (colour, texts), level in zip(segments, levels, strict=True):
        if level >= len(texts):
            continue
        if parts:
            parts.append(("2", SEPARATOR))
        parts.append((colour, texts[level]))
    if length() > usable:  # the state alone is too wide: cut it
        colour, text = parts[0]
        parts = [(colour, fit(text, usable).rstrip())]
    return parts


def status_line(status: Status, width: int, color: bool) -> str:
    return "".join(sgr(text, colour, color) for colour, text in fit_status(status, width))

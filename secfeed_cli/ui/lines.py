"""The ui's rows and status bar as styled lines: the live table's columns and texts
(``output/layout.py``), as Textual strips. No app here."""

from __future__ import annotations

import functools

from rich.ansi import AnsiDecoder
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from ..filtering.forms import family
from ..output import Status
from ..output.layout import (
    FAMILY_SGR,
    GAP,
    Column,
    cells,
    fit,
    fit_company,
    fit_status,
    header,
    latency_cell,
    layout,
)
from ..output.records import latency_ms
from .rows import Entry, Rows


@functools.cache
def sgr_style(code: str) -> Style:
    """The live table's colour (an SGR code: ``layout.FAMILY_SGR``, ``fit_status``'s) as a
    style: the ui's colours are the table's, defined once."""
    line = AnsiDecoder().decode_line(f"\x1b[{code}m ") if code else Text(" ")
    style = line.spans[0].style if line.spans else Style()
    return style if isinstance(style, Style) else Style.parse(style)


BACKLOG = Style(dim=True)
MARK = Style(color="yellow", bold=True)
SELECTED = Style(reverse=True)


class Painter:
    """Rows for one width: the columns are laid out once per width, and each filing's line
    is made once (kept until the width, or its mark, changes)."""

    def __init__(self, utc: bool = False, details: bool = False) -> None:
        self.utc = utc
        self.details = details
        self.width = 0
        self.columns: list[tuple[Column, int]] = []
        self._made: dict[int, Strip] = {}

    def resize(self, width: int) -> None:
        if width != self.width:
            self.width = width
            self.columns = layout(max(width - 2, 20), latency=True, details=self.details)
            self._made.clear()

    def forget(self, seq: int) -> None:
        """A row changed (its mark): made again when next drawn."""
        self._made.pop(seq, None)

    def header(self) -> Text:
        return Text("  " + header(self.columns, color=False), style="bold underline")

    def row(self, entry: Entry, marked: bool) -> Strip:
        strip = self._made.get(entry.seq)
        if strip is None:
            if len(self._made) > 4_096:  # a screen needs a few dozen: keep the recent ones
                self._made.clear()
            strip = self._made[entry.seq] = self._make(entry, marked)
        return strip

    def _make(self, entry: Entry, marked: bool) -> Strip:
        filing = entry.filing
        live = not filing.is_historical
        lat = latency_cell(latency_ms(filing, entry.received)) if live else "-"
        texts = cells(filing, lat, [c.key for c, _ in self.columns], self.utc)
        base = Style() if live else BACKLOG
        segments = [Segment("● " if marked else "  ", MARK if marked else base)]
        gap = Segment(" " * GAP, base)
        for i, (column, width) in enumerate(self.columns):
            if i:
                segments.append(gap)
            key = column.key
            if key == "company":
                text = fit_company(texts[key], width, filing.ticker)
            else:
                text = fit(texts[key], width, column.right)
            style = base + sgr_style(FAMILY_SGR[family(filing.form)]) if key == "form" else base
            segments.append(Segment(text, style))
        # One segment a run of one style (three or so a row, not a dozen): Textual's work on
        # each line drawn is by segment, and a live list redraws every line of the screen.
        return Strip(segments).adjust_cell_length(self.width, base).simplify()


def ui_status(rows: Rows, extra: list[str]) -> Text:
    """The ui's own line: live or paused (+N new), rows, filter, marks, then ``extra``."""
    out = Text()
    if rows.paused:
        out.append(f" ⏸ PAUSED +{rows.waiting:,} new ", style="bold black on yellow")
    else:
        out.append(" ▶ LIVE ", style="bold black on green")
    out.append(f" {len(rows):,} rows")
    if rows.query.active:
        out.append(f" of {rows.total - rows.first:,}")
    if rows.query.text.strip():
        out.append(" │ filter ", style="dim")
        out.append(rows.query.text.strip(), style="bold")
    if rows.marked:
        out.append(" │ ", style="dim")
        out.append(f"{len(rows.marked)} marked", style=MARK)
    for piece in extra:
        out.append(" │ ", style="dim")
        out.append(piece)
    out.append(" │ ? keys", style="dim")
    return out


def feed_status(status: Status | None, width: int) -> Text:
    """The live table's status line (state, counts, heartbeat, latency), fitted."""
    out = Text()
    if status is None:
        return Text(" ● starting", style="yellow")
    out.append(" ")
    for code, text in fit_status(status, max(width - 1, 10)):
        out.append(text, style=sgr_style(code))
    return out

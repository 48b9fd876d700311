"""The live table for a terminal (rich), and its plain-text fallback for a non-terminal."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import date, datetime

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ..escape import escape_control
from ..filing import Filing
from ..forms import family
from ..latency import fmt_ms
from ..records import latency_ms
from . import Output, Status

FAMILY_STYLES = {
    "insider": "magenta",
    "periodic": "bold green",
    "current": "bold yellow",
    "registration": "cyan",
    "ownership": "blue",
    "funds": "bright_black",
    "other": "default",
}


class _Marker:
    """Where the backlog ends and live filings begin."""


_MARKER = _Marker()
_Row = tuple[Filing, float] | _Marker


def _local(dt: datetime) -> datetime:
    return dt.astimezone()


def _accepted(filing: Filing) -> str:
    try:
        value = filing.accepted()
    except ValueError:
        return filing.accepted_time
    if isinstance(value, datetime):
        return _local(value).strftime("%m-%d %H:%M:%S")
    assert isinstance(value, date)
    return value.isoformat()


def _latency(filing: Filing, received: float) -> str:
    return fmt_ms(latency_ms(filing, received)) if not filing.is_historical else "-"


def status_text(status: Status) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    colour = {"connected": "green", "connecting": "yellow"}.get(status.state, "red")
    text.append("● ", style=colour)
    text.append(f"{status.state} {status.host}", style=colour)
    text.append(" │ ", style="dim")
    text.append(f"{status.shown} shown")
    text.append(f" · {status.filtered} filtered out")
    text.append(f" · {status.malformed} malformed", style="red" if status.malformed else "")
    text.append(" │ ", style="dim")
    text.append(
        "backlog complete" if status.backlog_complete else "backlog loading…",
        style="" if status.backlog_complete else "yellow",
    )
    text.append(" │ ", style="dim")
    if not status.heartbeat_on:
        text.append("heartbeat off", style="dim")
    elif status.heartbeat_age is None:
        text.append("no heartbeat yet", style="dim")
    else:
        text.append(
            f"heartbeat {status.heartbeat_age:.1f}s ago",
            style="red" if status.heartbeat_age > 3 else "",
        )
    text.append(" │ ", style="dim")
    text.append(f"live latency {status.latency}")
    return text


class _View:
    """Renders the newest rows that fit the terminal at the moment of each repaint."""

    def __init__(self, rows: deque[_Row], status: Callable[[], Status], latency: bool) -> None:
        self.rows = rows
        self.status = status
        self.latency = latency

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height or console.size.height
        width = options.max_width
        table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False, pad_edge=False)
        table.add_column("time", no_wrap=True, width=8)
        table.add_column("form", no_wrap=True, max_width=15)
        table.add_column("description", no_wrap=True, overflow="ellipsis", ratio=1, min_width=12)
        if width >= 90:
            table.add_column("cik", no_wrap=True, justify="right", width=10)
        table.add_column("accession", no_wrap=True, width=20)
        if width >= 110:
            table.add_column("filed", no_wrap=True, width=10)
        if width >= 125:
            table.add_column("accepted", no_wrap=True, width=14)
        if self.latency:
            table.add_column("latency", no_wrap=True, justify="right", width=7)
        ncols = len(table.columns)
        fit = max(0, height - 4)  # header, its rule, a spacer and the status line
        visible = [self.rows[i] for i in range(max(0, len(self.rows) - fit), len(self.rows))]
        for row in visible:
            if isinstance(row, _Marker):
                cells = [
                    Text("live", style="bold reverse"),
                    Text(""),
                    Text("── backlog above · live filings below ──", style="bold"),
                ]
                table.add_row(*cells, *([""] * (ncols - 3)))
                continue
            filing, received = row
            cells = self._cells(filing, received, width)
            table.add_row(*cells)
        yield table
        yield status_text(self.status())

    def _cells(self, filing: Filing, received: float, width: int) -> list[Text]:
        style = FAMILY_STYLES[family(filing.form)]
        dim = "dim" if filing.is_historical else ""
        try:
            seen = _local(filing.discovered()).strftime("%H:%M:%S")
        except ValueError:
            seen = "?"
        cells = [
            Text(seen, style=dim),
            Text(escape_control(filing.form), style=style),
            Text(escape_control(filing.description), style=dim),
        ]
        if width >= 90:
            cells.append(Text(str(filing.cik), style=dim))
        cells.append(Text(filing.accession_no, style=f"link {filing.url}"))
        if width >= 110:
            cells.append(Text(escape_control(filing.filing_date), style=dim))
        if width >= 125:
            cells.append(Text(_accepted(filing), style=dim))
        if self.latency:
            cells.append(Text(_latency(filing, received)))
        return cells


class TableSink:
    """The live table: newest at the bottom, repainted at most ``fps`` times a second."""

    def __init__(
        self,
        console: Console,
        status: Callable[[], Status],
        latency: bool = False,
        fps: float = 10.0,
        keep: int = 1000,
    ) -> None:
        self.rows: deque[_Row] = deque(maxlen=keep)
        self.view = _View(self.rows, status, latency)
        self.live = Live(
            self.view,
            console=console,
            refresh_per_second=fps,
            redirect_stdout=False,
            redirect_stderr=True,
            vertical_overflow="crop",
        )
        self.live.start()
        self.written = 0

    def filings(self, filings: list[Filing], received: float) -> None:
        self.written += len(filings)
        self.rows.extend([(filing, received) for filing in filings])

    def backlog_complete(self) -> None:
        self.rows.append(_MARKER)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.live.refresh()
        self.live.stop()


class PlainTableSink:
    """``--format table`` on a non-terminal: aligned plain rows, no colour, no redraw."""

    def __init__(self, out: Output, latency: bool = False) -> None:
        self.out = out
        self.latency = latency
        self.written = 0
        head = f"{'TIME':8}  {'FORM':15}  {'CIK':>10}  {'ACCESSION':20}  {'FILED':10}  DESCRIPTION"
        self._pending_header: bytes | None = (
            head + ("  LATENCY" if latency else "") + "\n"
        ).encode()

    def filings(self, filings: list[Filing], received: float) -> None:
        if self._pending_header:
            self.out.write(self._pending_header)
            self._pending_header = None
        for filing in filings:
            self._line(filing, received)

    def _line(self, filing: Filing, received: float) -> None:
        try:
            seen = _local(filing.discovered()).strftime("%H:%M:%S")
        except ValueError:
            seen = "?"
        line = (
            f"{seen:8}  {escape_control(filing.form):15}  {filing.cik:>10}  "
            f"{filing.accession_no:20}  {escape_control(filing.filing_date):10}  "
            f"{escape_control(filing.description)}"
        )
        if self.latency:
            line += f"  {_latency(filing, received)}"
        self.written += 1
        self.out.write(line.encode("utf-8") + b"\n")

    def backlog_complete(self) -> None:
        self.out.write(b"-------- live --------\n")
        self.out.flush()

    def flush(self) -> None:
        self.out.flush()

    def close(self) -> None:
        self.out.flush()


def table_console(force_terminal: bool | None = None) -> Console:
    return Console(force_terminal=force_terminal, highlight=False, soft_wrap=False)


def status_summary(status: Status) -> str:
    return status_text(status).plain


__all__ = ["PlainTableSink", "Status", "TableSink", "status_summary", "table_console"]

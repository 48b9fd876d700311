"""The ui's widgets: the list of filings drawn line by line, and the help screen of its keys.

The list is one widget drawn over :class:`Rows` (never a widget per row); it takes no key
itself but hands each to the app (``SecfeedApp.key``), in the order typed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from .lines import SELECTED, Painter
from .rows import Rows

if TYPE_CHECKING:
    from .app import SecfeedApp

#: The keys, as ``?`` lists them (and the README).
KEYS = (
    ("space", "pause / resume (scrolling up pauses too)"),
    ("End, G", "back to live: follow the newest filing"),
    ("↑ ↓ j k", "move the selection (pauses)"),
    ("PgUp PgDn", "a page up / down; Home or g: the top"),
    ("/", "filter as you type: form, ticker, company, filer, items"),
    ("", "Enter keeps it; Backspace, Ctrl-U edit; / types on"),
    ("", "all words must match; a,b either; !word excludes"),
    ("n, N", "next / previous match (no filter: marked rows)"),
    ("Esc", "clear the filter, then close the pane (never quits)"),
    ("Enter", "pause and show the details: trades, 8-K items, SIC"),
    ("o", "open the filing's EDGAR page in a browser"),
    ("y", "copy the filing's EDGAR URL (OSC 52)"),
    ("m", "mark / unmark the row"),
    ("?", "this list"),
    ("q", "quit"),
)
#: The keys' column in the help: the list fits 80x24 whole.
KEY_WIDTH = 11


class FilingList(ScrollView, can_focus=True):
    """The filings, one line each, drawn from :class:`Rows` on demand."""

    # No bindings: every key is the app's, taken here in the order typed (``SecfeedApp.key``).

    DEFAULT_CSS = """
    FilingList { height: 1fr; scrollbar-size-vertical: 1; overflow-x: hidden; }
    """

    def __init__(self, rows: Rows, painter: Painter) -> None:
        super().__init__(id="list")
        self.rows = rows
        self.painter = painter

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        self.painter.resize(width)
        position = self.scroll_offset.y + y
        rows = self.rows
        if position >= len(rows):
            return Strip.blank(width, self.rich_style)  # styled: NO_COLOR's filter reads it
        entry = rows.entry(position)
        strip = self.painter.row(entry, entry.filing.accession_no in rows.marked)
        if position == rows.selected:
            strip = strip.apply_style(SELECTED)
        return strip.crop(0, width)

    def sync(self, dropped: int = 0) -> None:
        """The rows changed: size, scroll (the newest in view while live; the same rows in
        place while paused, ``dropped`` rows having left the top), redraw."""
        rows = self.rows
        self.virtual_size = Size(self.scrollable_content_region.width, len(rows))
        if not rows.paused:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        elif dropped:
            self.scroll_to(y=max(0, self.scroll_offset.y - dropped), animate=False, immediate=True)
        self.refresh()

    def show_selected(self) -> None:
        """Scroll so that the selected row is on the screen."""
        position = self.rows.selected
        if position is None:
            return
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if position < top:
            self.scroll_to(y=position, animate=False, immediate=True)
        elif position >= top + height:
            self.scroll_to(y=position - height + 1, animate=False, immediate=True)
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        """Taller or shorter (the pane opened or closed, the terminal resized): live, the
        newest stays at the bottom; paused, the selected row stays on the screen."""
        if self.rows.paused:
            self.show_selected()
        else:
            self.sync()

    def action_move(self, by: int) -> None:
        self.rows.move(by)
        self.show_selected()

    def action_page(self, by: int) -> None:
        self.rows.move(by * max(1, self.scrollable_content_region.height - 1))
        self.show_selected()

    def action_top(self) -> None:
        if len(self.rows):
            self.rows.select(0)
            self.show_selected()

    async def _on_key(self, event: events.Key) -> None:
        app: SecfeedApp = self.app  # type: ignore[assignment]
        if app.key(event.key, event.character):
            event.stop()
            event.prevent_default()
        else:
            await super()._on_key(event)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.rows.pause()  # reading back stops the list: rows wait below, counted

    def on_click(self, event: events.Click) -> None:
        position = self.scroll_offset.y + event.y
        if position < len(self.rows):
            self.rows.select(position)
            self.refresh()
            if event.chain >= 2:
                self.app.action_details()  # type: ignore[attr-defined]


class Help(ModalScreen[None]):
    """``?``: the keys. Any key closes it."""

    DEFAULT_CSS = """
    Help { align: center middle; }
    Help > Static { width: auto; max-width: 90%; border: round $accent; padding: 0 1;
                    background: $surface; }
    """

    def compose(self) -> ComposeResult:
        text = Text("secfeed ui: keys\n\n", style="bold")
        for key, what in KEYS:
            text.append(f"{key:<{KEY_WIDTH}}", style="bold")
            text.append(f"{what}\n")
        text.append("\nany key closes this", style="dim")
        yield Static(text)

    def on_key(self, event: events.Key) -> None:
        event.stop()
        self.dismiss()

    def on_click(self, event: events.Click) -> None:
        self.dismiss()

"""``secfeed ui``: the Textual app. A list that follows the newest filing, a status bar, a
filter typed after ``/``, a details pane, and the keys of the README's table.

The list is one widget drawn line by line over :class:`Rows` (never a widget per row); what
the feed brought is taken every :data:`feed.TICK` seconds, in one go, and drawn once.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from msgspec.structs import replace
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from ..output import Status
from ..wire.filing import Filing
from .feed import TICK, Inbox
from .lines import SELECTED, Painter, feed_status, ui_status
from .pane import describe
from .rows import Rows
from .watch import Watchdog

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


def browser_here(env: Mapping[str, str], platform: str) -> bool:
    """Whether a browser can open a page for this session: a desktop's (macOS, Windows, a
    display). Over SSH or on a console, Python's webbrowser would start a text browser in
    the ui's own terminal, or nothing at all, without a word. $BROWSER names one: it is."""
    if env.get("BROWSER") or platform.startswith("win"):
        return True
    if platform == "darwin":
        return "SSH_CONNECTION" not in env
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


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


class Pane(VerticalScroll, can_focus=False):
    """The details pane: it scrolls with the mouse, and never takes the keys from the list."""


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


class SecfeedApp(App[int]):
    """The ui over an :class:`Inbox` that a feed thread fills (``feed.py``)."""

    TITLE = "secfeed"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    Screen { layout: vertical; }
    #header { height: 1; }
    #pane { height: 45%; border-top: solid $accent; display: none; }
    #pane.open { display: block; }
    #bottom { dock: bottom; height: auto; }
    #filter { height: 1; border: none; padding: 0 1; display: none; }
    #filter.open { display: block; }
    #status { height: 2; background: $panel; }
    """
    # Ctrl-C is the one binding (a priority one: it quits from anywhere, the help too); every
    # other key is taken by the list as it comes (``key``), so that keys are acted on in the
    # order typed: as bindings, a key acted only once it had gone through the focused widget,
    # and with a text input beside the list, keys typed right after "/" or Enter (a paste, a
    # fast typist) went to the wrong one.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "quit_ui", show=False, priority=True),
    ]
    #: The list's keys and their actions (the filter's, while typing one, are in ``_typed``).
    ACTIONS: ClassVar[dict[str, tuple[str, tuple[object, ...]]]] = {
        "space": ("pause", ()),
        "end": ("live", ()),
        "G": ("live", ()),
        "up": ("move", (-1,)),
        "k": ("move", (-1,)),
        "down": ("move", (1,)),
        "j": ("move", (1,)),
        "pageup": ("page", (-1,)),
        "pagedown": ("page", (1,)),
        "home": ("top", ()),
        "g": ("top", ()),
        "slash": ("filter", ()),
        "n": ("match", (True,)),
        "N": ("match", (False,)),
        "escape": ("escape", ()),
        "enter": ("details", ()),
        "o": ("open", ()),
        "y": ("copy", ()),
        "m": ("mark", ()),
        "question_mark": ("help", ()),
        "q": ("quit_ui", ()),
    }

    def __init__(
        self,
        inbox: Inbox,
        capacity: int | None = None,
        utc: bool = False,
        details: bool = False,
        fetch: Callable[[Filing], dict[str, Any]] | None = None,
        budget: Callable[[], str | None] | None = None,
        open_url: Callable[[str], None] | None = None,
        handle_signals: bool = False,
        watchdog: Watchdog | None = None,
    ) -> None:
        """``fetch``: a filing's details from EDGAR (on a worker thread), None: no way to ask
        (no User-Agent); ``budget``: the EDGAR line for the status bar; ``open_url``: how
        ``o`` opens a page (the terminal's browser, or the web page's under ``--serve``);
        ``handle_signals``: SIGINT, SIGTERM and SIGHUP quit with their exit codes, and the
        objects of the start-up are set aside from the garbage collector (the real command;
        not in a test's process, see :meth:`_freeze`)."""
        super().__init__()
        self.inbox = inbox
        self.rows = Rows() if capacity is None else Rows(capacity)
        self.painter = Painter(utc=utc, details=details)
        self.utc = utc
        self.fetch = fetch
        self.budget = budget
        self.opener = open_url
        self.notes: list[str] = []  # the run's lines, newest last
        self.pane_for: str | None = None  # the accession the pane shows
        self.fetched: dict[str, dict[str, Any]] = {}  # details asked on demand, by accession
        self.asking: set[str] = set()
        self.exit_code = 0
        self.error: str | None = None
        self.ended = False
        self.handle_signals = handle_signals
        self.watchdog = watchdog  # ends the process if a quit asked does not happen
        self._widgets()

    # -- layout and clock --

    def compose(self) -> ComposeResult:
        yield self.header_line
        yield self.listing
        with self.pane:
            yield self.pane_text
        with Vertical(id="bottom"):
            yield self.bar
            yield self.status_bar

    def _widgets(self) -> None:
        """Made once, kept: the app reaches them while a screen (``?``) is above theirs."""
        self.header_line = Static(id="header")
        self.listing = FilingList(self.rows, self.painter)
        self.pane = Pane(id="pane")
        self.pane_text = Static(id="pane-text")
        self.bar = Static(id="filter")
        self.typing = False  # "/" was pressed: keys go into the filter until Enter or Esc
        self.status_bar = Static(id="status")

    def on_mount(self) -> None:
        if self.handle_signals:
            import asyncio

            from ..common.signals import HANDLED

            loop = asyncio.get_running_loop()
            for signum in HANDLED:  # the signals every run ends cleanly on
                loop.add_signal_handler(signum, self._signalled, signum)
            self.call_after_refresh(self._freeze)
        self.listing.focus()
        self.set_interval(TICK, self.tick)
        self.tick()

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._redraw_header)

    def _redraw_header(self) -> None:
        listing = self.listing
        self.painter.resize(listing.scrollable_content_region.width)
        self.header_line.update(self.painter.header(), layout=False)
        listing.sync()

    def tick(self) -> None:
        """Take what the feed brought, then draw once."""
        batches, notes = self.inbox.take()
        dropped = 0
        for filings, received in batches:
            dropped += self.rows.add(filings, received)
        if notes:
            self.notes.extend(notes)
            del self.notes[:-200]
        listing = self.listing
        if batches or dropped:
            listing.sync(dropped)
        if self.painter.width == 0 or not self.header_line.content:
            self._redraw_header()
        self._status()
        ended = self.inbox.ended
        if ended is not None and not self.ended:
            self.ended = True
            code, error = ended
            if error is not None:  # the run failed: out of the ui, and the error said
                self.exit_code, self.error = code, error
                self.exit(code)
            else:
                self.notes.append("the feed ended (--count, --duration or --backlog-only)")
                self._status()

    def _status(self) -> None:
        status: Status | None = None
        if self.inbox.status is not None:
            status = self.inbox.status()
        extra = []
        if self.budget is not None:
            line = self.budget()
            if line:
                extra.append(line)
        if self.notes:
            extra.append(self.notes[-1])
        width = self.size.width
        text = ui_status(self.rows, extra)
        text.truncate(width - 1)
        text.append("\n")
        text.append_text(feed_status(status, width))
        self.status_bar.update(text, layout=False)  # fixed height: no layout each tick

    # -- keys --

    def action_pause(self) -> None:
        if self.rows.paused:
            self.action_live()
        else:
            self.rows.pause()
            self.listing.refresh()
            self._status()

    def action_move(self, by: int) -> None:
        self.listing.action_move(by)
        self._status()

    def action_page(self, by: int) -> None:
        self.listing.action_page(by)
        self._status()

    def action_top(self) -> None:
        self.listing.action_top()
        self._status()

    def action_live(self) -> None:
        self.rows.resume()
        self.listing.sync()
        self._status()

    def key(self, key: str, character: str | None) -> bool:
        """One key typed on the list; False: not one of ours (the list scrolls with it)."""
        if self.typing:
            self._typed(key, character)
            return True
        found = self.ACTIONS.get(key)
        if found is None:
            return False
        name, args = found
        getattr(self, f"action_{name}")(*args)
        return True

    def _typed(self, key: str, character: str | None) -> None:
        """A key while typing the filter: it narrows as typed; Enter keeps it, Esc clears it,
        Backspace and Ctrl-U edit it; other keys (arrows) are left alone."""
        text = self.rows.query.text
        if key == "enter":
            self.typing = False
            if not text.strip():
                self.bar.remove_class("open")
        elif key == "escape":
            self.action_clear_filter()
            return
        elif key == "backspace":
            text = text[:-1]
        elif key == "ctrl+u":
            text = ""
        elif character is not None and character.isprintable() and len(character) == 1:
            text += character
        self._filter(text)
        self._show_bar()

    def action_filter(self) -> None:
        """``/``: type a filter (the one set, if any, is edited further)."""
        self.typing = True
        self.bar.add_class("open")
        self._show_bar()

    def _show_bar(self) -> None:
        text = Text(" /", style="bold")
        text.append(self.rows.query.text)
        if self.typing:
            text.append("▏", style="blink")
            if not self.rows.query.text:
                text.append(" 8-k,4 apple !s-8 · Enter keeps it, Esc clears it", style="dim")
        self.bar.update(text, layout=False)

    def _filter(self, text: str) -> None:
        if text != self.rows.query.text:
            self.rows.set_filter(text)
            listing = self.listing
            listing.sync()
            if self.rows.paused:
                listing.show_selected()
        self._status()

    def action_clear_filter(self) -> None:
        self.typing = False
        self.rows.set_filter("")
        self.bar.remove_class("open")
        self.listing.sync()
        self._status()

    def action_escape(self) -> None:
        """Esc: the filter first, then the pane; never quits."""
        if self.rows.query.text or self.typing:
            self.action_clear_filter()
        elif self.pane_for is not None:
            self.pane.remove_class("open")
            self.pane_for = None
        else:
            self.bell()

    def action_match(self, forward: bool) -> None:
        if self.rows.next_match(forward):
            self.listing.show_selected()
            self._status()
        else:
            self.notify("no match" if self.rows.query.active else "no marked rows", timeout=2)

    def action_mark(self) -> None:
        entry = self.rows.selected_entry()
        if entry is not None and self.rows.toggle_mark() is not None:
            self.painter.forget(entry.seq)
            self.listing.refresh()
            self._status()

    def action_open(self) -> None:
        entry = self.rows.selected_entry()
        if entry is None:
            return
        url = entry.filing.url
        if self.opener is not None:
            self.opener(url)
        elif self.is_web:  # the page's own browser opens it
            self.open_url(url)
        elif browser_here(os.environ, sys.platform):
            self.run_worker(lambda: self._open_in_browser(url), thread=True)
        else:
            self.notify(
                f"no browser here (no display): y copies the URL\n{url}",
                severity="warning",
                timeout=8,
            )

    def _open_in_browser(self, url: str) -> None:
        """On a worker thread (a browser can take seconds to start): open, and say so."""
        import webbrowser

        try:
            opened = webbrowser.open(url)
        except Exception:  # noqa: BLE001 - any failure of a browser is "could not open"
            opened = False
        if opened:
            self.call_from_thread(self.notify, "opening the EDGAR page in a browser", timeout=3)
        else:
            text = f"no browser could open it: y copies the URL\n{url}"
            self.call_from_thread(self.notify, text, severity="warning", timeout=8)

    def action_copy(self) -> None:
        entry = self.rows.selected_entry()
        if entry is not None:
            self.copy_to_clipboard(entry.filing.url)
            self.notify("copied the EDGAR URL", timeout=2)

    def action_help(self) -> None:
        self.push_screen(Help())

    def _freeze(self) -> None:
        """Once the app is up: what the start-up made (Textual, rich, the modules: several
        hundred thousand objects that live as long as the process) is collected once, then
        left out of every later collection (``gc.freeze``). Measured (bench/UI.md): every full
        collection went through them all, and those pauses were the keys that took 100-180
        ms under a firehose; after, none over 100 ms. What is frozen is never collected as
        cyclic garbage, so this is done once, not as the run goes."""
        import gc

        gc.collect()
        gc.freeze()

    def _signalled(self, signum: int) -> None:
        """Quit with the signal's exit status, as any run's: 130, 143 or 129."""
        from ..errors import signal_status

        self.quit_with(signal_status(signum))

    def quit_with(self, code: int) -> None:
        """Quit with ``code`` (a signal's, or the watchdog's when the terminal is gone); a
        quit that does not happen in time ends the process anyway (``watch.py``)."""
        self.exit_code = code
        if self.watchdog is not None:
            self.watchdog.arm(code)
        self.action_quit_ui()

    def action_quit_ui(self) -> None:
        self.inbox.quitting = True
        self.exit(self.exit_code)

    # -- the details pane --

    def action_details(self) -> None:
        entry = self.rows.selected_entry()
        if entry is None:
            return
        filing = entry.filing
        self.rows.pause()  # the list stays on the filing the pane shows ("+N new" below)
        self._status()
        self.pane_for = filing.accession_no
        self.pane.add_class("open")

        self._show_pane(filing)
        details = filing.extra.get("details") if filing.extra else None
        have = isinstance(details, dict) and details.get("status") == "ok"
        accession = filing.accession_no
        if have or accession in self.fetched or accession in self.asking:
            return
        from ..details.stage import kind

        if self.fetch is not None and kind(filing.form) is not None:
            self.asking.add(accession)
            fetch, seq = self.fetch, entry.seq
            self.run_worker(lambda: self._fetched(filing, seq, fetch), thread=True)

    def _fetched(self, filing: Filing, seq: int, fetch: Callable[[Filing], dict[str, Any]]) -> None:
        """On a worker thread: ask, then hand the details to the app's thread. Whatever goes
        wrong is the pane's one line (an unhandled error in a worker would end the app)."""
        try:
            details = fetch(filing)
        except Exception as exc:  # details_of says what it expects; this is the rest
            details = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
        self.call_from_thread(self._have, filing, seq, details)

    def _have(self, filing: Filing, seq: int, details: dict[str, Any]) -> None:
        self.asking.discard(filing.accession_no)
        self.fetched[filing.accession_no] = details
        # The row says what the pane says (it said "deferred" still): the filing as it is now.
        now = replace(filing, extra={**(filing.extra or {}), "details": details})
        if self.rows.update(seq, now):
            self.painter.forget(seq)
            self.listing.refresh()
        if self.pane_for == filing.accession_no:
            self._show_pane(now)

    def _show_pane(self, filing: Filing) -> None:
        from ..details.stage import kind

        details = self.fetched.get(filing.accession_no)
        given = filing.extra.get("details") if filing.extra else None
        if details is None and isinstance(given, dict):
            details = given
        note = None
        if details is None or details.get("status") != "ok":
            if kind(filing.form) is None:
                note = "secfeed reads the details of Forms 3/4/5, 8-K and 13D/G, not this form's"
            elif filing.accession_no in self.asking:
                note = "asking EDGAR…"
            elif self.fetch is None and details is None:
                note = (
                    "details on demand read EDGAR: start secfeed ui with --user-agent"
                    " 'Your Name you@example.com' (SEC's rule), or with --details"
                )
        self.pane_text.update(describe(filing, details, note, self.utc))

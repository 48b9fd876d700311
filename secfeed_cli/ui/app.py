"""``secfeed ui``: the Textual app. A list that follows the newest filing, a status bar, a
filter typed after ``/``, a details pane, and the keys of the README's table.

The list is one widget drawn line by line over :class:`Rows` (never a widget per row); what
the feed brought is taken every :data:`feed.TICK` seconds, in one go, and drawn once.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from ..output import Status
from ..wire.filing import Filing
from .details import DetailsPane, Fetch
from .feed import TICK, Inbox
from .lines import Painter, feed_status, ui_status
from .rows import Rows
from .watch import Watchdog
from .widgets import FilingList, Help


def browser_here(env: Mapping[str, str], platform: str) -> bool:
    """Whether a browser can open a page for this session: a desktop's (macOS, Windows, a
    display). Over SSH or on a console, Python's webbrowser would start a text browser in
    the ui's own terminal, or nothing at all, without a word. $BROWSER names one: it is."""
    if env.get("BROWSER") or platform.startswith("win"):
        return True
    if platform == "darwin":
        return "SSH_CONNECTION" not in env
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


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
        fetch: Fetch | None = None,
        budget: Callable[[], str | None] | None = None,
        open_url: Callable[[str], None] | None = None,
        handle_signals: bool = False,
        watchdog: Watchdog | None = None,
        grep: tuple[re.Pattern[str], ...] = (),
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
        self.exit_code = 0
        self.error: str | None = None
        self.ended = False
        self.handle_signals = handle_signals
        self.watchdog = watchdog  # ends the process if a quit asked does not happen
        self.grep = grep  # --grep's patterns: highlighted in the pane
        self._widgets()

    # -- layout and clock --

    def compose(self) -> ComposeResult:
        yield self.header_line
        yield self.listing
        yield self.pane
        with Vertical(id="bottom"):
            yield self.bar
            yield self.status_bar

    def _widgets(self) -> None:
        """Made once, kept: the app reaches them while a screen (``?``) is above theirs."""
        self.header_line = Static(id="header")
        self.listing = FilingList(self.rows, self.painter)
        self.pane = DetailsPane(self.fetch, self.utc, self._row_changed, self._marks)
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
        for filing in self.inbox.take_late():  # shown deferred, their details in since
            seq = self.rows.seqs.get(filing.accession_no)
            if seq is not None:
                self._row_changed(seq, filing)
                if self.pane.showing == filing.accession_no:
                    self.pane.show(filing)
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

    def _marks(self) -> tuple[re.Pattern[str], ...]:
        """What the pane highlights: --grep's matches, and the words of the ``/`` filter
        where a word of the text begins with one."""
        words = [c for w in self.rows.query.words if not w.exclude for c in w.choices]
        typed = tuple(re.compile(rf"(?<!\w){re.escape(c)}", re.IGNORECASE) for c in words)
        return self.grep + typed

    def _filter(self, text: str) -> None:
        if text != self.rows.query.text:
            self.rows.set_filter(text)
            self.pane.remark()
            listing = self.listing
            listing.sync()
            if self.rows.paused:
                listing.show_selected()
        self._status()

    def action_clear_filter(self) -> None:
        self.typing = False
        self.rows.set_filter("")
        self.pane.remark()
        self.bar.remove_class("open")
        self.listing.sync()
        self._status()

    def action_escape(self) -> None:
        """Esc: the filter first, then the pane; never quits."""
        if self.rows.query.text or self.typing:
            self.action_clear_filter()
        elif not self.pane.close():
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

    @property
    def pane_for(self) -> str | None:
        """The accession the pane shows (None: closed)."""
        return self.pane.showing

    def action_details(self) -> None:
        entry = self.rows.selected_entry()
        if entry is None:
            return
        self.rows.pause()  # the list stays on the filing the pane shows ("+N new" below)
        self._status()
        self.pane.open(entry.filing, entry.seq)

    def _row_changed(self, seq: int, filing: Filing) -> None:
        """Details asked from the pane came in: the row shows them too."""
        if self.rows.update(seq, filing):
            self.painter.forget(seq)
            self.listing.refresh()

"""``secfeed ui``: the app driven by Textual's Pilot (every key), the list's model, the screen
at two sizes against pinned text, and the details from the emulator's EDGAR (real documents
over loopback). The real command in a real terminal is ``test_ui_tmux.py``."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace
from rich.console import Console
from textual import events
from textual.pilot import Pilot

from secfeed_cli.companies.lookup import Companies
from secfeed_cli.details.edgar import EdgarClient
from secfeed_cli.details.stage import Missing, details_of
from secfeed_cli.emulator.edgar import documents
from secfeed_cli.emulator.feed import encode_filing, load_sample
from secfeed_cli.emulator.server import Emulator
from secfeed_cli.ui.app import SecfeedApp
from secfeed_cli.ui.feed import Inbox
from secfeed_cli.ui.query import keys_of, parse, selector
from secfeed_cli.ui.rows import Rows
from secfeed_cli.ui.widgets import KEYS
from secfeed_cli.wire.details import Details, EightK
from secfeed_cli.wire.filing import Filing, utc_seconds
from secfeed_cli.wire.protocol import parse_frame

SNAPSHOTS = Path(__file__).parent / "data" / "ui"
#: The time every test filing was discovered, and when it was received (250 ms later).
DISCOVERED = "2026-01-12T16:00:00.5Z"
RECEIVED = utc_seconds(DISCOVERED) + 0.25


def filings(records: list[dict[str, Any]], historical: bool = False) -> list[Filing]:
    out = []
    for record in records:
        filing = parse_frame(encode_filing(record, DISCOVERED, historical))
        assert isinstance(filing, Filing)
        out.append(filing)
    Companies().fill(out)
    return out


@pytest.fixture(scope="module")
def sample() -> list[Filing]:
    """120 real filings: 60 of the backlog, then 60 live."""
    records = load_sample()[:120]
    return filings(records[:60], historical=True) + filings(records[60:])


def _sample_rows() -> Rows:
    records = load_sample()[:120]
    rows = Rows()
    rows.add(filings(records), RECEIVED)
    return rows


_SAMPLE_ROWS = _sample_rows()


def make_app(inbox: Inbox | None = None, **kw: Any) -> SecfeedApp:
    kw.setdefault("utc", True)
    return SecfeedApp(inbox or Inbox(), **kw)


def drive(
    app: SecfeedApp,
    scenario: Callable[[Pilot[int]], Awaitable[None]],
    size: tuple[int, int],
    notifications: bool = False,
) -> None:
    async def main() -> None:
        async with app.run_test(size=size, notifications=notifications) as pilot:
            await pilot.pause()
            await scenario(pilot)

    asyncio.run(main())


async def feed(pilot: Pilot[int], app: SecfeedApp, batch: list[Filing]) -> None:
    """Hand the app a batch as the feed thread does, and let it take it (its clock's tick)."""
    app.inbox.put(batch, RECEIVED)
    app.tick()
    await pilot.pause()


async def settled(pilot: Pilot[int], app: SecfeedApp) -> str:
    """The screen once the app has nothing left to do for it (a layout change, such as the
    pane opening, reaches the list a message or two after the key)."""
    text = screen_text(app)
    for _ in range(50):
        await pilot.pause()
        again = screen_text(app)
        if again == text:
            return text
        text = again
    raise AssertionError("the screen never settled")


def screen_text(app: SecfeedApp) -> str:
    """The screen as text, line by line (as a terminal shows it, without colours)."""
    width, height = app.size
    console = Console(width=width, height=height, file=StringIO(), record=True, color_system=None)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


def rows_on_screen(app: SecfeedApp) -> list[str]:
    """The accession numbers of the rows on the screen, top to bottom."""
    import re

    return re.findall(r"\d{10}-\d\d-\d{6}", screen_text(app).split("─" * 10)[0])


# -- the model (pure) ---------------------------------------------------------------------


@pytest.mark.unit
def test_filter_words_all_match_alternatives_either_and_bang_excludes(
    sample: list[Filing],
) -> None:
    def forms(text: str) -> set[str]:
        q = parse(text)
        return {f.form for f in sample if q.matches(keys_of(f))}

    every = {f.form for f in sample}
    assert forms("") == every
    assert forms("8-k") == {"8-K"}  # the form whole: not 8-K/A's base... and not "S-8"
    assert forms("8-k,4") == {"8-K", "4"}
    assert forms("!4") == every - {"4"}
    assert "4" not in forms("!4 !8-k") and "8-K" not in forms("!4 !8-k")
    assert forms("4 !4") == set()
    # A ticker whole, or a word of the company or description; any case.
    insm = {f.accession_no for f in sample if parse("insm").matches(keys_of(f))}
    assert insm and all(
        next(f for f in sample if f.accession_no == a).ticker == "INSM" for a in insm
    )
    assert parse("JPMorgan").matches(
        keys_of(next(f for f in sample if "JPMorgan" in (f.company or "")))
    )
    # Typing in progress: a lone "!" or "," is no word yet.
    assert not parse("!").active and not parse(",").active and not parse(" ").active


@pytest.mark.unit
@given(st.text(st.sampled_from("4 8-K!,'\"\\\x00jpmINSabc .e"), max_size=12))
@settings(max_examples=300, deadline=None)
def test_the_compiled_filter_selects_what_the_query_matches(text: str) -> None:
    """The generated list comprehension (fast) and ``Query.matches`` (plain) agree, for any
    text typed: quotes, backslashes and separators in it are data, never code."""
    entries = _SAMPLE_ROWS.entries
    query = parse(text)
    assert selector(query)(entries) == [e.seq for e in entries if query.matches(e.keys)]


@pytest.mark.unit
def test_an_amendment_matches_its_base_form_and_8k_items_are_searched() -> None:
    record = dict(load_sample()[0], form="8-K/A")
    (filing,) = filings([record])
    assert parse("8-k").matches(keys_of(filing)) and parse("8-k/a").matches(keys_of(filing))
    with_items = replace(
        filing,
        extra={
            "details": {"status": "ok", "items": ["5.02"], "item_names": ["Departure of Directors"]}
        },
    )
    assert parse("departure").matches(keys_of(with_items))
    assert parse("5.02").matches(keys_of(with_items))
    assert not parse("departure").matches(keys_of(filing))


@pytest.mark.unit
def test_the_buffer_is_bounded_and_a_paused_list_keeps_its_rows_in_place(
    sample: list[Filing],
) -> None:
    rows = Rows(capacity=100)
    rows.add(sample, RECEIVED)
    assert (len(rows), rows.first, rows.total) == (100, 20, 120)
    assert rows.entry(0).filing is sample[20] and rows.selected == 99
    rows.move(-10)  # leaving the newest pauses, on the row chosen
    assert rows.paused and rows.selected == 89
    chosen = rows.selected_entry()
    dropped = rows.add(sample[:30], RECEIVED)  # 30 more: 30 old ones leave
    assert dropped == 30 and len(rows.entries) == 100
    assert rows.selected_entry() is chosen  # the same filing stays selected
    assert rows.waiting == 30 and len(rows) == 70
    rows.resume()
    assert len(rows) == 100 and rows.selected == 99 and not rows.paused
    with pytest.raises(ValueError):
        Rows(capacity=0)


@pytest.mark.unit
def test_a_new_filter_keeps_the_selected_filing_and_marks_leave_with_their_rows(
    sample: list[Filing],
) -> None:
    rows = Rows(capacity=200)
    rows.add(sample, RECEIVED)
    target = next(i for i, f in enumerate(sample) if f.form == "4")
    rows.select(target)
    assert rows.toggle_mark() is True
    rows.set_filter("4")
    entry = rows.selected_entry()
    assert entry is not None and entry.filing is sample[target]
    assert all(rows.entry(i).filing.form == "4" for i in range(len(rows)))
    rows.set_filter("")
    assert len(rows) == 120 and rows.selected_entry() is entry
    small = Rows(capacity=100)
    small.add(sample[:1], RECEIVED)
    small.select(0)
    small.toggle_mark()
    small.add(sample[1:101], RECEIVED)  # the marked filing left the buffer: its mark too
    assert not small.marked


@pytest.mark.unit
def test_next_match_wraps_and_without_a_filter_goes_to_marked_rows(
    sample: list[Filing],
) -> None:
    rows = Rows()
    rows.add(sample[:10], RECEIVED)
    assert rows.next_match() is False  # no filter, no marks
    for position in (2, 7):
        rows.select(position)
        rows.toggle_mark()
    assert rows.next_match() and rows.selected == 2  # from 7, wrapping
    assert rows.next_match() and rows.selected == 7
    assert rows.next_match(forward=False) and rows.selected == 2
    rows.set_filter(sample[0].form)
    first = rows.selected
    assert rows.next_match() and rows.selected == (first + 1) % len(rows)


# -- the keys, through Pilot --------------------------------------------------------------


def test_the_list_follows_the_newest_and_space_pauses_with_new_ones_counted(
    sample: list[Filing],
) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, sample[:60])
        await feed(pilot, app, sample[60:100])
        listing = app.query_one("#list")
        assert app.rows.selected == 99 and not app.rows.paused
        assert listing.scroll_offset.y == listing.max_scroll_y > 0
        assert rows_on_screen(app)[-1] == sample[99].accession_no
        await pilot.press("space")
        before = rows_on_screen(app)
        await feed(pilot, app, sample[100:])
        assert rows_on_screen(app) == before  # paused: nothing moves
        assert "PAUSED +20 new" in screen_text(app)
        await pilot.press("space")  # resume: the 20 show, the newest selected
        assert rows_on_screen(app)[-1] == sample[119].accession_no
        assert "LIVE" in screen_text(app) and app.rows.selected == 119

    drive(app, scenario, (100, 30))


def test_scrolling_up_pauses_and_end_or_G_return_to_live(sample: list[Filing]) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, sample[:100])
        await pilot._post_mouse_events([events.MouseScrollUp], "#list", offset=(5, 5))
        assert app.rows.paused
        listing = app.query_one("#list")
        assert listing.scroll_offset.y < listing.max_scroll_y
        await feed(pilot, app, sample[100:110])
        assert app.rows.waiting == 10
        await pilot.press("end")
        assert not app.rows.paused and app.rows.selected == 109
        assert listing.scroll_offset.y == listing.max_scroll_y
        await pilot.press("k", "k")
        assert app.rows.paused and app.rows.selected == 107
        await pilot.press("G")
        assert not app.rows.paused and app.rows.selected == 109
        await pilot.press("home")
        assert app.rows.selected == 0 and listing.scroll_offset.y == 0
        await pilot.press("pagedown")
        assert app.rows.selected > 10
        await pilot.press("j")
        assert rows_on_screen(app)  # the selection is on the screen
        selected = app.rows.selected_entry()
        assert selected is not None and selected.filing.accession_no in rows_on_screen(app)

    drive(app, scenario, (100, 30))


def test_slash_filters_as_you_type_enter_keeps_it_and_esc_clears(sample: list[Filing]) -> None:
    app = make_app()
    eight_k = [f.accession_no for f in sample if f.form == "8-K"]
    assert 2 <= len(eight_k) < 20

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, sample)
        await pilot.press("slash", "8")
        assert len(app.rows) == 0  # no form is "8", no name holds it... as typed so far
        await pilot.press("minus", "k")
        assert rows_on_screen(app) == eight_k
        await pilot.press("enter")  # kept; the list has the keys again
        assert app.focused is app.query_one("#list")
        assert "filter 8-k" in screen_text(app)
        await pilot.press("slash", "comma", "4")  # "/" again goes on typing: 8-K or Form 4
        both = [f.accession_no for f in sample if f.form in ("8-K", "4")]
        assert [app.rows.entry(i).filing.accession_no for i in range(len(app.rows))] == both
        await pilot.press("backspace", "backspace")  # edits: "8-k" again
        assert app.rows.query.text == "8-k" and rows_on_screen(app) == eight_k
        await pilot.press("escape")  # clears and closes the bar
        assert not app.rows.query.active and len(app.rows) == 120
        await pilot.press("j")  # the list's keys again
        assert app.rows.paused is False and app.rows.selected == 119
        await pilot.press("slash", "exclamation_mark", "4", "enter")
        assert all(app.rows.entry(i).filing.form != "4" for i in range(len(app.rows)))
        assert len(app.rows) == 120 - sum(f.form == "4" for f in sample)

    drive(app, scenario, (100, 30))


def test_n_and_N_step_through_matches_and_marks(sample: list[Filing]) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, sample)
        await pilot.press("n")  # no filter, no mark: nothing to go to, and no quitting
        assert app.rows.selected == 119 and app.is_running
        await pilot.press("k", "k", "m", "k", "k", "k", "m")
        assert app.rows.marked == {sample[117].accession_no, sample[114].accession_no}
        assert "2 marked" in screen_text(app)
        assert "● " in screen_text(app)
        await pilot.press("n")
        assert app.rows.selected == 117
        await pilot.press("n")
        assert app.rows.selected == 114  # wrapped
        await pilot.press("N")
        assert app.rows.selected == 117
        await pilot.press("m")  # unmarked
        assert app.rows.marked == {sample[114].accession_no}
        await pilot.press("slash", "4", "enter")
        await pilot.press("home", "n")
        assert app.rows.selected == 1 and app.rows.selected_entry().filing.form == "4"  # type: ignore[union-attr]
        await pilot.press("N", "N")
        assert app.rows.selected == len(app.rows) - 1  # wrapped backwards

    drive(app, scenario, (100, 30))


def test_esc_clears_the_filter_then_closes_the_pane_and_never_quits(
    sample: list[Filing],
) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, sample)
        await pilot.press("slash", "4", "enter", "enter")
        pane = app.query_one("#pane")
        assert pane.has_class("open") and app.rows.query.active
        await pilot.press("escape")
        assert not app.rows.query.active and pane.has_class("open")
        await pilot.press("escape")
        assert not pane.has_class("open")
        for _ in range(3):
            await pilot.press("escape")
        assert app.is_running

    drive(app, scenario, (100, 30))


def test_o_opens_the_edgar_page_and_y_copies_its_url(sample: list[Filing]) -> None:
    opened: list[str] = []
    app = make_app(open_url=opened.append)

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, sample[:10])
        await pilot.press("k", "o")
        assert opened == [sample[8].url]
        assert opened[0].startswith("https://www.sec.gov/Archives/edgar/data/")
        await pilot.press("y")
        assert app.clipboard == sample[8].url

    drive(app, scenario, (100, 30))


def test_question_mark_lists_every_key_and_any_key_closes_it(sample: list[Filing]) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[int]) -> None:
        await pilot.press("question_mark")
        text = screen_text(app)
        for key, what in KEYS:
            assert key in text and what[:30] in text, what
        await pilot.press("x")
        assert "secfeed ui: keys" not in screen_text(app)
        assert app.is_running  # the key closed the list; it did nothing else

    drive(app, scenario, (120, 40))


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
def test_q_or_ctrl_c_quits_and_tells_the_feed_to_stop(sample: list[Filing], key: str) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, sample[:5])
        await pilot.press(key)

    drive(app, scenario, (100, 30))
    assert app.inbox.quitting and app.return_value == 0


def test_a_fetch_that_fails_is_a_line_in_the_pane_not_the_end_of_the_app(
    bundled: list[Filing],
) -> None:
    def fetch(filing: Filing) -> dict[str, Any]:
        raise RuntimeError("the cache directory vanished")

    app = make_app(fetch=fetch)
    form4 = next(f for f in bundled if f.form == "4")

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, [form4])
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.is_running
        assert "details: error (RuntimeError: the cache directory vanished)" in screen_text(app)

    drive(app, scenario, (160, 30))


def test_a_click_selects_and_pauses_and_a_double_click_opens_the_details(
    sample: list[Filing],
) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, sample[:10])  # fewer than the screen: row y is filing y
        await pilot.click("#list", offset=(10, 3))
        assert app.rows.paused and app.rows.selected == 3
        await pilot.double_click("#list", offset=(10, 5))
        assert app.pane_for == sample[5].accession_no

    drive(app, scenario, (100, 30))


def test_a_run_that_fails_ends_the_app_with_its_code_and_line(sample: list[Filing]) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[int]) -> None:
        app.inbox.end(3, "the server rejected the API key")
        app.tick()
        await pilot.pause()

    drive(app, scenario, (100, 30))
    assert app.return_value == 3 and app.error == "the server rejected the API key"


def test_a_run_that_ends_well_leaves_the_app_open_and_says_so(sample: list[Filing]) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, sample[:5])
        app.inbox.note("backlog complete: 5 filings")
        app.inbox.end(0, None)
        app.tick()
        await pilot.pause()
        assert app.is_running and "the feed ended" in screen_text(app)

    drive(app, scenario, (100, 30))


def test_no_color_draws_the_same_rows_without_colour(
    sample: list[Filing], monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_COLOR: Textual passes every line through its monochrome filter, which needs a style
    on every piece (an unstyled blank line once crashed it)."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, sample[:5])  # fewer rows than the screen: blank lines below
        assert rows_on_screen(app) == [f.accession_no for f in sample[:5]]

    drive(app, scenario, (100, 30))


def test_control_characters_from_the_feed_never_reach_the_screen() -> None:
    record = dict(
        load_sample()[0],
        description="EVIL \x1b[31mRED\x1b[0m \x1b]52;c;aGk=\x07 \u202eCORP",
        cik=9_999_999_991,
    )
    (filing,) = filings([record])
    app = make_app()

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, [filing])
        await pilot.press("enter")
        strips = [app.query_one("#list").render_line(y) for y in range(3)]
        drawn = "".join(s.text for s in strips) + screen_text(app)
        assert "\\x1b[31mRED" in drawn and "\\u202e" in drawn
        assert "\x1b" not in drawn and "\x07" not in drawn and "\u202e" not in drawn

    drive(app, scenario, (160, 30))


# -- the details pane ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled() -> list[Filing]:
    """The filings whose documents the emulator's EDGAR serves (Forms 4 and 8-Ks)."""
    records, _ = documents()
    return filings(records)


def test_enter_shows_form_4_transactions_and_8k_items_fetched_on_demand(
    emulator_factory: Callable[..., Emulator], bundled: list[Filing]
) -> None:
    em = emulator_factory(edgar=True)
    client = EdgarClient(
        "secfeed tests tests@localhost", base_url=em.url.replace("ws://", "http://")
    )
    asked: list[str] = []

    def fetch(filing: Filing) -> Details:
        asked.append(filing.accession_no)
        return details_of(filing, client)

    app = make_app(fetch=fetch)
    form4 = next(f for f in bundled if f.form == "4" and "draftkings" in (f.company or "").lower())
    eightk = next(f for f in bundled if f.accession_no == "0001193125-24-152391")  # 7.01, 9.01

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, [form4, eightk])
        await pilot.press("k", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = screen_text(app)
        assert "summary S " in text  # the sale, summed
        assert "owned after" in text and text.count(" S ") >= 3  # three rows of code S
        assert "Rule 10b5-1" in text
        await pilot.press("j", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = screen_text(app)
        assert "items" in text and "SIC" in text
        assert any(name in text for name in ("Submission of Matters", "Regulation FD"))
        await pilot.press("k", "enter")  # asked once: the answer is kept
        assert asked == [form4.accession_no, eightk.accession_no]

    try:
        drive(app, scenario, (120, 50))
    finally:
        client.close()


def test_without_a_user_agent_the_pane_says_how_to_get_details(sample: list[Filing]) -> None:
    app = make_app()
    form4 = next(f for f in sample if f.form == "4")

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, [form4])
        await pilot.press("enter")
        text = " ".join(screen_text(app).split())
        assert form4.url in text
        assert "--user-agent 'Your Name you@example.com'" in text

    drive(app, scenario, (160, 30))


def test_details_given_by_the_feed_show_without_asking(bundled: list[Filing]) -> None:
    eightk = next(f for f in bundled if f.accession_no == "0001193125-24-152391")  # 7.01, 9.01
    given = {
        "status": "ok",
        "items": ["5.02", "9.01"],
        "item_names": ["Departure of Directors", "Financial Statements and Exhibits"],
        "sic": "2834",
        "period": None,
        "summary": "5.02 officer change",
    }
    with_details = replace(eightk, extra={"details": given})
    app = make_app(details=True, fetch=lambda f: pytest.fail("asked EDGAR"))

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, [with_details])
        assert "5.02 officer change" in screen_text(app)  # the details column
        await pilot.press("enter")
        text = screen_text(app)
        assert "5.02  Departure of Directors" in text and "SIC 2834" in text

    drive(app, scenario, (160, 40))


# -- the layout, pinned -------------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
def test_the_screen_at_80x24_and_160x50(sample: list[Filing], size: tuple[int, int]) -> None:
    """The whole screen as text, against tests/data/ui/ (SECFEED_UI_SNAPSHOTS=update
    rewrites them: read the diff before committing)."""
    app = make_app()
    shots: dict[str, str] = {}

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, sample[:60])
        await feed(pilot, app, sample[60:])
        shots["live"] = await settled(pilot, app)
        await pilot.press("slash", "4", "enter", "k", "m", "enter")
        shots["filtered-paused-details"] = await settled(pilot, app)

    drive(app, scenario, size)
    for name, text in shots.items():
        path = SNAPSHOTS / f"{name}-{size[0]}x{size[1]}.txt"
        if os.environ.get("SECFEED_UI_SNAPSHOTS") == "update":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        assert text == path.read_text(), f"{path.name} changed"


@pytest.mark.unit
def test_a_user_agent_alone_lets_the_ui_ask_on_demand_and_tail_ask_nothing() -> None:
    from secfeed_cli.cli.details_options import _details
    from secfeed_cli.run.execute import _edgar

    def settings(user_agent: str | None) -> Any:
        return _details(False, False, 5.0, user_agent, "https://www.sec.gov", 5.0)

    alone = settings("Your Name you@example.com")
    assert alone is not None and not alone.enrich and not alone.backfill
    assert _edgar(alone) == (None, None)  # tail, snapshot and relay: no client, no stage
    # One that could not be sent is left unused (it is an error only where it is needed).
    assert settings("no email") is None and settings("a\x1bb@c") is None
    assert settings(None) is None


def test_enter_pauses_on_the_filing_the_pane_shows(sample: list[Filing]) -> None:
    app = make_app()

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, sample[:50])
        await pilot.press("enter")
        assert app.rows.paused and app.pane_for == sample[49].accession_no
        await feed(pilot, app, sample[50:60])  # new filings wait below, the selection stays
        entry = app.rows.selected_entry()
        assert entry is not None and entry.filing is sample[49] and app.rows.waiting == 10

    drive(app, scenario, (100, 30))


# -- the small walls of the first hour (#41) ----------------------------------------------


def test_the_keys_fit_80x24_whole(sample: list[Filing]) -> None:
    """At 80x24 the descriptions wrapped and q fell off the screen."""
    app = make_app()

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, sample[:30])
        await pilot.press("question_mark")
        lines = screen_text(app).splitlines()
        for key, what in KEYS:
            assert any(what in line and key in line for line in lines), (key, what)
        assert any("any key closes this" in line for line in lines)

    drive(app, scenario, (80, 24))


@pytest.mark.unit
def test_a_browser_is_here_only_with_a_desktop() -> None:
    from secfeed_cli.ui.app import browser_here

    assert not browser_here({}, "linux")
    assert not browser_here({"SSH_CONNECTION": "10.0.0.1 1 10.0.0.2 22"}, "linux")
    assert browser_here({"DISPLAY": ":0"}, "linux")
    assert browser_here({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert browser_here({"BROWSER": "w3m %s"}, "linux")  # the user says which
    assert browser_here({}, "darwin") and not browser_here({"SSH_CONNECTION": "x"}, "darwin")


def test_o_without_a_browser_says_so_and_how_to_take_the_url(
    sample: list[Filing], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over SSH or headless, o did nothing at all."""
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    app = make_app()

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, sample[:5])
        await pilot.press("o")
        text = " ".join((await settled(pilot, app)).split())
        assert "no browser here (no display): y copies the URL" in text, text

    drive(app, scenario, (120, 30), notifications=True)


def test_a_row_says_what_enter_fetched(bundled: list[Filing]) -> None:
    """After Enter fetched a row's details, the row still said deferred."""
    eightk = next(f for f in bundled if f.accession_no == "0001193125-24-152391")  # 7.01, 9.01
    waiting = replace(eightk, extra={"details": {"status": "deferred", "reason": "not yet"}})
    fetched = EightK(
        items=["5.02"],
        item_names=["Departure of Directors"],
        sic="2834",
        summary="5.02 officer change",
    )
    app = make_app(details=True, fetch=lambda f: fetched)

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, [waiting])
        assert "deferred" in rows_text(app)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await settled(pilot, app)
        row = rows_text(app)
        assert "5.02 officer change" in row and "deferred" not in row, row

    drive(app, scenario, (160, 40))


def test_the_pane_gives_the_reason_details_are_unavailable(bundled: list[Filing]) -> None:
    form4 = next(f for f in bundled if f.form == "4")
    gone = Missing(status="unavailable", reason="not on EDGAR (404)")
    app = make_app(details=True, fetch=lambda f: gone)

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, [form4])
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        text = await settled(pilot, app)
        assert "details: unavailable (not on EDGAR (404))" in text

    drive(app, scenario, (160, 40))


def rows_text(app: SecfeedApp) -> str:
    """The list's part of the screen (above the pane's border)."""
    return screen_text(app).split("─" * 10)[0]


# -- --text: the words in the pane, "/" on them, --grep's matches marked -------------------


def test_the_pane_shows_an_8ks_words_under_its_item_headings_and_slash_finds_them(
    emulator_factory: Callable[..., Emulator], bundled: list[Filing]
) -> None:
    from secfeed_cli.details.stage import TextWanted

    em = emulator_factory(edgar=True)
    client = EdgarClient(
        "secfeed tests tests@localhost", base_url=em.url.replace("ws://", "http://")
    )
    afc = next(f for f in bundled if f.accession_no == "0000000000-23-900002")  # 5.02, 7.01
    other = next(f for f in bundled if f.accession_no == "0000887919-21-000012")  # 8.01
    with_words = [
        replace(f, extra={"details": details_of(f, client, TextWanted())}) for f in (afc, other)
    ]
    app = make_app(details=True, fetch=lambda f: pytest.fail("asked EDGAR"))

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, with_words)
        await pilot.press("slash", *"hetzel", "enter")  # a word of item 5.02's text only
        await settled(pilot, app)
        assert rows_on_screen(app) == [afc.accession_no]
        await pilot.press("enter")
        text = " ".join((await settled(pilot, app)).split())
        assert "Item 5.02 Departure of Directors" in text
        assert "Appointment of Brandon Hetzel as Chief Financial Officer" in text
        assert app.pane.max_scroll_y > 0  # the rest (item 7.01, 9.01) below: it scrolls
        marked = [p.pattern for p in app._marks()]
        assert marked == ["(?<!\\w)hetzel"]

    try:
        drive(app, scenario, (160, 60))
    finally:
        client.close()


@pytest.mark.unit
def test_the_pane_marks_what_grep_and_the_filter_match() -> None:
    import re

    from secfeed_cli.ui.pane import describe
    from secfeed_cli.wire.details import Section, Text

    words = "The Board appointed Jane Roe as Chief Financial Officer. Roe joins from Acme."
    item = Section(code="5.02", name="Departure", words=13, excerpt=words[:20], text=words)
    details = EightK(items=["5.02"], item_names=["Departure"], text=Text(url="u", items=[item]))
    filing = Filing("0000000001-24-000001", "8-K", 1, "8-K - ACME", "2024-01-01", "a", "b", False)
    shown = describe(filing, details, marks=(re.compile("Chief Financial Officer"),))
    marked = [shown.plain[s.start : s.end] for s in shown.spans if s.style == "reverse"]
    assert marked == ["Chief Financial Officer"]
    both = describe(filing, details, marks=(re.compile(r"(?<!\w)roe", re.IGNORECASE),))
    assert [both.plain[s.start : s.end] for s in both.spans if s.style == "reverse"] == [
        "Roe",
        "Roe",
    ]


def test_a_row_shown_deferred_takes_its_details_when_they_come(bundled: list[Filing]) -> None:
    """The ui shows a filing at once (its details deferred) and updates its row, and the
    pane showing it, when the details come in (the run's Enricher.late, through the inbox)."""
    eightk = next(f for f in bundled if f.accession_no == "0001193125-24-152391")
    waiting = replace(eightk, extra={"details": {"status": "deferred", "reason": "not in"}})
    came = EightK(items=["7.01"], item_names=["Regulation FD Disclosure"], summary="7.01 Reg FD")
    app = make_app(details=True)

    async def scenario(pilot: Pilot[int]) -> None:
        await feed(pilot, app, [waiting])
        await pilot.press("enter")
        assert "deferred" in rows_text(app)
        app.inbox.put_late(replace(eightk, extra={"details": came}))
        app.tick()
        text = await settled(pilot, app)
        assert "7.01 Reg FD" in rows_text(app) and "deferred" not in rows_text(app)
        assert "7.01  Regulation FD Disclosure" in text  # the pane too

    drive(app, scenario, (160, 40))

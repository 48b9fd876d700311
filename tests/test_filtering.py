"""The filters' helpers in-process: the typo check of ``--form`` (``formcheck.py``) and
``--ticker``/``--watchlist`` (``watchlist.py``), against the form list and the CIK map bundled
with secfeed. Each message a user reads is checked whole."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from secfeed_cli.companies import tickers
from secfeed_cli.filtering.formcheck import check, closest
from secfeed_cli.filtering.watchlist import WatchlistError, read_watchlist, resolve_tickers

pytestmark = pytest.mark.unit

APPLE = 320193  # AAPL in SEC's map, bundled and real


@pytest.fixture(autouse=True)
def bundled_map(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The bundled CIK map, whatever a cached copy on this machine says."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tickers.forget()
    yield
    tickers.forget()


# -- formcheck ----------------------------------------------------------------------------


def test_a_renamed_schedule_is_named_with_its_new_name() -> None:
    assert check(["sc 13g/a"]) == [
        "form 'sc 13g/a' was renamed SCHEDULE 13G/A by EDGAR in December 2024: the feed no"
        " longer carries it (did you mean SCHEDULE 13G/A?)"
    ]


def test_a_pattern_that_matches_no_form_says_so_with_a_guess_or_without() -> None:
    assert check(["10-QQ*"]) == [
        "form pattern '10-QQ*' matches no known EDGAR form (did you mean 10-Q*?)"
    ]
    assert check(["ZZZZZZZZZZZZ*"]) == ["form pattern 'ZZZZZZZZZZZZ*' matches no known EDGAR form"]
    assert check(["10-[QK]"]) == []  # a class: a pattern, and it matches


def test_an_unknown_form_is_used_as_given_with_a_guess_or_without() -> None:
    assert check(["10Q"]) == ["unknown form '10Q' (did you mean 10-Q?); it is used as given"]
    assert check(["ZZZZZZZZZZZZ"]) == ["unknown form 'ZZZZZZZZZZZZ'; it is used as given"]
    assert check(["8-k", "def 14a"]) == []  # case does not matter
    assert check(["8K", "8-K", "ZZZZZZZZZZZZ"]) == [
        "unknown form '8K' (did you mean 8-K?); it is used as given",
        "unknown form 'ZZZZZZZZZZZZ'; it is used as given",
    ]


def test_the_closest_form_prefers_digits_for_o_and_i_and_the_shortest_spelling() -> None:
    assert closest("1O-Q") == "10-Q"
    assert closest("S-I") == "S-1"
    assert closest("10k") == "10-K"  # not 10-K405 or 10-KT, which squash longer
    assert closest("zzzzzzzzzzzz") is None


# -- watchlist ----------------------------------------------------------------------------


def test_tickers_resolve_to_every_cik_the_map_gives_them() -> None:
    assert resolve_tickers(["AAPL"]) == {APPLE}
    assert resolve_tickers(["aapl", "AAPL"]) == {APPLE}
    assert resolve_tickers([]) == set()


def test_an_unknown_ticker_is_an_error_naming_where_and_the_closest_ones() -> None:
    with pytest.raises(WatchlistError) as caught:
        resolve_tickers(["AAPLX"], "--ticker")
    said = str(caught.value)
    assert said.startswith("--ticker: unknown ticker 'AAPLX' (closest: ")
    assert "AAPL" in said and "secfeed tickers update" in said


def test_a_watchlist_takes_tickers_and_ciks_and_skips_comments_and_blank_lines(
    tmp_path: Path,
) -> None:
    path = tmp_path / "w.txt"
    path.write_text("# mine\nAAPL  # Apple\n\n0000789019\n   \n  1318605\n")
    warned: list[str] = []
    assert read_watchlist(str(path), warned.append) == {APPLE, 789019, 1318605}
    assert warned == []


def test_a_stale_ticker_is_skipped_with_a_warning_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "w.txt"
    path.write_text("AAPL\nNOSUCHTICKERX\n")
    warned: list[str] = []
    assert read_watchlist(str(path), warned.append) == {APPLE}
    [warning] = warned
    assert warning.startswith(f"watchlist {path} line 2: unknown ticker 'NOSUCHTICKERX'")
    assert warning.endswith("; skipped")


def test_a_watchlist_of_which_nothing_resolves_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "w.txt"
    path.write_text("# only stale ones\nNOSUCHTICKERX\nNOSUCHTICKERY\n")
    warned: list[str] = []
    with pytest.raises(WatchlistError, match="^nothing in the watchlist resolves: watchlist "):
        read_watchlist(str(path), warned.append)
    assert warned == []


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("AAPL\n00000000000320193\n", "line 2: not a CIK (up to 10 digits)"),
        ("0000000000\n", "line 1: not a CIK (SEC's numbers start at 1)"),
    ],
)
def test_a_bad_cik_is_an_error_naming_its_line(tmp_path: Path, text: str, said: str) -> None:
    path = tmp_path / "w.txt"
    path.write_text(text)
    with pytest.raises(WatchlistError, match=said.replace("(", r"\(").replace(")", r"\)")):
        read_watchlist(str(path), lambda _: None)


def test_a_watchlist_that_cannot_be_read_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(WatchlistError, match="watchlist"):
        read_watchlist(str(tmp_path / "missing.txt"), lambda _: None)
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n")
    assert read_watchlist(str(empty), lambda _: None) == set()

"""The filters' helpers in-process: the typo check of ``--form`` (``formcheck.py``) and
``--ticker``/``--watchlist`` (``watchlist.py``), against the form list and the CIK map bundled
with secfeed. Each message a user reads is checked whole."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from secfeed_cli.companies import tickers
from secfeed_cli.filtering.filters import FilingFilter
from secfeed_cli.filtering.formcheck import RENAMED, _squash, check, closest, known_forms
from secfeed_cli.filtering.forms import COMMON_FORMS
from secfeed_cli.filtering.watchlist import WatchlistError, read_watchlist, resolve_tickers
from secfeed_cli.wire.filing import Filing

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


def test_every_renamed_schedule_is_named_with_its_new_name() -> None:
    for old, new in (
        ("SC 13D", "SCHEDULE 13D"),
        ("SC 13D/A", "SCHEDULE 13D/A"),
        ("SC 13G", "SCHEDULE 13G"),
        ("SC 13G/A", "SCHEDULE 13G/A"),
    ):
        [said] = check([old])
        assert said.startswith(f"form {old!r} was renamed {new} by EDGAR"), said
        assert said.endswith(f"(did you mean {new}?)"), said
        assert check([new]) == []


def test_each_pattern_is_checked_whatever_the_one_before_it_was() -> None:
    said = check(["SC 13D", "10-QQ*", "8-K*", "8-K", "ZZZZZZZZZZZZ"])
    assert [line.split("'")[1] for line in said] == ["SC 13D", "10-QQ*", "ZZZZZZZZZZZZ"]


def test_only_glob_characters_make_a_pattern() -> None:
    assert check(["XQZXQZXQZXQZ"]) == ["unknown form 'XQZXQZXQZXQZ'; it is used as given"]


def test_the_form_list_is_forms_only_and_completion_offers_real_forms() -> None:
    forms = known_forms()
    assert all(f and not f.startswith("#") for f in forms)
    offered = [f for f in COMMON_FORMS if f.upper() not in RENAMED]
    assert check(offered) == []
    assert len(offered) == len(COMMON_FORMS) - 4 and "4" in offered and "8-K" in offered


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
    # Only the digit reading finds these (no form is close to them as typed):
    assert closest("1OQ") == "10-Q" and closest("SI") == "S-1"
    assert closest("DEFI4A") == "DEF 14A"  # not DEFR14A, which is closer as typed
    assert _squash("def 14a") == _squash("DEF-14A") == "DEF14A"
    assert closest("10k") == "10-K"  # not 10-K405 or 10-KT, which squash longer
    assert closest("zzzzzzzzzzzz") is None


# -- watchlist ----------------------------------------------------------------------------


def test_tickers_resolve_to_every_cik_the_map_gives_them() -> None:
    assert resolve_tickers(["AAPL"]) == {APPLE}
    assert resolve_tickers(["aapl", "AAPL"]) == {APPLE}
    assert resolve_tickers([]) == set()


def test_an_unknown_ticker_is_an_error_naming_where_and_the_closest_ones() -> None:
    with pytest.raises(WatchlistError) as caught:
        resolve_tickers(["AAPLX"])  # named --ticker unless a watchlist line is named
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
    with pytest.raises(WatchlistError, match=r"^cannot read watchlist /"):
        read_watchlist(str(tmp_path / "missing.txt"), lambda _: None)
    huge = tmp_path / "huge.txt"
    huge.write_bytes(b"AAPL\n" + b"#" * ((4 << 20) - 4))  # 4 MiB + 1 byte
    with pytest.raises(WatchlistError, match="larger than 4 MiB"):
        read_watchlist(str(huge), lambda _: None)
    whole = tmp_path / "whole.txt"
    whole.write_bytes(b"AAPL\n" + b"#" * ((4 << 20) - 5))  # 4 MiB: read
    assert read_watchlist(str(whole), lambda _: None) == {APPLE}
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n")
    assert read_watchlist(str(empty), lambda _: None) == set()


# -- filters ------------------------------------------------------------------------------


def _filing(form: str = "8-K", cik: int = 1, discovered: str = "2026-01-05T10:00:00Z") -> Filing:
    return Filing(
        "0000000001-26-000001", form, cik, "", "2026-01-05", discovered, discovered, False
    )


def test_every_form_given_passes_not_only_the_last() -> None:
    filt = FilingFilter(("8-K", "10-Q", "4"))
    assert [filt(form, 1) for form in ("8-K", "10-Q", "4", "S-1")] == [True, True, True, False]
    assert [f.form for f in filt.select([_filing(f) for f in ("8-K", "S-1", "4")])] == ["8-K", "4"]


def test_a_filter_says_whether_it_filters_anything() -> None:
    assert not FilingFilter().active
    assert not FilingFilter(amendments=False).active  # alone, it leaves every form
    assert FilingFilter(("4",)).active and FilingFilter(exclude=("4",)).active
    assert FilingFilter(ciks=frozenset({1})).active
    assert FilingFilter(since=datetime(2026, 1, 5, tzinfo=timezone.utc)).active


def test_ciks_and_forms_both_hold_in_a_call_and_in_a_batch() -> None:
    filt = FilingFilter(("8-K",), ciks=frozenset({7}))
    assert filt("8-K", 7) is True and filt("8-K", 8) is False and filt("4", 7) is False
    batch = [_filing("8-K", 7), _filing("8-K", 8), _filing("4", 7)]
    assert filt.select(batch) == [batch[0]]


def test_since_decides_by_the_second_then_by_the_fraction() -> None:
    since = datetime(2026, 1, 5, 10, 0, 0, 500_000, tzinfo=timezone.utc)
    filt = FilingFilter(since=since)
    assert filt.since_key == "2026-01-05T10:00:00"
    assert not filt.is_recent(_filing(discovered="2026-01-05T09:59:59.9Z"))
    assert not filt.is_recent(_filing(discovered="2026-01-05T10:00:00.4Z"))
    assert filt.is_recent(_filing(discovered="2026-01-05T10:00:00.5Z"))  # at it: shown
    assert filt.is_recent(_filing(discovered="2026-01-05T10:00:01Z"))
    assert FilingFilter().is_recent(_filing(discovered="1999-01-01T00:00:00Z"))
    batch = [_filing(discovered="2026-01-05T09:00:00Z"), _filing(discovered="2026-01-05T11:00:00Z")]
    assert filt.select(batch) == [batch[1]]


def test_a_filter_is_shown_by_what_it_holds() -> None:
    text = repr(FilingFilter(("8-K",), ("4",), frozenset({7}), amendments=False))
    assert text == (
        "FilingFilter(forms=('8-K',), exclude=('4',), ciks=frozenset({7}),"
        " amendments=False, since=None)"
    )


# mutant: equivalent: secfeed_cli/filtering/filters.py:122 `key > since_key` once the keys
# differ: > and >= decide alike.


def test_the_verdicts_kept_are_bounded_and_start_again_when_full() -> None:
    filt = FilingFilter(("8-K",))
    filt.select([_filing(f"X-{n}") for n in range(10_000)])
    assert len(filt._verdicts) == 10_000  # each form kept once decided, up to 10,000
    filt.select([_filing("X-10000")])
    assert len(filt._verdicts) == 1  # full: forgotten wholesale, then the new one kept
    assert filt.select([_filing("8-K"), _filing("X-9")]) == [_filing("8-K")]


# mutant: equivalent: secfeed_cli/filtering/filters.py:99 _matches' False as None: only its
# truth is read (`not self._matches(...)`).
# mutant: equivalent: secfeed_cli/filtering/filters.py:138 a dict's __init__ with no
# arguments does nothing; secfeed_cli/filtering/formcheck.py:51 asks difflib for 2 matches
# and takes the first, as with 1; secfeed_cli/filtering/formcheck.py:74 a glob's stem cut at
# "XX*?" rather than "*?" differs only for stems ending in X, and their guess was the same
# for each one tried (DEF 14AX, 10-QX, S-1X, 8-KX, N-PX, 13F-HRX).


def test_a_form_family_is_kept_for_a_few_thousand_forms_only() -> None:
    from secfeed_cli.filtering import forms

    assert forms.family("4") == "insider" and forms.family("4") == "insider"  # kept, same
    assert forms._FAMILY["4"] == "insider"
    forms._FAMILY.clear()
    try:
        for n in range(10_000):
            forms.family(f"X-{n}")
        assert len(forms._FAMILY) == 10_000
        assert forms.family("8-K") == "current" and "8-K" not in forms._FAMILY  # full
    finally:
        forms._FAMILY.clear()


def test_an_age_of_ten_years_is_taken_and_one_second_more_is_not() -> None:
    from datetime import timedelta

    from secfeed_cli.filtering.when import MAX_AGE, parse_when

    now = datetime(2026, 12, 7, tzinfo=timezone.utc)
    assert MAX_AGE == 3660 * 86400  # ten years of 366 days
    assert parse_when(f"{MAX_AGE}s", now) == now - timedelta(days=3660)
    with pytest.raises(ValueError, match="more than ten years ago"):
        parse_when(f"{MAX_AGE + 1}s", now)


# mutant: equivalent: secfeed_cli/filtering/watchlist.py:61 splits a line at "#" twice, not
# once, and keeps what comes before the first either way.

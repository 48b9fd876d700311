"""The pure modules: filters, latency statistics, form families, the output format rule."""

from __future__ import annotations

import io
import math
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secfeed_cli.common.diagnostics import use_color
from secfeed_cli.common.escape import (
    escape_control,
    escape_control_csv,
    has_control,
    has_control_csv,
)
from secfeed_cli.feed.dedupe import SeenSet
from secfeed_cli.filtering.filters import FilingFilter, base_form, parse_cik, split_patterns
from secfeed_cli.filtering.forms import family
from secfeed_cli.output import resolve_format
from secfeed_cli.output.latency import LatencyStats, percentile
from secfeed_cli.wire.filing import Filing, parse_time, utc_seconds

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("forms", "exclude", "amendments", "form", "shown"),
    [
        (("8-K",), (), True, "8-K", True),
        (("8-K",), (), True, "8-K/A", True),
        (("8-K",), (), False, "8-K/A", False),
        (("8-k",), (), True, "8-K", True),
        (("10-K*",), (), True, "10-KT", True),
        (("10-K*",), (), False, "10-K/A", True),  # the glob matches the amendment itself
        (("SCHEDULE 13*",), (), True, "SCHEDULE 13G/A", True),
        (("SCHEDULE 13*",), (), True, "SC 13G", False),
        ((), ("4",), True, "4/A", False),
        ((), ("4",), False, "4/A", True),
        ((), ("*/A",), True, "8-K/A", False),
        (("8-K", "4"), ("4",), True, "4", False),
        ((), (), True, "ANYTHING", True),
    ],
)
def test_form_rules(
    forms: tuple[str, ...], exclude: tuple[str, ...], amendments: bool, form: str, shown: bool
) -> None:
    assert FilingFilter(forms=forms, exclude=exclude, amendments=amendments)(form, 1) is shown


def test_cik_rules() -> None:
    f = FilingFilter(ciks=frozenset({320193}))
    assert f("4", 320193) and not f("4", 1)
    assert parse_cik("0000320193") == 320193
    for bad in ("", "12x", "12345678901", "１２"):
        with pytest.raises(ValueError):
            parse_cik(bad)


def test_split_and_base_form() -> None:
    assert split_patterns(["8-K, 10-K*", "4", " ,"]) == ["8-K", "10-K*", "4"]
    assert base_form("SC 13D/A") == "SC 13D" and base_form("8-K") is None


def test_latency_statistics() -> None:
    stats = LatencyStats(window=100)
    for ms in range(1, 101):
        stats.add(float(ms))
    summary = stats.summary()
    assert (summary.count, summary.p50, summary.p95, summary.max) == (100, 50.0, 95.0, 100.0)
    assert percentile([], 50) != percentile([], 50)  # NaN for no data
    assert "p50 50ms" in str(summary)


def test_latency_growth_and_negative_values() -> None:
    steady = LatencyStats()
    for _ in range(400):
        steady.add(100.0)
    assert not steady.growing()
    falling_behind = LatencyStats()
    for i in range(400):
        falling_behind.add(100.0 + i * 20)
    assert falling_behind.growing()
    skewed = LatencyStats()
    skewed.add(-5.0)
    assert skewed.negative == 1


def test_falling_behind_is_looked_at_once_a_second() -> None:
    stats = LatencyStats()
    for i in range(400):
        stats.add(100.0 + i * 20)
    assert stats.falling_behind(1000.0)
    assert not stats.falling_behind(1000.5)  # within the second: not looked at again
    assert stats.falling_behind(1001.0)
    assert stats.falling_behind(900.0)  # the clock was set back: looked at, not put off
    steady = LatencyStats()
    for _ in range(400):
        steady.add(100.0)
    assert not steady.falling_behind(1000.0)


@given(
    st.datetimes(min_value=datetime(1, 1, 3), max_value=datetime(9999, 12, 29)),
    st.text("0123456789", max_size=9),
    st.booleans(),
)
def test_utc_seconds_agree_with_parse_time(when: datetime, fraction: str, leap: bool) -> None:
    second = 60 if leap else when.second
    text = f"{when.year:04d}-{when:%m-%dT%H:%M}:{second:02d}"
    text += (f".{fraction}" if fraction else "") + "Z"
    expected = parse_time(text).timestamp()
    # parse_time keeps microseconds, utc_seconds every digit: they differ by less than a
    # microsecond, plus what a float of that size cannot hold.
    assert abs(utc_seconds(text) - expected) <= 1e-6 + 4 * math.ulp(expected)


def test_families() -> None:
    assert [
        family(f)
        for f in (
            "4",
            "144",
            "10-K/A",
            "8-K",
            "S-1",
            "424B2",
            "SC 13G",
            "SCHEDULE 13D/A",
            "N-CSR",
            "497K",
            "D",
        )
    ] == [
        "insider",
        "insider",
        "periodic",
        "current",
        "registration",
        "registration",
        "ownership",
        "ownership",
        "funds",
        "funds",
        "other",
    ]


def test_format_rule() -> None:
    assert resolve_format("auto", True) == "table"
    assert resolve_format("auto", False) == "ndjson"
    assert resolve_format("csv", True) == "csv"


def test_escape_control() -> None:
    assert escape_control("ACME\x1b[2J\x07 CORP\u202e") == "ACME\\x1b[2J\\x07 CORP\\u202e"
    assert escape_control("plain Ünïcode") == "plain Ünïcode"


# ASCII text with controls, and text with the non-ASCII characters the escapes cover.
_CONTROL_TEXT = st.text(st.characters(max_codepoint=0x7F)) | st.text(
    st.sampled_from(["a", ",", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\u202e", "Ü", "\u2066"])
)


@given(_CONTROL_TEXT)
def test_the_quick_look_for_controls_agrees_with_the_escapes(text: str) -> None:
    # has_control* look at ASCII text another way (bytes.translate) than the escapes do (a
    # regex): they must answer exactly "would escaping change it".
    assert has_control(text) == (escape_control(text) != text)
    assert has_control_csv(text) == (escape_control_csv(text) != text)


def test_seen_set_is_bounded() -> None:
    seen = SeenSet(3)
    assert all(seen.add(k) for k in "abcd")
    assert len(seen) == 3 and "a" not in seen and not seen.add("d")
    with pytest.raises(ValueError):
        SeenSet(0)


@given(
    st.integers(min_value=1, max_value=6),
    st.lists(st.lists(st.sampled_from("abcdefghij"), max_size=8), max_size=6),
)
def test_seen_set_batches_agree_with_one_at_a_time(size: int, batches: list[list[str]]) -> None:
    by_batch, one_by_one = SeenSet(size), SeenSet(size)
    for keys in batches:
        filings = [_filing(key) for key in keys]
        expected = [f for f in filings if one_by_one.add(f.accession_no)]
        assert by_batch.fresh(filings) == expected
        assert by_batch._set == one_by_one._set and by_batch._order == one_by_one._order


def _filing(key: str, form: str = "8-K", cik: int = 1) -> Filing:
    return Filing(key, form, cik, "", "2024-01-01", "2024-01-01", "2024-01-01T00:00:00Z", True)


class _Tty:
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("env", "stream", "color"),
    [
        ({}, _Tty(), True),
        ({"NO_COLOR": "1"}, _Tty(), False),
        ({"TERM": "dumb"}, _Tty(), False),
        ({"NO_COLOR": ""}, _Tty(), True),  # set but empty does not count (no-color.org)
        ({}, io.StringIO(), False),
        ({"FORCE_COLOR": "1"}, io.StringIO(), True),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, _Tty(), False),
    ],
)
def test_diagnostics_colour_only_on_a_terminal(
    env: dict[str, str], stream: Any, color: bool
) -> None:
    assert use_color(stream, env) is color


_FORMS = ["8-K", "8-K/A", "10-K", "10-K/A", "10-Q", "4", "S-1", "SC 13D/A", "424B2", "8-k "]


@given(
    st.lists(st.sampled_from(["8-K", "10-K*", "4", "s-?", "SC 13*"]), max_size=2),
    st.lists(st.sampled_from(["*/A", "10-K"]), max_size=1),
    st.sets(st.integers(1, 3), max_size=2),
    st.booleans(),
    st.lists(st.tuples(st.sampled_from(_FORMS), st.integers(1, 3)), max_size=20),
)
def test_filter_select_agrees_with_the_predicate(
    forms: list[str],
    exclude: list[str],
    ciks: set[int],
    amendments: bool,
    pairs: list[tuple[str, int]],
) -> None:
    filt = FilingFilter(tuple(forms), tuple(exclude), frozenset(ciks), amendments)
    filings = [_filing(f"{i}", form, cik) for i, (form, cik) in enumerate(pairs)]
    expected = [f for f in filings if filt(f.form, f.cik)]
    assert filt.select(filings) == expected
    assert filt.select(filings) == expected  # again, from the remembered verdicts


def test_filter_verdicts_stay_bounded() -> None:
    filt = FilingFilter(("8-K",))
    filt.select([_filing(str(i), f"X-{i}") for i in range(25_000)] + [_filing("k", "8-K")])
    assert len(filt._verdicts) <= 10_000
    assert filt.select([_filing("a", "8-K/A"), _filing("b", "X-1")]) == [_filing("a", "8-K/A")]


def test_url_credentials_are_masked_in_every_form_they_travel_in() -> None:
    import base64

    from secfeed_cli.common.redact import Secrets

    secrets = Secrets()  # a command's own (its Environment's): this test starts from none
    secrets.add_url("nats://alice-pure:p%40ss-pure-7@127.0.0.1:4222")
    basic = base64.b64encode(b"alice-pure:p@ss-pure-7").decode()
    for form in ("p@ss-pure-7", "p%40ss-pure-7", "alice-pure:p%40ss-pure-7", basic):
        assert form not in secrets.redact(f"said: {form}"), form
    assert "alice-pure" in secrets.redact("user alice-pure")  # a user name with a password
    assert secrets.redact("as alice-pure:p%40ss-pure-7 said") == "as *** said"  # the pair whole
    secrets.add_url("nats://tok-pure-9f3e@127.0.0.1:4222")  # a bare name is a token
    assert "tok-pure-9f3e" not in secrets.redact("token tok-pure-9f3e")
    secrets.add_url("ws://[::1")  # malformed: nothing to take, no error


def test_a_secret_holding_another_is_masked_whole_and_tokens_decoded_too() -> None:
    from secfeed_cli.common.redact import Secrets

    secrets = Secrets()
    secrets.add("k3y-short")
    secrets.add("k3y-short-and-then-longer-99")  # masked whole, not as ***-and-then-longer-99
    secrets.add("k3y-short")  # registered again (the same key from a flag and a file)
    secrets.add(None)
    secrets.add("")
    assert secrets.redact("key k3y-short-and-then-longer-99.") == "key ***."
    assert len(secrets.forms) == len(set(secrets.forms))  # each form once
    secrets.add_url("nats://tok%2Fen-pure-51@127.0.0.1:4222")  # a token, URL-encoded
    assert secrets.redact("echoed tok/en-pure-51 and tok%2Fen-pure-51") == "echoed *** and ***"
    secrets.add_url("nats://tok%2fen-lower-73@127.0.0.1:4222")  # a token in lower-case %xx
    assert secrets.redact("as written tok%2fen-lower-73") == "as written ***"
    secrets.add_url("nats://bob:pw%2fpure-62@127.0.0.1:4222")  # encoded in lower case
    assert (
        secrets.redact("as written pw%2fpure-62, decoded pw/pure-62")
        == "as written ***, decoded ***"
    )


def test_a_commands_secrets_are_its_own_and_mask_its_every_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No module keeps secrets: two commands' Environments share none, and each command's
    diagnostics mask what its own options read."""
    from secfeed_cli.run.environment import Environment

    mine, theirs = Environment(), Environment()
    mine.secrets.add("only-mine-7c1")
    mine.diagnostics().warn("said only-mine-7c1")
    theirs.diagnostics().warn("said only-mine-7c1")
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "secfeed: warning: said ***",
        "secfeed: warning: said only-mine-7c1",
    ]


def test_printable_text_of_every_script_is_left_as_it_is() -> None:
    for text in ("XBRL 10-K/A", "XBRL Ünïcödé 株式会社 Générale", "a\u00a0b", "~!@#$%^&*()"):
        assert escape_control(text) == escape_control_csv(text) == text
        assert not has_control(text)

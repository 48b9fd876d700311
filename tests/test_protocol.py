"""The protocol model: good frames become typed messages; every bad frame is a ProtocolError."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secfeed_cli.wire.details import (
    EightK,
    Issuer,
    Issuer13,
    NoDetails,
    Owner,
    Ownership,
    Person,
    Row,
    Schedule13,
)
from secfeed_cli.wire.filing import Filing, format_time, normalize_time, parse_date, parse_time
from secfeed_cli.wire.protocol import (
    Heartbeat,
    ProtocolError,
    Reconnect,
    ServerError,
    UnknownMessage,
    _filing_in_detail,
    hello_frame,
    parse_filings,
    parse_frame,
)

pytestmark = pytest.mark.unit

DOC_FILING = {
    "type": "fillings",
    "is_historical": True,
    "discovered_time": "2024-02-25T12:34:56.123456Z",
    "form": "10-K",
    "description": "ACME CORP 10-K annual report.",
    "filling_date": "2024-02-24",
    "accepted_time": "2024-02-25T12:00:00Z",
    "accession_no": "0000123456-24-000001",
    "cik": 123456,
}


def frame(**changes: Any) -> str:
    data = {**DOC_FILING, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not _DROP})


_DROP = object()


def test_documented_filing_example() -> None:
    msg = parse_frame(json.dumps(DOC_FILING))
    assert msg == Filing(
        accession_no="0000123456-24-000001",
        form="10-K",
        cik=123456,
        description="ACME CORP 10-K annual report.",
        filing_date="2024-02-24",
        accepted_time="2024-02-25T12:00:00Z",
        discovered_time="2024-02-25T12:34:56.123456Z",
        is_historical=True,
    )
    assert isinstance(msg, Filing)
    assert msg.discovered() == datetime(2024, 2, 25, 12, 34, 56, 123456, timezone.utc)
    assert msg.url == (
        "https://www.sec.gov/Archives/edgar/data/123456/000012345624000001/"
        "0000123456-24-000001-index.htm"
    )


def test_bytes_frames_and_extra_fields_are_kept_but_never_fields_secfeed_derives() -> None:
    """A frame's extra fields are kept; those secfeed derives (details, company, ticker, url,
    the latency fields) never come from the wire: a frame cannot pass its own off as ours."""
    derived = {"ticker": "ACME", "company": "X", "url": "javascript:x", "latency_ms": -1}
    raw = frame(items=["2.02"], details={"status": 5}, **derived).encode()
    for msg in (parse_frame(raw), *(parse_filings([raw]) or [])):
        assert isinstance(msg, Filing)
        assert msg.extra == {"items": ["2.02"]}
        assert msg.details_status is None


def test_fields_named_like_the_parsers_own_are_extra_fields() -> None:
    """``extra`` and ``frame`` are filled in by the parser: a frame's keys of those names (or
    of the Python spelling of filling_date) are the server's extra fields, never taken for
    them, and a big number in one keeps all its digits."""
    raw = frame(frame="AAAA", extra={"a": 1}, filing_date="x", big=2**70).encode()
    for msg in (parse_frame(raw), *(parse_filings([raw]) or [])):
        assert isinstance(msg, Filing)
        assert msg.extra == {"frame": "AAAA", "extra": {"a": 1}, "filing_date": "x", "big": 2**70}
        assert msg.frame == raw and msg.filing_date == DOC_FILING["filling_date"]
    assert parse_filings([raw]) is None  # the fast path turns it down


def test_the_fast_path_keeps_frames_only_when_asked() -> None:
    frames = [frame(accession_no=f"0000123456-26-00000{n}").encode() for n in range(3)]
    kept, bare = parse_filings(frames), parse_filings(frames, keep_frames=False)
    assert kept is not None and bare is not None
    assert [f.frame for f in kept] == frames and {f.frame for f in bare} == {b""}
    assert kept == bare  # the same filings otherwise (equality ignores the frame)


def test_other_documented_messages() -> None:
    assert parse_frame('{"type":"heartbeat"}') == Heartbeat("heartbeat")
    assert parse_frame('{"type":"hearbeat"}') == Heartbeat("hearbeat")
    rec = parse_frame(
        '{"type":"reconnect","within_seconds":10,"before_time":"2024-08-06T19:19:09.7035429Z"}'
    )
    assert rec == Reconnect(10.0, datetime(2024, 8, 6, 19, 19, 9, 703542, timezone.utc))
    err = parse_frame('{"type":"error","message":"Invalid API key"}')
    assert isinstance(err, ServerError) and err.is_invalid_key and not err.is_overflow
    over = parse_frame(json.dumps({"type": "error", "message": ServerError.OVERFLOW}))
    assert isinstance(over, ServerError) and over.is_overflow
    assert parse_frame('{"type":"subscribe_ack"}') == UnknownMessage(
        "subscribe_ack", {"type": "subscribe_ack"}
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-25T12:00:00Z", datetime(2024, 2, 25, 12, 0, 0, 0, timezone.utc)),
        ("2024-02-25T12:00:00.1Z", datetime(2024, 2, 25, 12, 0, 0, 100000, timezone.utc)),
        ("2024-02-25T12:00:00.123456Z", datetime(2024, 2, 25, 12, 0, 0, 123456, timezone.utc)),
        ("2024-02-25T12:00:00.1234567Z", datetime(2024, 2, 25, 12, 0, 0, 123456, timezone.utc)),
        ("2024-02-25T12:00:00.123456789Z", datetime(2024, 2, 25, 12, 0, 0, 123456, timezone.utc)),
        ("2024-02-25T07:00:00-05:00", datetime(2024, 2, 25, 12, 0, 0, 0, timezone.utc)),
        ("2024-02-25T12:00:00+00:00", datetime(2024, 2, 25, 12, 0, 0, 0, timezone.utc)),
        ("2016-12-31T23:59:60Z", datetime(2017, 1, 1, 0, 0, 0, 0, timezone.utc)),
    ],
)
def test_times_with_0_to_9_fraction_digits_and_offsets(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-25",
        "2024-02-25T12:00:00",
        "2024-02-25T12:00:00.Z",
        "2024-02-25T12:00:00.1234567890Z",
        "2024-13-01T00:00:00Z",
        "2024-02-25T12:00:00+24:00",
        "yesterday",
        "",
        "２０２４-02-25T12:00:00Z",
    ],
)
def test_bad_times(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


def test_dates_stay_dates() -> None:
    assert parse_date("2024-02-24") == date(2024, 2, 24)
    msg = parse_frame(frame(accepted_time="2024-01-02"))
    assert isinstance(msg, Filing) and msg.accepted() == date(2024, 1, 2)


def test_format_time_has_seven_digits_and_z() -> None:
    value = datetime(2026, 1, 12, 16, 27, 39, 123456, timezone.utc)
    assert format_time(value) == "2026-01-12T16:27:39.1234560Z"
    assert parse_time(format_time(value)) == value


def test_hello() -> None:
    assert json.loads(hello_frame()) == {"type": "hello", "heartbeat": True}


def test_tolerated_cik_string() -> None:
    msg = parse_frame(frame(cik="0000320193"))
    assert isinstance(msg, Filing) and msg.cik == 320193


BAD_FRAMES: dict[str, tuple[str | bytes, str]] = {
    "invalid json": ('{"type": "fillings", ', "json"),
    "empty": ("", "json"),
    "invalid utf-8": (b'{"type":"fillings","form":"\xff"}', "utf8"),
    "binary junk": (b"\x00\x01\x02\xff\xfe", "utf8"),
    "json array": ("[1, 2, 3]", "not-object"),
    "json string": ('"fillings"', "not-object"),
    "json number": ("42", "not-object"),
    "json null": ("null", "not-object"),
    "no type": ('{"form": "8-K"}', "no-type"),
    "numeric type": ('{"type": 7}', "no-type"),
    "deep nesting": ("[" * 100_000 + "]" * 100_000, "json"),
    "missing accession": (frame(accession_no=_DROP), "field"),
    "bad accession": (frame(accession_no="12345"), "field"),
    "cik as text": (frame(cik="abc"), "field"),
    "cik as float": (frame(cik=1.5), "field"),
    "cik as bool": (frame(cik=True), "field"),
    "negative cik": (frame(cik=-1), "field"),
    "historical as string": (frame(is_historical="true"), "field"),
    "form as number": (frame(form=8), "field"),
    "description as list": (frame(description=["x"]), "field"),
    "missing filling_date": (frame(filling_date=_DROP), "field"),
    "filing_date spelled right": (frame(filling_date=_DROP, filing_date="2024-02-24"), "field"),
    "bad discovered_time": (frame(discovered_time="yesterday"), "field"),
    "bad accepted_time": (frame(accepted_time="2024-02-30T00:00:00Z"), "field"),
    "reconnect without within": ('{"type":"reconnect"}', "field"),
    "reconnect bad before_time": (
        '{"type":"reconnect","within_seconds":1,"before_time":"soon"}',
        "field",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_FRAMES))
def test_named_bad_frames(name: str) -> None:
    text, kind = BAD_FRAMES[name]
    with pytest.raises(ProtocolError) as info:
        parse_frame(text)
    assert info.value.kind == kind
    assert "\n" not in str(info.value) and len(str(info.value)) < 120


def _only_protocol_errors(data: str | bytes) -> None:
    try:
        parse_frame(data)
    except ProtocolError:
        pass


@given(st.text())
def test_arbitrary_text_never_raises_anything_else(data: str) -> None:
    _only_protocol_errors(data)


@given(st.binary())
def test_arbitrary_bytes_never_raise_anything_else(data: bytes) -> None:
    _only_protocol_errors(data)


def _nested(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children) | st.dictionaries(st.text(), children)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    _nested,  # a function, not a lambda: hypothesis reads its source to see it recurses
    max_leaves=20,
)


@given(st.dictionaries(st.sampled_from(list(DOC_FILING) + ["x"]), json_values))
def test_arbitrary_objects_never_raise_anything_else(data: dict[str, Any]) -> None:
    _only_protocol_errors(json.dumps({"type": "fillings", **data}))
    _only_protocol_errors(json.dumps({**DOC_FILING, **data}))


@given(st.text(), st.text(), st.integers(min_value=0, max_value=10**10), st.booleans())
def test_direct_ndjson_line_equals_the_encoded_record(
    form: str, description: str, cik: int, historical: bool
) -> None:
    from secfeed_cli.output.encode import _ndjson_lines, record_line

    filing = Filing(
        "0000123456-24-000001",
        form,
        cik,
        description,
        "2024-02-24",
        "2024-02-25T12:00:00Z",
        "2024-02-25T12:34:56.1234567Z",
        historical,
    )
    try:
        expected = record_line(filing, None)
    except UnicodeEncodeError:  # lone surrogates: msgspec refuses them, and so does the parser
        return
    with_extra = Filing(**{**_fields(filing), "extra": {"ticker": form, "cik": 1}})
    lines = _ndjson_lines([filing, with_extra, filing]).splitlines(keepends=True)
    assert len(lines) == 3 and lines[0] == lines[2]
    assert json.loads(lines[0]) == json.loads(expected)
    assert list(json.loads(lines[0])) == list(json.loads(expected))
    extra = record_line(with_extra, None)
    assert lines[1] == extra and json.loads(extra)["cik"] == cik  # documented field wins


def _fields(filing: Filing) -> dict[str, Any]:
    return {name: getattr(filing, name) for name in Filing.__struct_fields__}


# ---- the batch fast path ----------------------------------------------------------------


def test_a_batch_of_plain_filings_takes_the_fast_path() -> None:
    frames = [frame(accession_no=f"0000123456-24-{i:06d}").encode() for i in range(50)]
    assert parse_filings(frames) == [parse_frame(f) for f in frames]
    assert [f.frame for f in parse_filings(frames) or []] == frames


@pytest.mark.parametrize("name", sorted(BAD_FRAMES))
def test_one_bad_frame_sends_the_batch_to_the_careful_path(name: str) -> None:
    text, _ = BAD_FRAMES[name]
    bad = text.encode() if isinstance(text, str) else text
    assert parse_filings([frame().encode(), bad, frame().encode()]) is None


def test_values_cannot_pose_as_the_separators_of_the_batch_check() -> None:
    # The first frame's accession holds a whole second line of the batch's check text, so
    # that text would be well-formed line by line; the filing itself is not valid.
    smuggled = "0000123456-24-000001\x002024-02-24\x002024-02-25T12:00:00Z\x00" + (
        "2024-02-25T12:34:56Z\nfillings\x000000123456-24-000002"
    )
    frames = [frame(accession_no=smuggled).encode(), frame().encode()]
    with pytest.raises(ProtocolError):
        parse_frame(frames[0])
    assert parse_filings(frames) is None


_odd_text = st.text(alphabet=st.sampled_from('ab-:.T Z0129\x00\n"\\é\u2028'), max_size=30)
_FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "accession_no": st.sampled_from(["0000123456-24-000001", "0000123456-24-000002"]) | _odd_text,
    "form": st.sampled_from(["8-K", "10-K/A"]) | _odd_text | st.integers(),
    "cik": st.integers(min_value=-2, max_value=10**12) | st.booleans() | _odd_text,
    "description": _odd_text | st.none() | st.lists(st.integers(), max_size=1),
    "filling_date": st.sampled_from(["2024-02-29", "2023-02-29", "2024-02-24"]) | _odd_text,
    "accepted_time": st.sampled_from(["2024-02-25T12:00:00Z", "2024-02-25"]) | _odd_text,
    "discovered_time": st.sampled_from(["2024-02-25T12:34:56.1234567Z"]) | _odd_text,
    "is_historical": st.booleans() | st.integers(0, 1),
    "type": st.sampled_from(["fillings", "heartbeat", "Fillings"]),
    "ticker": st.just("ACME"),
    "cik ": st.just(_DROP),  # no change
}


def _as_bytes(text: str | bytes) -> bytes:
    return text.encode() if isinstance(text, str) else text


# The documented filing with one field changed (or dropped), or as documented.
_filing_values = st.sampled_from(sorted(_FIELD_VALUES) + ["cik "] * 6).flatmap(
    lambda key: (_FIELD_VALUES[key] | st.just(_DROP)).map(lambda value: {key: value})
)
_bad_frame = st.sampled_from(sorted(BAD_FRAMES)).map(lambda name: _as_bytes(BAD_FRAMES[name][0]))
# Mostly filings, so that whole batches are accepted often enough to be compared.
_batch_frames = st.lists(
    st.integers(0, 9).flatmap(
        lambda i: (
            _bad_frame
            if i == 0
            else st.binary(max_size=40)
            if i == 1
            else _filing_values.map(lambda changes: frame(**changes).encode())
        )
    ),
    max_size=6,
)


@settings(max_examples=500)
@given(_batch_frames)
def test_the_batch_path_agrees_with_frame_by_frame_parsing(frames: list[bytes]) -> None:
    batch = parse_filings(frames)
    if batch is None:
        return  # the caller parses frame by frame: nothing to compare
    assert batch == [parse_frame(f) for f in frames]
    assert all(type(f) is Filing and not f.extra for f in batch)
    assert [f.frame for f in batch] == frames
    # and the slow path, which checks each field its own way, agrees on every one
    assert batch == [_filing_in_detail(json.loads(f), f) for f in frames]


# Every date the protocol takes: a day of margin is kept at both ends of datetime's range
# (filing.py: _EARLIEST, _LATEST), so that a conversion to local time stays in it.
TAKEN_DAYS = st.dates(min_value=date(1, 1, 2), max_value=date(9999, 12, 29))


@given(TAKEN_DAYS, st.times(), st.integers(min_value=0, max_value=9))
def test_fast_and_detailed_validation_agree_on_every_date(day: date, t: Any, digits: int) -> None:
    from datetime import time as dtime

    assert isinstance(t, dtime)
    frac = f".{t.microsecond:06d}{'0' * 3}"[: digits + 1] if digits else ""
    stamp = f"{day.isoformat()}T{t.strftime('%H:%M:%S')}{frac}Z"
    msg = parse_frame(
        frame(filling_date=day.isoformat(), accepted_time=stamp, discovered_time=stamp)
    )
    assert isinstance(msg, Filing) and msg.discovered_time == stamp
    raw = frame(filling_date=day.isoformat(), accepted_time=stamp, discovered_time=stamp)
    assert _filing_in_detail(json.loads(raw), b"") == msg


@pytest.mark.parametrize("stamp", ["0001-01-01T23:59:59Z", "9999-12-31T00:00:00Z"])
def test_times_in_the_margin_at_the_ends_of_the_range_are_refused_by_both_paths(
    stamp: str,
) -> None:
    raw = frame(accepted_time=stamp, discovered_time=stamp)
    with pytest.raises(ProtocolError):
        parse_frame(raw)
    with pytest.raises(ProtocolError):
        _filing_in_detail(json.loads(raw), b"")


@pytest.mark.parametrize("bad", ["2023-02-29", "2024-04-31", "2024-06-31", "2024-02-30"])
def test_impossible_dates_are_rejected(bad: str) -> None:
    with pytest.raises(ProtocolError):
        parse_frame(frame(filling_date=bad))
    with pytest.raises(ProtocolError):
        parse_frame(frame(discovered_time=f"{bad}T00:00:00Z"))
    assert isinstance(parse_frame(frame(filling_date="2024-02-29")), Filing)


@pytest.mark.parametrize(
    ("raw", "out"),
    [
        ("2026-01-12T16:00:00.1234567Z", "2026-01-12T16:00:00.1234567Z"),
        ("2024-02-25T07:00:00-05:00", "2024-02-25T12:00:00Z"),
        ("2024-02-25 12:00:00.123456789+01:30", "2024-02-25T10:30:00.123456789Z"),
        ("2024-02-29T23:30:00.5-01:00", "2024-03-01T00:30:00.5Z"),
        ("2026-01-12t16:00:00z", "2026-01-12T16:00:00Z"),
        ("2016-12-31T18:59:60-05:00", "2016-12-31T23:59:60Z"),
    ],
)
def test_times_come_out_as_utc_with_z_and_their_fraction_digits(raw: str, out: str) -> None:
    msg = parse_frame(frame(discovered_time=raw, accepted_time=raw))
    assert isinstance(msg, Filing)
    assert msg.discovered_time == out and msg.accepted_time == out


def test_a_date_only_accepted_time_stays_a_date() -> None:
    msg = parse_frame(frame(accepted_time="2024-02-25"))
    assert isinstance(msg, Filing) and msg.accepted_time == "2024-02-25"


@settings(max_examples=300)
@given(
    st.datetimes(
        min_value=datetime(1000, 1, 3), max_value=datetime(9000, 1, 1), timezones=st.just(None)
    ),
    st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
    st.text(alphabet="0123456789", max_size=9),
    st.sampled_from(["T", "t", " "]),
)
def test_normalised_times_name_the_same_instant(
    when: datetime, offset: int, frac: str, sep: str
) -> None:
    sign = "+" if offset >= 0 else "-"
    zone = f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    text = when.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + (f".{frac}" if frac else "") + zone
    normal = normalize_time(text)
    assert normal.endswith("Z") and normal[10] == "T"
    assert parse_time(normal) == parse_time(text)
    assert normal.endswith(f".{frac}Z" if frac else f"{when.second:02d}Z")


def test_the_emulator_encodes_filings_in_the_one_field_order() -> None:
    from secfeed_cli.emulator.feed import encode_filing, load_sample
    from secfeed_cli.wire.protocol import FILING_FIELDS

    frame = encode_filing(load_sample()[0], "2026-01-12T16:00:00.0000000Z", True)
    assert tuple(json.loads(frame)) == FILING_FIELDS
    assert isinstance(parse_frame(frame), Filing)
    # The fast path decodes into Filing: its wire names (and tag) are the same fields.
    info = msgspec.inspect.type_info(Filing)
    assert isinstance(info, msgspec.inspect.StructType)
    decodable = {f.encode_name for f in info.fields if f.name not in ("extra", "frame", "who")}
    assert {info.tag_field, *decodable} == set(FILING_FIELDS)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("null", "frame is a JSON null, not an object"),
        ("[1]", "frame is a JSON array, not an object"),
        ('"x"', "frame is a JSON string, not an object"),
        ("true", "frame is a JSON boolean, not an object"),
        ("4.5", "frame is a JSON number, not an object"),
        (frame(form=8), "'form' is a number, not a string"),
        (frame(form=[1]), "'form' is an array, not a string"),
        (frame(form={"a": 1}), "'form' is an object, not a string"),
        (frame(form=False), "'form' is a boolean, not a string"),
        (frame(form=None), "'form' is missing"),
        (frame(filling_date="2024-02-30"), "'filling_date' is not a valid date: '2024-02-30'"),
        (frame(accepted_time="2024-02-30"), "'accepted_time' is not a valid date: '2024-02-30'"),
        (frame(discovered_time="2024"), "'discovered_time' is not a valid time: '2024'"),
        (frame(is_historical=None), "'is_historical' is not a boolean"),
        (frame(description=1), "'description' is not a string"),
    ],
)
def test_what_is_wrong_is_said_exactly(text: str, reason: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_frame(text)
    assert str(info.value) == reason


@pytest.mark.parametrize("field", ["accession_no", "cik", "discovered_time", "filling_date"])
def test_a_long_bad_value_is_cut_to_sixty_characters(field: str) -> None:
    value = "9" * 59 + "x" * 200
    with pytest.raises(ProtocolError) as info:
        parse_frame(frame(**{field: value}))
    shown = str(info.value).split(": ", 1)[1]
    assert shown == repr(value)[:59] + "…"


def test_a_record_of_secfeeds_own_output_comes_back_as_the_filing() -> None:
    """A relay message (secfeed's NDJSON object) is read back as the filing it was: the
    fields secfeed derives (company, ticker, url, latency) are not taken for extra fields."""
    from secfeed_cli.companies.lookup import Companies
    from secfeed_cli.output.records import to_record
    from secfeed_cli.wire.protocol import filing_from_record

    filing = parse_frame(frame(cik=320193, extra_field=[1, {"x": None}]))
    assert isinstance(filing, Filing)
    Companies().fill([filing])
    record = to_record(filing, received=1.7e9)
    assert record["ticker"] == "AAPL" and "latency_ms" in record and record["url"]
    back = filing_from_record(json.loads(json.dumps(record)), b"payload")
    assert back == filing and back.frame == b"payload"
    assert dict(back.extra) == {"extra_field": [1, {"x": None}]}
    with pytest.raises(ProtocolError):
        filing_from_record({"form": "8-K"}, b"")
    with pytest.raises(ProtocolError):
        filing_from_record([record], b"")


# -- the details object read back (wire/details.py) ---------------------------------------


def test_details_back_from_json_are_the_structs_their_shape_says() -> None:
    from secfeed_cli.wire.details import EightK, NoDetails, Ownership, Schedule13, read

    assert isinstance(read({"status": "ok", "transactions": []}), Ownership)
    assert isinstance(read({"status": "ok", "items": ["5.02"]}), EightK)
    assert isinstance(read({"status": "ok", "item_names": [None]}), EightK)
    assert isinstance(read({"status": "ok", "persons": []}), Schedule13)
    assert isinstance(read({"status": "ok"}), Ownership)  # no telling field: the first kind
    for status in ("deferred", "unavailable", "error"):
        found = read({"status": status, "reason": "why"})
        assert isinstance(found, NoDetails) and found.status == status
    made = EightK(items=["8.01"])
    assert read(made) is made  # already a struct: as it is


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ([], "'details' is not an object"),
        ({"status": "fine"}, "none of ok, deferred, unavailable, error"),
        ({}, "none of ok, deferred, unavailable, error"),
        ({"status": "ok", "issuer": {"cik": -1}}, "not secfeed's details object"),
        ({"status": "ok", "transactions": [{"shares": 1e16}]}, "not secfeed's details object"),
        ({"status": "ok", "transactions": [{"shares": -1e16}]}, "not secfeed's details object"),
        ({"status": "ok", "items": "5.02"}, "not secfeed's details object"),
        ({"status": "deferred", "reason": 5}, "not secfeed's details object"),
    ],
)
def test_details_not_ours_are_refused_with_the_reason(value: Any, why: str) -> None:
    from secfeed_cli.wire.details import problem, read

    with pytest.raises(ValueError, match=why):
        read(value)
    assert why in (problem(value) or "")


def test_details_numbers_up_to_the_bound_keep_their_type() -> None:
    from secfeed_cli.wire.details import MAX_NUMBER, Ownership, problem, read

    assert MAX_NUMBER == 1e15
    edge = {
        "status": "ok",
        "transactions": [{"shares": 10**15, "price": -1e15}],
        "issuer": {"cik": 0},
    }
    found = read(edge)
    assert isinstance(found, Ownership) and problem(edge) is None
    [row] = found.transactions
    assert type(row.shares) is int and type(row.price) is float
    assert row.traded == (10**15, -1e15)
    assert found.issuer.cik == 0


def test_a_row_tells_its_trade_only_from_numbers() -> None:
    from secfeed_cli.wire.details import Row

    assert Row(shares=10, price=2.5).traded == (10, 2.5)
    assert Row().traded == (None, None)  # a holding: neither
    assert Row(shares=None, price=1).traded == (None, 1)


def test_details_structs_are_frozen() -> None:
    from secfeed_cli.wire.details import Exhibit, Report, Section, Text

    for made in (
        Issuer(),
        Owner(),
        Row(),
        Ownership(),
        EightK(),
        Issuer13(),
        Person(),
        Schedule13(),
        NoDetails(status="error"),
        Section(),
        Exhibit(),
        Text(),
        Report(),
    ):
        field = type(made).__struct_fields__[0]
        with pytest.raises(AttributeError):
            setattr(made, field, None)


def test_details_structs_take_keywords_only_and_found_ones_say_ok() -> None:
    """A details struct is built by field name only (a field added in the middle cannot shift
    another's value), and one with details found is ``ok`` unless told otherwise."""

    from secfeed_cli.wire.details import Exhibit, Report, Section, Text

    kinds: tuple[Any, ...] = (Issuer, Owner, Row, Ownership, EightK, Issuer13, Person)
    for kind in (*kinds, Schedule13, NoDetails, Section, Exhibit, Text, Report):
        with pytest.raises(TypeError):
            kind("error")
    for found in (Ownership(), EightK(), Schedule13(), Report(), Text()):
        assert found.status == "ok"
        assert msgspec.json.encode(found).startswith(b'{"status":"ok"')


def test_what_the_protocol_module_exports_exists() -> None:
    from secfeed_cli.wire import protocol

    assert protocol.__all__ and all(hasattr(protocol, name) for name in protocol.__all__)


def test_a_reconnect_may_ask_for_now_or_for_half_a_second() -> None:
    assert parse_frame('{"type":"reconnect","within_seconds":0}') == Reconnect(0.0, None)
    assert parse_frame('{"type":"reconnect","within_seconds":0.5}') == Reconnect(0.5, None)
    with pytest.raises(ProtocolError, match="non-negative"):
        parse_frame('{"type":"reconnect","within_seconds":-0.5}')


# -- what mutation found untested (issue 43, item 6) --------------------------------------


def _frame(**changes: Any) -> bytes:
    record = {**DOC_FILING, **changes}
    return json.dumps({k: v for k, v in record.items() if v is not ...}).encode()


def test_a_protocol_error_keeps_its_kind_and_reason_apart() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_frame(_frame(cik=0))
    assert caught.value.kind == "field"
    assert (
        caught.value.reason
        == str(caught.value)
        == "'cik' is not an integer from 1 to 9999999999: 0"
    )


@pytest.mark.parametrize("cik", [1, 9_999_999_999])
def test_the_cik_bounds_are_inclusive(cik: int) -> None:
    filing = parse_frame(_frame(cik=cik, extra_field=1))  # the detailed path
    assert isinstance(filing, Filing) and filing.cik == cik
    with pytest.raises(ProtocolError, match="'cik' is not an integer from 1 to"):
        parse_frame(_frame(cik=10_000_000_000, extra_field=1))


def test_a_filing_without_description_and_nothing_more_shares_the_empty_extra() -> None:
    from secfeed_cli.wire.filing import NO_EXTRA

    bare = _filing_in_detail({k: v for k, v in DOC_FILING.items() if k != "description"}, b"")
    assert bare.extra is NO_EXTRA
    with_one = _filing_in_detail({**DOC_FILING, "x": 1}, b"")
    assert dict(with_one.extra) == {"x": 1}
    lacking = {k: v for k, v in DOC_FILING.items() if k != "description"}
    assert dict(_filing_in_detail({**lacking, "x": 1}, b"").extra) == {"x": 1}


def test_a_reconnect_before_time_that_is_no_string_or_no_time_is_named() -> None:
    base = {"type": "reconnect", "within_seconds": 1}
    with pytest.raises(ProtocolError) as caught:
        parse_frame(json.dumps({**base, "before_time": 5}))
    assert caught.value.kind == "field"
    assert str(caught.value) == "reconnect 'before_time' is not a string"
    with pytest.raises(ProtocolError) as bad_time:
        parse_frame(json.dumps({**base, "before_time": "soon"}))
    assert bad_time.value.kind == "field"
    assert str(bad_time.value) == "'before_time' is not a valid time: 'soon'"


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ({}, "'form' is an object, not a string"),
        ([], "'form' is an array, not a string"),
        (1, "'form' is a number, not a string"),
        (True, "'form' is a boolean, not a string"),
    ],
)
def test_a_field_of_the_wrong_kind_is_named_with_its_article(value: Any, said: str) -> None:
    with pytest.raises(ProtocolError, match=f"^{re.escape(said)}$"):
        parse_frame(_frame(form=value))


def test_a_long_value_in_a_reason_is_cut_at_60_characters() -> None:
    from secfeed_cli.wire.protocol import _short

    assert _short("x" * 60) == "x" * 60
    assert _short("x" * 61) == "x" * 59 + "…"


def test_an_invalid_key_message_is_known_with_or_without_its_full_stop() -> None:
    assert ServerError("Invalid API key.").is_invalid_key
    assert ServerError(" invalid api key ").is_invalid_key
    assert not ServerError("Invalid API key, twice").is_invalid_key


def test_messages_are_frozen_and_a_heartbeat_says_its_name() -> None:
    assert Heartbeat().spelling == "heartbeat"
    for made in (Heartbeat(), Reconnect(1.0, None), ServerError("x"), UnknownMessage("t", {})):
        field = type(made).__struct_fields__[0]
        with pytest.raises(AttributeError):
            setattr(made, field, None)


def test_a_record_back_from_secfeeds_output_is_checked_as_a_frame_is() -> None:
    from secfeed_cli.wire.protocol import filing_from_record

    record = {k: v for k, v in DOC_FILING.items() if k not in ("type", "filling_date")}
    record |= {"filing_date": "2024-02-24", "company": "Ours", "url": "u", "matches": []}
    filing = filing_from_record(record, b"{}")
    assert filing.filing_date == "2024-02-24" and "company" not in filing.extra
    assert "matches" not in filing.extra  # derived: this run's --grep makes its own
    details = {"status": "ok", "items": ["5.02"], "summary": "5.02 officer change"}
    kept = filing_from_record({**record, "details": details}, b"{}")
    assert kept.extra["details"] == details
    with pytest.raises(ProtocolError) as wrong:
        filing_from_record({**record, "details": {"status": "maybe"}}, b"{}")
    assert wrong.value.kind == "field" and "'details' is not secfeed's details object" in str(
        wrong.value
    )
    with pytest.raises(ProtocolError) as shape:
        filing_from_record(["not", "an", "object"], b"[]")
    assert shape.value.kind == "shape" and str(shape.value) == "not a secfeed filing object"
    with pytest.raises(ProtocolError, match="not a secfeed filing object"):
        filing_from_record({"form": "4"}, b"{}")


def test_a_filing_given_as_text_keeps_its_frame_as_bytes() -> None:
    text = json.dumps(DOC_FILING)
    filing = parse_frame(text)
    assert isinstance(filing, Filing)
    assert type(filing.frame) is bytes and filing.frame == text.encode()
    # mutant: equivalent: secfeed_cli/wire/protocol.py:213 strict=False: the filings are made
    # by a map over the same frames, so the two lists are always of one length

"""Nothing a server can put in a frame makes the client raise: a property over the whole path.

Arbitrary JSON values in every field, arbitrary byte strings as frames and arbitrary message
types go through what ``tail`` does with a socket read: the batch check and frame-by-frame
parsing, filters, latency, and every sink (NDJSON, raw, CSV, JSON, the plain table and the live
table's render). The only exception allowed out of parsing is ProtocolError (counted and
skipped); nothing after parsing may raise at all.
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secfeed_cli.filtering.filters import FilingFilter
from secfeed_cli.output import Sink, Status
from secfeed_cli.output.latency import LatencyStats
from secfeed_cli.output.layout import layout, row, status_line
from secfeed_cli.output.lines import CsvSink, JsonArraySink, NdjsonSink
from secfeed_cli.output.records import latency_ms
from secfeed_cli.output.table import PlainTableSink
from secfeed_cli.wire.filing import Filing
from secfeed_cli.wire.protocol import FILING_FIELDS, ProtocolError, parse_filings, parse_frame

from .rawserver import filing

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_times = st.sampled_from(
    [
        "0001-01-01T00:00:00+05:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-05:00",
        "9999-12-31T23:59:59.999999999Z",
        "0000-01-01T00:00:00Z",
        "2024-02-29T23:59:60Z",
        "2023-02-29T00:00:00Z",
        "2026-01-12T16:00:00.1234567+14:00",
        "2026-01-12 16:00:00-23:59",
        "2026-01-12",
    ]
)

pytestmark = pytest.mark.unit
_FIELDS = list(FILING_FIELDS)  # the fields a frame may get wrong (inputs, not the assertion)


@st.composite
def _filing_frame(draw: st.DrawFn) -> bytes:
    record: dict[str, Any] = filing(draw(st.integers(0, 999_999)), draw(st.booleans()))
    for name in draw(st.lists(st.sampled_from([*_FIELDS, "extra"]), max_size=3)):
        choice = draw(st.integers(0, 3))
        if choice == 0:
            record.pop(name, None)
        elif choice == 1 and name.endswith(("_time", "_date")):
            record[name] = draw(_times)
        elif choice == 2 and name == "cik":
            record[name] = draw(st.integers(min_value=-1, max_value=10**12))
        else:
            record[name] = draw(_json)
    return json.dumps(record).encode()


_message = st.fixed_dictionaries(
    {"type": st.sampled_from(["heartbeat", "hearbeat", "reconnect", "error", "hello", "x"])},
    optional={
        "within_seconds": _json,
        "before_time": _times | _json,
        "message": _json,
    },
).map(lambda d: json.dumps(d).encode())

_frames = st.lists(
    st.one_of(_filing_frame(), _filing_frame(), _message, st.binary(max_size=60)), max_size=8
)


def _parse(frames: list[bytes]) -> list[Filing]:
    batch = parse_filings(frames)
    if batch is not None:
        return batch
    out = []
    for frame in frames:
        try:
            message = parse_frame(frame)
        except ProtocolError:
            continue  # skipped and counted by the stream
        if isinstance(message, Filing):
            out.append(message)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_frames, st.booleans())
def test_no_frame_can_make_any_stage_raise(frames: list[bytes], with_latency: bool) -> None:
    filings = _parse(frames)
    received = time.time()
    stats = LatencyStats()
    for f in filings:
        if not f.is_historical:
            stats.add(latency_ms(f, received))
    stats.summary()
    for filt in (
        FilingFilter(forms=("8-K", "10-K*")),
        FilingFilter(exclude=("*/A",), amendments=False),
        FilingFilter(ciks=frozenset({123456})),
    ):
        filt.select(filings)

    sinks: list[Sink] = [
        NdjsonSink(io.BytesIO(), latency=with_latency),
        NdjsonSink(io.BytesIO(), raw=True),
        CsvSink(io.BytesIO(), latency=with_latency),
        JsonArraySink(io.BytesIO(), latency=with_latency),
        PlainTableSink(io.BytesIO(), latency=with_latency),
    ]
    for sink in sinks:
        sink.filings(filings, received)
        sink.backlog_complete()
        sink.close()
    for line in sinks[0].out.getvalue().splitlines():  # type: ignore[attr-defined]
        json.loads(line)  # still NDJSON

    status = Status(
        "connected", "127.0.0.1:1", len(filings), 0, 0, True, 1.0, True, stats.summary()
    )
    for width in (20, 80, 160):  # the live table's rows and status line, in colour
        columns = layout(width, with_latency)
        for f in filings:
            row(f, columns, "1ms", True)
        status_line(status, width, True)


_cell_text = st.text(alphabet=st.sampled_from('ab,"=+-@ \t\r\n\x00\x1b\x07\x9c\u202e'), max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_cell_text, _cell_text), min_size=1, max_size=5))
def test_csv_batches_escape_exactly_like_each_cell_alone(cells: list[tuple[str, str]]) -> None:
    import csv

    from secfeed_cli.common.escape import escape_control_csv
    from secfeed_cli.output.encode import FORMULA_START

    filings = [parse_frame(json.dumps(filing(i)).encode()) for i in range(1, len(cells) + 1)]
    batch = []
    for f, (form, description) in zip(filings, cells, strict=True):
        assert isinstance(f, Filing)
        f.form, f.description = form, description
        batch.append(f)
    sink = CsvSink(io.BytesIO())
    sink.filings(batch, 0.0)
    sink.close()
    rows = list(csv.reader(io.StringIO(sink.out.getvalue().decode(), newline="")))  # type: ignore[attr-defined]

    def expected(text: str) -> str:
        text = escape_control_csv(text)
        return "'" + text if text.startswith(FORMULA_START) else text

    col = rows[0].index("description")
    assert [(r[1], r[col]) for r in rows[1:]] == [(expected(a), expected(b)) for a, b in cells]

"""Where secfeed's time goes per filing, in-process, with the socket taken out.

    python bench/pipeline.py [--n 131072] [--format ndjson|csv] [--profile]

Builds N firehose frames exactly as ``secfeed serve --firehose N`` sends them, cuts the bytes
into 64 KiB reads and runs each stage of the client on them: framing, parsing, the stream's
hot loop (dedupe, batching) and the run loop into a sink writing to /dev/null. Each stage is
timed cumulatively (best of 5), so the differences say what each one adds. ``--profile`` runs
the whole pipeline once under cProfile instead. Numbers are microseconds per filing on this
machine: for comparing two versions of the code, not for comparing with peers (run.py does that).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import cast

from secfeed_cli.common.diagnostics import Diagnostics
from secfeed_cli.common.settings import RunSettings
from secfeed_cli.emulator.feed import firehose_records, load_sample, publish_record
from secfeed_cli.feed.dialing import Tracked
from secfeed_cli.feed.events import Event, NewFilings
from secfeed_cli.feed.frames import FrameReader, as_pairs
from secfeed_cli.feed.links import ConnectOptions
from secfeed_cli.feed.stream import Stream
from secfeed_cli.filtering.filters import FilingFilter
from secfeed_cli.output import Sink
from secfeed_cli.output.lines import CsvSink, NdjsonSink
from secfeed_cli.run.loop import Run
from secfeed_cli.wire.protocol import parse_filings

READ = 1 << 16


class Reads:
    """The firehose's bytes as the reader thread would receive them."""

    def __init__(self, n: int) -> None:
        now = datetime.now(timezone.utc)
        blob = b"".join(
            publish_record(r, now).historical_frame for r in firehose_records(load_sample(), n)
        )
        self.n = n
        self.chunks = [blob[i : i + READ] for i in range(0, len(blob), READ)]


class NoSocket:
    """The connection the stream's hot loop is told about (no socket behind it)."""

    conn = 1
    closing = False
    last_frame = 0.0
    opened = 0.0
    bytes_in = 0
    frames_in = 0

    def send_text(self, text: str) -> None:
        pass

    def close(self, abort: bool = False) -> None:
        pass

    def join(self, timeout: float) -> bool:
        return True

    def read_direct(self) -> None:
        return None


def stage_frames(reads: Reads, fmt: str) -> None:
    reader = FrameReader()
    for chunk in reads.chunks:
        reader.read(chunk)


def stage_parse(reads: Reads, fmt: str) -> None:
    reader = FrameReader()
    for chunk in reads.chunks:
        frames = cast("list[bytes]", reader.read(chunk))  # the firehose: whole text frames only
        assert reader.all_text and parse_filings(frames, False) is not None


def events(stream: Stream, owner: Tracked, reader: FrameReader, chunk: bytes) -> Iterator[Event]:
    """What the stream yields for one socket read, handed on as the reader thread does."""
    frames = reader.read(chunk)
    if reader.all_text:
        return stream._on_texts(owner, cast("list[bytes]", frames), 0.0)
    return stream._on_data(owner, as_pairs(frames), 0.0)


def stage_stream(reads: Reads, fmt: str) -> None:
    stream = Stream(ConnectOptions(url="ws://127.0.0.1:9"), keep_frames=False)
    owner = Tracked(NoSocket())
    reader = FrameReader()
    for chunk in reads.chunks:
        for _event in events(stream, owner, reader, chunk):
            pass
    assert stream.stats.received == reads.n


def stage_all(reads: Reads, fmt: str) -> None:
    stream = Stream(ConnectOptions(url="ws://127.0.0.1:9"), keep_frames=False)
    owner = Tracked(NoSocket())
    reader = FrameReader()
    run = Run(stream, FilingFilter(), RunSettings(), Diagnostics(quiet=True))
    with open(os.devnull, "wb") as out:
        sink: Sink = NdjsonSink(out) if fmt == "ndjson" else CsvSink(out)
        run.sink = sink
        for chunk in reads.chunks:
            for event in events(stream, owner, reader, chunk):
                if isinstance(event, NewFilings):
                    run._filings(sink, event)
            sink.flush()
        sink.close()
    assert sink.written == reads.n


STAGES: list[tuple[str, Callable[[Reads, str], None]]] = [
    ("framing", stage_frames),
    ("+ parse and validate", stage_parse),
    ("+ stream loop, dedupe", stage_stream),
    ("+ run loop and sink", stage_all),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=131_072)
    ap.add_argument("--format", choices=["ndjson", "csv"], default="ndjson")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    reads = Reads(args.n)
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(stage_all, reads, args.format)
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)
        return
    previous = 0.0
    for name, stage in STAGES:
        best = min(_timed(stage, reads, args.format) for _ in range(5))
        per = best / reads.n * 1e6
        print(f"{name:24s} {per:6.3f} us/filing  (adds {per - previous:6.3f})")
        previous = per


def _timed(stage: Callable[[Reads, str], None], reads: Reads, fmt: str) -> float:
    start = time.perf_counter()
    stage(reads, fmt)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()

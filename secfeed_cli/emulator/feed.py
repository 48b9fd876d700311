"""The emulator's one global feed: the bundled sample, published over time, shared by all clients.

Pure data and encoding; the asyncio server in :mod:`secfeed_cli.emulator.server` drives it.
"""

from __future__ import annotations

import gzip
import json
import struct
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from importlib import resources
from typing import Any

import msgspec

from ..wire.filing import format_time
from ..wire.protocol import FILING_FIELDS

Record = dict[str, Any]


#: What a sample record must hold: the wire fields less those the emulator stamps itself.
STAMPED_FIELDS = ("type", "is_historical", "discovered_time")
SAMPLE_FIELDS = tuple(name for name in FILING_FIELDS if name not in STAMPED_FIELDS)


def load_sample(path: str | None = None) -> list[Record]:
    """Filings to replay, oldest first: the bundled real EDGAR sample, or an NDJSON file.

    A file holds one filing per line in the wire schema (``filling_date``; ``type``,
    ``is_historical`` and ``discovered_time`` are ignored: the emulator sets them). Raises
    ``ValueError`` naming the first bad line.
    """
    if path is None:
        data = resources.files(__package__).joinpath("sample.ndjson.gz").read_bytes()
        text = gzip.decompress(data).decode("utf-8")
    else:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise ValueError(f"{path}:{number}: not valid JSON") from None
        if not isinstance(record, dict) or any(k not in record for k in SAMPLE_FIELDS):
            raise ValueError(f"{path}:{number}: needs the fields {', '.join(SAMPLE_FIELDS)}")
        records.append(record)
    if not records:
        raise ValueError(f"{path}: no filings")
    return records


def ws_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One unmasked, unfragmented server-to-client WebSocket frame (RFC 6455 section 5.2)."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return header + payload


def encode_filing(record: Record, discovered: str, historical: bool) -> bytes:
    """A filing frame's JSON in the documented field order, with the docs' spellings."""
    stamped = dict(zip(STAMPED_FIELDS, ("fillings", historical, discovered), strict=True))
    wire = {name: stamped[name] if name in stamped else record[name] for name in FILING_FIELDS}
    if len(record) > len(FILING_FIELDS) - len(STAMPED_FIELDS):
        # the emulator's own marks (``placeholder``: an accession number it made up), after
        # the documented fields: a client keeps what it does not know
        wire.update((k, v) for k, v in record.items() if k not in wire)
    return json.dumps(wire, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Published(msgspec.Struct, frozen=True):
    """A filing as published: its record and both wire encodings, as ready-made WS frames."""

    record: Record
    discovered_time: str
    historical_frame: bytes
    live_frame: bytes

    @property
    def accession_no(self) -> str:
        return str(self.record["accession_no"])


def publish_record(record: Record, now: datetime | None = None) -> Published:
    discovered = format_time(now or datetime.now(timezone.utc))
    return Published(
        record,
        discovered,
        ws_frame(encode_filing(record, discovered, True)),
        ws_frame(encode_filing(record, discovered, False)),
    )


def with_accession_year(record: Record, bump: int) -> Record:
    """The same filing under a new accession number, for replay loops past the sample's end."""
    if bump == 0:
        return record
    acc = str(record["accession_no"])
    year = (int(acc[11:13]) + bump) % 100
    return {**record, "accession_no": f"{acc[:11]}{year:02d}{acc[13:]}"}


def firehose_records(sample: list[Record], n: int) -> Iterator[Record]:
    """N filings cycling over the sample, each with a unique accession number (filer 99xxxxxxxx)."""
    for i in range(n):
        base = sample[i % len(sample)]
        yield {**base, "accession_no": f"{9900000000 + i // 1_000_000:010d}-26-{i % 1_000_000:06d}"}


Subscriber = Callable[[Published], None]

#: Filings the emulator's own latest-filings feed lists, at most (EDGAR's: a few thousand).
ANNOUNCED = 2000


class Feed:
    """Everything published so far (the last ``history`` filings) and who is listening."""

    def __init__(self, sample: list[Record], history: int) -> None:
        self.sample = sample
        self.history: deque[Published] = deque(maxlen=max(history, 1))
        #: The newest filings published, longer than the backlog: what the emulator's EDGAR
        #: lists in its latest-filings feed (``--backfill``).
        self.announced: deque[Published] = deque(maxlen=ANNOUNCED)
        self.subscribers: set[Subscriber] = set()
        self.count = 0

    def peek_next(self) -> Record:
        """The record :meth:`publish_next` will publish; the sample loops with new accessions."""
        loop, pos = divmod(self.count, len(self.sample))
        return with_accession_year(self.sample[pos], loop)

    def publish_next(self, now: datetime | None = None) -> Published:
        item = publish_record(self.peek_next(), now)
        self.history.append(item)
        self.announced.append(item)
        self.count += 1
        for subscriber in list(self.subscribers):
            subscriber(item)
        return item

    def backlog(self, n: int) -> list[Published]:
        if n <= 0:
            return []
        items = list(self.history)
        return items[-n:]

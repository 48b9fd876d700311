"""``secfeed archive stats|query|search``: reading an archive, read-only, into rows and text."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import msgspec

from ..common.escape import escape_control, escape_control_csv
from ..errors import ArchiveError
from .schema import VERSION, open_for_reading, stoppable


class QueryError(ValueError):
    """A statement or words the archive cannot answer: the reason, for a usage error."""


#: The most rows a table shows (NDJSON and CSV write them all).
TABLE_ROWS = 1000
#: The widest a table cell is drawn.
CELL = 60


def stats(path: str) -> list[str]:
    db = open_for_reading(path)
    try:
        with stoppable(db):
            count, first, last = db.execute(
                "SELECT count(*), min(discovered_time), max(discovered_time) FROM filings"
            ).fetchone()
            with_details = db.execute("SELECT count(*) FROM details").fetchone()[0]
            forms = db.execute(
                "SELECT form, count(*) AS n FROM filings GROUP BY form ORDER BY n DESC, form"
                " LIMIT 16"
            ).fetchall()
    except sqlite3.Error as exc:
        raise ArchiveError(f"cannot read archive {path}: {exc}") from None
    finally:
        db.close()
    size = _size(path)
    wal = _size(path + "-wal")
    lines = [
        f"archive: {path} (schema version {VERSION})",
        f"filings: {count:,} ({with_details:,} with details)",
    ]
    if count:
        lines.append(f"discovered: {first} to {last}")
    lines.append(f"size: {_bytes(size + wal)} ({_bytes(size)} database, {_bytes(wal)} WAL)")
    shown = forms[:15]
    if shown:
        rest = count - sum(n for _, n in shown)
        by_form = ", ".join(f"{escape_control(str(form))} {n:,}" for form, n in shown)
        lines.append(f"by form: {by_form}" + (f", others {rest:,}" if rest else ""))
    return lines


def run_query(path: str, sql: str) -> tuple[list[str], Any]:
    """The columns and a cursor over the rows of one read-only statement (a signal stops it:
    read it within :func:`stoppable`)."""
    db = open_for_reading(path)
    try:
        with stoppable(db):
            cursor = db.execute(sql)
    except sqlite3.Warning as exc:  # "You can only execute one statement at a time."
        raise QueryError(f"archive query: {exc}") from None
    except sqlite3.Error as exc:
        reason = str(exc)
        if "readonly" in reason or "read-only" in reason or "query_only" in reason:
            reason = "the archive is opened read-only: a query cannot change it"
        raise QueryError(f"archive query: {reason}") from None
    columns = [d[0] for d in cursor.description or ()]
    return columns, cursor


def search(path: str, words: tuple[str, ...], limit: int) -> tuple[list[str], Any]:
    """The newest filings whose company, description or 8-K item names hold every word (the
    FTS5 index, and the newest rows the writer has not indexed yet read directly), or one of
    whose items or exhibits (``--text``) does."""
    words = tuple(w for w in words if w.strip())
    if not words:
        raise QueryError("archive search: give at least one word")
    phrases = " ".join('"' + w.replace('"', '""') + '"' for w in words)
    likes: list[str] = []
    for word in words:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        likes += [pattern] * 4
    each = (
        "(f.company LIKE ? ESCAPE '\\' OR f.description LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1"
        " FROM items i WHERE i.accession_no = f.accession_no AND (i.item LIKE ? ESCAPE '\\'"
        " OR i.name LIKE ? ESCAPE '\\')))"
    )
    db = open_for_reading(path)
    try:
        with stoppable(db):
            texts = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'text_search'"
            ).fetchone()  # an archive of version 1 has none
            cursor = db.execute(
                "SELECT f.discovered_time, f.form, f.company, f.ticker, f.description,"
                " (SELECT group_concat(item, ' ') FROM items i"
                "  WHERE i.accession_no = f.accession_no) AS items,"
                " f.accession_no, f.url"
                " FROM filings f WHERE f.seq IN ("
                "  SELECT rowid FROM search WHERE search MATCH ?"
                "  UNION ALL SELECT seq FROM filings f"
                "  WHERE seq > (SELECT coalesce(max(rowid), 0) FROM search)"
                f"  AND {' AND '.join([each] * len(words))})"
                f"{_TEXT_MATCH if texts else ''}"
                " ORDER BY f.seq DESC LIMIT ?",
                (phrases, *likes, *([phrases] if texts else []), limit),
            )
    except sqlite3.Error as exc:
        raise QueryError(f"archive search: {exc}") from None
    return [d[0] for d in cursor.description], cursor


#: --text: what the filings say (every word in one item or exhibit).
_TEXT_MATCH = (
    " OR f.accession_no IN (SELECT t.accession_no FROM texts t WHERE t.rowid IN"
    "  (SELECT rowid FROM text_search WHERE text_search MATCH ?))"
)

#: Rows written at a time: the output starts with the first of them, and a closed pipe
#: (``| head -1``) ends the query there, however many rows it would give.
CHUNK = 500


def write_rows(
    columns: list[str],
    rows: Any,
    fmt: str,
    write: Callable[[bytes], None],
    lists: frozenset[str] = frozenset(),
) -> int:
    """Rows as NDJSON (one object a row), CSV (a header, then rows) or a table for a person,
    written as they come (``write`` each piece): nothing is held but a chunk of rows, and a
    table's first :data:`TABLE_ROWS`. Columns named in ``lists`` hold words apart by spaces
    (8-K items): NDJSON gives them as an array, as ``details.items`` is. Returns how many rows
    there were (a table: at most one more than it shows)."""
    count = 0
    if fmt == "ndjson":
        encode = msgspec.json.Encoder().encode
        listed = [c in lists for c in columns]

        def value(v: Any, is_list: bool) -> Any:
            return (v or "").split() if is_list else _json_value(v)

        for chunk in _chunks(rows):
            count += len(chunk)
            write(
                b"".join(
                    encode({c: value(v, x) for c, v, x in zip(columns, row, listed, strict=True)})
                    + b"\n"
                    for row in chunk
                )
            )
        return count
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(columns)
        write(text.getvalue().encode())
        for chunk in _chunks(rows):
            count += len(chunk)
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerows([escape_control_csv(_text(v)) for v in row] for row in chunk)
            write(text.getvalue().encode())
        return count
    cells: list[list[str]] = []
    more = False
    for row in rows:
        if len(cells) == TABLE_ROWS:
            more = True  # not counted: counting would read every row
            break
        cells.append([_cell(v) for v in row])
    head = [_cell(c) for c in columns]
    widths = [max([len(head[i])] + [len(r[i]) for r in cells]) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(head, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    if more:
        lines.append(f"... and more rows (the first {TABLE_ROWS:,} shown; -f ndjson or -f csv)")
    if not cells:
        lines.append("(no rows)")
    write(("\n".join(lines) + "\n").encode())
    return len(cells) + more


#: The search table's columns: (title, the result's column, fixed width or 0 for the rest).
_FOUND = (
    ("discovered", "discovered_time", 16),
    ("form", "form", 10),
    ("company", "company", 0),
    ("items", "items", 14),
    ("accession", "accession_no", 20),
)


def write_found(
    columns: list[str], rows: Any, width: int, write: Callable[[bytes], None], utc: bool = False
) -> int:
    """:func:`search`'s rows as a person reads them: one line each within ``width`` cells (the
    company gives way, with its ticker kept), times local as in the live table. NDJSON and CSV
    carry every column."""
    from ..output.layout import fit, fit_company, in_local_time

    at = {name: i for i, name in enumerate(columns)}
    fixed = sum(w for _, _, w in _FOUND) + 2 * (len(_FOUND) - 1)
    company = max(width - 1 - fixed, 12)
    widths = [w or company for _, _, w in _FOUND]
    lines = ["  ".join(fit(t, w) for (t, _, _), w in zip(_FOUND, widths, strict=True)).rstrip()]
    count = 0
    for row in rows:
        if count == TABLE_ROWS:
            lines.append(f"... and more (the first {TABLE_ROWS:,} shown; --limit, -f ndjson)")
            break
        count += 1
        try:
            when = in_local_time(str(row[at["discovered_time"]]), "%Y-%m-%d %H:%M", utc)
        except ValueError:
            when = "?"
        name = escape_control(_text(row[at["company"]]))
        ticker = escape_control(_text(row[at["ticker"]])) or None
        shown = f"{name} ({ticker})" if ticker else name
        cells = {
            "discovered_time": when,
            "company": fit_company(shown, company, ticker),
            "items": ",".join(_text(row[at["items"]]).split()),
        }
        line = [
            fit(cells.get(key, escape_control(_text(row[at[key]]))), w)
            for (_, key, _), w in zip(_FOUND, widths, strict=True)
        ]
        lines.append("  ".join(line).rstrip())
    write(("\n".join(lines) + "\n").encode())
    return count


def _chunks(rows: Any) -> Iterator[list[Any]]:
    """A cursor's rows, :data:`CHUNK` at a time."""
    while chunk := rows.fetchmany(CHUNK):
        yield chunk


def _json_value(value: Any) -> Any:
    return value.hex() if isinstance(value, bytes) else value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _cell(value: Any) -> str:
    text = escape_control(_text(value)).replace("\n", " ")
    return text if len(text) <= CELL else text[: CELL - 1] + "…"


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"  # pragma: no cover

"""Downloads of any size (the audit exports): rows read from one snapshot of the database a chunk at a time,
written out as they are read, and counted in the file itself.

``open_snapshot()`` is a session of the export's own that lives as long as the download (closed when the
response is): it reads one consistent state of the database — PostgreSQL: ``REPEATABLE READ, READ ONLY``;
SQLite: a read transaction is a snapshot already (WAL) — so the count sent before the rows and the rows agree
even while others write. ``rows_of`` reads a query ``CHUNK_ROWS`` rows at a time (a server-side cursor on
PostgreSQL, SQLite steps its statement), ``count_of`` counts it. ``csv_chunks`` and ``json_chunks`` turn rows
into text chunks of about ``CHUNK_BYTES``; ``download`` streams them. Memory stays flat at any size.

What a file says about itself:

* CSV (UTF-8 with a byte order mark, so Excel reads Chinese): the header row, one row per record, and as the
  last line a trailer ``# rows: N`` (the labelled exports say it in the reader's language): the number of
  records above it. A trailer, not a first line: a line before the header row would break every CSV reader and
  Excel's header row; at the end it is one cell an auditor reads at the bottom of the sheet, it counts what was
  actually written, and a download cut short has none — an incomplete file cannot pass for a complete one.
* JSON: ``{"rows": [`` one record per line ``], "count": N}`` — the count after the rows for the same
  reasons (any JSON reader takes the keys in any order).
* HTTP: ``X-Row-Count: N`` (counted in the same snapshot before the first row: the page's progress bar),
  ``Content-Disposition: attachment`` with the file name also as ``filename*=UTF-8''…``, ``Cache-Control:
  no-store``, and ``X-Accel-Buffering: no`` (a proxy passes the chunks on as they come). Compression leaves
  attachments alone (``webui.compression``), so nothing buffers the stream.

The pages say how many rows an export will hold before it is downloaded, and show a progress line for more
than 10,000 (``templates/audit/export_links.html``, ``js/export-progress.js``).
"""
from __future__ import annotations

import contextvars
import csv
import io
import json
from typing import Callable, Iterable, Iterator, Optional, Sequence
from urllib.parse import quote

from flask import Response
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from webui.db import close_session, get_database

CHUNK_ROWS = 1000
CHUNK_BYTES = 64 * 1024
FORMATS = {"csv": "text/csv", "json": "application/json"}
BOM = "\ufeff"
FORMULA_STARTS = frozenset("=+-@\t\r")

Columns = Sequence[tuple[str, str]]
"""``(key, header)``: which value of a row goes in a column, and the column's header."""


def open_snapshot() -> Session:
    """A session of its own reading one consistent state of the database until it is closed."""
    session = get_database().sessions()
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True})
    return session


def count_of(session: Session, query: Select) -> int:
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def rows_of(session: Session, query: Select) -> Iterator:
    """The rows of ``query`` as plain rows (no ORM objects), fetched ``CHUNK_ROWS`` at a time."""
    return iter(session.connection().execute(query.execution_options(yield_per=CHUNK_ROWS)))


# -- files ---------------------------------------------------------------------------------------------

def csv_chunks(records: Iterable[dict], columns: Columns, trailer: Callable[[int], str]) -> Iterator[str]:
    """The CSV file in chunks: byte order mark and header row, the records, then ``trailer(count)``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    out.write(BOM)
    writer.writerow([header for _key, header in columns])
    keys = [key for key, _header in columns]
    written = 0
    for record in records:
        writer.writerow([cell(record.get(key)) for key in keys])
        written += 1
        if out.tell() >= CHUNK_BYTES:
            yield take(out)
    out.write(trailer(written) + "\r\n")
    yield take(out)


def row_count_line(count: int) -> str:
    """The machine exports' CSV trailer."""
    return f"# rows: {count}"


def json_chunks(records: Iterable[dict]) -> Iterator[str]:
    """``{"rows": [...], "count": N}`` in chunks, one record per line."""
    out = io.StringIO()
    out.write('{"rows": [')
    written = 0
    for record in records:
        out.write(",\n" if written else "\n")
        out.write(json.dumps(record, ensure_ascii=False))
        written += 1
        if out.tell() >= CHUNK_BYTES:
            yield take(out)
    out.write(f'\n],\n"count": {written}}}\n')
    yield take(out)


def take(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


def cell(value: Optional[object]) -> str:
    """A CSV cell; text a spreadsheet would run as a formula is prefixed with a quote."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


# -- the response --------------------------------------------------------------------------------------

def download(chunks: Iterator[str], fmt: str, name: str, count: int, session: Session) -> Response:
    """Stream ``chunks`` as the file ``name.fmt``; ``session`` (the snapshot) is closed when the response is,
    whether the download ran to its end or was cut short."""
    response = Response(streamed(chunks, session, contextvars.copy_context()), mimetype=FORMATS[fmt])
    response.headers["Content-Disposition"] = disposition(f"{name}.{fmt}")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Row-Count"] = str(count)
    response.headers["X-Accel-Buffering"] = "no"
    response.call_on_close(session.close)
    return response


def streamed(chunks: Iterator[str], session: Session, context: contextvars.Context) -> Iterator[bytes]:
    """``chunks`` as bytes, each made in ``context``, a copy of the view's (``request``, ``g``, the language),
    which the rows' labels need after the view has returned. Unlike ``flask.stream_with_context`` nothing
    stays pushed between chunks, so a download dropped half way leaves no context behind."""
    try:
        while True:
            try:
                chunk = context.run(next, chunks)
            except StopIteration:
                return
            yield chunk.encode("utf-8")
    finally:
        context.run(finish, chunks)
        session.close()


def finish(chunks: Iterator[str]) -> None:
    """Stop making chunks and close a request session they opened (``webui.db.get_session``)."""
    close = getattr(chunks, "close", None)
    if close is not None:
        close()
    close_session()


def disposition(filename: str) -> str:
    """``attachment`` with an ASCII name for old clients and the exact name as ``filename*`` (RFC 6266)."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"

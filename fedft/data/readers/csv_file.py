"""CSV with a header row, each record with the physical line it starts on.

Parsed with the `csv` module rather than through `datasets`, whose CSV path goes through pandas,
which guesses types ("01" -> 1) and turns cells like "NA" or "null" into missing values; the
`csv` module also knows where a quoted multi-line note starts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fedft.data.readers.text import read_text
from fedft.data.rows import DataError, Fields, check_columns

__all__ = ["csv_records"]


def csv_records(
    p: Path, *, shown: str, fields: Fields
) -> Iterator[tuple[int, dict[str, Any] | str]]:
    text = read_text(p)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise DataError(f"{shown}:1: cannot read the CSV header ({exc}); fix the file") from None
    header = [h.strip() for h in header]
    check_columns(header, shown=shown, fields=fields, where="CSV header")
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"{shown}:{start}: unreadable CSV ({exc}); fix the file") from None
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(cells) > len(header):
            yield line, f"row has {len(cells)} fields but the header has {len(header)}"
        else:
            # Short rows leave trailing fields absent, reported as missing by rows.normalize.
            yield line, dict(zip(header, cells, strict=False))

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
) -> Iterator[tuple[int, int | None, dict[str, Any] | str]]:
    """(line, None, record); a row whose quoted field never closes is reported, not read."""
    text = read_text(p)
    # The reader reads these very lines ("\r", "\n" and "\r\n" each end one), so its line_num
    # indexes them: a lone "\r" inside a quoted field cannot shift the quote count.
    physical = io.StringIO(text, newline="").readlines()
    reader = csv.reader(physical)
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
        if _unterminated(physical[line - 1 : start - 1]):
            # The csv module reads an unclosed quote to the end of the file: every row after
            # it would vanish inside one field.
            yield (
                line,
                None,
                (
                    f"a quoted field opens here and never closes: it swallows the next "
                    f"{start - 1 - line} line(s) to the end of the file; close the quote"
                ),
            )
        elif len(cells) > len(header):
            yield line, None, f"row has {len(cells)} fields but the header has {len(header)}"
        else:
            # Short rows leave trailing fields absent, reported as missing by rows.normalize.
            yield line, None, dict(zip(header, cells, strict=False))


def _unterminated(lines: list[str]) -> bool:
    """An odd number of quote characters: a quoted field left open (an escaped quote is
    two quotes, so it never changes the parity)."""
    return sum(line.count('"') for line in lines) % 2 == 1

"""Read a site's local training file (JSONL / JSON / CSV / Parquet) into a validated Dataset.

Every row is checked before anything is trained on it; a bad row is reported with the file and
its 1-based position (the physical line for JSONL/JSON and CSV, the row for Parquet) and the
reason. Reasons never quote the text of a row: only field names, types and (shortened) labels,
because bad-row reports end up in logs and run folders.

One reader per format (readers/json_file.py, csv_file.py, parquet_file.py) yields the records
with their line; rows.py checks each one. JSON and CSV are parsed by fedft, not `datasets` (see
the readers for why). The validated rows become a `datasets.Dataset`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import datasets

from fedft.data.readers.csv_file import csv_records
from fedft.data.readers.json_file import json_records
from fedft.data.readers.parquet_file import parquet_records
from fedft.data.rows import DataError, Fields, Task, field_hint, normalize

__all__ = [
    "DEFAULT_MAX_ROW_CHARS",
    "BadRow",
    "BadRowPolicy",
    "DataError",
    "LoadedData",
    "SUPPORTED_SUFFIXES",
    "Task",
    "read_examples",
]

log = logging.getLogger(__name__)

BadRowPolicy = Literal["skip", "error"]

SUPPORTED_SUFFIXES = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
# How many bad rows a DataError message lists (the full list is in LoadedData.bad_rows).
MAX_LISTED_BAD_ROWS = 10
# A row longer than this is almost always a mis-split file or an embedded blob, and spaCy
# (anonymization) refuses texts over 1,000,000 characters; training truncates to max_length anyway.
DEFAULT_MAX_ROW_CHARS = 100_000


@dataclass(frozen=True)
class BadRow:
    """One rejected row; `line` is 1-based (a physical line, or a row number for Parquet)."""

    path: str
    line: int
    reason: str
    unit: Literal["line", "row"] = "line"
    element: int | None = None  # 1-based index in a JSON array (many may share a line)

    def __str__(self) -> str:
        if self.unit == "row":
            return f"{self.path}: row {self.line}: {self.reason}"
        element = f" (array element {self.element})" if self.element is not None else ""
        return f"{self.path}:{self.line}{element}: {self.reason}"


@dataclass(frozen=True)
class LoadedData:
    """Valid rows with normalized columns, the rejected rows, and the label set (classification).

    Columns: classification -> `text`, `label` (both str); instruction -> `instruction`, `input`
    ("" when absent), `response`.
    """

    dataset: datasets.Dataset
    bad_rows: tuple[BadRow, ...]
    labels: tuple[str, ...] | None


def read_examples(
    path: str | os.PathLike[str],
    *,
    task: Task,
    text_field: str = "text",
    label_field: str = "label",
    instruction_field: str = "instruction",
    input_field: str = "input",
    response_field: str = "response",
    labels: Sequence[str] | None = None,
    on_bad_rows: BadRowPolicy = "skip",
    max_row_chars: int = DEFAULT_MAX_ROW_CHARS,
) -> LoadedData:
    """Read and validate `path`; the format comes from the extension.

    `labels`, when given, is the closed label set (any other label is a bad row) and its order
    is kept in the result; otherwise the result's labels are the sorted set seen (numerically
    when every label is an integer). `on_bad_rows="skip"` drops bad rows and returns them;
    `"error"` raises DataError listing them. No valid row at all is always a DataError. A row
    whose text fields hold more than `max_row_chars` characters in all is a bad row.
    """
    if task not in ("classification", "instruction"):
        raise ValueError(f"task must be 'classification' or 'instruction', got {task!r}")
    if on_bad_rows not in ("skip", "error"):
        raise ValueError(f"on_bad_rows must be 'skip' or 'error', got {on_bad_rows!r}")
    if max_row_chars < 1:
        raise ValueError(f"max_row_chars must be >= 1, got {max_row_chars}")
    given_labels = _check_given_labels(labels)
    fields = Fields(
        task=task,
        text=text_field,
        label=label_field,
        instruction=instruction_field,
        input=input_field,
        response=response_field,
        labels=frozenset(given_labels) if given_labels is not None else None,
        max_row_chars=max_row_chars,
    )
    p = Path(path)
    fmt = _check_file(p)
    shown = str(path)

    rows: list[dict[str, str]] = []
    bad: list[BadRow] = []
    unit: Literal["line", "row"] = "row" if fmt == "parquet" else "line"
    records = {"json": json_records, "csv": csv_records, "parquet": parquet_records}[fmt]
    for line, element, record in records(p, shown=shown, fields=fields):
        result = normalize(record, fields) if isinstance(record, dict) else record
        if isinstance(result, str):
            bad.append(BadRow(path=shown, line=line, reason=result, unit=unit, element=element))
        else:
            rows.append(result)

    if not rows:
        first = "; ".join(str(b) for b in bad[:3])
        detail = f" ({len(bad)} bad rows; first: {first})" if bad else ""
        raise DataError(f"{shown}: no valid row{detail}; {field_hint(fields)}")
    if bad:
        if on_bad_rows == "error":
            listed = "; ".join(str(b) for b in bad[:MAX_LISTED_BAD_ROWS])
            more = (
                f"; ... and {len(bad) - MAX_LISTED_BAD_ROWS} more"
                if len(bad) > MAX_LISTED_BAD_ROWS
                else ""
            )
            raise DataError(
                f"{shown}: {len(bad)} bad rows: {listed}{more}; fix them, or set "
                "data.bad_rows: skip to leave them out"
            )
        # Name where the rows are listed: "bad_rows" is a field of LoadedData, not a thing a
        # user can open.
        log.warning(
            "%s: %d of %d rows rejected and skipped (each with file:line: `fedft data check "
            "FILE`, or a run's data_report.json)",
            shown,
            len(bad),
            len(bad) + len(rows),
        )

    columns = (
        ("text", "label") if task == "classification" else ("instruction", "input", "response")
    )
    ds = datasets.Dataset.from_dict(
        {c: [r[c] for r in rows] for c in columns},
        features=datasets.Features({c: datasets.Value("string") for c in columns}),
    )
    result_labels = None
    if task == "classification":
        result_labels = given_labels if given_labels is not None else _sorted_labels(ds["label"])
    return LoadedData(dataset=ds, bad_rows=tuple(bad), labels=result_labels)


def _check_given_labels(labels: Sequence[str] | None) -> tuple[str, ...] | None:
    if labels is None:
        return None
    if isinstance(labels, str):
        raise ValueError(f"labels must be a list of label names, got the string {labels!r}")
    out = tuple(str(x).strip() for x in labels)
    dupes = sorted({x for x in out if out.count(x) > 1})
    if dupes or "" in out or len(out) < 1:
        raise ValueError(f"labels must be distinct non-empty names, got {list(labels)!r}")
    return out


def _sorted_labels(seen: Any) -> tuple[str, ...]:
    unique = set(seen)
    if all(_is_int_string(x) for x in unique):
        # "2" before "10": a file with integer class ids keeps their natural order.
        return tuple(sorted(unique, key=int))
    return tuple(sorted(unique))


def _is_int_string(s: str) -> bool:
    return s.lstrip("-").isdigit()


def _check_file(p: Path) -> str:
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataError(
            f"{p}: unsupported file type {p.suffix or '(no extension)'!r}; use .jsonl/.json "
            "(one JSON object per line), .csv (with a header row) or .parquet"
        )
    if not p.exists():
        raise DataError(f"{p}: file not found; check the path (data.train / data.eval / data-path)")
    if not p.is_file():
        raise DataError(f"{p}: not a regular file; give the path of a {suffix} file")
    if p.stat().st_size == 0:
        raise DataError(f"{p}: file is empty; it needs at least one example")
    return SUPPORTED_SUFFIXES[suffix]

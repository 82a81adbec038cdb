"""Read a site's local training file (JSONL / JSON / CSV / Parquet) into a validated Dataset.

Every row is checked before anything is trained on it; a bad row is reported with the file and
its 1-based position (the physical line for JSONL/JSON and CSV, the row for Parquet) and the
reason. Reasons never quote the text of a row: only field names, types and (shortened) labels,
because bad-row reports end up in logs and run folders.

JSON and CSV are parsed here rather than through `datasets`: `datasets` stops at the first
malformed JSON line and has no line numbers, and its CSV path goes through pandas, which guesses
types ("01" -> 1) and turns cells like "NA" or "null" into missing values. The `csv` module also
knows where a quoted multi-line note starts. The validated rows become a `datasets.Dataset`.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import datasets

log = logging.getLogger(__name__)

Task = Literal["classification", "instruction"]
BadRowPolicy = Literal["skip", "error"]

SUPPORTED_SUFFIXES = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
# How many bad rows a DataError message lists (the full list is in LoadedData.bad_rows).
MAX_LISTED_BAD_ROWS = 10
# Labels are quoted in reasons so a typo can be found, but cut short: a mis-set label_field
# could otherwise copy note text into a log.
_MAX_QUOTED_LABEL = 40
# A row longer than this is almost always a mis-split file or an embedded blob, and spaCy
# (anonymization) refuses texts over 1,000,000 characters; training truncates to max_length anyway.
DEFAULT_MAX_ROW_CHARS = 100_000


class DataError(ValueError):
    """A data file that cannot be used as it is; the message names the file and the fix."""


@dataclass(frozen=True)
class BadRow:
    """One rejected row; `line` is 1-based (a physical line, or a row number for Parquet)."""

    path: str
    line: int
    reason: str
    unit: Literal["line", "row"] = "line"

    def __str__(self) -> str:
        if self.unit == "row":
            return f"{self.path}: row {self.line}: {self.reason}"
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class LoadedData:
    """Valid rows with normalized columns, the rejected rows, and the label set (classification).

    Columns: classification -> `text`, `label` (both str); instruction -> `instruction`, `input`
    ("" when absent), `response`.
    """

    dataset: datasets.Dataset
    bad_rows: tuple[BadRow, ...]
    labels: tuple[str, ...] | None


@dataclass(frozen=True)
class _Fields:
    task: Task
    text: str
    label: str
    instruction: str
    input: str
    response: str
    labels: frozenset[str] | None
    max_row_chars: int

    @property
    def required(self) -> tuple[str, ...]:
        if self.task == "classification":
            return (self.text, self.label)
        return (self.instruction, self.response)


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
    fields = _Fields(
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
    records = {"json": _json_records, "csv": _csv_records, "parquet": _parquet_records}[fmt]
    for line, record in records(p, shown=shown, fields=fields):
        result = _normalize(record, fields) if isinstance(record, dict) else record
        if isinstance(result, str):
            bad.append(BadRow(path=shown, line=line, reason=result, unit=unit))
        else:
            rows.append(result)

    if not rows:
        first = "; ".join(str(b) for b in bad[:3])
        detail = f" ({len(bad)} bad rows; first: {first})" if bad else ""
        raise DataError(f"{shown}: no valid row{detail}; {_field_hint(fields)}")
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
        log.warning(
            "%s: %d of %d rows rejected (see bad_rows)", shown, len(bad), len(bad) + len(rows)
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


def _field_hint(fields: _Fields) -> str:
    if fields.task == "classification":
        return (
            f"each row needs a non-empty string '{fields.text}' and a '{fields.label}' "
            "(set data.text_field / data.label_field if the file uses other names)"
        )
    return (
        f"each row needs non-empty strings '{fields.instruction}' and '{fields.response}', "
        f"optionally '{fields.input}' (set data.instruction_field / data.response_field / "
        "data.input_field if the file uses other names)"
    )


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


def _read_text(p: Path) -> str:
    """The file as text: UTF-8 (a BOM is allowed), never a binary file read as text."""
    raw = p.read_bytes()
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise DataError(
            f"{p}: looks like a binary file (NUL byte at offset {nul}), not UTF-8 text; "
            f"give a {p.suffix} text file, or a .parquet file for binary tables"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{p}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
        ) from None
    if not text.strip():
        raise DataError(f"{p}: file has only whitespace; it needs at least one example")
    return text


def _json_records(
    p: Path, *, shown: str, fields: _Fields
) -> Iterator[tuple[int, dict[str, Any] | str]]:
    text = _read_text(p)
    if text.lstrip().startswith("["):
        yield from _json_array_records(text, shown=shown)
        return
    # split("\n"), not splitlines(): splitlines also breaks on \x0c, \u2028 ... and the line
    # numbers would no longer match an editor's.
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield number, _parse_json_line(line)


def _json_array_records(text: str, *, shown: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """Elements of a top-level JSON array, each with the line it starts on."""
    decoder = json.JSONDecoder()

    def skip_space(pos: int) -> int:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        return pos

    def fail(pos: int, what: str) -> DataError:
        line = text.count("\n", 0, pos) + 1
        return DataError(
            f"{shown}:{line}: {what}; fix the file, or write it as JSON Lines (.jsonl), where a "
            "bad line only drops that row"
        )

    pos = skip_space(text.index("[") + 1)
    if text.startswith("]", pos):
        return
    while True:
        start = pos
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            # Inside one array a syntax error leaves no safe point to resume from.
            raise fail(exc.pos, f"invalid JSON ({exc.msg}, column {exc.colno})") from None
        yield (
            text.count("\n", 0, start) + 1,
            value if isinstance(value, dict) else _not_object(value),
        )
        pos = skip_space(pos)
        if text.startswith("]", pos):
            if text[pos + 1 :].strip():
                raise fail(pos + 1, "unexpected content after the closing ']'")
            return
        if not text.startswith(",", pos):
            raise fail(pos, "expected ',' or ']' between array elements")
        pos = skip_space(pos + 1)


def _parse_json_line(line: str) -> dict[str, Any] | str:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"invalid JSON ({exc.msg}, column {exc.colno})"
    return value if isinstance(value, dict) else _not_object(value)


def _not_object(value: Any) -> str:
    return f"not a JSON object (got {_type_name(value)})"


def _csv_records(
    p: Path, *, shown: str, fields: _Fields
) -> Iterator[tuple[int, dict[str, Any] | str]]:
    text = _read_text(p)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise DataError(f"{shown}:1: cannot read the CSV header ({exc}); fix the file") from None
    header = [h.strip() for h in header]
    _check_columns(header, shown=shown, fields=fields, where="CSV header")
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
            # Short rows leave trailing fields absent, reported as missing by _normalize.
            yield line, dict(zip(header, cells, strict=False))


def _parquet_records(
    p: Path, *, shown: str, fields: _Fields
) -> Iterator[tuple[int, dict[str, Any] | str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(p)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(
            f"{shown}: not a readable Parquet file ({exc}); re-export it as Parquet"
        ) from None
    _check_columns(table.column_names, shown=shown, fields=fields, where="Parquet schema")
    yield from enumerate(table.to_pylist(), start=1)


def _check_columns(columns: Sequence[str], *, shown: str, fields: _Fields, where: str) -> None:
    # A column missing from the header would make every row bad; say so once, with the fix.
    missing = [f for f in fields.required if f not in columns]
    if missing:
        names = ", ".join(repr(m) for m in missing)
        raise DataError(
            f"{shown}: {where} has no column {names} (columns: {', '.join(columns)}); "
            f"{_field_hint(fields)}"
        )


def _normalize(record: Mapping[str, Any], fields: _Fields) -> dict[str, str] | str:
    """The row with normalized columns, or the reason it is rejected."""
    row = _fields_of(record, fields)
    if isinstance(row, str):
        return row
    size = sum(len(row[k]) for k in ("text", "instruction", "input", "response") if k in row)
    if size > fields.max_row_chars:
        return (
            f"row holds {size:,} characters of text, over the limit of {fields.max_row_chars:,} "
            "(data.max_row_chars); split the document into several rows or raise the limit"
        )
    return row


def _fields_of(record: Mapping[str, Any], fields: _Fields) -> dict[str, str] | str:
    if fields.task == "classification":
        text = _text(record, fields.text)
        if not isinstance(text, tuple):
            return text
        label = _label(record, fields.label, fields.labels)
        if not isinstance(label, tuple):
            return label
        return {"text": text[0], "label": label[0]}

    instruction = _text(record, fields.instruction)
    if not isinstance(instruction, tuple):
        return instruction
    response = _text(record, fields.response)
    if not isinstance(response, tuple):
        return response
    value = record.get(fields.input)
    if value is not None and not isinstance(value, str):
        return f"field '{fields.input}' must be a string, got {_type_name(value)}"
    return {"instruction": instruction[0], "input": value or "", "response": response[0]}


def _text(record: Mapping[str, Any], name: str) -> tuple[str] | str:
    if name not in record or record[name] is None:
        return f"field '{name}' missing"
    value = record[name]
    if not isinstance(value, str):
        return f"field '{name}' must be a string, got {_type_name(value)}"
    if not value.strip():
        return f"field '{name}' is empty"
    return (value,)


def _label(
    record: Mapping[str, Any], name: str, allowed: frozenset[str] | None
) -> tuple[str] | str:
    if name not in record or record[name] is None:
        return f"field '{name}' missing"
    value = record[name]
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 3.0 from a float column (e.g. Parquet with nulls) is class 3
    if isinstance(value, bool) or not isinstance(value, int | str):
        return f"field '{name}' must be a string or an integer, got {_type_name(value)}"
    label = str(value).strip()
    if not label:
        return f"field '{name}' is empty"
    if allowed is not None and label not in allowed:
        quoted = label if len(label) <= _MAX_QUOTED_LABEL else label[:_MAX_QUOTED_LABEL] + "..."
        return (
            f"label {quoted!r} is not one of the configured labels ({', '.join(sorted(allowed))})"
        )
    return (label,)


def _type_name(value: Any) -> str:
    return {
        bool: "boolean",
        int: "number",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
    }.get(type(value), type(value).__name__)

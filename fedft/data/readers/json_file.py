"""JSON Lines (one object per line) and JSON arrays, each record with the line it starts on.

Parsed here rather than through `datasets`, which stops at the first malformed JSON line and
has no line numbers: in JSON Lines a bad line only drops that row.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fedft.data.readers.text import read_text
from fedft.data.rows import DataError, Fields, type_name

__all__ = ["json_records"]


def json_records(
    p: Path, *, shown: str, fields: Fields
) -> Iterator[tuple[int, int | None, dict[str, Any] | str]]:
    """(line, element, record): element is the 1-based index in a JSON array (one line can
    hold many elements), None for JSON Lines."""
    text = read_text(p)
    if text.lstrip().startswith("["):
        yield from _json_array_records(text, shown=shown)
        return
    # split("\n"), not splitlines(): splitlines also breaks on \x0c, \u2028 ... and the line
    # numbers would no longer match an editor's.
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield number, None, _parse_json_line(line)


def _json_array_records(
    text: str, *, shown: str
) -> Iterator[tuple[int, int | None, dict[str, Any] | str]]:
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
    for element in itertools.count(1):
        start = pos
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            # Inside one array a syntax error leaves no safe point to resume from.
            raise fail(exc.pos, f"invalid JSON ({exc.msg}, column {exc.colno})") from None
        yield (
            text.count("\n", 0, start) + 1,
            element,
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
    return f"not a JSON object (got {type_name(value)})"

"""What makes a row of a site's file valid: the configured field names per task, the checks
each row passes, and the reasons a bad row gets (never quoting its text, only field names,
types and shortened labels: bad-row reports end up in logs and run folders)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["DataError", "Fields", "Task", "check_columns", "field_hint", "normalize", "type_name"]

Task = Literal["classification", "instruction"]

# Labels are quoted in reasons so a typo can be found, but cut short: a mis-set label_field
# could otherwise copy note text into a log.
_MAX_QUOTED_LABEL = 40


class DataError(ValueError):
    """A data file that cannot be used as it is; the message names the file and the fix."""


@dataclass(frozen=True)
class Fields:
    """The file's field names for the task, the closed label set (if any), the row size limit."""

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


def field_hint(fields: Fields) -> str:
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


def check_columns(columns: Sequence[str], *, shown: str, fields: Fields, where: str) -> None:
    # A column missing from the header would make every row bad; say so once, with the fix.
    missing = [f for f in fields.required if f not in columns]
    if missing:
        names = ", ".join(repr(m) for m in missing)
        raise DataError(
            f"{shown}: {where} has no column {names} (columns: {', '.join(columns)}); "
            f"{field_hint(fields)}"
        )


def normalize(record: Mapping[str, Any], fields: Fields) -> dict[str, str] | str:
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


def _fields_of(record: Mapping[str, Any], fields: Fields) -> dict[str, str] | str:
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
        return f"field '{fields.input}' must be a string, got {type_name(value)}"
    if value and (problem := _bytes_problem(value, fields.input)):
        return problem
    return {"instruction": instruction[0], "input": value or "", "response": response[0]}


def _text(record: Mapping[str, Any], name: str) -> tuple[str] | str:
    if name not in record or record[name] is None:
        return f"field '{name}' missing"
    value = record[name]
    if not isinstance(value, str):
        return f"field '{name}' must be a string, got {type_name(value)}"
    if not value.strip():
        return f"field '{name}' is empty"
    return _bytes_problem(value, name) or _invisible_problem(value, name) or (value,)


# Characters nobody sees: zero-width spaces and joiners, bidi controls, soft hyphens (Cf),
# control characters (Cc) and separators. Text made only of them trains on nothing visible.
_INVISIBLE = frozenset({"Cf", "Cc", "Zs", "Zl", "Zp"})


def _invisible_problem(value: str, name: str) -> str | None:
    if value.isascii() or any(unicodedata.category(ch) not in _INVISIBLE for ch in value):
        return None
    return f"field '{name}' has no visible characters (only spaces and invisible characters)"


def _bytes_problem(value: str, name: str) -> str | None:
    """A NUL byte or bytes that were not UTF-8 (marked by readers/text.py) in the field."""
    if "\x00" in value:
        return f"field '{name}' holds a NUL byte; remove it (is the file binary?)"
    if not value.isascii() and any("\udc80" <= ch <= "\udcff" for ch in value):
        return f"field '{name}' holds bytes that are not valid UTF-8; re-save the file as UTF-8"
    return None


def _label(
    record: Mapping[str, Any], name: str, allowed: frozenset[str] | None
) -> tuple[str] | str:
    if name not in record or record[name] is None:
        return f"field '{name}' missing"
    value = record[name]
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 3.0 from a float column (e.g. Parquet with nulls) is class 3
    if isinstance(value, bool) or not isinstance(value, int | str):
        return f"field '{name}' must be a string or an integer, got {type_name(value)}"
    label = str(value).strip()
    if not label:
        return f"field '{name}' is empty"
    if problem := _bytes_problem(label, name):
        return problem
    if any(unicodedata.category(ch) in ("Cf", "Cc") for ch in label):
        # A label becomes a class name in the model and reports; a bidi override (U+202E)
        # or a zero-width character makes two labels look alike or one read backwards.
        codes = sorted(
            {f"U+{ord(ch):04X}" for ch in label if unicodedata.category(ch) in ("Cf", "Cc")}
        )
        return (
            f"field '{name}' holds invisible or bidi control characters ({', '.join(codes)}); "
            "remove them from the label"
        )
    if allowed is not None and label not in allowed:
        quoted = label if len(label) <= _MAX_QUOTED_LABEL else label[:_MAX_QUOTED_LABEL] + "..."
        return (
            f"label {quoted!r} is not one of the configured labels ({', '.join(sorted(allowed))})"
        )
    return (label,)


def type_name(value: Any) -> str:
    return {
        bool: "boolean",
        int: "number",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
    }.get(type(value), type(value).__name__)

"""A data file as text: UTF-8 (a BOM is allowed), never a binary file read as text.

One bad row must not cost the whole file: a NUL byte or bytes that are not UTF-8 stay in the
text as marks that `rows.py` reports for the row holding them (file:line, then skipped under
`data.bad_rows: skip`). Only a file where most lines carry such bytes is refused as binary.
"""

from __future__ import annotations

from pathlib import Path

from fedft.data.rows import DataError

__all__ = ["read_text"]


def read_text(p: Path) -> str:
    """The file as text. Bytes that are not UTF-8 become lone surrogates (U+DC80-U+DCFF, the
    `surrogateescape` marks, which valid UTF-8 never produces); NUL bytes stay NUL."""
    raw = p.read_bytes()
    text = raw.decode("utf-8-sig", errors="surrogateescape")
    if not text.strip():
        raise DataError(f"{p}: file has only whitespace; it needs at least one example")
    if "\x00" in text or not raw.isascii():
        lines = [line for line in text.split("\n") if line.strip()]
        broken = [i for i, line in enumerate(lines) if "\x00" in line or _has_bad_bytes(line)]
        if len(broken) * 2 > len(lines) and "\x00" in text:
            raise DataError(
                f"{p}: looks like a binary file ({len(broken)} of {len(lines)} lines hold NUL "
                f"bytes or bytes that are not UTF-8); give a {p.suffix} text file saved as "
                "UTF-8, or a .parquet file for binary tables"
            )
        if len(broken) * 2 > len(lines):  # a whole file in another encoding (latin-1...)
            _refuse_encoding(p, raw)
    return text


def _refuse_encoding(p: Path, raw: bytes) -> None:
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{p}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}), "
            "nor most other lines; re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
        ) from None


def _has_bad_bytes(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)

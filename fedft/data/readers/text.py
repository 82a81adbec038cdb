"""A data file as text: UTF-8 (a BOM is allowed), never a binary file read as text."""

from __future__ import annotations

from pathlib import Path

from fedft.data.rows import DataError

__all__ = ["read_text"]


def read_text(p: Path) -> str:
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

"""Parquet files, each record with its 1-based row number."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fedft.data.rows import DataError, Fields, check_columns

__all__ = ["parquet_records"]


def parquet_records(
    p: Path, *, shown: str, fields: Fields
) -> Iterator[tuple[int, int | None, dict[str, Any] | str]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(p)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(
            f"{shown}: not a readable Parquet file ({exc}); re-export it as Parquet"
        ) from None
    check_columns(table.column_names, shown=shown, fields=fields, where="Parquet schema")
    for number, record in enumerate(table.to_pylist(), start=1):
        yield number, None, record

"""What every config section and config file shares: strict sections, the one YAML loader
fedft reads any YAML with (configs, policies, run folders), and the capped error list."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

__all__ = ["StrictModel", "YamlError", "cap_errors", "load_yaml", "read_yaml"]


class StrictModel(BaseModel):
    # A misspelled key in a privacy tool must never pass silently (e.g. `noise_multipler`).
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


# A fedft config or policy is a few KB; a deny list of thousands of terms stays far below this.
MAX_YAML_BYTES = 4 * 1024 * 1024
# Values in the document once aliases are expanded. An alias "bomb" (each level repeating the
# one below nine times) is a few hundred bytes that expands to 9**9 values: validation walks
# every one of them (measured: 180 s and 2.6 GB before being killed).
MAX_YAML_VALUES = 200_000
# Problems listed before "... and N more": a generated config can have thousands.
MAX_ERRORS = 50


class YamlError(ValueError):
    """A YAML document fedft refuses, in one line: 'line L, column C: problem'."""


def _where(mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, with duplicate keys as errors (YAML says keys are unique; PyYAML
    keeps the last one, so `dp:` written twice would silently drop the first)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` may override
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark.line + 1)
                except TypeError:  # unhashable key: SafeLoader reports it below
                    continue
                if first != key_node.start_mark.line + 1:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line {first})",
                        key_node.start_mark,
                    )  # fmt: skip
        return super().construct_mapping(node, deep=deep)


def _expanded_size(root) -> int:
    """Values in the node graph once aliases are expanded; raises YamlError past the bound.
    Aliases share nodes, so each node's size is computed once (linear in the document)."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise YamlError(f"{_where(node.start_mark)}an alias refers to itself (recursive)")
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        active.discard(key)
        if total > MAX_YAML_VALUES:
            raise YamlError(
                f"{_where(node.start_mark)}aliases expand to over {MAX_YAML_VALUES:,} values "
                "(an alias bomb?); write the values out or use fewer aliases"
            )
        sizes[key] = total
        return total

    size(root)
    return sizes[id(root)]


def load_yaml(text: str) -> Any:
    """One YAML document, safely: no Python objects, at most MAX_YAML_BYTES, aliases expanding
    to at most MAX_YAML_VALUES values, no duplicate keys. Raises YamlError naming the line."""
    if len(text) > MAX_YAML_BYTES:
        raise YamlError(f"document is {len(text):,} characters, over {MAX_YAML_BYTES:,}")
    loader = None
    try:
        loader = _Loader(text)  # the reader refuses control characters (NUL...) right here
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node)
        return loader.construct_document(node)
    except RecursionError:
        raise YamlError("nested too deeply") from None
    except yaml.YAMLError as exc:
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise YamlError(f"{_where(getattr(exc, 'problem_mark', None))}{problem}") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml(path: Path) -> Any:
    """`load_yaml` of a UTF-8 file. Raises YamlError (too big, not UTF-8, invalid) and
    OSError (missing, unreadable)."""
    if path.stat().st_size > MAX_YAML_BYTES:
        raise YamlError(f"file is {path.stat().st_size:,} bytes, over {MAX_YAML_BYTES:,}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise YamlError(f"line {line}: not UTF-8 text; save the file as UTF-8") from None
    return load_yaml(text)


def cap_errors(errors: Sequence[str], *, limit: int = MAX_ERRORS) -> list[str]:
    """The first `limit` problems, then one line saying how many more there are."""
    if len(errors) <= limit:
        return list(errors)
    return [*errors[:limit], f"... and {len(errors) - limit} more"]

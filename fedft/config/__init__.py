"""Load, override and validate a fedft config, reporting every problem at once.

Paths written in a YAML file are relative to that file; paths given with `--set` are
relative to the current directory (where the user typed them).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from fedft.config.base import YamlError, cap_errors, load_yaml, read_yaml
from fedft.config.schema import Config, config_warnings, cross_section_errors

__all__ = ["Config", "ConfigError", "load_config", "parse_override", "config_to_yaml"]

log = logging.getLogger(__name__)

# Keys holding file paths that are resolved against the YAML file's folder.
_PATH_KEYS = (("data", "train"), ("data", "eval"), ("ledger", "signing_key"))


class ConfigError(ValueError):
    """Every problem of a config, one line each, naming the key path."""

    def __init__(self, source: str, errors: Sequence[str]):
        self.source = source
        self.errors = list(errors)
        lines = "\n".join(f"  - {e}" for e in cap_errors(self.errors))
        super().__init__(f"{source}: {len(self.errors)} problem(s)\n{lines}")


def parse_override(text: str) -> tuple[list[str], Any]:
    """`a.b.c=value` -> (["a","b","c"], value parsed as a YAML scalar or flow list)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip() or any(not part for part in key.strip().split(".")):
        raise ConfigError("--set", [f"{text!r}: expected key.path=value, e.g. federation.rounds=3"])
    try:
        value = load_yaml(raw) if raw.strip() else None
    except YamlError as exc:
        raise ConfigError("--set", [f"{key}: cannot parse value {raw!r}: {exc}"]) from None
    return key.strip().split("."), value


def _set_path(tree: dict[str, Any], path: list[str], value: Any, *, source: str) -> None:
    node = tree
    for i, part in enumerate(path[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            prefix = ".".join(path[: i + 1])
            raise ConfigError(source, [f"{prefix}: is a value, cannot set {'.'.join(path)}"])
        node = child
    node[path[-1]] = value


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(str(path), ["file not found; give the path of a fedft YAML config"])
    try:
        raw = read_yaml(path)
    except YamlError as exc:
        raise ConfigError(str(path), [f"invalid YAML: {exc}"]) from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        kind = type(raw).__name__
        raise ConfigError(str(path), [f"top level must be a mapping of sections, got {kind}"])
    return raw


def _resolve_relative_paths(tree: dict[str, Any], base: Path) -> None:
    for section, key in _PATH_KEYS:
        node = tree.get(section)
        if isinstance(node, dict) and isinstance(node.get(key), str):
            candidate = Path(node[key]).expanduser()
            if not candidate.is_absolute():
                node[key] = str((base / candidate).resolve())


def _shown_key(part: object) -> str:
    """A key as typed, or quoted when it holds blanks or control characters (one line per error)."""
    text = str(part)
    return text if text and text.isprintable() and text.strip() == text else repr(text)


def _format_pydantic(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = ".".join(_shown_key(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{loc}: unknown key (check the spelling; see configs/default.yaml)")
            continue
        given = err.get("input")
        shown = "" if isinstance(given, dict) else f" (got {given!r})"
        lines.append(f"{loc}: {err['msg']}{shown}")
    return lines


def load_config(
    path: str | Path | None = None,
    overrides: Sequence[str] = (),
    *,
    extra: Mapping[str, Any] | None = None,
) -> Config:
    """Read `path` (or start from the defaults), apply `key=value` overrides, validate.

    Raises ConfigError listing every problem with its key path.
    """
    source = str(path) if path is not None else "defaults"
    tree: dict[str, Any] = {}
    if path is not None:
        tree = _read_yaml(Path(path))
        _resolve_relative_paths(tree, Path(path).resolve().parent)
    tree = copy.deepcopy(tree)
    for key_path, value in (extra or {}).items():
        _set_path(tree, key_path.split("."), value, source=source)
    for text in overrides:
        keys, value = parse_override(text)
        _set_path(tree, keys, value, source="--set")
        if tuple(keys) in _PATH_KEYS and isinstance(value, str):
            _set_path(tree, keys, str(Path(value).expanduser().resolve()), source="--set")
    try:
        cfg = Config.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(source, _format_pydantic(exc)) from None
    errors = cross_section_errors(cfg)
    if errors:
        raise ConfigError(source, errors)
    for warning in config_warnings(cfg):
        # Without a handler configured (fedft validate), Python prints warnings to stderr.
        log.warning("%s: warning: %s", source, warning)
    return cfg


def config_to_yaml(cfg: Config) -> str:
    """The resolved config (every default spelled out), as written to a run folder."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)

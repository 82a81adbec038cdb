"""Anonymized-corpus cache: a site anonymizes a corpus once, later rounds read the result.

The key is a sha256 over everything that decides the output: the texts, the policy hash, the
spaCy model and version, Presidio's versions, a digest of fedft's anonymization code and data
files (a changed recognizer misses every old entry) and (when pseudonyms are used) a keyed
fingerprint of the site secret. Entries are JSON files in a folder the caller chooses; that
folder holds anonymized text and stays on the machine that anonymized it (like the data it
came from): a site's own state folder, or for a simulation the machine's cache folder
(`run.anonymization_cache`), so that the next run on the same data skips anonymization.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from fedft.run.rundir import atomic_write_text

__all__ = ["CACHE_FORMAT", "corpus_key", "machine_cache_dir", "read_entry", "write_entry"]

log = logging.getLogger(__name__)

# Bump when the entry's layout changes. Changes to detection or replacement need no bump:
# the key holds a digest of the code (`_code_digest`).
CACHE_FORMAT = "fedft-anon-4"
_ENGINE_PACKAGES = ("presidio-analyzer", "presidio-anonymizer", "spacy")


@functools.cache
def _code_digest() -> str:
    """sha256 over fedft.anonymize's files (code, word lists, recognizer data) and the versions
    of the engines it drives: what decides the output besides the texts, policy and model."""
    root = Path(__file__).parent
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".pyc"):
        h.update(path.relative_to(root).as_posix().encode() + b"\x00")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    for package in _ENGINE_PACKAGES:
        try:
            h.update(f"{package}=={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{package}==none".encode())
    return h.hexdigest()


def machine_cache_dir(setting: str | Path) -> Path | None:
    """Where a simulation keeps anonymized corpora across runs (`run.anonymization_cache`):
    "off" = nowhere (each run anonymizes into its own folder); "auto" = `$FEDFT_CACHE_DIR`,
    else `$XDG_CACHE_HOME/fedft`, else `~/.cache/fedft`, then `anonymization/`; a path = there."""
    if setting == "off":
        return None
    if setting != "auto":
        return Path(setting).expanduser()
    root = os.environ.get("FEDFT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "fedft"
    )
    return Path(root).expanduser() / "anonymization"


def corpus_key(
    *, texts: Sequence[str], policy_hash: str, model: str, secret_fingerprint: str | None
) -> str:
    """Hex sha256 identifying one anonymization of `texts` under one policy and engine."""
    h = hashlib.sha256()
    for part in (CACHE_FORMAT, _code_digest(), policy_hash, model, secret_fingerprint or "-"):
        h.update(part.encode())
        h.update(b"\x00")
    h.update(str(len(texts)).encode())
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "big"))  # length prefix: no ambiguity between rows
        h.update(data)
    return h.hexdigest()


def _path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"{key}.json"


def read_entry(cache_dir: Path, key: str) -> dict[str, Any] | None:
    """The stored entry, or None if absent or unreadable (a broken entry is a miss)."""
    path = _path(cache_dir, key)
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        log.warning("anonymization cache entry %s unreadable; recomputing", path.name)
        return None
    if entry.get("format") != CACHE_FORMAT or entry.get("key") != key:
        return None
    return entry


def write_entry(cache_dir: Path, key: str, entry: dict[str, Any]) -> Path:
    """Store atomically (write, then rename), owner-readable only: the entry holds anonymized
    text, and a folder fedft creates for it is the owner's alone (0700) before any is written."""
    cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    payload = json.dumps({**entry, "format": CACHE_FORMAT, "key": key}, ensure_ascii=False)
    path = _path(cache_dir, key)
    atomic_write_text(path, payload, mode=0o600)
    return path

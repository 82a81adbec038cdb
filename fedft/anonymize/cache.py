"""Anonymized-corpus cache: a site anonymizes a corpus once, later rounds read the result.

The key is a sha256 over everything that decides the output: the texts, the policy hash, the
spaCy model and version, fedft's anonymizer version and (when pseudonyms are used) a keyed
fingerprint of the site secret. Entries are JSON files in a folder the caller chooses; that
folder holds anonymized text and stays at the site (like the data it came from).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fedft.run.rundir import atomic_write_text

__all__ = ["CACHE_FORMAT", "corpus_key", "read_entry", "write_entry"]

log = logging.getLogger(__name__)

# Bump when detection or replacement logic changes: old entries then miss instead of serving
# text anonymized by older rules.
CACHE_FORMAT = "fedft-anon-3"


def corpus_key(
    *, texts: Sequence[str], policy_hash: str, model: str, secret_fingerprint: str | None
) -> str:
    """Hex sha256 identifying one anonymization of `texts` under one policy and engine."""
    h = hashlib.sha256()
    for part in (CACHE_FORMAT, policy_hash, model, secret_fingerprint or "-"):
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

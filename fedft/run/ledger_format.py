"""The privacy ledger's byte form and keys, shared by the writer (`ledger`) and the verifier
(`ledger_verify`): file names, canonical JSON, what is hashed and what is signed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

LEDGER_NAME = "privacy-ledger.jsonl"
GENESIS_HASH = "0" * 64
ENTRY_CONTEXT = b"fedft-ledger-entry/1\n"
HEAD_CONTEXT = b"fedft-ledger-head/1\n"
HEAD_FORMAT = "fedft-ledger-head/1"


@dataclass(frozen=True)
class LedgerPaths:
    ledger: Path
    head: Path
    public_key: Path
    private_key: Path


def ledger_paths(run_dir: Path) -> LedgerPaths:
    root = Path(run_dir)
    return LedgerPaths(
        ledger=root / LEDGER_NAME,
        head=root / "privacy-ledger.head.json",
        public_key=root / "privacy-ledger.pub",
        private_key=root / "keys" / "privacy-ledger.key",
    )


def canonical_json(obj: Any) -> str:
    """The one byte form entries are hashed, signed and stored in."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


def entry_hash(entry: Mapping[str, Any]) -> str:
    unsigned = {k: v for k, v in entry.items() if k != "signature"}
    return hashlib.sha256(canonical_json(unsigned).encode()).hexdigest()


def head_message(count: int, head_hash: str) -> bytes:
    return HEAD_CONTEXT + f"{count}\n{head_hash}".encode()


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_fingerprint(key: Ed25519PublicKey) -> str:
    """sha256 of the raw 32-byte public key, hex: what a coordinator publishes."""
    return hashlib.sha256(public_bytes(key)).hexdigest()


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 public key")
    return key

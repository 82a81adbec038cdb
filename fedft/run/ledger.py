"""The privacy ledger: an append-only, hash-chained, Ed25519-signed record of a run.

Files in the run folder:

  privacy-ledger.jsonl       one entry per line, canonical JSON (sorted keys, no spaces)
  privacy-ledger.head.json   the signed head: number of entries and hash of the last one
  privacy-ledger.pub         the server's Ed25519 public key (PEM)
  keys/privacy-ledger.key    its private key (PEM, mode 0600), unless one is given

Entry i holds `index` = i, `prev_hash` = hash of entry i-1 (64 zeros for the first), and a
signature over its own hash (sha256 of its canonical bytes without the signature). Hence an
edited byte breaks the entry's signature, a deleted, inserted or swapped line breaks the
index sequence and the chain. Per-entry signatures alone cannot reveal dropped *trailing*
entries, so after every append the server also signs the head — (count, last hash) — and a
verifier compares it with the file. Truncating both the file and the head to an earlier
state needs an earlier copy of the signed head; the `run_end` entry and the head hash
published at the end of a run (see docs/compliance-guide.md) close that gap. Anyone who can
write the run folder *and* read the private key can re-sign a forged ledger: for audits, give
the server a key kept outside the run folder and publish its fingerprint; `verify_ledger`
then checks against that trusted key instead of the one beside the ledger.

This module writes; `ledger_verify` checks and reads; `ledger_format` holds the byte form
and key handling both share.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fedft.run.ledger_format import (
    ENTRY_CONTEXT,
    GENESIS_HASH,
    HEAD_FORMAT,
    LedgerPaths,
    canonical_json,
    entry_hash,
    head_message,
    key_fingerprint,
    ledger_paths,
    load_public_key,
    public_bytes,
)
from fedft.run.ledger_verify import verify_ledger
from fedft.run.rundir import atomic_write_text

log = logging.getLogger(__name__)

__all__ = [
    "DP_FIELDS",
    "SITE_DP_FIELDS",
    "LedgerError",
    "PrivacyLedger",
    "SiteRound",
    "append_entry",
    "ledger_paths",
]

EntryKind = Literal["run_start", "resume", "round", "run_end"]
ENTRY_KINDS = ("run_start", "resume", "round", "run_end")
SiteStatus = Literal["trained", "declined", "failed"]

# What a site's DP entry must state: the ledger's format, and exactly the fields of
# fedft.dp.plan.RoundAccount, which the coordinator records (run/ may not import dp/, so the
# names are spelled here; tests/run/test_ledger.py fails if the two ever differ).
DP_FIELDS = (
    "noise_multiplier",
    "sample_rate",
    "steps",
    "delta",
    "max_grad_norm",
    "accountant",
    "epsilon_round",
    "epsilon_total",
    "group_size",
)
# What the server's site-level DP mechanism must state in a round entry (fedft.privacy.
# site_level.SiteLevelPlan.ledger_entry adds rounds, ε of one round, m, N and the noise std).
SITE_DP_FIELDS = (
    "noise_multiplier",
    "clipping_norm",
    "sample_rate",
    "delta",
    "accountant",
    "epsilon_total",
)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class LedgerError(RuntimeError):
    """A ledger that cannot be created or extended (never raised by verification)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise LedgerError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise LedgerError(f"{path}: not an Ed25519 private key; the ledger signs with Ed25519")
    return key


def _write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # O_EXCL: never overwrite a key; 0600 from creation, not chmod after (no readable window).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


@dataclass(frozen=True)
class SiteRound:
    """One site's part of a round entry."""

    site: str  # the site id it declared (node config `site-id`), else "node-<id>"
    status: SiteStatus
    dp: Mapping[str, Any] | None = None  # DP_FIELDS, when sample-level DP is on
    reason: str | None = None  # why a site declined or failed
    num_examples: int | None = None
    anonymization: Mapping[str, Any] | None = None  # run.site_record.anonymization_record
    node: str | None = None  # Flower's node id ("node-<id>"), when known

    def to_dict(self) -> dict[str, Any]:
        if self.status not in ("trained", "declined", "failed"):
            raise ValueError(
                f"site {self.site}: status {self.status!r} is not trained/declined/failed"
            )
        if self.dp is not None:
            missing = [f for f in DP_FIELDS if f not in self.dp]
            if missing:
                raise ValueError(f"site {self.site}: dp lacks {', '.join(missing)}")
        return {
            "site": self.site,
            "node": self.node,
            "status": self.status,
            "reason": self.reason,
            "num_examples": self.num_examples,
            "dp": None if self.dp is None else {f: self.dp[f] for f in DP_FIELDS},
            "anonymization": None if self.anonymization is None else dict(self.anonymization),
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _check_finite(obj: Any, where: str = "body") -> None:
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError(f"{where} is {obj}; the ledger holds finite numbers only (use null)")
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            _check_finite(v, f"{where}.{k}")
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            _check_finite(v, f"{where}[{i}]")


class PrivacyLedger:
    """The server's handle for appending; state is the run folder's files plus the key."""

    def __init__(self, paths: LedgerPaths, key: Ed25519PrivateKey, count: int, head_hash: str):
        self.paths = paths
        self._key = key
        self.count = count
        self.head_hash = head_hash

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self._key.public_key())

    @classmethod
    def open(cls, run_dir: Path, *, private_key_path: Path | None = None) -> PrivacyLedger:
        """Create the run's ledger (and a key, unless `private_key_path` is given), or continue
        an existing one after verifying it with its own key. A damaged ledger is never extended.
        """
        paths = ledger_paths(run_dir)
        if private_key_path is not None:
            key = _load_private_key(Path(private_key_path))
        elif paths.private_key.is_file():
            key = _load_private_key(paths.private_key)
        else:
            key = Ed25519PrivateKey.generate()
            _write_private_key(paths.private_key, key)
        public = key.public_key()
        if paths.public_key.is_file():
            if public_bytes(load_public_key(paths.public_key)) != public_bytes(public):
                raise LedgerError(
                    f"{paths.public_key} holds another key than the signing key; this run's "
                    "ledger was signed by a different server key"
                )
        else:
            pem = public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            atomic_write_text(paths.public_key, pem.decode("ascii"))
        if not paths.ledger.exists():
            paths.ledger.touch()
            ledger = cls(paths, key, 0, GENESIS_HASH)
            ledger._write_head()
            log.info("privacy ledger %s, key fingerprint %s", paths.ledger, ledger.fingerprint)
            return ledger
        result = verify_ledger(Path(run_dir))
        if not result.ok:
            raise LedgerError(
                f"{paths.ledger} failed verification and will not be extended: "
                + "; ".join(result.problems[:3])
            )
        return cls(paths, key, result.entries, result.head_hash)

    def append(self, kind: EntryKind, body: Mapping[str, Any]) -> dict[str, Any]:
        """Append one signed entry and re-sign the head; returns the entry as written."""
        if kind not in ENTRY_KINDS:
            raise ValueError(f"kind {kind!r} is not one of {', '.join(ENTRY_KINDS)}")
        _check_finite(body)
        entry: dict[str, Any] = {
            "v": 1,
            "index": self.count,
            "prev_hash": self.head_hash,
            "time": _now(),
            "kind": kind,
            "body": json.loads(canonical_json(body)),  # a deep, JSON-only copy
        }
        digest = entry_hash(entry)
        entry["signature"] = _b64(self._key.sign(ENTRY_CONTEXT + digest.encode()))
        with self.paths.ledger.open("a", encoding="ascii") as fh:
            fh.write(canonical_json(entry) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.count += 1
        self.head_hash = digest
        self._write_head()
        return entry

    def append_round(
        self,
        *,
        server_round: int,
        global_adapter_sha256: str,
        sites: Sequence[SiteRound],
        secure_aggregation: Mapping[str, Any] | None,
        site_dp: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The entry of one server round: every sampled site's part, SecAgg+ settings
        (`enabled`, `num_shares`, `reconstruction_threshold`), the server mechanism of
        site-level DP (SITE_DP_FIELDS, ε over all rounds so far; or None) and the sha256 of
        the resulting global adapter."""
        if not _SHA256.match(global_adapter_sha256):
            raise ValueError(
                f"global_adapter_sha256 {global_adapter_sha256!r} is not a lowercase hex sha256"
            )
        if site_dp is not None:
            missing = [f for f in SITE_DP_FIELDS if f not in site_dp]
            if missing:
                raise ValueError(f"site_dp lacks {', '.join(missing)}")
        body = {
            "round": int(server_round),
            "global_adapter_sha256": global_adapter_sha256,
            "secure_aggregation": None if secure_aggregation is None else dict(secure_aggregation),
            "site_dp": None if site_dp is None else dict(site_dp),
            "sites": [s.to_dict() for s in sorted(sites, key=lambda s: s.site)],
        }
        return self.append("round", body)

    def _write_head(self) -> None:
        signature = self._key.sign(head_message(self.count, self.head_hash))
        head = {
            "format": HEAD_FORMAT,
            "entries": self.count,
            "head_hash": self.head_hash,
            "signature": _b64(signature),
        }
        atomic_write_text(self.paths.head, canonical_json(head) + "\n")


def append_entry(
    run_dir: Path,
    kind: EntryKind,
    body: Mapping[str, Any],
    *,
    private_key_path: Path | None = None,
) -> dict[str, Any]:
    """Open (or create) the run's ledger and append one entry. See `PrivacyLedger`."""
    return PrivacyLedger.open(run_dir, private_key_path=private_key_path).append(kind, body)

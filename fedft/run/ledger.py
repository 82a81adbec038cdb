"""The privacy ledger: an append-only, hash-chained, Ed25519-signed record of a run.

Files in the run folder:

  privacy-ledger.jsonl       one entry per line, canonical JSON (sorted keys, no spaces)
  privacy-ledger.head.json   the signed head: number of entries and hash of the last one
  privacy-ledger.pub         the server's Ed25519 public key (PEM)
  keys/privacy-ledger.key    a per-run private key (PEM, 0600), only when no provisioned
                             key (`ledger.signing_key`, made by `fedft ledger keygen`) is given

Entry i holds `index` = i, `prev_hash` = hash of entry i-1 (64 zeros for the first), and a
signature over its own hash (sha256 of its canonical bytes without the signature). Hence an
edited byte breaks the entry's signature, a deleted, inserted or swapped line breaks the
index sequence and the chain. Per-entry signatures alone cannot reveal dropped *trailing*
entries, so after every append the server also signs the head — (count, last hash) — and a
verifier compares it with the file. Truncating both the file and the head to an earlier
state needs an earlier copy of the signed head; the `run_end` entry and the head hash
published at the end of a run (see docs/compliance-guide.md) close that gap. Anyone who can
write the run folder *and* read the private key can re-sign a forged ledger: for audits, give
the server a key kept outside the run folder (`ledger.signing_key`) and publish its
fingerprint; `verify_ledger` then checks against that fingerprint instead of trusting the key
beside the ledger. Each site also signs its own part of every round (`site_signature`), so
even the coordinator cannot rewrite a site's ε or counts unnoticed.

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

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fedft.run.keys import load_private_key, public_pem, write_private_key
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
    budget: Mapping[str, Any] | None = None  # run.site_record.budget_record
    site_signature: Mapping[str, str] | None = None  # run.site_signature.signed_part

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
            "budget": None if self.budget is None else dict(self.budget),
            "site_signature": None if self.site_signature is None else dict(self.site_signature),
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

    def __init__(
        self,
        paths: LedgerPaths,
        key: Ed25519PrivateKey,
        count: int,
        head_hash: str,
        *,
        provisioned: bool = False,
    ):
        self.paths = paths
        self._key = key
        self.count = count
        self.head_hash = head_hash
        # True: a key kept outside the run folder (`ledger.signing_key`); False: made for this
        # run and kept in it, so anyone who can write the folder can re-sign the ledger.
        self.provisioned = provisioned

    @property
    def custody(self) -> dict[str, Any]:
        """What run_start records about the key: its fingerprint and where it is kept."""
        return {
            "fingerprint": self.fingerprint,
            "custody": "provisioned" if self.provisioned else "per-run",
        }

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self._key.public_key())

    @classmethod
    def open(cls, run_dir: Path, *, private_key_path: Path | None = None) -> PrivacyLedger:
        """Create the run's ledger (and a per-run key in it, unless `private_key_path` — a
        provisioned key outside the run folder — is given), or continue an existing one after
        verifying it with its own key. A damaged ledger is never extended.
        """
        paths = ledger_paths(run_dir)
        if private_key_path is not None:
            given = Path(private_key_path).expanduser().resolve()
            if given.is_relative_to(Path(run_dir).resolve()):
                raise LedgerError(
                    f"ledger.signing_key {given} is inside the run folder; keep the coordinator's "
                    "key outside any run folder (e.g. where `fedft ledger keygen -o` wrote it)"
                )
            key = load_private_key(given, what="ledger.signing_key")
        elif paths.private_key.is_file():
            key = load_private_key(paths.private_key)
        else:
            key = Ed25519PrivateKey.generate()
            write_private_key(paths.private_key, key)
        public = key.public_key()
        if paths.public_key.is_file():
            if public_bytes(load_public_key(paths.public_key)) != public_bytes(public):
                raise LedgerError(
                    f"{paths.public_key} holds another key than the signing key; this run's "
                    "ledger was signed by a different server key"
                )
        else:
            atomic_write_text(paths.public_key, public_pem(key))
        provisioned = private_key_path is not None
        if not paths.ledger.exists():
            paths.ledger.touch()
            ledger = cls(paths, key, 0, GENESIS_HASH, provisioned=provisioned)
            ledger._write_head()
            log.info("privacy ledger %s, key fingerprint %s", paths.ledger, ledger.fingerprint)
            return ledger
        result = verify_ledger(Path(run_dir))
        if not result.ok:
            raise LedgerError(
                f"{paths.ledger} failed verification and will not be extended: "
                + "; ".join(result.problems[:3])
            )
        return cls(paths, key, result.entries, result.head_hash, provisioned=provisioned)

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

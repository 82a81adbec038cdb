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
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fedft.run.rundir import atomic_write_text

log = logging.getLogger(__name__)

__all__ = [
    "DP_FIELDS",
    "SITE_DP_FIELDS",
    "LEDGER_NAME",
    "LedgerError",
    "PrivacyLedger",
    "SiteRound",
    "VerificationResult",
    "append_entry",
    "canonical_json",
    "key_fingerprint",
    "ledger_paths",
    "read_ledger",
    "verify_ledger",
]

LEDGER_NAME = "privacy-ledger.jsonl"
GENESIS_HASH = "0" * 64
ENTRY_CONTEXT = b"fedft-ledger-entry/1\n"
HEAD_CONTEXT = b"fedft-ledger-head/1\n"
HEAD_FORMAT = "fedft-ledger-head/1"

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
_MAX_PROBLEMS = 50


class LedgerError(RuntimeError):
    """A ledger that cannot be created or extended (never raised by verification)."""


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


def _entry_hash(entry: Mapping[str, Any]) -> str:
    unsigned = {k: v for k, v in entry.items() if k != "signature"}
    return hashlib.sha256(canonical_json(unsigned).encode()).hexdigest()


def _head_message(count: int, head_hash: str) -> bytes:
    return HEAD_CONTEXT + f"{count}\n{head_hash}".encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_fingerprint(key: Ed25519PublicKey) -> str:
    """sha256 of the raw 32-byte public key, hex: what a coordinator publishes."""
    return hashlib.sha256(_public_bytes(key)).hexdigest()


def _load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 public key")
    return key


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
    anonymization: Mapping[str, Any] | None = None  # counts and policy_hash, when present
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
            if _public_bytes(_load_public_key(paths.public_key)) != _public_bytes(public):
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
        digest = _entry_hash(entry)
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
        signature = self._key.sign(_head_message(self.count, self.head_hash))
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


@dataclass(frozen=True)
class VerificationResult:
    ok: bool
    entries: int  # lines read from the ledger
    problems: list[str] = field(default_factory=list)
    head_hash: str = GENESIS_HASH  # hash of the last entry as read
    key_fingerprint: str | None = None  # of the key the ledger was checked against
    closed: bool = False  # last entry is `run_end`

    def summary(self) -> str:
        if self.ok:
            state = "closed (run_end present)" if self.closed else "open (no run_end entry yet)"
            return (
                f"ledger intact: {self.entries} entries, {state}, head {self.head_hash}, "
                f"key {self.key_fingerprint}"
            )
        return f"ledger NOT intact: {len(self.problems)} problem(s)\n" + "\n".join(
            f"  - {p}" for p in self.problems
        )


def _verify_signature(key: Ed25519PublicKey, signature: Any, message: bytes) -> bool:
    try:
        key.verify(base64.b64decode(str(signature), validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_ledger(
    run_dir: Path,
    *,
    public_key: Path | None = None,
    fingerprint: str | None = None,
) -> VerificationResult:
    """Check every entry, the chain and the signed head; never raises for a bad ledger.

    `public_key`: a trusted key (PEM) to verify against instead of the one beside the ledger;
    `fingerprint`: the published key fingerprint the key used must have.
    """
    paths = ledger_paths(run_dir)
    problems: list[str] = []

    def fail(message: str) -> VerificationResult:
        return VerificationResult(False, 0, [message])

    if not paths.ledger.is_file():
        return fail(f"{paths.ledger.name}: missing; this run kept no privacy ledger")
    key_path = Path(public_key) if public_key is not None else paths.public_key
    try:
        key = _load_public_key(key_path)
    except (OSError, ValueError) as exc:
        return fail(f"public key {key_path}: unreadable ({exc})")
    fp = key_fingerprint(key)
    if public_key is not None and paths.public_key.is_file():
        try:
            beside = _public_bytes(_load_public_key(paths.public_key))
        except ValueError:
            beside = b""
        if beside != _public_bytes(key):
            problems.append(f"{paths.public_key.name}: differs from the trusted key (replaced?)")
    if fingerprint is not None and fp != fingerprint.lower():
        problems.append(
            f"key fingerprint {fp} is not the published {fingerprint.lower()} (another key)"
        )

    raw = paths.ledger.read_bytes()
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif raw:
        problems.append(f"line {len(lines)}: no final newline (truncated or edited)")
    prev_hash, last_kind = GENESIS_HASH, None
    for i, line in enumerate(lines):
        n = i + 1
        try:
            entry = json.loads(line.decode("ascii"))
            if not isinstance(entry, dict):
                raise ValueError("not an object")
        except (UnicodeDecodeError, ValueError):
            problems.append(f"line {n}: not a JSON entry (edited or truncated)")
            prev_hash = hashlib.sha256(line).hexdigest()
            last_kind = None
            continue
        if canonical_json(entry).encode() != line:
            problems.append(f"line {n}: not in canonical form (edited)")
        digest = _entry_hash(entry)
        if entry.get("index") != i:
            problems.append(
                f"line {n}: index {entry.get('index')!r}, expected {i} "
                "(entries deleted, inserted or reordered)"
            )
        if entry.get("prev_hash") != prev_hash:
            problems.append(
                f"line {n}: prev_hash does not match the entry before it (chain broken)"
            )
        if not _verify_signature(key, entry.get("signature"), ENTRY_CONTEXT + digest.encode()):
            problems.append(f"line {n}: signature invalid (edited, or signed with another key)")
        prev_hash, last_kind = digest, entry.get("kind")

    try:
        head = json.loads(paths.head.read_text(encoding="ascii"))
        count, head_hash = int(head["entries"]), str(head["head_hash"])
        head_sig = head["signature"]
    except (OSError, ValueError, KeyError, TypeError):
        problems.append(f"{paths.head.name}: missing or unreadable (the signed head)")
    else:
        if not _verify_signature(key, head_sig, _head_message(count, head_hash)):
            problems.append(f"{paths.head.name}: signature invalid (edited, or another key)")
        if count != len(lines):
            problems.append(
                f"{paths.head.name}: the server signed {count} entries, the ledger has "
                f"{len(lines)} (entries {'removed' if count > len(lines) else 'added'})"
            )
        elif head_hash != prev_hash:
            problems.append(f"{paths.head.name}: the signed last hash differs from the last entry")

    if len(problems) > _MAX_PROBLEMS:
        problems = problems[:_MAX_PROBLEMS] + [f"... and {len(problems) - _MAX_PROBLEMS} more"]
    return VerificationResult(
        ok=not problems,
        entries=len(lines),
        problems=problems,
        head_hash=prev_hash,
        key_fingerprint=fp,
        closed=last_kind == "run_end",
    )


def read_ledger(run_dir: Path) -> list[dict[str, Any]]:
    """The entries that parse, in file order, unverified (use `verify_ledger` for trust)."""
    path = ledger_paths(run_dir).ledger
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="ascii", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries

"""Verifying a privacy ledger (every entry, the chain and the signed head) and reading it.

Never raises for a bad ledger: every problem found is listed, so an auditor sees them all.
See `fedft.run.ledger` for what is signed and why.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from fedft.run.ledger_format import (
    ENTRY_CONTEXT,
    GENESIS_HASH,
    canonical_json,
    entry_hash,
    head_message,
    key_fingerprint,
    ledger_paths,
    load_public_key,
    public_bytes,
)
from fedft.run.site_signature import verify_site_parts

_MAX_PROBLEMS = 50
UNPINNED_WARNING = (
    "WARNING: verified against the public key stored beside the ledger, not a published one. "
    "This proves only internal consistency: anyone who can write the run folder can re-sign a "
    "forged ledger with a key of their own. Pin the coordinator's published key with "
    "--fingerprint HEX (or --public-key PEM)."
)


@dataclass(frozen=True)
class VerificationResult:
    ok: bool
    entries: int  # lines read from the ledger
    problems: list[str] = field(default_factory=list)
    head_hash: str = GENESIS_HASH  # hash of the last entry as read
    key_fingerprint: str | None = None  # of the key the ledger was checked against
    closed: bool = False  # last entry is `run_end`
    pinned: bool = False  # checked against a published fingerprint or a trusted key
    site_signatures: int = 0  # sites' round records whose own signature verified
    sites_pinned: bool = False  # those were checked against the sites' published fingerprints

    def summary(self) -> str:
        if self.ok:
            state = "closed (run_end present)" if self.closed else "open (no run_end entry yet)"
            text = (
                f"ledger intact: {self.entries} entries, {state}, head {self.head_hash}, "
                f"key {self.key_fingerprint}"
            )
            text += f"; {self.site_signatures} site record(s) signed by their site" + (
                " (published site fingerprints)" if self.sites_pinned else ""
            )
            return text if self.pinned else f"{text}\n{UNPINNED_WARNING}"
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
    site_fingerprints: Mapping[str, str] | None = None,
) -> VerificationResult:
    """Check every entry, the chain, the signed head and every site's own signature; never
    raises for a bad ledger.

    `public_key`: a trusted key (PEM) to verify against instead of the one beside the ledger;
    `fingerprint`: the published key fingerprint the key used must have;
    `site_fingerprints`: site id -> the fingerprint that site published; every trained site
    record must then carry a valid signature by that key.
    """
    paths = ledger_paths(run_dir)
    problems: list[str] = []

    def fail(message: str) -> VerificationResult:
        return VerificationResult(False, 0, [message])

    if not paths.ledger.is_file():
        return fail(f"{paths.ledger.name}: missing; this run kept no privacy ledger")
    key_path = Path(public_key) if public_key is not None else paths.public_key
    try:
        key = load_public_key(key_path)
    except (OSError, ValueError) as exc:
        return fail(f"public key {key_path}: unreadable ({exc})")
    fp = key_fingerprint(key)
    if public_key is not None and paths.public_key.is_file():
        try:
            beside = public_bytes(load_public_key(paths.public_key))
        except ValueError:
            beside = b""
        if beside != public_bytes(key):
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
    parsed: list[dict[str, Any]] = []
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
        parsed.append(entry)
        if canonical_json(entry).encode() != line:
            problems.append(f"line {n}: not in canonical form (edited)")
        digest = entry_hash(entry)
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
        if not _verify_signature(key, head_sig, head_message(count, head_hash)):
            problems.append(f"{paths.head.name}: signature invalid (edited, or another key)")
        if count != len(lines):
            problems.append(
                f"{paths.head.name}: the server signed {count} entries, the ledger has "
                f"{len(lines)} (entries {'removed' if count > len(lines) else 'added'})"
            )
        elif head_hash != prev_hash:
            problems.append(f"{paths.head.name}: the signed last hash differs from the last entry")

    site_problems, site_signatures = verify_site_parts(parsed, pinned=site_fingerprints)
    problems += site_problems
    if len(problems) > _MAX_PROBLEMS:
        problems = problems[:_MAX_PROBLEMS] + [f"... and {len(problems) - _MAX_PROBLEMS} more"]
    return VerificationResult(
        ok=not problems,
        entries=len(lines),
        problems=problems,
        head_hash=prev_hash,
        key_fingerprint=fp,
        closed=last_kind == "run_end",
        pinned=public_key is not None or fingerprint is not None,
        site_signatures=site_signatures,
        sites_pinned=site_fingerprints is not None,
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

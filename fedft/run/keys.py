"""Ed25519 signing keys for the coordinator's ledger and for each site's records.

A key pair is two PEM files in a key folder: `<name>.key` (PKCS#8, unencrypted, mode 0600,
folder 0700) and `<name>.pub`. Its fingerprint — sha256 of the raw 32-byte public key, hex —
is what a party publishes before runs, and what an auditor pins (`fedft audit --verify
--fingerprint`, `--site-fingerprint`). A private key is written once and never overwritten.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fedft.run.ledger_format import key_fingerprint, load_public_key
from fedft.run.rundir import atomic_write_text

__all__ = [
    "KeyPair",
    "SigningKeyError",
    "generate_key_pair",
    "load_private_key",
    "public_fingerprint",
    "write_private_key",
]

COORDINATOR_KEY_NAME = "ledger-signing"
SITE_KEY_NAME = "site-signing"


class SigningKeyError(ValueError):
    """A key file that is missing, unreadable, not Ed25519 or not private enough."""


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path
    fingerprint: str


def load_private_key(path: Path, *, what: str = "signing key") -> Ed25519PrivateKey:
    """The Ed25519 private key at `path`; raises SigningKeyError naming the file and the fix."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise SigningKeyError(
            f"{what} {path}: not found; create one with `fedft ledger keygen -o FOLDER`"
        )
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise SigningKeyError(
            f"{what} {path}: readable by others (mode {path.stat().st_mode & 0o777:o}); "
            f"`chmod 600 {path}`"
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(
            f"{what} {path}: not an unencrypted PEM private key ({exc})"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{what} {path}: not an Ed25519 private key")
    return key


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write `key` to `path` (0600 from creation; folder 0700); never overwrites a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # O_EXCL: never overwrite a key; 0600 from creation, not chmod after (no readable window).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def public_fingerprint(path: Path) -> str:
    """The fingerprint of the public key (PEM) at `path`: what a party publishes."""
    return key_fingerprint(load_public_key(Path(path)))


def generate_key_pair(folder: Path, *, name: str = COORDINATOR_KEY_NAME) -> KeyPair:
    """A new key pair in `folder`; raises SigningKeyError if `<name>.key` already exists."""
    folder = Path(folder).expanduser()
    private, public = folder / f"{name}.key", folder / f"{name}.pub"
    if private.exists():
        raise SigningKeyError(
            f"{private}: exists; a signing key is never overwritten (its fingerprint may be "
            "published). Remove it yourself, or choose another folder"
        )
    key = Ed25519PrivateKey.generate()
    write_private_key(private, key)
    atomic_write_text(public, public_pem(key))
    return KeyPair(private, public, key_fingerprint(key.public_key()))


def load_or_create(folder: Path, *, name: str) -> Ed25519PrivateKey:
    """The key `<name>.key` in `folder`, created on first use (a simulated site's key)."""
    path = Path(folder) / f"{name}.key"
    if not path.exists():
        generate_key_pair(folder, name=name)
    return load_private_key(path)

"""`fedft ledger keygen -o KEYDIR [--name NAME]`: an Ed25519 signing key for the privacy ledger.

The coordinator runs it once, keeps KEYDIR outside any run folder, names the key in its run
config (`ledger.signing_key: KEYDIR/ledger-signing.key`) and publishes the printed
fingerprint; auditors pin it (`fedft audit RUN --verify --fingerprint HEX`). Each site runs it
too (`--name site-signing`, in its state folder): the key it signs its round records with,
whose fingerprint the site publishes (`fedft audit --verify --site-fingerprint SITE=HEX`).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ledger",
        help="signing keys of the privacy ledger (coordinator and sites)",
        description="Manage the Ed25519 keys the privacy ledger is signed with.",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    keygen = actions.add_parser(
        "keygen",
        help="make an Ed25519 key pair (private key 0600) and print its fingerprint",
        description="Write NAME.key (0600) and NAME.pub into KEYDIR; never overwrites a key.",
    )
    keygen.add_argument("-o", "--output", type=Path, required=True, metavar="KEYDIR")
    keygen.add_argument(
        "--name",
        default="ledger-signing",
        help="file name stem (default ledger-signing; a site uses site-signing)",
    )
    keygen.add_argument("-v", "--verbose", action="store_true", help="show tracebacks")
    keygen.set_defaults(func=run_keygen)


def run_keygen(args: argparse.Namespace) -> int:
    from fedft.run.keys import generate_key_pair

    if not args.name or "/" in args.name or args.name.startswith("."):
        raise ValueError(f"--name {args.name!r}: give a plain file name stem, e.g. site-signing")
    pair = generate_key_pair(args.output, name=args.name)
    print(f"private key: {pair.private} (mode 600; keep it outside any run folder)")
    print(f"public key:  {pair.public}")
    print(f"fingerprint: {pair.fingerprint}")
    return 0

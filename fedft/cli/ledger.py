"""`fedft ledger keygen -o KEYDIR [--name NAME]`: an Ed25519 signing key for the privacy ledger;
`fedft ledger rebuild-budget RUN_DIR... --site SITE --state-dir DIR --reason TEXT`: a site's
sealed DP budget rebuilt from its signed records in the ledgers (budget_recovery).

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
    rebuild = actions.add_parser(
        "rebuild-budget",
        help="rebuild a site's damaged or lost DP budget from the run ledgers (at the site)",
        description="Rebuild STATE_DIR/dp-budget.json from this site's signed records in the "
        "given run folders (every run this budget covered, oldest first). A damaged file is "
        "kept beside it; the recovery is recorded in the file and shows in later audits.",
    )
    rebuild.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR")
    rebuild.add_argument("--site", required=True, help="this site's id (node config site-id)")
    rebuild.add_argument("--state-dir", type=Path, required=True, help="the site's state folder")
    rebuild.add_argument(
        "--signing-key", type=Path, default=None, help="default STATE_DIR/keys/site-signing.key"
    )
    rebuild.add_argument("--reason", required=True, help="why, for the record (e.g. disk loss)")
    rebuild.add_argument("-v", "--verbose", action="store_true", help="show tracebacks")
    rebuild.set_defaults(func=run_rebuild_budget)


def run_keygen(args: argparse.Namespace) -> int:
    from fedft.run.keys import generate_key_pair

    if not args.name or "/" in args.name or args.name.startswith("."):
        raise ValueError(f"--name {args.name!r}: give a plain file name stem, e.g. site-signing")
    pair = generate_key_pair(args.output, name=args.name)
    print(f"private key: {pair.private} (mode 600; keep it outside any run folder)")
    print(f"public key:  {pair.public}")
    print(f"fingerprint: {pair.fingerprint}")
    return 0


def run_rebuild_budget(args: argparse.Namespace) -> int:
    from fedft.dp.budget_recovery import rebuild_budget
    from fedft.dp.budget_seal import BudgetTampered, check_sealed
    from fedft.run.keys import load_private_key

    state = args.state_dir.expanduser()
    key = load_private_key(args.signing_key or state / "keys" / "site-signing.key")
    path, marker = state / "dp-budget.json", state / "keys" / "dp-budget.marker"
    if path.is_file():
        import json
        from datetime import UTC, datetime

        try:
            check_sealed(path, json.loads(path.read_text()), key=key, marker=marker)
        except (BudgetTampered, ValueError):
            kept = path.with_name(f"dp-budget.damaged-{datetime.now(UTC):%Y%m%dT%H%M%S}.json")
            path.rename(kept)
            print(f"kept the damaged budget as {kept}")
        else:
            raise ValueError(f"{path}: intact; nothing to rebuild")
    budget = rebuild_budget(
        run_dirs=args.run_dirs, site=args.site, budget_path=path, marker=marker, key=key,
        reason=args.reason,
    )
    print(
        f"rebuilt {path}: {len(budget.records)} round(s) from {len(args.run_dirs)} ledger(s), "
        f"ε = {budget.epsilon():.4g} (δ = {budget.delta:g}); the recovery is recorded"
    )
    return 0

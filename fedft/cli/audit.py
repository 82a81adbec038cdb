"""`fedft audit RUN_DIR [--format json|md|html] [-o FILE] [--empirical]` and
`fedft audit RUN_DIR --verify [--fingerprint HEX] [--site-fingerprint SITE=HEX ...]`.

Reads only the run folder. `--empirical` first scores the run's planted canaries under the
final adapter (writes `empirical_audit.json`, docs/empirical-audit.md); the report then shows
the measured leakage next to the accounted ε, and the command exits 1 when a measured lower
bound exceeds a claimed ε. `--verify` exits 0 only when the privacy ledger is intact (and,
with --require-closed, the run's closing entry is present); 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit",
        help="privacy audit of a run (JSON, Markdown or HTML) or verification of its ledger",
        description="Report the differential-privacy guarantees of a run, or verify its "
        "signed privacy ledger.",
    )
    p.add_argument("run_dir", type=Path, help="a fedft run folder")
    p.add_argument(
        "--format", choices=("json", "md", "html"), default="md", help="report format (default md)"
    )
    p.add_argument(
        "-o", "--output", type=Path, default=None, help="write the report here (default: stdout)"
    )
    p.add_argument(
        "--verify", action="store_true", help="only verify the ledger; exit 0 when intact"
    )
    p.add_argument(
        "--public-key",
        type=Path,
        default=None,
        help="trusted server public key (PEM) to verify against, instead of the run folder's",
    )
    p.add_argument(
        "--fingerprint", default=None, help="published sha256 fingerprint the signing key must have"
    )
    p.add_argument(
        "--site-fingerprint",
        action="append",
        default=[],
        metavar="SITE=HEX",
        help="a site's published signing-key fingerprint (repeatable); every trained site "
        "record must then be signed by its site's key",
    )
    p.add_argument(
        "--site-fingerprints",
        type=Path,
        default=None,
        metavar="FILE",
        help="a file of SITE=HEX lines (blank lines and # comments ignored)",
    )
    p.add_argument(
        "--require-closed",
        action="store_true",
        help="with --verify: also fail when the run's closing entry is missing",
    )
    p.add_argument(
        "--empirical",
        action="store_true",
        help="score the planted canaries (membership inference, exposure, one-run ε lower "
        "bound) and add them to the report; needs a run with audit.canaries.enabled",
    )
    p.add_argument(
        "--candidates",
        type=int,
        default=None,
        help="with --empirical: sequences each secret is ranked among (default "
        "audit.canaries.candidates)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show tracebacks")
    p.set_defaults(func=run)


def site_fingerprints(args: argparse.Namespace) -> dict[str, str] | None:
    """SITE=HEX pairs from --site-fingerprint and --site-fingerprints, or None if neither."""
    lines = list(args.site_fingerprint)
    if args.site_fingerprints is not None:
        text = args.site_fingerprints.read_text(encoding="utf-8")
        lines += [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if not lines:
        return None
    pinned: dict[str, str] = {}
    for line in lines:
        site, sep, hexa = line.partition("=")
        hexa = hexa.strip().lower()
        well_formed = len(hexa) == 64 and all(c in "0123456789abcdef" for c in hexa)
        if not sep or not site.strip() or not well_formed:
            raise ValueError(f"site fingerprint {line!r}: expected SITE=<64 hex digits>")
        pinned[site.strip()] = hexa
    return pinned


def _verify(args: argparse.Namespace) -> int:
    from fedft.run.ledger_verify import verify_ledger

    if not args.run_dir.is_dir():
        raise ValueError(f"{args.run_dir}: not a folder; give a fedft run folder")
    result = verify_ledger(
        args.run_dir,
        public_key=args.public_key,
        fingerprint=args.fingerprint,
        site_fingerprints=site_fingerprints(args),
    )
    print(result.summary())
    if result.ok and args.require_closed and not result.closed:
        print("--require-closed: the ledger has no run_end entry (run unfinished or cut short)")
        return 1
    return 0 if result.ok else 1


def run(args: argparse.Namespace) -> int:
    if args.verify:
        return _verify(args)
    from fedft.dp.accounting import epsilon_spent
    from fedft.run.report.audit import audit_to_dict, build_audit

    if args.candidates is not None and (not args.empirical or args.candidates < 2):
        raise ValueError("--candidates needs --empirical and a value >= 2")
    if args.empirical:
        from fedft.audit.empirical import run_empirical_audit

        run_empirical_audit(args.run_dir, candidates=args.candidates, recompute=epsilon_spent)
    audit = build_audit(
        args.run_dir,
        public_key=args.public_key,
        fingerprint=args.fingerprint,
        site_fingerprints=site_fingerprints(args),
        recompute=epsilon_spent,
    )
    if args.format == "json":
        text = json.dumps(audit_to_dict(audit), indent=2, ensure_ascii=False) + "\n"
    else:
        from fedft.run.report.render import render_html, render_markdown

        text = render_html(audit) if args.format == "html" else render_markdown(audit)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        state = "intact" if audit.verification.ok else "NOT intact"
        print(f"wrote {args.output} ({args.format}); ledger {state}", file=sys.stderr)
    sites = (audit.empirical or {}).get("sites", [])
    violations = [s["site"] for s in sites if s.get("verdict") == "VIOLATION"]
    if args.empirical and violations:
        print(
            f"EMPIRICAL AUDIT VIOLATION: the measured ε lower bound exceeds the claimed ε at "
            f"{', '.join(violations)}; see the report's findings",
            file=sys.stderr,
        )
        return 1
    return 0

"""`fedft anonymize`: a data steward previews exactly what training will see at the site.

    fedft anonymize INPUT.jsonl -o OUTPUT.jsonl --policy POLICY.yaml [--report REPORT.json]
                    [--field text ...] [--cache-dir DIR] [--workers N]
    fedft anonymize --preview "some text" [--policy POLICY.yaml]

Same code path as the clients (`Anonymizer.from_config(...)`, then `anonymize_columns`: every
named field in one batch, the report a site writes). The policy and the engine are checked
before the input is opened. Rows the residual policy drops (in any named field) are left out
of OUTPUT and counted in the report. Fields not named with --field are copied unchanged: name
every free-text field.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fedft.config.anonymization import AnonymizationConfig, PolicyError, load_policy
from fedft.run.rundir import atomic_write_text

# Exit codes: 0 done; 1 bad policy or input; 3 residual PII with `residual: fail`.
EXIT_OK, EXIT_INVALID, EXIT_RESIDUAL = 0, 1, 3


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "anonymize",
        help="anonymize a JSONL file (or --preview a text) with a site's privacy policy",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("input", nargs="?", type=Path, help="JSONL file, one JSON object per line")
    p.add_argument("-o", "--output", type=Path, help="anonymized JSONL to write")
    p.add_argument(
        "--policy",
        type=Path,
        help="policy YAML (top-level `anonymization:`); default: built-in defaults",
    )
    p.add_argument("--report", type=Path, help="write the counts-only report here (JSON)")
    p.add_argument(
        "--field", dest="fields", action="append", metavar="NAME",
        help="text field to anonymize (repeat for several; default: text)",
    )  # fmt: skip
    p.add_argument(
        "--cache-dir", type=Path, help="anonymized-corpus cache folder (kept at the site)"
    )
    p.add_argument(
        "--workers", type=_positive_int, default=1, metavar="N",
        help="processes sharing the rows (forked after the model loads; same output; pays "
        "only with idle cores, docs/anonymization.md). Default 1",
    )  # fmt: skip
    p.add_argument("--preview", metavar="TEXT", help="anonymize TEXT and print it; no files")
    p.add_argument("-v", "--verbose", action="store_true", help="tracebacks on errors")
    p.set_defaults(func=run)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return int(text)


def _policy(path: Path | None) -> AnonymizationConfig:
    return load_policy(path) if path is not None else AnonymizationConfig()


def _read_rows(path: Path, fields: list[str]) -> list[dict[str, Any]]:
    rows, problems = [], []
    # surrogateescape: a line that is not UTF-8 is reported with its number, not the file.
    with path.open(encoding="utf-8", errors="surrogateescape") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            if any("\udc80" <= ch <= "\udcff" for ch in line):
                problems.append(f"line {n}: not valid UTF-8; re-save the file as UTF-8")
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"line {n}: not JSON ({exc.msg})")
                continue
            if not isinstance(row, dict):
                problems.append(f"line {n}: expected a JSON object, got {type(row).__name__}")
                continue
            for field in fields:
                if not isinstance(row.get(field), str):
                    got = "missing" if field not in row else type(row[field]).__name__
                    problems.append(
                        f"line {n}: field {field!r} must be a string ({got}); see --field"
                    )
            rows.append(row)
    if problems:
        shown = "\n".join(f"  - {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise ValueError(f"{path}: {len(problems)} problem(s)\n{shown}{more}")
    return rows


def run(args: argparse.Namespace) -> int:
    from fedft.anonymize.anonymizer import Anonymizer, ResidualPIIError
    from fedft.anonymize.columns import anonymize_columns

    if args.preview is None and (args.input is None or args.output is None):
        print(
            "fedft anonymize: give INPUT.jsonl -o OUTPUT.jsonl, or --preview TEXT", file=sys.stderr
        )
        return EXIT_INVALID
    if args.preview is None and args.input.resolve() == args.output.resolve():
        print("fedft anonymize: -o must differ from INPUT (the raw file is kept)", file=sys.stderr)
        return EXIT_INVALID
    if args.preview is None and not args.input.is_file():
        # Before the model loads (up to minutes): a typo in the path costs nothing.
        print(f"fedft anonymize: {args.input}: file not found", file=sys.stderr)
        return EXIT_INVALID
    fields = list(dict.fromkeys(args.fields or ["text"]))
    try:
        cfg = _policy(args.policy)
        # Everything the policy needs (model, secret) is checked before any data is read.
        anonymizer = Anonymizer.from_config(
            cfg, cache_dir=args.cache_dir, workers=args.workers
        )
    except ValueError as exc:  # PolicyError included: every line names key path and fix
        print(
            str(exc) if isinstance(exc, PolicyError) else f"fedft anonymize: {exc}", file=sys.stderr
        )
        return EXIT_INVALID

    if args.preview is not None:
        text, report = anonymizer.preview(args.preview)
        print(text)
        found = {k: v for k, v in report.entities.items() if v}
        print(f"# {report.entities_total} span(s) {found}; residual {report.residual_total}; "
              f"policy {report.policy_hash[:12]}; model {report.model} "
              f"sha256 {report.model_sha256[:12]}"
              f"{'' if report.model_pinned else ' (not pinned by fedft)'}",
              file=sys.stderr)  # fmt: skip
        return EXIT_OK

    try:
        rows = _read_rows(args.input, fields)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    try:
        result = anonymize_columns(
            {field: [row[field] for row in rows] for field in fields}, anonymizer=anonymizer
        )
    except ResidualPIIError as exc:
        print(f"fedft anonymize: {exc}", file=sys.stderr)
        return EXIT_RESIDUAL
    for field in fields:
        for row, text in zip(rows, result.columns[field], strict=True):
            row[field] = text
    out_rows = [
        json.dumps(row, ensure_ascii=False) for row, k in zip(rows, result.kept, strict=True) if k
    ]
    atomic_write_text(args.output, "".join(line + "\n" for line in out_rows))
    summary = {
        "input_rows": len(rows),
        "output_rows": len(out_rows),
        "rows_dropped": len(rows) - len(out_rows),
        "fields": fields,
        "anonymization": result.report.to_dict(),
    }
    if args.report is not None:
        atomic_write_text(args.report, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    print(
        f"# {args.output}: {len(out_rows)} of {len(rows)} rows written, "
        f"{result.report.entities_total} span(s) anonymized",
        file=sys.stderr,
    )
    return EXIT_OK

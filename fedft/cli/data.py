"""`fedft data synth|check`: write a synthetic demo corpus; check a local training file."""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

from fedft.data.sources import DEFAULT_MAX_ROW_CHARS, read_examples
from fedft.data.synthetic import generate_corpus, write_jsonl

# Bad rows printed by `check`; the count is always printed in full.
_SHOWN_BAD_ROWS = 20


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="synthetic demo data and checks of local training files")
    data_sub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    s = data_sub.add_parser(
        "synth", help="write a synthetic corpus with planted PII (JSONL)",
        description="Write seeded synthetic notes with realistic planted PII; each record's "
        "'pii' field lists exactly what was planted.",
    )  # fmt: skip
    s.add_argument("--kind", choices=("clinical", "banking"), required=True)
    s.add_argument("--n", type=_positive_int, default=2000, help="number of records (default 2000)")
    s.add_argument("--task", choices=("classification", "instruction"), default="classification")
    s.add_argument("--seed", type=int, default=0, help="same seed, same corpus (default 0)")
    s.add_argument("-o", "--output", type=Path, required=True, help="output .jsonl file")
    s.add_argument("--force", action="store_true", help="overwrite an existing output file")
    s.set_defaults(func=run_synth)

    c = data_sub.add_parser(
        "check", help="validate a training file and list its bad rows (file:line: reason)",
        description="Read a .jsonl/.json/.csv/.parquet file exactly as training would and report "
        "row counts, labels and every rejected row. Exit code 1 when any row is rejected.",
    )  # fmt: skip
    c.add_argument("path", type=Path)
    c.add_argument("--task", choices=("classification", "instruction"), default="classification")
    c.add_argument("--text-field", default="text")
    c.add_argument("--label-field", default="label")
    c.add_argument("--instruction-field", default="instruction")
    c.add_argument("--input-field", default="input")
    c.add_argument("--response-field", default="response")
    c.add_argument("--labels", type=_label_list, default=None, metavar="A,B,...",
                   help="the closed label set; other labels are reported as bad rows")  # fmt: skip
    c.add_argument("--max-row-chars", type=_positive_int, default=DEFAULT_MAX_ROW_CHARS,
                   help=f"longest row accepted, in characters (default {DEFAULT_MAX_ROW_CHARS:,})")
    c.set_defaults(func=run_check)


def run_synth(args: argparse.Namespace) -> int:
    if args.output.exists() and not args.force:
        raise ValueError(f"{args.output}: exists; choose another -o or pass --force to overwrite")
    if args.output.suffix.lower() not in (".jsonl", ".json"):
        raise ValueError(f"{args.output}: synth writes JSON Lines; name the file *.jsonl")
    records = generate_corpus(kind=args.kind, n=args.n, seed=args.seed, task=args.task)
    write_jsonl(records, args.output)
    planted = sum(len(r["pii"]) for r in records)
    print(
        f"wrote {len(records)} {args.kind} {args.task} records ({planted} planted PII values) "
        f"to {args.output}"
    )
    return 0


def run_check(args: argparse.Namespace) -> int:
    loaded = read_examples(
        args.path,
        task=args.task,
        text_field=args.text_field,
        label_field=args.label_field,
        instruction_field=args.instruction_field,
        input_field=args.input_field,
        response_field=args.response_field,
        labels=args.labels,
        on_bad_rows="skip",
        max_row_chars=args.max_row_chars,
    )
    ds, bad = loaded.dataset, loaded.bad_rows
    print(f"{args.path}: {len(ds)} valid rows, {len(bad)} rejected")
    if loaded.labels is not None:
        counts = collections.Counter(ds["label"])
        print(
            "labels: " + ", ".join(f"{label} ({counts.get(label, 0)})" for label in loaded.labels)
        )
    for row in bad[:_SHOWN_BAD_ROWS]:
        print(str(row), file=sys.stderr)
    if len(bad) > _SHOWN_BAD_ROWS:
        print(f"... and {len(bad) - _SHOWN_BAD_ROWS} more rejected rows", file=sys.stderr)
    return 1 if bad else 0


def _positive_int(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def _label_list(value: str) -> list[str]:
    labels = [x.strip() for x in value.split(",") if x.strip()]
    if not labels:
        raise argparse.ArgumentTypeError("give at least one label, comma-separated")
    return labels

"""`fedft export RUN_DIR [--round N] [--merge] -o DIR`: a round's global adapter, ready to load,
with a model card stating the guarantees it was trained under."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from fedft.config import load_config
from fedft.run.model_card import write_model_card
from fedft.run.rundir import open_run_dir


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a round's global adapter (PEFT format) or a merged model")
    p.add_argument("run_dir", type=Path, help="a fedft run folder")
    p.add_argument("--round", type=int, default=None, help="round to export (default: the last)")
    p.add_argument("--merge", action="store_true", help="merge the adapter into the base model weights")
    p.add_argument("-o", "--output", type=Path, required=True, help="output folder (must not exist)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    run_dir = open_run_dir(args.run_dir)
    saved = run_dir.rounds_saved()
    if not saved:
        raise ValueError(f"{run_dir.root}: no saved rounds to export")
    server_round = saved[-1] if args.round is None else args.round
    if server_round not in saved:
        raise ValueError(f"--round {server_round}: not in this run (saved rounds: {saved[0]}..{saved[-1]})")
    if args.output.exists():
        raise ValueError(f"{args.output}: exists; give a new folder with -o")
    adapter = run_dir.adapter(server_round)
    if args.merge:
        from fedft.model.adapter import merge_and_save

        cfg = load_config(run_dir.config)
        labels = json.loads(run_dir.labels.read_text()) if run_dir.labels.is_file() else None
        merge_and_save(adapter, args.output, task=cfg.data.task, labels=labels)
    else:
        # peft's save_pretrained leaves its blank card template (README.md, "[More Information
        # Needed]") in older runs' adapters: MODEL_CARD.md is the one card.
        shutil.copytree(adapter, args.output, ignore=shutil.ignore_patterns("README.md"))
    write_model_card(run_dir, args.output, server_round=server_round)
    print(f"exported round {server_round} of {run_dir.root.name} to {args.output}" + (" (merged)" if args.merge else ""))
    return 0

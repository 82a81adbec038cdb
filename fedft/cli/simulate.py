"""`fedft simulate CONFIG [-o RUN_DIR] [--set key=value ...]`: a whole federated run on one machine."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fedft.config import Config, ConfigError, load_config
from fedft.run.ledger_format import ledger_paths
from fedft.run.progress import read_progress, round_epsilons
from fedft.run.rundir import create_run_dir, new_run_id, open_run_dir


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="run a federated fine-tuning simulation on this machine")
    p.add_argument("config", help="fedft YAML config (e.g. configs/default.yaml)")
    p.add_argument("-o", "--output", type=Path, help="run folder (default: run.output_dir/<name>-<time>)")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR",
                   help="continue an interrupted run from its last complete round (same config)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set federation.rounds=3 (repeatable)")
    p.add_argument("-v", "--verbose", action="store_true", help="show Flower/Ray logs and tracebacks")
    p.set_defaults(func=run)


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def _epsilon_part(epsilons: dict[str, float]) -> str:
    """ε spent so far per site; a range when more than four sites trained."""
    if not epsilons:
        return ""
    if len(epsilons) > 4:
        low, high = min(epsilons.values()), max(epsilons.values())
        return f"ε spent {low:.2f}–{high:.2f} ({len(epsilons)} sites)"
    return "ε spent " + ", ".join(f"{site} {eps:.2f}" for site, eps in sorted(epsilons.items()))


def _round_line(record: dict, epsilons: dict[str, float] | None = None) -> str:
    """One line per round: held-out metrics, train loss (the sites' mean over the round's
    samples; under DP it stays at the sites, their bars show it), ε spent so far under DP,
    sites that finished, upload size, elapsed time."""
    parts = [f"round {record['round']:>3}"]
    if record.get("eval_accuracy") is not None:
        parts.append(f"accuracy {100 * record['eval_accuracy']:5.1f}%")
    if record.get("eval_perplexity") is not None:
        parts.append(f"perplexity {record['eval_perplexity']:8.2f}")
    if record.get("eval_loss") is not None:
        parts.append(f"eval loss {record['eval_loss']:.4f}")
    if record["round"] > 0:
        parts.append(f"train loss {record['train_loss']:.4f}" if record.get("train_loss") is not None else "")
        parts.append(_epsilon_part(epsilons or {}))
        parts.append(f"sites {record['clients_finished']}/{record['clients_sampled']}")
        if record.get("aborted"):
            parts.append("[yellow]aborted: nothing applied[/]")
        parts.append(f"up {_fmt_bytes(record['bytes_up_per_client'])}/site")
    parts.append(f"{record['elapsed_s']:.0f}s")
    return "  ".join(p for p in parts if p)


def _baseline_hint(cfg: Config) -> str | None:
    """How to get each site's gain over training alone, when this run could have measured it
    (per-site scores on, no DP) but did not: it is off by default because it trains every
    site a second time."""
    ev = cfg.evaluation
    if not ev.per_site or ev.local_baseline or cfg.dp.enabled:
        return None
    return (
        "each site's gain over training alone: rerun with --set evaluation.local_baseline=true "
        "(trains every site twice, ~1.7x the time; docs/evaluation.md)"
    )


def _watch_sites(progress: Progress, folder: Path, stop: threading.Event) -> None:
    """One bar per site showing its local steps, fed by the sites' progress files."""
    bars: dict[str, int] = {}
    rounds: dict[str, int] = {}
    while not stop.wait(0.5):
        for p in read_progress(folder):
            site, total = p["site"], p["total"] or None
            if site not in bars:
                bars[site] = progress.add_task("", total=total)
            elif rounds[site] != p["round"]:
                # A new round restarts the bar's clock (rich stops it when a bar completes).
                progress.reset(bars[site], total=total)
            rounds[site] = p["round"]
            progress.update(
                bars[site],
                completed=p["step"],
                total=total,
                description=f"  {site} round {p['round']}: local loss {p['loss']:.3f}",
            )


def run(args: argparse.Namespace) -> int:
    console = Console(stderr=False)
    try:
        cfg = load_config(args.config, args.overrides)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    from fedft.federation.simulation import check_inputs, simulate, write_data_report

    report = check_inputs(cfg)
    if args.resume is not None:
        if args.output is not None:
            raise ValueError("--resume continues the run in RUN_DIR; drop -o")
        run_dir = open_run_dir(args.resume)
        console.print(f"[bold]fedft[/] resuming run folder: {run_dir.root}")
    else:
        run_dir = create_run_dir(args.output or cfg.run.output_dir / new_run_id(cfg.run.name))
        console.print(f"[bold]fedft[/] run folder: {run_dir.root}")
        write_data_report(report, run_dir)
    for name, part in report.items():
        line = f"data.{name}: {part['rows']} rows from {part['source']}"
        if part["bad_rows"]:
            line += f", [yellow]{part['bad_rows']} bad rows skipped[/] (first: {part['bad_row_details'][0]}; all in {run_dir.data_report.name})"
        console.print(line)
    fed = cfg.federation
    console.print(
        f"{fed.num_clients} sites, {fed.rounds} rounds, strategy {cfg.strategy.name}, "
        f"LoRA r={cfg.lora.r} ({cfg.lora.mode}); logs: {run_dir.log.name}"
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        eval_rows = report["eval"]["rows"]
        first = (
            f"anonymizing {eval_rows} evaluation rows, starting sites"
            if cfg.anonymization.enabled and args.resume is None
            else "loading the model, starting sites"
        )
        task = progress.add_task(first, total=fed.rounds + 1)
        ledger = ledger_paths(run_dir.root).ledger
        dp_on = cfg.dp.enabled or cfg.site_dp.enabled

        def on_round_start(server_round: int, sampled: int) -> None:
            progress.update(task, description=f"round {server_round}/{fed.rounds}: training {sampled} sites")

        def on_stage(description: str) -> None:
            progress.update(task, description=description)

        def on_progress(record: dict) -> None:
            epsilons = round_epsilons(ledger, server_round=record["round"]) if dp_on else {}
            progress.console.print(_round_line(record, epsilons))
            n = record["round"]
            after = f"round {n + 1}/{fed.rounds}: starting" if n < fed.rounds else "finishing"
            progress.update(task, advance=1, description=after)

        stop = threading.Event()
        watcher = threading.Thread(target=_watch_sites, args=(progress, run_dir.progress, stop), daemon=True)
        watcher.start()
        try:
            result = simulate(
                cfg,
                run_dir,
                verbose=args.verbose,
                on_progress=on_progress,
                on_round_start=on_round_start,
                on_stage=on_stage,
                resume=args.resume is not None,
                on_dp_plan=lambda lines: [progress.console.print(line, markup=False, soft_wrap=True) for line in lines],
            )
        finally:
            stop.set()
            watcher.join()

    s = result.summary
    if s.get("metric") == "eval_accuracy":
        console.print(
            f"[bold]held-out accuracy[/]: round 0 {100 * s['first']:.1f}% -> round {s['scored_round']} "
            f"{100 * s['last']:.1f}% ({s['gain_points']:+.1f} points)"
        )
    else:
        console.print(f"[bold]held-out perplexity[/]: round 0 {s['first']:.2f} -> round {s['scored_round']} {s['last']:.2f}")
    hint = _baseline_hint(cfg)
    if hint:
        console.print(hint, soft_wrap=True)
    if s.get("base_model_bytes"):
        share = 100 * s["bytes_up_per_client"] / s["base_model_bytes"]
        console.print(
            f"upload per site per round: {_fmt_bytes(s['bytes_up_per_client'])} "
            f"({share:.2f}% of the {_fmt_bytes(s['base_model_bytes'])} base model)"
        )
    console.print(f"wall time {s['elapsed_s']:.0f}s; metrics: {run_dir.metrics}; adapters: {run_dir.root / 'rounds'}")
    # What auditors check the ledger against (docs/compliance-guide.md): publish both.
    ledger = s["ledger"]
    console.print(f"ledger key fingerprint: {ledger['key_fingerprint']}", soft_wrap=True)
    console.print(f"ledger head hash: {ledger['head_hash']}", soft_wrap=True)
    console.print(f"[bold]run folder[/]: {run_dir.root}", soft_wrap=True)
    return 0

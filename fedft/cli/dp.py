"""`fedft dp plan CONFIG [--set k=v ...]`: each site's DP-SGD regime, before any training."""

from __future__ import annotations

import argparse
import sys

from fedft.config import ConfigError, load_config


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dp", help="differential privacy: plan a run's DP-SGD before training")
    actions = p.add_subparsers(dest="dp_command", required=True, metavar="ACTION")
    plan = actions.add_parser(
        "plan",
        help="per site: noise, expected batch, steps, noise vs clip, clipped share; warnings",
    )
    plan.add_argument("config", help="fedft YAML config with dp.enabled")
    plan.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    plan.add_argument(
        "--no-measure",
        action="store_true",
        help="skip the first-batch gradient measurement (no model forward/backward)",
    )
    plan.add_argument("-v", "--verbose", action="store_true", help="tracebacks on errors")
    plan.set_defaults(func=run_plan)


def run_plan(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config, args.overrides)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if not cfg.dp.enabled:
        print(f"{args.config}: dp.enabled is false; nothing to plan", file=sys.stderr)
        return 1
    from fedft.dp.regime import summary_lines
    from fedft.federation.simulation import site_regimes

    regimes = site_regimes(cfg, measure=not args.no_measure)
    for line in summary_lines(regimes):
        print(line)
    return 0

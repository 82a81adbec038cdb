"""`fedft validate CONFIG [--set k=v ...]`: report every config problem at once."""

from __future__ import annotations

import argparse
import sys

from fedft.config import ConfigError, config_to_yaml, load_config


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check a config and print it fully resolved")
    p.add_argument("config", help="fedft YAML config")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set federation.rounds=3 (repeatable)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing when valid")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config, args.overrides)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if not args.quiet:
        print(config_to_yaml(cfg), end="")
        print(f"# {args.config}: valid", file=sys.stderr)
    return 0

"""`fedft` command line. Each subcommand lives in its own module exposing `add_parser(subparsers)`
and sets `func(args) -> int`; errors the user can fix print one line, no traceback, unless --verbose."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Sequence

from fedft import __version__
from fedft.run.environment import prepare_environment

# Order = order in --help.
SUBCOMMANDS = ("simulate", "validate", "export", "data", "anonymize", "audit", "dp", "ledger")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fedft", description="Federated, privacy-preserving fine-tuning of language models."
    )
    parser.add_argument("--version", action="version", version=f"fedft {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"fedft.cli.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Before any subcommand module imports transformers, Flower or Presidio.
    prepare_environment(verbose="-v" in argv or "--verbose" in argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    # SIGTERM ends a command like Ctrl-C: clean-up runs (Ray shut down, temp files removed)
    # and the process exits, instead of dying mid-write or lingering.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, RuntimeError) as exc:
        if getattr(args, "verbose", False):
            raise
        print(f"fedft {args.command}: error: {exc}", file=sys.stderr)
        return 2


def _interrupt(signum: int, frame: object) -> None:  # noqa: ARG001 - handler signature
    raise KeyboardInterrupt(f"signal {signum}")


if __name__ == "__main__":
    sys.exit(main())

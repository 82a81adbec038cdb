"""Run every benchmark (bench/bench_*.py) and write docs/benchmarks.md: the machine, then each
benchmark's figures with how they were measured (its docstring) and what it printed.

Each run is stored in bench/results/<name>.json, so `--only NAME ...` re-runs some benchmarks
and the page is rebuilt from all stored results; `--render` only rebuilds the page.

    python bench/run_all.py                 # all of them (tens of minutes on 2 cores)
    python bench/run_all.py --only bench_scale bench_flops
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
PAGE = REPO / "docs" / "benchmarks.md"


def discover() -> list[Path]:
    return sorted(BENCH.glob("bench_*.py"))


def _git_commit() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    return out.stdout.strip() or "unknown"


def machine() -> dict:
    import torch

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": f"{torch.__version__} ({torch.get_num_threads()} threads)",
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
        # Other work on the machine slows absolute times; ratios within one run are unaffected.
        "load_average_1min": round(os.getloadavg()[0], 1),
    }


def run_bench(script: Path) -> dict:
    print(f"running {script.name} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(script)], cwd=BENCH, capture_output=True, text=True)
    result = {
        "script": script.name,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _git_commit(),
        "seconds": round(time.perf_counter() - start, 1),
        "returncode": proc.returncode,
        "stdout": proc.stdout.strip(),
        "stderr_tail": proc.stderr.strip()[-1500:] if proc.returncode else "",
        "machine": machine(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{script.stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"  {script.name}: {'FAILED' if proc.returncode else 'ok'} in {result['seconds']:.0f} s",
        file=sys.stderr,
    )
    return result


def _how_measured(script: Path) -> str:
    """The docstring without its usage lines (those indented by 4 spaces)."""
    import ast

    doc = ast.get_docstring(ast.parse(script.read_text())) or ""
    return "\n".join(line for line in doc.splitlines() if not line.startswith("    ")).strip()


def render() -> str:
    results = {p.stem: json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))}
    lines = [
        "# Benchmarks",
        "",
        "Written by `python bench/run_all.py` (do not edit by hand). Every figure is a ratio "
        "against a baseline run in the same process or invocation, or a number with how it was "
        "measured. The machine is shared with other work, so absolute times are noisy; ratios "
        "are what to compare.",
        "",
    ]
    if results:
        m = next(iter(results.values()))["machine"]
        lines += ["## Machine", "", "| | |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in m.items()]
        lines.append("")
    for script in discover():
        r = results.get(script.stem)
        lines += [f"## {script.stem}", "", _how_measured(script), ""]
        if r is None:
            lines += ["_Not run yet._", ""]
            continue
        status = "" if r["returncode"] == 0 else f" — **failed** (exit {r['returncode']})"
        lines += [
            f"`python bench/{r['script']}` — {r['date']}, commit {r['commit']}, "
            f"{r['seconds']:.0f} s{status}",
            "",
            "```",
            r["stdout"] or r["stderr_tail"],
            "```",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="run only these (e.g. bench_scale)"
    )
    parser.add_argument("--render", action="store_true", help="only rebuild docs/benchmarks.md")
    args = parser.parse_args()
    scripts = discover()
    if args.only:
        known = {s.stem: s for s in scripts}
        unknown = [n for n in args.only if n.removesuffix(".py") not in known]
        if unknown:
            sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(known)}")
        scripts = [known[n.removesuffix(".py")] for n in args.only]
    if not args.render:
        failed = [s.name for s in scripts if run_bench(s)["returncode"] != 0]
    else:
        failed = []
    PAGE.write_text(render())
    print(f"wrote {PAGE.relative_to(REPO)}", file=sys.stderr)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()

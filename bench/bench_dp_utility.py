"""Utility under sample-level DP: held-out accuracy vs ε, old recipe vs the DP preset.

Each point is real `fedft simulate` runs (4 sites, SecAgg+ on, synthetic clinical
notes, Dirichlet α=1), one process per run so Ray and the model caches start clean, repeated
over seeds (`run.seed`: corpus, split, held-out set and initialisation all change with it; one
run per point says nothing, the seed spread at the old defaults is 9–14 points).

- `old`: configs/default.yaml as it was before the DP recipe (`model.pooling=cls`, 6 rounds at
  lr 0.01, no head fit), with `dp.enabled`, `dp.target_epsilon` = `dp.max_epsilon` = ε; ε = ∞
  is that config without DP.
- `preset`: simulations/dp-hospitals.yaml at ε (6 rounds); ε = ∞ is configs/default.yaml (the
  non-DP default, the number DP is compared with: since the head fit, 2 rounds).

ε in the table is the largest any site reached, read back from each run's audit (the signed
ledger). Prints every run, then mean ± sd per point; `--plot` writes accuracy vs ε (PNG).
The whole grid is 2 recipes × 4 ε × 3 seeds = 24 runs (hours on a 2-core machine): pick
subsets with --recipes, --epsilons and --seeds.

    python bench/bench_dp_utility.py [--recipes old,preset] [--epsilons inf,8,3,1]
        [--seeds 0,1,2] [--out DIR] [--plot docs/img/dp-utility.png] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "configs" / "default.yaml"
PRESET = REPO / "simulations" / "dp-hospitals.yaml"
# The console script installed beside this interpreter (fedft.cli is a package, no __main__).
FEDFT = str(Path(sys.executable).with_name("fedft"))


def command_for(recipe: str, epsilon: float, seed: int) -> tuple[Path, list[str]]:
    """(config, overrides) of one point of the grid."""
    seed_set = [f"run.seed={seed}"]
    if recipe == "old":
        # The default's schedule before the head fit (6 rounds of training at lr 0.01).
        old = ["model.head_fit=none", "training.learning_rate=0.01", "federation.rounds=6"]
        base = [*seed_set, "model.pooling=cls", *old]
        if math.isinf(epsilon):
            return DEFAULT, [*base, "dp.enabled=false"]
        return DEFAULT, [
            *base,
            "dp.enabled=true",
            f"dp.target_epsilon={epsilon:g}",
            f"dp.max_epsilon={epsilon:g}",
        ]
    if recipe == "preset":
        if math.isinf(epsilon):
            return DEFAULT, seed_set
        return PRESET, [*seed_set, f"dp.target_epsilon={epsilon:g}", f"dp.max_epsilon={epsilon:g}"]
    raise ValueError(f"recipe '{recipe}' is not one of 'old', 'preset'")


def run_one(recipe: str, epsilon: float, seed: int, out: Path, extra: list[str]) -> dict:
    """One simulation; returns its row (or the failure)."""
    config, overrides = command_for(recipe, epsilon, seed)
    argv = [FEDFT, "simulate", str(config), "-o", str(out)]
    for item in [*overrides, *extra]:
        argv += ["--set", item]
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    elapsed = time.monotonic() - start
    row: dict = {
        "recipe": recipe,
        "target": epsilon,
        "seed": seed,
        "minutes": elapsed / 60,
        "run_dir": str(out),
    }
    if proc.returncode != 0:
        row["error"] = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["failed"]
        return row
    # A round no update reached (e.g. SecAgg+ timed out under load) would leave the adapter
    # unchanged and still count as a round: such a run does not measure utility.
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    empty = [m["round"] for m in metrics if m["round"] > 0 and not m.get("clients_finished")]
    if empty:
        row["error"] = [f"rounds {empty} aggregated no update"]
        return row
    summary = json.loads((out / "summary.json").read_text())
    row.update(first=summary.get("first"), last=summary.get("last"))
    audit_path = out / "audit.json"
    subprocess.run(
        [FEDFT, "audit", str(out), "--format", "json", "-o", str(audit_path)],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    audit = json.loads(audit_path.read_text())
    sites = [s for s in audit["sites"].values() if s.get("dp")]
    row["epsilon_max"] = max((s["epsilon"] for s in sites), default=None)
    row["noise"] = sorted({round(s["noise_multiplier"], 3) for s in sites})
    row["ledger_ok"] = audit["ledger"]["ok"]
    return row


def fmt_row(row: dict) -> str:
    target = "∞" if math.isinf(row["target"]) else f"{row['target']:g}"
    head = f"| {row['recipe']} | {target} | {row['seed']} |"
    if "error" in row:
        return f"{head} failed: {' '.join(row['error'])} | | | |"
    eps = "—" if row["epsilon_max"] is None else f"{row['epsilon_max']:.3f}"
    noise = ", ".join(f"{n:g}" for n in row["noise"]) or "—"
    return f"{head} {100 * row['last']:.1f} % | {eps} | {noise} | {row['minutes']:.1f} |"


def aggregate(rows: list[dict]) -> list[dict]:
    """Mean ± sd of last-round accuracy per (recipe, ε), over the runs that completed."""
    points: dict[tuple[str, float], list[dict]] = {}
    for row in rows:
        if "error" not in row:
            points.setdefault((row["recipe"], row["target"]), []).append(row)
    out = []
    for (recipe, target), runs in sorted(points.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
        acc = [100 * r["last"] for r in runs]
        eps = [r["epsilon_max"] for r in runs if r["epsilon_max"] is not None]
        out.append(
            {
                "recipe": recipe,
                "target": target,
                "runs": len(runs),
                "mean": statistics.fmean(acc),
                "sd": statistics.stdev(acc) if len(acc) > 1 else float("nan"),
                "epsilon_max": max(eps) if eps else None,
                "minutes": statistics.fmean(r["minutes"] for r in runs),
            }
        )
    return out


def plot(points: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    labels = {"old": "old recipe (batch 8, AdamW, flat clip 1, [CLS])", "preset": "DP preset"}
    # ∞ is drawn at the right edge, past the largest finite ε.
    finite = [p["target"] for p in points if not math.isinf(p["target"])] or [8.0]
    inf_x = max(finite) * 1.6
    for recipe in sorted({p["recipe"] for p in points}):
        pts = sorted(
            (p for p in points if p["recipe"] == recipe),
            key=lambda p: inf_x if math.isinf(p["target"]) else p["target"],
        )
        xs = [inf_x if math.isinf(p["target"]) else p["target"] for p in pts]
        ax.errorbar(
            xs,
            [p["mean"] for p in pts],
            yerr=[0.0 if math.isnan(p["sd"]) else p["sd"] for p in pts],
            marker="o",
            capsize=3,
            label=labels.get(recipe, recipe),
        )
    ticks = sorted(set(finite)) + [inf_x]
    ax.set_xscale("log")
    ax.set_xticks(ticks, [f"{t:g}" for t in sorted(set(finite))] + ["∞ (no DP)"])
    ax.minorticks_off()
    ax.set_xlabel("ε per record (δ = 1/(10 n))")
    ax.set_ylabel("held-out accuracy, last round, %")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Default task, 4 sites: accuracy vs ε (mean ± sd over seeds)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default="old,preset", help="comma-separated: old, preset")
    parser.add_argument("--epsilons", default="inf,8,3,1", help="comma-separated targets")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated run.seed values")
    parser.add_argument("--out", type=Path, help="parent folder of the runs (default: a temp dir)")
    parser.add_argument("--plot", type=Path, help="write accuracy vs ε here (PNG)")
    parser.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    parent = args.out or Path(tempfile.mkdtemp(prefix="fedft-dp-utility-"))
    recipes = args.recipes.split(",")
    targets = [float(e) for e in args.epsilons.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for recipe in recipes:
        for epsilon in targets:
            for seed in seeds:
                name = f"{recipe}-eps-{'inf' if math.isinf(epsilon) else f'{epsilon:g}'}-s{seed}"
                rows.append(run_one(recipe, epsilon, seed, parent / name, args.extra))
                print(fmt_row(rows[-1]), file=sys.stderr, flush=True)
    points = aggregate(rows)
    print(f"runs in {parent}")
    print("| recipe | target ε | seed | accuracy, last round | ε reached | noise | minutes |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(fmt_row(r) for r in rows))
    print()
    print("| recipe | target ε | runs | accuracy, mean ± sd | ε reached (max) | minutes, mean |")
    print("|---|---|---|---|---|---|")
    for p in points:
        target = "∞" if math.isinf(p["target"]) else f"{p['target']:g}"
        eps = "—" if p["epsilon_max"] is None else f"{p['epsilon_max']:.3f}"
        # One run has no spread: say so rather than print "± nan".
        acc = f"{p['mean']:.1f} %" if p["runs"] < 2 else f"{p['mean']:.1f} ± {p['sd']:.1f} %"
        print(f"| {p['recipe']} | {target} | {p['runs']} | {acc} | {eps} | {p['minutes']:.1f} |")
    (parent / "table.json").write_text(json.dumps({"runs": rows, "points": points}, indent=2))
    if args.plot is not None and points:
        plot(points, args.plot)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()

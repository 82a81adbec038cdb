"""Cost of one training step with LoRA on the top N layers only (`lora.last_layers`), as a
ratio to the all-layer step, plus an evaluation forward for scale.

Same model and batches as bench_local_training (MiniLM-L6 bundled, LoRA r=8, batch 16, seq
128, CPU fp32). Every round times one step of each variant in a rotating order; each ratio is
the median over rounds of (variant's step / all-layer step of the same round), which cancels
drifts in load.

    python bench/bench_last_layers.py [--rounds 12]
"""

from __future__ import annotations

import argparse
import os
import statistics

import torch
from bench_local_training import build_model, make_batches, plain_loop, seconds

VARIANTS = (None, 3, 2, 1)  # None: every layer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=12)
    args = ap.parse_args()
    models = {n: build_model(last_layers=n)[0] for n in VARIANTS}
    [batch] = make_batches(build_model()[1], n_batches=1)
    for model in models.values():  # warm-up: allocator, kernels
        plain_loop(model, [batch])

    def evaluate() -> None:
        models[None].eval()
        with torch.inference_mode():
            models[None](**batch)

    times: dict[object, list[float]] = {n: [] for n in (*VARIANTS, "eval")}
    order = [*VARIANTS, "eval"]
    for r in range(args.rounds):
        for n in order[r % len(order) :] + order[: r % len(order)]:
            fn = evaluate if n == "eval" else (lambda m=models[n]: plain_loop(m, [batch]))
            times[n].append(seconds(fn))
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}; {args.rounds} rounds")
    print(f"all layers: median step {statistics.median(times[None]):.3f} s")
    for n in (*VARIANTS[1:], "eval"):
        ratios = [t / base for t, base in zip(times[n], times[None], strict=True)]
        label = "eval forward, all layers" if n == "eval" else f"top {n} layers, train step"
        print(f"{label:<28} {statistics.median(ratios):.2f}x  "
              f"(min {min(ratios):.2f}, max {max(ratios):.2f})")  # fmt: skip


if __name__ == "__main__":
    main()

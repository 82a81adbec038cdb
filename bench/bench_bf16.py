"""bf16 autocast against fp32 on this CPU: time of one training step and of one evaluation
forward, and whether the CPU has the instructions that make bf16 fast (`avx512_bf16`, AMX).

Same model and batches as bench_local_training (MiniLM-L6 bundled, LoRA r=8, batch 16, seq 128).
Every round times one fp32 and one bf16 step in alternating order; each ratio is the median
over rounds of (bf16 time / fp32 time of the same round), which cancels drifts in load.

    python bench/bench_bf16.py [--rounds 12]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch
from bench_local_training import build_model, make_batches, plain_loop, seconds


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return {f for line in text.splitlines() if line.startswith("flags") for f in line.split()[2:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=12)
    args = ap.parse_args()
    flags = _cpu_flags()
    print(
        "cpu: "
        + ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in ("avx512_bf16", "amx_bf16"))
        + f"; torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    model, tokenizer, _ = build_model()
    [batch] = make_batches(tokenizer, n_batches=1)
    plain_loop(model, [batch])  # warm-up: allocator, kernels

    def step(bf16: bool) -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            plain_loop(model, [batch])

    def forward(bf16: bool) -> None:
        model.eval()
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            model(**{k: v for k, v in batch.items() if k != "labels"})
        model.train()

    step(True)  # warm-up of the bf16 kernels
    steps, forwards = [], []
    for r in range(args.rounds):
        order = (False, True) if r % 2 == 0 else (True, False)
        t = {bf16: seconds(lambda b=bf16: step(b)) for bf16 in order}
        f = {bf16: seconds(lambda b=bf16: forward(b)) for bf16 in order}
        steps.append(t[True] / t[False])
        forwards.append(f[True] / f[False])
    for name, ratios in (("train step", steps), ("eval forward", forwards)):
        print(
            f"bf16 / fp32, {name}: median {statistics.median(ratios):.2f} "
            f"(min {min(ratios):.2f}, max {max(ratios):.2f}, {args.rounds} rounds)"
        )


if __name__ == "__main__":
    main()

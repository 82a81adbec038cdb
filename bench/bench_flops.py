"""Achieved training GFLOP/s of fedft's local training vs this machine's large-GEMM peak.

The FLOPs of one training step (forward + backward of MiniLM-L6 + LoRA r=8, seq 128, batch 16,
the set-up of bench_local_training.py) are counted with torch.utils.flop_counter; the step is
timed through fedft's train_local. The peak is a 2048x2048x2048 fp32 matmul, timed in the same
process with the same threads. The ratio says how much of the CPU's dense-math capacity
training uses (small LoRA matrices, attention softmax, layer norms and the optimizer are not
GEMM-bound, so well below 1 is expected). Times are medians of repeated runs.

    python bench/bench_flops.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time

import torch
from bench_local_training import build_model, fedft_loop, make_batches
from torch.utils.flop_counter import FlopCounterMode

GEMM_N = 2048


def gemm_gflops(*, repeats: int) -> float:
    a, b = torch.randn(GEMM_N, GEMM_N), torch.randn(GEMM_N, GEMM_N)
    torch.mm(a, b)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    return 2 * GEMM_N**3 / statistics.median(times) / 1e9


def step_flops(model, batch) -> int:
    """FLOPs of one forward + backward on `batch` (the optimizer's element-wise ops not counted)."""
    with FlopCounterMode(display=False) as counter:
        model(**batch).loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    model, tokenizer, _ = build_model()
    batches = make_batches(tokenizer, n_batches=1)
    model.train()
    flops = step_flops(model, batches[0])

    fedft_loop(model, batches)  # warm-up
    step_s, peak = [], []
    for _ in range(args.repeats):  # interleaved, so load from other processes hits both alike
        start = time.perf_counter()
        fedft_loop(model, batches)
        step_s.append(time.perf_counter() - start)
        peak.append(gemm_gflops(repeats=3))
    achieved = flops / statistics.median(step_s) / 1e9
    peak_gflops = statistics.median(peak)
    threads, step_ms = torch.get_num_threads(), statistics.median(step_s) * 1e3
    print(f"{threads} threads; one training step = {flops / 1e9:.2f} GFLOP (forward + backward)")
    print(f"fedft training : {achieved:6.1f} GFLOP/s (median step {step_ms:.0f} ms)")
    print(f"GEMM peak      : {peak_gflops:6.1f} GFLOP/s ({GEMM_N}^3 fp32 matmul)")
    print(f"ratio training/peak: {achieved / peak_gflops:.2f}")


if __name__ == "__main__":
    main()

"""DP-SGD overhead at a site: DP-SGD step time / non-DP step time on the default model.

The default config (configs/default.yaml): bundled MiniLM-L6 + FFA-LoRA r=8, batch 8,
max_length 128, lr 1e-2, on synthetic clinical notes of site 0 (dynamic padding, as sites
train), CPU, one thread (as a simulated site trains: `federation.client_cpus: 1`). Two ratios,
each the median over pairs of back-to-back calls in alternating order (the machine is shared;
pairing cancels slow drifts in load), and the ratio of the fastest calls of each kind (the
least disturbed ones; under heavy load the more robust of the two):

- **step ratio** (the target, ≤ 1.15): the same fixed batches of 8 through the DP optimizer
  (Opacus hooks: per-example gradients, per-example clipping, noise) vs `train_local`'s
  ordinary step with batch clipping. Opacus set-up (hooks attach/detach) is timed apart.
- **round ratio**: one real round as a site runs it — `train_round_private` with Poisson
  sampling, the budget check and record, set-up included — vs one non-DP round of the same
  number of steps. Poisson batch sizes vary around 8, so this ratio is noisier.

    python bench/bench_dp_overhead.py [--pairs 8] [--steps 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from fedft.config import load_config  # noqa: E402
from fedft.dp.budget import SiteBudget  # noqa: E402
from fedft.dp.plan import plan_dp  # noqa: E402
from fedft.dp.sgd import make_private, train_round_private  # noqa: E402
from fedft.round.workload import (  # noqa: E402
    cached_workload,
    collator,
    site_training_data,
    tokenize,
)
from fedft.train.local import make_optimizer, train_local  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NOISE, CLIP = 1.0, 1.0  # noise does not change the cost; values of a typical DP run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=8, help="paired measurements per ratio")
    parser.add_argument("--steps", type=int, default=3, help="optimizer steps per call")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)
    # poisson=False below is deliberate (same batches as the non-DP step); its warning is known.
    logging.getLogger("fedft.dp.sgd").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Full backward hook is firing")
    warnings.filterwarnings("ignore", message="Secure RNG turned off")

    cfg = load_config(REPO / "configs" / "default.yaml", [f"training.max_steps={args.steps}"])
    t = cfg.training
    workload = cached_workload(cfg)
    model, device = workload.model, workload.device
    data = tokenize(cfg, workload, site_training_data(cfg, partition_id=0, data_path=None).dataset)
    collate = collator(cfg, workload)
    g = torch.Generator().manual_seed(0)
    fixed = list(DataLoader(data, batch_size=t.batch_size, shuffle=True, generator=g, collate_fn=collate))
    fixed = fixed[: args.steps]

    def train_plain(loader, steps: int) -> float:
        """Seconds of fedft's non-DP loop over `steps` steps of `loader`."""
        start = time.perf_counter()
        train_local(
            model,
            loader,
            epochs=1,
            max_steps=steps,
            learning_rate=t.learning_rate,
            weight_decay=t.weight_decay,
            max_grad_norm=t.max_grad_norm,
            device=device,
        )
        return time.perf_counter() - start

    def plain_step() -> float:
        return train_plain(fixed, args.steps) / args.steps

    setups: list[float] = []

    def dp_step() -> float:
        start = time.perf_counter()
        optimizer = make_optimizer(model, learning_rate=t.learning_rate, weight_decay=t.weight_decay)
        # poisson=False: Opacus over the loader's own batches, here the same fixed batches as
        # the non-DP step (benchmark only; the guarantee needs Poisson sampling).
        source = DataLoader(fixed, batch_size=None, collate_fn=lambda b: b)
        private = make_private(
            model,
            optimizer,
            DataLoader(data, batch_size=t.batch_size, collate_fn=collate),
            noise_multiplier=NOISE,
            max_grad_norm=CLIP,
            poisson=False,
            steps=args.steps,
        )
        ready = time.perf_counter()
        try:
            train_local(
                model,
                source,
                epochs=1,
                max_steps=args.steps,
                learning_rate=t.learning_rate,
                weight_decay=t.weight_decay,
                max_grad_norm=None,
                device=device,
                optimizer=private.optimizer,
            )
            done = time.perf_counter()
        finally:
            private.close()
        setups.append(ready - start + time.perf_counter() - done)
        return (done - ready) / args.steps

    state = Path(tempfile.mkdtemp(prefix="fedft-bench-dp-"))
    dp_cfg = load_config(
        REPO / "configs" / "default.yaml",
        [f"training.max_steps={args.steps}", "dp.enabled=true", f"dp.noise_multiplier={NOISE}", "dp.max_epsilon=1000"],  # a speed bench: the cap never binds,
    )
    plan = plan_dp(
        dp_cfg.dp,
        n_records=len(data),
        batch_size=t.batch_size,
        local_epochs=t.local_epochs,
        max_steps=args.steps,
        rounds=10_000,
    )
    rounds = iter(range(1, 10_000))

    def plain_round() -> float:
        loader = DataLoader(data, batch_size=t.batch_size, shuffle=True, collate_fn=collate)
        return train_plain(loader, plan.steps)

    def dp_round() -> float:
        budget = SiteBudget.load(
            state / "dp-budget.json", accountant=plan.accountant, delta=plan.delta, max_epsilon=None
        )
        start = time.perf_counter()
        train_round_private(
            model,
            data,
            collate_fn=collate,
            plan=plan,
            budget=budget,
            server_round=next(rounds),
            learning_rate=t.learning_rate,
            weight_decay=t.weight_decay,
            device=device,
        )
        return time.perf_counter() - start

    def paired(first, second) -> tuple[list[float], list[float]]:
        first(), second()  # warm-up: allocator, kernel selection, Opacus imports
        a, b = [], []
        for i in range(args.pairs):
            order = [(first, a), (second, b)]
            for fn, out in order if i % 2 == 0 else reversed(order):
                out.append(fn())
        return a, b

    dp_s, plain_s = paired(dp_step, plain_step)
    dp_r, plain_r = paired(dp_round, plain_round)
    step_ratios = [d / p for d, p in zip(dp_s, plain_s, strict=True)]
    round_ratios = [d / p for d, p in zip(dp_r, plain_r, strict=True)]

    print(
        f"MiniLM-L6 + LoRA r={cfg.lora.r} ({cfg.lora.mode}), batch {t.batch_size}, "
        f"max_length {cfg.data.max_length}, {torch.get_num_threads()} threads, "
        f"{args.pairs} pairs x {args.steps} steps, site 0 ({len(data)} records)"
    )
    print(f"non-DP step        : median {1000 * statistics.median(plain_s):7.1f} ms")
    print(
        f"DP-SGD step        : median {1000 * statistics.median(dp_s):7.1f} ms "
        f"(+ Opacus set-up {1000 * statistics.median(setups):.0f} ms per round)"
    )
    print(
        f"STEP RATIO DP/non-DP = {statistics.median(step_ratios):.3f} median of pairs, "
        f"{min(dp_s) / min(plain_s):.3f} fastest/fastest  (target <= 1.15; pairs min "
        f"{min(step_ratios):.3f}, max {max(step_ratios):.3f})"
    )
    print(
        f"round ratio DP/non-DP = {statistics.median(round_ratios):.3f} median of pairs, "
        f"{min(dp_r) / min(plain_r):.3f} fastest/fastest  (real round: Poisson batches, budget, "
        f"set-up; pairs min {min(round_ratios):.3f}, max {max(round_ratios):.3f})"
    )


if __name__ == "__main__":
    main()

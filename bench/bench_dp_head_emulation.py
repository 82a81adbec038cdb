"""Head-only emulation of simulations/dp-hospitals.yaml on cached embeddings: how far the
classification head alone can get under sample-level DP, in seconds instead of hours.

The preset's sites each take full-batch DP-SGD steps (q = 1) on a linear head over the frozen,
mean-pooled, L2-normalised embedding; LoRA is left out. Emulated exactly as the preset does it:
per-example clipping to C, Gaussian noise σ·√2·C on the summed head gradient (per-group
clipping with two groups, fedft.dp.clipping), σ from fedft's own calibration (PRV accountant,
δ = 1/(10 n), the preset's default), plain SGD, FedAvg weighted by records. What it answers:
the accuracy ceiling of the head without LoRA for a schedule (steps per round, rounds, lr) and
ε, with ε = 0 meaning no noise. docs/privacy-guarantees.md ("The ceiling without noise") quotes
its numbers.

    python bench/bench_dp_head_emulation.py [--config simulations/dp-hospitals.yaml]
        [--features CACHE.npz] [--epsilons 0,8,3,1] [--schedules 1x6,1x60] [--lr 10]
        [--noise-seeds 3] [--head-init random|label_names] [--init-scale S] [--set KEY=VALUE ...]

`--schedules`: steps-per-round x rounds. `--features`: embeddings are computed once (a minute
or more on CPU) and cached there; reused when the file exists.
"""

from __future__ import annotations

import argparse
import functools
import math
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def embeddings(config: Path, overrides: list[str]) -> dict[str, np.ndarray]:
    """Per-site (X{i}, Y{i}) and held-out (Xe, Ye) mean-pooled embeddings of the config's task."""
    import torch
    from torch.utils.data import DataLoader

    from fedft.config import load_config
    from fedft.round.workload import (
        build_workload,
        collator,
        eval_set,
        resolve_labels,
        site_training_data,
        tokenize,
    )

    cfg = load_config(config, overrides)
    work = build_workload(cfg, resolve_labels(cfg))
    collate = collator(cfg, work)
    work.model.eval()
    encoder = work.model.base_model.model.bert

    def encode(dataset):
        xs, ys = [], []
        with torch.inference_mode():
            for batch in DataLoader(
                tokenize(cfg, work, dataset), batch_size=64, collate_fn=collate
            ):
                out = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
                xs.append(out.pooler_output.numpy())
                ys.append(batch["labels"].numpy())
        return np.concatenate(xs), np.concatenate(ys)

    arrays = {}
    for i in range(cfg.federation.num_clients):
        site = site_training_data(cfg, partition_id=i, data_path=None).dataset
        arrays[f"X{i}"], arrays[f"Y{i}"] = encode(site)
    arrays["Xe"], arrays["Ye"] = encode(eval_set(cfg).dataset)
    return arrays


def label_name_head(config: Path, overrides: list[str], *, scale: float) -> np.ndarray:
    """The head `model.head_init: label_names` starts from, (classes, dim + 1), bias last."""
    from fedft.config import load_config
    from fedft.model.head_init import label_texts, pooled_embeddings
    from fedft.round.workload import build_workload, resolve_labels

    cfg = load_config(config, overrides)
    labels = resolve_labels(cfg)
    work = build_workload(cfg, labels)
    texts = label_texts(labels, template=cfg.model.label_template)
    emb = pooled_embeddings(work.model.base_model.model, work.tokenizer, texts).numpy()
    rows = scale * emb / np.linalg.norm(emb, axis=1, keepdims=True)
    return np.hstack([rows, np.zeros((len(rows), 1))])


@functools.cache
def _sigma(epsilon: float, n: int, steps: int) -> float:
    """The preset's noise multiplier for a site of `n` records (PRV, δ = 1/(10 n), q = 1);
    cached: the calibration takes seconds and every round and noise seed repeats it."""
    from fedft.dp.accounting import calibrate_noise

    return calibrate_noise(
        target_epsilon=epsilon,
        target_delta=1 / (10 * n),
        sample_rate=1.0,
        steps=steps,
        accountant="prv",
        group_size=1,
    )


def emulate(
    feats: dict[str, np.ndarray],
    *,
    epsilon: float,
    lr: float,
    steps: int,
    rounds: int,
    clip: float = 1.0,
    seed: int = 0,
    init: np.ndarray | None = None,
) -> float:
    """Held-out accuracy after `rounds` of FedAvg over `steps` full-batch DP-SGD steps per site.

    `init`: the head's starting weights, (classes, dim + 1) with the bias last; None = random
    (N(0, 0.02), as transformers initialises a new head).
    """
    rng = np.random.default_rng(seed)
    n_sites = sum(1 for k in feats if k.startswith("X") and k != "Xe")
    classes = int(max(feats["Ye"].max(), *(feats[f"Y{i}"].max() for i in range(n_sites)))) + 1
    dim = feats["Xe"].shape[1]
    weights = np.zeros((classes, dim + 1))  # last column: the bias
    weights[:, :dim] = rng.normal(0.0, 0.02, (classes, dim))
    if init is not None:
        weights = np.array(init, dtype=np.float64)

    def with_bias(x: np.ndarray) -> np.ndarray:
        return np.hstack([x, np.ones((len(x), 1))])

    sites = [(with_bias(feats[f"X{i}"]), feats[f"Y{i}"]) for i in range(n_sites)]
    for _ in range(rounds):
        deltas, sizes = [], []
        for x, y in sites:
            n = len(x)
            sigma = _sigma(epsilon, n, steps * rounds) if epsilon > 0 else 0.0
            local = weights.copy()
            for _ in range(steps):
                logits = x @ local.T
                p = np.exp(logits - logits.max(1, keepdims=True))
                p /= p.sum(1, keepdims=True)
                p[np.arange(n), y] -= 1.0  # d(cross-entropy)/d(logits)
                norms = np.linalg.norm(p, axis=1) * np.linalg.norm(x, axis=1)
                clipped = p * np.minimum(1.0, clip / (norms + 1e-12))[:, None]
                noise = rng.normal(0.0, sigma * math.sqrt(2) * clip, local.shape)
                local -= lr * (clipped.T @ x + noise) / n
            deltas.append(local - weights)
            sizes.append(n)
        weights = weights + sum(s * d for s, d in zip(sizes, deltas, strict=True)) / sum(sizes)
    return float(((with_bias(feats["Xe"]) @ weights.T).argmax(1) == feats["Ye"]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=REPO / "simulations" / "dp-hospitals.yaml")
    parser.add_argument("--features", type=Path, help="embedding cache (.npz)")
    parser.add_argument("--epsilons", default="0,8,3,1", help="0: no noise")
    parser.add_argument("--schedules", default="1x6,1x60", help="steps-per-round x rounds")
    parser.add_argument("--lr", type=float, default=10.0)
    parser.add_argument("--noise-seeds", type=int, default=3)
    parser.add_argument(
        "--head-init",
        choices=("random", "label_names"),
        default="random",
        help="label_names: start from model.head_init's prototypes (model.label_template)",
    )
    parser.add_argument("--init-scale", type=float, default=None, help="default: fedft's")
    parser.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    if args.features is not None and args.features.exists():
        feats = dict(np.load(args.features))
    else:
        feats = embeddings(args.config, args.extra)
        if args.features is not None:
            np.savez(args.features, **feats)
    init = None
    if args.head_init == "label_names":
        from fedft.model.head_init import HEAD_INIT_SCALE

        scale = HEAD_INIT_SCALE if args.init_scale is None else args.init_scale
        init = label_name_head(args.config, args.extra, scale=scale)
    print("| ε | steps/round × rounds | lr | held-out accuracy, mean ± sd over noise seeds |")
    print("|---|---|---|---|")
    for eps in (float(e) for e in args.epsilons.split(",")):
        for schedule in args.schedules.split(","):
            steps, rounds = (int(v) for v in schedule.split("x"))
            accs = [
                emulate(
                    feats, epsilon=eps, lr=args.lr, steps=steps, rounds=rounds, seed=s, init=init
                )
                for s in range(args.noise_seeds)
            ]
            label = "none" if eps == 0 else f"{eps:g}"
            print(
                f"| {label} | {steps} × {rounds} | {args.lr:g} | "
                f"{100 * np.mean(accs):.1f} ± {100 * np.std(accs):.1f} % |",
                flush=True,
            )


if __name__ == "__main__":
    main()

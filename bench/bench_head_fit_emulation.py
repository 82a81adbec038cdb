"""How good can a linear head on the frozen embeddings get, and by which federated route? On
cached embeddings, in seconds: the numbers behind `model.head_fit` (fedft.model.head_fit).

Per corpus seed (`run.seed`: corpus, Dirichlet split and held-out set change with it), on the
config's sites and held-out set, the head reading the mean-pooled, normalised embedding h
(z = [h, 1]/√2, as fedft.model.head_fit):

- `fedavg gd`: FedAvg of one full-batch gradient step per site and round (lr 10, the DP
  preset's schedule without noise) from the label-name head, 6 rounds;
- `avg local ridge`: each site fits its own ridge head, the server averages them (record-weighted);
- `pooled ridge`: the ridge fit on the record-weighted mean of the sites' statistics
  mean(z zᵀ), mean(z yᵀ), i.e. over all records at once (what `model.head_fit` does), per ρ;
- `scale T`: the pooled ridge head's logits × T (fedft.model.head_fit.HEAD_FIT_TEMPERATURE):
  held-out ECE, and the likelihood of each site's records under the fit to the other three
  sites (leave-one-site-out: how the scale was chosen, on training records only);
- `ssp ridge, ε`: the same with each site's *sums* noised once (sufficient-statistics
  perturbation, sensitivity √2 for ‖z‖ ≤ 1, σ from fedft's PRV calibration for one release at
  δ = 1/(10 n)), per λ on sums: why head_fit is refused under DP rather than noised.

    python bench/bench_head_fit_emulation.py [--config configs/default.yaml] [--seeds 0,1,2]
        [--features-dir DIR] [--noise-seeds 3] [--set KEY=VALUE ...]

`--features-dir`: embeddings are computed once per seed (a minute or more on CPU) and cached
there as seed{S}.npz.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from bench_dp_head_emulation import _sigma, embeddings, emulate, label_name_head

REPO = Path(__file__).resolve().parents[1]
RIDGES = (1e-5, 1e-4, 3e-4, 1e-3, 1e-2)
SSP_LAMBDAS = (1.0, 30.0, 100.0, 300.0)


def _z(h: np.ndarray) -> np.ndarray:
    return np.hstack([h, np.ones((len(h), 1))]) / math.sqrt(2)


def _ridge(zz: np.ndarray, zy: np.ndarray, ridge: float) -> np.ndarray:
    return np.linalg.solve(zz + ridge * np.eye(len(zz)), zy)


def _accuracy(feats: dict, solution: np.ndarray) -> float:
    return float(((_z(feats["Xe"]) @ solution).argmax(1) == feats["Ye"]).mean())


def _sites(feats: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    classes = int(feats["Ye"].max()) + 1
    n_sites = sum(1 for k in feats if k.startswith("X") and k != "Xe")
    return [(_z(feats[f"X{i}"]), np.eye(classes)[feats[f"Y{i}"]]) for i in range(n_sites)]


def pooled_ridge(feats: dict, ridge: float) -> float:
    sites = _sites(feats)
    n = sum(len(z) for z, _ in sites)
    zz = sum(z.T @ z for z, _ in sites) / n
    zy = sum(z.T @ y for z, y in sites) / n
    return _accuracy(feats, _ridge(zz, zy, ridge))


def averaged_local_ridge(feats: dict, ridge: float) -> float:
    sites = _sites(feats)
    n = sum(len(z) for z, _ in sites)
    heads = [len(z) * _ridge(z.T @ z / len(z), z.T @ y / len(z), ridge) for z, y in sites]
    return _accuracy(feats, sum(heads) / n)


def _softmax_rows(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(1, keepdims=True)


def calibration(feats: dict, scale: float, *, ridge: float = 3e-4) -> tuple[float, float]:
    """(held-out ECE over 10 bins, leave-one-site-out mean NLL) of the pooled ridge head × scale."""
    sites = _sites(feats)
    n = sum(len(z) for z, _ in sites)
    zz, zy = sum(z.T @ z for z, _ in sites) / n, sum(z.T @ y for z, y in sites) / n
    p = _softmax_rows(scale * _z(feats["Xe"]) @ _ridge(zz, zy, ridge))
    conf, right = p.max(1), p.argmax(1) == feats["Ye"]
    bins = np.minimum((conf * 10).astype(int), 9)
    ece = sum(
        (bins == b).mean() * abs(right[bins == b].mean() - conf[bins == b].mean())
        for b in range(10)
        if (bins == b).any()
    )
    nll = 0.0
    for out, (z_out, y_out) in enumerate(sites):
        rest = [s for i, s in enumerate(sites) if i != out]
        m = sum(len(z) for z, _ in rest)
        head = _ridge(
            sum(z.T @ z for z, _ in rest) / m, sum(z.T @ y for z, y in rest) / m, ridge
        )
        nll -= np.log(_softmax_rows(scale * z_out @ head)[y_out.astype(bool)]).sum()
    return float(ece), float(nll / n)


def ssp_ridge(feats: dict, *, epsilon: float, lam: float, seed: int) -> float:
    rng = np.random.default_rng(seed)
    zz = zy = 0.0
    for z, y in _sites(feats):
        sigma = _sigma(epsilon, len(z), 1) * math.sqrt(2)  # one release, sensitivity √2
        noise = rng.normal(0.0, sigma, (z.shape[1], z.shape[1]))
        zz = zz + z.T @ z + (noise + noise.T) / math.sqrt(2)  # symmetric, same std per entry
        zy = zy + z.T @ y + rng.normal(0.0, sigma, (z.shape[1], y.shape[1]))
    return _accuracy(feats, _ridge(zz, zy, lam))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "default.yaml")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--features-dir", type=Path)
    parser.add_argument("--noise-seeds", type=int, default=3)
    parser.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    feats = []
    for seed in seeds:
        overrides = [*args.extra, f"run.seed={seed}"]
        cache = None if args.features_dir is None else args.features_dir / f"seed{seed}.npz"
        if cache is not None and cache.exists():
            feats.append(dict(np.load(cache)))
            continue
        f = embeddings(args.config, overrides)
        f["init"] = label_name_head(args.config, overrides, scale=2.0)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, **f)
        feats.append(f)

    def row(name: str, accs: list[float]) -> None:
        per_seed = " / ".join(f"{100 * a:.1f}" for a in accs)
        mean, sd = 100 * np.mean(accs), 100 * np.std(accs, ddof=1)
        print(f"| {name} | {per_seed} | {mean:.1f} ± {sd:.1f} % |")

    print(f"| head (seeds {args.seeds}) | per seed | mean ± sd |")
    print("|---|---|---|")
    row(
        "fedavg gd, 6 rounds, lr 10",
        [emulate(f, epsilon=0, lr=10.0, steps=1, rounds=6, init=f["init"]) for f in feats],
    )
    row("avg local ridge, ρ 3e-4", [averaged_local_ridge(f, 3e-4) for f in feats])
    for ridge in RIDGES:
        row(f"pooled ridge, ρ {ridge:g}", [pooled_ridge(f, ridge) for f in feats])
    for scale in (1.0, 3.0, 6.0, 10.0, 15.0):
        pairs = [calibration(f, scale) for f in feats]
        eces = " / ".join(f"{e:.3f}" for e, _ in pairs)
        nlls = " / ".join(f"{v:.3f}" for _, v in pairs)
        print(f"| pooled ridge × {scale:g} | held-out ECE {eces} | leave-one-site-out NLL {nlls} |")
    for epsilon in (8.0, 3.0):
        for lam in SSP_LAMBDAS:
            accs = [
                float(
                    np.mean(
                        [
                            ssp_ridge(f, epsilon=epsilon, lam=lam, seed=s)
                            for s in range(args.noise_seeds)
                        ]
                    )
                )
                for f in feats
            ]
            row(f"ssp ridge, ε {epsilon:g}, λ {lam:g} (sums)", accs)


if __name__ == "__main__":
    main()

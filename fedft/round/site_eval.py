"""A site's held-out split for per-site evaluation (`evaluation.per_site`), built at the site.

Real data (a site's file, or `data.train` partitions): `site_eval_fraction` of the site's rows,
stratified by label and seeded, are held out before anything else touches them; training sees
the rest. The synthetic demo corpus: as many extra notes are generated with the site's own
label mix, so a simulation trains on exactly what it did without per-site evaluation (and its
accuracy stays comparable across versions). Held-out rows go through the site's anonymization
policy like training rows (the model only ever sees anonymized text) but are not part of the
site's anonymization report, which counts what was trained on.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

import datasets
import numpy as np

from fedft.anonymize.anonymizer import Anonymizer
from fedft.config import Config
from fedft.data.synthetic import generate_corpus
from fedft.round.prepare import PreparedData, anonymize_dataset
from fedft.round.workload import Workload, tokenize

__all__ = ["SiteData", "held_out_split", "split_rows", "stratified_quotas", "synthetic_held_out"]


@dataclass(frozen=True)
class SiteData:
    train: PreparedData
    held_out: datasets.Dataset | None  # tokenized; None without per-site evaluation


def _seed(cfg: Config, site_id: str, purpose: str) -> int:
    # hashlib, not hash(): str hashes are salted per process.
    digest = hashlib.sha256(f"{cfg.run.seed}:{purpose}:{site_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def stratified_quotas(counts: dict[str, int], *, total: int) -> dict[str, int]:
    """`total` split across labels in proportion to `counts` (largest remainder), never more
    than a label has."""
    n = sum(counts.values())
    exact = {k: total * c / n for k, c in counts.items()}
    quotas = {k: int(v) for k, v in exact.items()}
    by_remainder = sorted(counts, key=lambda k: (exact[k] - quotas[k], k), reverse=True)
    for k in by_remainder[: total - sum(quotas.values())]:
        quotas[k] += 1
    return {k: min(q, counts[k]) for k, q in quotas.items()}


def split_rows(
    ds: datasets.Dataset, *, fraction: float, seed: int
) -> tuple[datasets.Dataset, datasets.Dataset]:
    """(training rows, held-out rows): `fraction` of the rows, stratified by `label` when the
    rows have one; at least one row on each side."""
    if len(ds) < 2:
        raise ValueError(
            f"a site with {len(ds)} row(s) cannot hold any out for evaluation; give it more "
            "data or set evaluation.per_site: false"
        )
    total = min(max(1, round(fraction * len(ds))), len(ds) - 1)
    labels = list(ds["label"]) if "label" in ds.column_names else ["all"] * len(ds)
    rng = np.random.default_rng(seed)
    quotas = stratified_quotas(Counter(labels), total=total)
    held: list[int] = []
    for label, quota in sorted(quotas.items()):
        members = np.array([i for i, x in enumerate(labels) if x == label])
        held += rng.permutation(members)[:quota].tolist()
    chosen = set(held)
    return ds.select([i for i in range(len(ds)) if i not in chosen]), ds.select(sorted(chosen))


def synthetic_held_out(cfg: Config, rows: datasets.Dataset, *, site_id: str) -> datasets.Dataset:
    """Fresh synthetic notes, `site_eval_fraction` × the site's rows, with its label mix."""
    total = max(1, round(cfg.evaluation.site_eval_fraction * len(rows)))
    task, kind = cfg.data.task, cfg.data.synthetic.kind
    seed = _seed(cfg, site_id, "site-eval")
    if task != "classification":
        records = generate_corpus(kind=kind, n=total, seed=seed, task=task)
        keep = ("instruction", "input", "response")
        return datasets.Dataset.from_list([{k: r[k] for k in keep} for r in records])
    quotas = stratified_quotas(Counter(rows["label"]), total=total)
    # Balanced generation with headroom: label noise moves a few notes to other labels.
    per_label = max(quotas.values()) + 8
    pool = generate_corpus(kind=kind, n=per_label * len(quotas) * 2, seed=seed, task=task)
    picked = []
    for label, quota in sorted(quotas.items()):
        picked += [r for r in pool if r["label"] == label][:quota]
    return datasets.Dataset.from_list([{"text": r["text"], "label": r["label"]} for r in picked])


def held_out_split(
    cfg: Config, rows: datasets.Dataset, *, site_id: str, synthetic: bool
) -> tuple[datasets.Dataset, datasets.Dataset]:
    """(rows to train on, raw held-out rows) for this site."""
    if synthetic:
        return rows, synthetic_held_out(cfg, rows, site_id=site_id)
    fraction = cfg.evaluation.site_eval_fraction
    return split_rows(rows, fraction=fraction, seed=_seed(cfg, site_id, "site-eval-split"))


def prepare_held_out(
    cfg: Config, workload: Workload, rows: datasets.Dataset, *, anonymizer: Anonymizer
) -> datasets.Dataset:
    """Anonymized (the site's policy) and tokenized held-out rows."""
    clean, _report = anonymize_dataset(rows, task=cfg.data.task, anonymizer=anonymizer)
    if len(clean) == 0:
        raise ValueError("no held-out row left after anonymization (all dropped for residual PII)")
    return tokenize(cfg, workload, clean)

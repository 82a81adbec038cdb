"""Split one Dataset across simulated sites with flwr-datasets partitioners (offline).

`FederatedDataset` downloads from the hub, so the partitioner is given the local Dataset
directly. This module needs flwr-datasets, not Flower itself.
"""

from __future__ import annotations

import logging
import warnings
from typing import Literal

import datasets

log = logging.getLogger(__name__)

PartitionKind = Literal["iid", "dirichlet"]

# flwr-datasets' default minimum partition size; smaller datasets get a smaller one (below).
_DEFAULT_MIN_PARTITION_SIZE = 10


def partition_dataset(
    ds: datasets.Dataset,
    *,
    num_partitions: int,
    kind: PartitionKind,
    alpha: float = 0.5,
    seed: int,
    partition_by: str = "label",
) -> list[datasets.Dataset]:
    """All `num_partitions` partitions, each non-empty; the same seed gives the same split.

    iid: a seeded shuffle, then contiguous shards whose sizes differ by at most one
    (`IidPartitioner` alone shards in file order, so a file sorted by label would give each
    site one label). dirichlet: per-label proportions drawn from Dirichlet(alpha) (smaller
    alpha = more label skew); needs the `partition_by` column, so classification only.
    """
    if kind not in ("iid", "dirichlet"):
        raise ValueError(f"kind must be 'iid' or 'dirichlet', got {kind!r}")
    if num_partitions < 1:
        raise ValueError(f"num_partitions must be >= 1, got {num_partitions}")
    if num_partitions > len(ds):
        raise ValueError(
            f"cannot give {num_partitions} sites at least one example each from {len(ds)} "
            "examples; use fewer sites (federation.num_clients) or more data"
        )
    if kind == "iid":
        from flwr_datasets.partitioner import IidPartitioner  # see _try_dirichlet

        partitioner = IidPartitioner(num_partitions=num_partitions)
        partitioner.dataset = ds.shuffle(seed=seed)
        return [partitioner.load_partition(i) for i in range(num_partitions)]
    return _dirichlet(
        ds, num_partitions=num_partitions, alpha=alpha, seed=seed, partition_by=partition_by
    )


def _dirichlet(
    ds: datasets.Dataset, *, num_partitions: int, alpha: float, seed: int, partition_by: str
) -> list[datasets.Dataset]:
    if partition_by not in ds.column_names:
        raise ValueError(
            f"dirichlet partitioning skews sites by the '{partition_by}' column, which this "
            f"dataset lacks (columns: {', '.join(ds.column_names)}); use kind 'iid' "
            "(instruction data has no labels)"
        )
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0 (smaller = more label skew), got {alpha}")
    preferred = min_partition_size(num_rows=len(ds), num_partitions=num_partitions)
    # The preferred minimum keeps sites useful; when small alpha cannot meet it, a site with a
    # single example still beats refusing the run. Both tries are seeded, so still deterministic.
    for min_size in dict.fromkeys((preferred, 1)):
        parts = _try_dirichlet(
            ds,
            num_partitions=num_partitions,
            alpha=alpha,
            seed=seed,
            partition_by=partition_by,
            min_size=min_size,
        )
        if parts is not None:
            if min_size < preferred:
                log.warning(
                    "dirichlet split (alpha=%s, %d sites) could not give every site %d "
                    "examples; smallest site has %d",
                    alpha,
                    num_partitions,
                    preferred,
                    min(len(p) for p in parts),
                )
            return parts
    # At tiny alpha each label lands on about one site, so more sites than labels cannot all
    # be filled.
    raise ValueError(
        f"dirichlet split of {len(ds)} examples into {num_partitions} sites with alpha={alpha} "
        "left a site empty in every draw; raise alpha (data.partition.alpha), use fewer sites, "
        "or add data"
    )


def _try_dirichlet(
    ds: datasets.Dataset,
    *,
    num_partitions: int,
    alpha: float,
    seed: int,
    partition_by: str,
    min_size: int,
) -> list[datasets.Dataset] | None:
    """The partitions, or None when flwr-datasets gives up (11 draws below min_size)."""
    # Imported here: flwr_datasets pulls in matplotlib and its plotting helpers (seconds of
    # start-up), which a deployed site reading its own file never needs.
    from flwr_datasets.partitioner import DirichletPartitioner

    partitioner = DirichletPartitioner(
        num_partitions=num_partitions,
        partition_by=partition_by,
        alpha=float(alpha),
        min_partition_size=min_size,
        # Self-balancing stops giving a label's share to sites already above the even size:
        # label skew stays (measured: mean total-variation distance to the global label mix
        # 0.6 at alpha 0.1, 0.08 at alpha 10) and small sites are rarer; without it, 10 sites
        # at alpha 0.1 failed 3 seeds in 20 on a 2,000-note corpus.
        self_balancing=True,
        shuffle=True,
        seed=seed,
    )
    partitioner.dataset = ds
    with warnings.catch_warnings(record=True) as caught:
        # flwr-datasets warns on every redraw that leaves a site too small; redraws are
        # expected at small alpha, so count them instead of flooding the log.
        warnings.simplefilter("always")
        try:
            parts = [partitioner.load_partition(i) for i in range(num_partitions)]
        except ValueError:
            return None
    if caught:
        log.info(
            "dirichlet split redrawn %d time(s) to give every site >= %d examples",
            len(caught),
            min_size,
        )
    return parts


def min_partition_size(*, num_rows: int, num_partitions: int) -> int:
    """The smallest site a Dirichlet split accepts before redrawing.

    flwr-datasets' default (10) cannot be met by small demo sets and after 10 redraws it gives
    up; a quarter of the even share is still "non-empty" and, for larger sets, capped at 10
    so that small alpha keeps its skew instead of being redrawn towards balance.
    """
    return max(1, min(_DEFAULT_MIN_PARTITION_SIZE, num_rows // (4 * num_partitions)))

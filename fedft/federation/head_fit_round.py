"""The head-fit round (`model.head_fit: least_squares`): what a site uploads in round 1 and
what the server makes of the average (`fedft.model.head_fit` has the method and its numbers).

The statistics travel like a delta: masked under SecAgg+, checked against the same clip norm.
They are scaled by a public factor so their norm (at most √1.5 before scaling) stays well
inside `secure_aggregation.delta_clip_norm`; the ridge solution does not depend on the scale.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fedft.config import Config
from fedft.config.schema import HEAD_FIT_ROUND, fits_head, head_fit_blockers
from fedft.federation.uploads import Upload, check_shapes
from fedft.model.head_fit import feature_statistics, fitted_head, head_names, statistics_shapes
from fedft.model.pooling import model_pooling
from fedft.round.workload import Workload, eval_loader

__all__ = ["HEAD_FIT_ROUND", "KEY_HEAD_FIT", "HeadFit", "site_statistics", "statistics_scale"]

log = logging.getLogger(__name__)

# The fit-instruction key that asks a site for statistics instead of training.
KEY_HEAD_FIT = "head_fit"


def statistics_scale(cfg: Config) -> float:
    """The public factor on both statistics (1 without SecAgg+)."""
    sa = cfg.secure_aggregation
    return sa.delta_clip_norm / 2 if sa.enabled else 1.0


def site_statistics(
    cfg: Config, workload: Workload, tokenized, *, site_id: str
) -> tuple[dict[str, np.ndarray], int]:
    """A site's side: its scaled statistics by name, and its record count. Refuses when its
    own config would not fit the head (the server and the site run different configs)."""
    if not fits_head(cfg, pooling=model_pooling(workload.model)):
        raise ValueError(
            f"{site_id}: the server asks for feature statistics (model.head_fit) that "
            "this site's config does not allow; the server and the site run different configs"
        )
    loader = eval_loader(cfg, workload, tokenized)  # forward passes only, length-ordered
    statistics, n = feature_statistics(workload.model, loader, scale=statistics_scale(cfg))
    return {f"feature_statistics.{i}": a for i, a in enumerate(statistics)}, n


@dataclass(frozen=True)
class HeadFit:
    """The server's side: which arrays of the global adapter are the head, and the fit."""

    names: list[str]  # the trainable state's names, in the order of the global arrays
    scale: float
    ridge: float

    @classmethod
    def for_run(cls, cfg: Config, names: Sequence[str], *, pooling: str) -> HeadFit | None:
        """The run's head fit, or None; `pooling`: what the loaded model's head reads."""
        if cfg.model.head_fit == "none":
            return None
        if cfg.model.head_fit == "least_squares" and pooling != "mean":
            raise ValueError(
                f"model.head_fit: 'least_squares' needs unit-norm embeddings; the model reads "
                f"{pooling} pooling (set model.pooling: mean, or head_fit: auto or none)"
            )
        if not fits_head(cfg, pooling=pooling):
            reasons = head_fit_blockers(cfg) or [f"the model reads {pooling} pooling"]
            log.info("model.head_fit auto: the head trains like the rest (%s)", "; ".join(reasons))
            return None
        head_names(names)  # fails here, before round 1, on a model without one linear head
        log.info("model.head_fit: round %d fits the head (least squares)", HEAD_FIT_ROUND)
        return cls(list(names), statistics_scale(cfg), cfg.model.head_fit_ridge)

    def shapes(self, global_arrays: Sequence[np.ndarray]) -> list[tuple[int, ...]]:
        weight, _ = head_names(self.names)
        classes, dim = global_arrays[self.names.index(weight)].shape
        return statistics_shapes(dim=dim, classes=classes)

    def apply(
        self, uploads: Sequence[Upload], global_arrays: Sequence[np.ndarray], *, server_round: int
    ) -> list[np.ndarray]:
        """The global arrays with the head replaced by the fit to the record-weighted mean of
        the sites' statistics (under SecAgg+ every upload already is that mean)."""
        check_shapes(
            uploads,
            self.shapes(global_arrays),
            server_round=server_round,
            what="feature statistics do not match the head",
        )
        total = sum(u.res.num_examples for u in uploads)
        mean = [
            sum(u.res.num_examples * u.delta[i].astype(np.float64) for u in uploads) / total
            for i in range(len(uploads[0].delta))
        ]
        weight, bias = fitted_head(mean, scale=self.scale, ridge=self.ridge)
        w_name, b_name = head_names(self.names)
        out = [np.array(a, dtype=np.float32) for a in global_arrays]
        out[self.names.index(w_name)] = weight
        out[self.names.index(b_name)] = bias
        log.info("round %s: head fitted to the statistics of %d records", server_round, total)
        return out

"""The `evaluation:` section: per-site evaluation of the global adapter and the local-only
baseline each site is compared with (docs/evaluation.md).

Each site evaluates the global adapter on its own held-out split every round and reports
aggregate scalars only (accuracy, macro-F1, example count). The split: in a simulation on the
synthetic corpus, `site_eval_fraction` × the site's partition size extra notes are generated
with the site's own label mix (training data unchanged); on real data (a site's file, or
`data.train` partitions) that share of the site's rows is held out, stratified by label and
seeded, so training sees fewer rows.
"""

from __future__ import annotations

from pydantic import Field, PositiveInt

from fedft.config.base import StrictModel

__all__ = ["EvaluationConfig", "evaluation_cross_errors"]


class EvaluationConfig(StrictModel):
    per_site: bool = Field(
        True, description="each site evaluates the global adapter on its own held-out split"
    )
    site_eval_fraction: float = Field(
        0.15, gt=0.0, lt=1.0, description="share of a site's rows held out for its evaluation"
    )
    local_baseline: bool = Field(
        False,
        description=(
            "each site also trains alone with the run's budget (same steps and recipe, its own "
            "data) and reports that model's held-out scores and the federation's gain over it; "
            "trains every site twice (measured: 1.7x the default run's wall time), so off unless "
            "asked for; not with dp.enabled (it would spend the sites' privacy budget)"
        ),
    )
    every_n_rounds: PositiveInt = Field(
        1,
        description=(
            "score the global adapter (central and per-site) every n-th round only; round 0 and "
            "the last planned round always (summary.json's first and last). A skipped round's "
            "metrics.jsonl row has no eval_* and no site_metrics"
        ),
    )

    def scores_round(self, server_round: int, *, rounds: int) -> bool:
        """Whether round `server_round` (0: the initial adapter) of a `rounds`-round run is
        scored."""
        return server_round == 0 or server_round >= rounds or server_round % self.every_n_rounds == 0


def evaluation_cross_errors(ev: EvaluationConfig, *, dp_enabled: bool) -> list[str]:
    errors = []
    if ev.local_baseline and not ev.per_site:
        errors.append(
            "evaluation.local_baseline: true needs evaluation.per_site: true (the baseline is "
            "scored on the site's held-out split)"
        )
    if ev.local_baseline and dp_enabled:
        errors.append(
            "evaluation.local_baseline: true with dp.enabled: a site's local-only model would "
            "train on its records outside its DP budget; set it to false"
        )
    return errors

"""`model.head_fit: least_squares` in a real Flower simulation under SecAgg+: round 1 trains
nothing, the server sees only the masked sum of the sites' statistics, and the head it sets is
the ridge fit over every site's records."""

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
from small_run import SMALL

from fedft.cli import main as fedft_main
from fedft.config import load_config
from fedft.federation.head_fit_round import statistics_scale
from fedft.federation.site_data import prepared_sites
from fedft.model.head_fit import feature_statistics, fitted_head, head_names
from fedft.model.state import trainable_state
from fedft.round.workload import eval_loader, site_workload
from fedft.run.metrics import read_metrics
from fedft.run.rundir import RunDir

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def head_fit_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("run") / "head-fit"
    argv = ["simulate", str(REPO / "configs" / "default.yaml"), "-o", str(root)]
    # ρ well above SecAgg+'s quantization step: with 96 records in 385 dimensions a tiny ρ
    # would amplify the masked sum's rounding (the default task has 12x the records).
    overrides = [*SMALL, "federation.rounds=1", "model.head_fit=least_squares", "model.head_fit_ridge=0.05"]
    for override in overrides:
        argv += ["--set", override]
    with contextlib.redirect_stdout(io.StringIO()):
        assert fedft_main(argv) == 0
    run_dir = RunDir(root.resolve())
    return load_config(run_dir.config), run_dir


def test_round_one_sets_the_pooled_least_squares_head_through_secagg(head_fit_run):
    cfg, run_dir = head_fit_run
    assert cfg.secure_aggregation.enabled
    # The sites' anonymized training sets, as the in-process sites prepared them.
    sites = [data.train.tokenized for data in prepared_sites.values()]
    assert len(sites) == cfg.federation.num_clients
    model = site_workload(cfg).model  # LoRA B still at its start: features as in round 1
    scale = statistics_scale(cfg)
    stats = [feature_statistics(model, eval_loader(cfg, site_workload(cfg), s), scale=scale) for s in sites]
    total = sum(n for _, n in stats)
    mean = [sum(n * s[i].astype(np.float64) for s, n in stats) / total for i in (0, 1)]
    weight, bias = fitted_head(mean, scale=scale, ridge=cfg.model.head_fit_ridge)

    final = trainable_state(model)
    w_name, b_name = head_names(list(final))
    # SecAgg+ quantizes each masked value, and (Z'Z/N + ρI)⁻¹ amplifies that rounding by up to
    # 1/ρ: the fit from the unmasked sum agrees to 0.5 % of the largest weight (~0.2 % seen;
    # an unweighted mean of the sites' statistics is off by ~10 %).
    tolerance = 5e-3 * np.abs(weight).max()
    np.testing.assert_allclose(final[w_name], weight, rtol=0, atol=tolerance)
    np.testing.assert_allclose(final[b_name], bias, rtol=0, atol=tolerance)
    unweighted = [(stats[0][0][i] + stats[1][0][i]) / 2 for i in (0, 1)]
    assert np.abs(fitted_head(unweighted, scale=scale, ridge=cfg.model.head_fit_ridge)[0] - weight).max() > 10 * tolerance


def test_round_one_uploads_only_the_statistics_trains_nothing_and_lifts_accuracy(head_fit_run):
    cfg, run_dir = head_fit_run
    zero, one = read_metrics(run_dir.metrics)
    sites = [data.train.tokenized for data in prepared_sites.values()]
    assert one["train_loss"] is None and one["clients_finished"] == cfg.federation.num_clients
    assert one["examples_trained"] == sum(len(s) for s in sites)
    # mean(z zᵀ) and mean(z yᵀ) in float32: (385 × 385 + 385 × 5) × 4 bytes, nothing else.
    assert one["bytes_up_per_client"] == (385 * 385 + 385 * 5) * 4
    assert one["eval_accuracy"] > zero["eval_accuracy"]

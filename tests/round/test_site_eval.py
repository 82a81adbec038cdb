"""A site's held-out split, its scores in the round record and summary, its local baseline."""

from __future__ import annotations

from collections import Counter

import datasets
import numpy as np
import pytest
import torch

from fedft.config import load_config
from fedft.round.local_baseline import local_baseline_scores
from fedft.round.site_eval import split_rows, stratified_quotas, synthetic_held_out
from fedft.round.summary import per_site_summary, site_scores, site_spread


def _rows(counts: dict[str, int]) -> datasets.Dataset:
    labels = [k for k, n in counts.items() for _ in range(n)]
    texts = [f"t{i}" for i in range(len(labels))]
    return datasets.Dataset.from_dict({"text": texts, "label": labels})


def test_quotas_follow_the_label_mix_and_sum_to_the_total():
    assert stratified_quotas({"a": 60, "b": 30, "c": 10}, total=10) == {"a": 6, "b": 3, "c": 1}
    quotas = stratified_quotas({"a": 5, "b": 5, "c": 1}, total=3)
    assert sum(quotas.values()) == 3 and quotas["c"] <= 1


def test_split_is_stratified_seeded_and_disjoint():
    ds = _rows({"a": 60, "b": 30, "c": 10})

    train, held = split_rows(ds, fraction=0.2, seed=7)

    assert Counter(held["label"]) == {"a": 12, "b": 6, "c": 2}
    assert len(train) + len(held) == 100
    assert not set(train["text"]) & set(held["text"])
    again = split_rows(ds, fraction=0.2, seed=7)[1]
    assert again["text"] == held["text"]
    assert split_rows(ds, fraction=0.2, seed=8)[1]["text"] != held["text"]
    with pytest.raises(ValueError, match="evaluation.per_site"):
        split_rows(_rows({"a": 1}), fraction=0.2, seed=0)


def test_synthetic_held_out_has_the_sites_label_mix_and_leaves_training_alone():
    cfg = load_config(None, ["evaluation.site_eval_fraction=0.2"])
    labels = ["cardiology"] * 40 + ["neurology"] * 10
    rows = datasets.Dataset.from_dict({"text": ["x"] * 50, "label": labels})

    held = synthetic_held_out(cfg, rows, site_id="site-0")

    assert Counter(held["label"]) == {"cardiology": 8, "neurology": 2}
    assert synthetic_held_out(cfg, rows, site_id="site-0")["text"] == held["text"]
    assert synthetic_held_out(cfg, rows, site_id="site-1")["text"] != held["text"]


def test_site_replies_keep_only_numeric_scores():
    reply = {"eval_accuracy": 0.5, "local_accuracy": 0.4, "site_id": "a", "eval_x": "text"}
    assert site_scores(reply) == {"eval_accuracy": 0.5, "local_accuracy": 0.4}


def test_summary_has_first_last_local_and_gaps_per_site():
    history = [
        {"round": 0, "site_metrics": {
            "a": {"eval_accuracy": 0.2, "eval_macro_f1": 0.1, "n_eval": 10},
            "b": {"eval_accuracy": 0.3, "eval_macro_f1": 0.2, "n_eval": 20},
        }},
        {"round": 1, "site_metrics": {
            "a": {"eval_accuracy": 0.9, "eval_macro_f1": 0.8, "n_eval": 10,
                  "local_accuracy": 0.7, "local_macro_f1": 0.6},
            "b": {"eval_accuracy": 0.6, "eval_macro_f1": 0.5, "n_eval": 20,
                  "local_accuracy": 0.65, "local_macro_f1": 0.6},
        }},
    ]

    out = per_site_summary(history, task="classification")

    a, b = out["per_site"]["a"], out["per_site"]["b"]
    assert (a["first_accuracy"], a["last_accuracy"], a["local_only_accuracy"]) == (0.2, 0.9, 0.7)
    assert a["gain_vs_local_points"] == pytest.approx(20.0)
    assert b["gain_vs_local_points"] == pytest.approx(-5.0)
    assert a["last_macro_f1"] == 0.8 and b["n_eval"] == 20
    assert out["site_gap"] == {"first": pytest.approx(0.1), "last": pytest.approx(0.3)}
    assert (out["best_site"], out["worst_site"]) == ("a", "b")
    assert site_spread({"a": {"eval_accuracy": 1.0}}) == {}
    assert per_site_summary([{"round": 0, "site_metrics": {}}], task="classification") == {}


def test_local_baseline_trains_once_per_round_and_reads_back(tmp_path):
    model = torch.nn.Linear(2, 1)
    start = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}
    trained = []

    def train_round(r, state):
        trained.append(r)
        with torch.no_grad():
            model.bias += 1.0

    def score():
        return {"accuracy": float(model.bias.item())}

    kwargs = {"folder": tmp_path / "b", "global_state": start, "train_round": train_round}

    assert local_baseline_scores(model, server_round=0, score=score, **kwargs) is None
    one = local_baseline_scores(model, server_round=1, score=score, **kwargs)
    # Round 2 skipped by the site: round 3 catches up from round 1's state.
    three = local_baseline_scores(model, server_round=3, score=score, **kwargs)
    again = local_baseline_scores(model, server_round=3, score=score, **kwargs)

    bias0 = float(start["bias"][0])
    assert one == {"accuracy": pytest.approx(bias0 + 1)}
    assert three == again == {"accuracy": pytest.approx(bias0 + 3)}
    assert trained == [1, 2, 3]
    assert local_baseline_scores(
        model, server_round=1, score=score, folder=tmp_path / "late", global_state=start,
        train_round=train_round,
    ) is None
    assert np.isfinite(three["accuracy"])

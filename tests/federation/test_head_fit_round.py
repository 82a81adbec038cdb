"""Which runs fit the head in round 1, decided alike by the server, the sites and the ledger."""

from pathlib import Path

import pytest

from fedft.config import load_config
from fedft.config.schema import fits_head
from fedft.federation.head_fit_round import HeadFit

DEFAULT = Path(__file__).resolve().parents[2] / "configs" / "default.yaml"
NAMES = [
    "base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.default.weight",
    "base_model.model.classifier.modules_to_save.default.weight",
    "base_model.model.classifier.modules_to_save.default.bias",
]


def test_auto_fits_the_head_only_on_mean_pooled_embeddings():
    cfg = load_config(DEFAULT)
    assert cfg.model.head_fit == "auto"
    fit = HeadFit.for_run(cfg, NAMES, pooling="mean")
    assert fit is not None and fit.scale == cfg.secure_aggregation.delta_clip_norm / 2
    # A base read through its own [CLS] pooler (pooling auto resolved to cls at load): no fit,
    # and the ledger's run_start says so too.
    assert HeadFit.for_run(cfg, NAMES, pooling="cls") is None
    assert fits_head(cfg, pooling="mean") and not fits_head(cfg, pooling="cls")


def test_an_explicit_fit_on_unnormalised_embeddings_is_refused():
    cfg = load_config(DEFAULT, ["model.head_fit=least_squares"])
    with pytest.raises(ValueError, match="needs unit-norm embeddings; the model reads cls"):
        HeadFit.for_run(cfg, NAMES, pooling="cls")


def test_none_never_fits():
    cfg = load_config(DEFAULT, ["model.head_fit=none"])
    assert HeadFit.for_run(cfg, NAMES, pooling="mean") is None

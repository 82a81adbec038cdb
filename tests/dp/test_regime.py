"""`fedft dp plan`: the regime numbers and the warning when a plan cannot learn."""

from __future__ import annotations

import math

import datasets
import pytest
import torch

from fedft.cli import main
from fedft.data.tokenize import make_collator, tokenize_classification
from fedft.dp.plan import DPPlan
from fedft.dp.regime import assess, clipped_fractions, summary_lines, trainable_dims

# The default config's trainable coordinates (FFA LoRA-B r=8 on query/value, 5-class head).
DIMS = {"lora": 36_864, "head": 1_925}


def _plan(**overrides) -> DPPlan:
    values = dict(
        noise_multiplier=0.5,
        sample_rate=1 / 40,
        steps=18,
        delta=1e-4,
        max_grad_norm=1.0,
        accountant="prv",
        batch_size=8,
        n_records=300,
        target_epsilon=8.0,
        rounds=6,
    )
    return DPPlan(**{**values, **overrides})


# simulations/dp-hospitals.yaml's regime at a 300-record site: q = 1, σ 1.25, per-group clipping.
RECIPE = dict(
    noise_multiplier=1.25,
    sample_rate=1.0,
    steps=1,
    batch_size=512,
    max_grad_norm=0.1,
    head_max_grad_norm=1.0,
)


def test_the_old_default_regime_is_flagged():
    # Execute: batch 8, σ 0.5, flat clip 1 over 38,789 coordinates (issue 13's numbers).
    regime = assess(_plan(), dims=DIMS, site="site 0", clipped={"all": 1.0})

    # Assert: noise norm σ·C/E[B]·√d ≈ 13 against a clip bound of 1, and three warnings.
    assert regime.noise_norm == pytest.approx(0.5 / 7.5 * math.sqrt(38_789), rel=1e-9)
    assert regime.clip_bound == 1.0
    text = "\n".join(regime.lines())
    assert "expected batch 7.5" in text and "σ 0.500" in text
    assert "WARNING: expected batch 7.5 < 64" in text
    assert "cannot learn" in text
    assert "100% of the first batch is clipped with one flat norm" in text


def test_the_dp_recipe_regime_has_no_warning():
    # Execute: q = 1 over 300 records, σ 1.25, head 1.0 and LoRA 0.1 per group.
    plan = _plan(**RECIPE)
    regime = assess(plan, dims=DIMS, site="site 0", clipped={"lora": 0.5, "head": 1.0})

    # Assert: per-group noise σ·√2·C_g/E[B]; total norm over both groups.
    lora_std = 1.25 * math.sqrt(2) * 0.1 / 300
    head_std = 1.25 * math.sqrt(2) * 1.0 / 300
    assert regime.noise_std == pytest.approx({"lora": lora_std, "head": head_std})
    expected = math.sqrt(DIMS["lora"] * lora_std**2 + DIMS["head"] * head_std**2)
    assert regime.noise_norm == pytest.approx(expected)
    assert regime.clip_bound == pytest.approx(math.hypot(0.1, 1.0))
    assert regime.warnings == []
    assert "examples clipped on a first batch: lora 50%, head 100%" in "\n".join(regime.lines())
    assert "noise per step within" in summary_lines([regime])[-1]


def test_the_heads_budget_share_moves_noise_between_groups():
    # Execute: the recipe's regime with 90 % of the noise budget on the head.
    plan = _plan(**RECIPE, head_budget_share=0.9)
    regime = assess(plan, dims=DIMS, site="site 0")

    # Assert: σ·C_g/(√s_g·E[B]): the head's noise falls from √2 to 1/√0.9 of σ·C/E[B].
    assert regime.noise_std == pytest.approx(
        {"lora": 1.25 * 0.1 / math.sqrt(0.1) / 300, "head": 1.25 * 1.0 / math.sqrt(0.9) / 300}
    )
    assert plan.noise_scales()["head"] < _plan(head_max_grad_norm=1.0).noise_scales()["head"]
    assert "(noise budget: head 90 %, lora 10 %)" in regime.lines()[1]


def test_clipped_fractions_follow_the_bounds(build_model):
    # Prepare
    model, tokenizer = build_model("minilm", r=2)
    ds = datasets.Dataset.from_dict(
        {"text": ["good", "bad", "fine", "awful"], "label": ["1", "0", "1", "0"]}
    )
    tokenized = tokenize_classification(ds, tokenizer, max_length=16, label2id={"0": 0, "1": 1})
    batch = make_collator("classification", tokenizer)([tokenized[i] for i in range(4)])
    dims = trainable_dims(model)

    # Execute
    tiny = clipped_fractions(model, batch, bounds={"lora": 1e-9, "head": 1e-9})
    huge = clipped_fractions(model, batch, bounds={"all": 1e9})

    # Assert: everything is clipped at a tiny bound, nothing at a huge one; no residue left.
    assert tiny == {"lora": 1.0, "head": 1.0}
    assert huge == {"all": 0.0}
    assert dims["head"] == 2 * 384 + 2
    assert not any(hasattr(p, "grad_sample") or p.grad is not None for p in model.parameters())


@pytest.fixture()
def small_config(tmp_path):
    path = tmp_path / "dp.yaml"
    path.write_text(
        "data: {synthetic: {kind: clinical, n_train: 200, n_eval: 20}, "
        "partition: {kind: dirichlet, alpha: 1.0}}\n"
        "lora: {r: 2}\n"
        "training: {batch_size: 8, max_steps: 18}\n"
        "federation: {num_clients: 2, rounds: 2}\n"
        "dp: {enabled: true, target_epsilon: 8, max_epsilon: 8}\n"
    )
    return path


def test_dp_plan_cli_prints_each_site_and_warns(small_config, capsys):
    # Execute
    code = main(["dp", "plan", str(small_config), "--no-measure"])

    # Assert: both sites, their σ and batch, and the warning for batch 8.
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("records, σ") == 2
    assert "WARNING: expected batch" in out
    assert "2 of 2 sites in a regime with warnings" in out


def test_dp_plan_cli_recipe_overrides_silence_the_warning(small_config, capsys):
    # Execute: the recipe's knobs, given as overrides.
    code = main(
        [
            "dp",
            "plan",
            str(small_config),
            "--set",
            "dp.expected_batch_size=512",
            "--set",
            "dp.clipping=per_group",
            "--set",
            "dp.head_max_grad_norm=1.0",
            "--set",
            "dp.max_grad_norm=0.1",
        ]
    )

    # Assert: q = 1, a measured first batch, no warning.
    out = capsys.readouterr().out
    assert code == 0
    assert "(q 1)" in out and "examples clipped on a first batch" in out
    assert "WARNING" not in out


def test_dp_plan_cli_needs_dp_enabled(tmp_path, capsys):
    path = tmp_path / "plain.yaml"
    path.write_text("federation: {num_clients: 2, rounds: 2}\n")
    assert main(["dp", "plan", str(path)]) == 1
    assert "dp.enabled is false" in capsys.readouterr().err


def test_no_torch_state_leaks_between_calls():
    # The regime math is pure: same inputs, same numbers.
    a = assess(_plan(), dims=DIMS, site="s")
    b = assess(_plan(), dims=DIMS, site="s")
    assert a == b
    assert torch.is_grad_enabled()

"""DP-SGD at a site: real Opacus over real peft LoRA models (MiniLM and a tiny Llama)."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from fedft.config.dp import DPConfig
from fedft.data.tokenize import make_collator, tokenize_classification, tokenize_instruction
from fedft.dp.accounting import epsilon_spent
from fedft.dp.batches import _noise_only_step
from fedft.dp.budget import BudgetExhausted, SiteBudget
from fedft.dp.plan import DPPlan, RoundAccount, plan_dp, poisson_sample_rate
from fedft.dp.sgd import (
    _PerExampleLoss,
    make_private,
    train_round_private,
)
from fedft.model.state import load_trainable_state, trainable_state
from fedft.train.local import make_optimizer, train_local

TEXTS = [
    ("great service, very happy", "pos"),
    ("terrible, I want a refund", "neg"),
    ("wonderful staff and fast help", "pos"),
    ("awful experience, never again", "neg"),
    ("happy with the result", "pos"),
    ("bad and slow", "neg"),
    ("excellent, thank you", "pos"),
    ("horrible waiting times", "neg"),
]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # On a shared 2-core machine, torch's second thread spins against other processes: one
    # thread is ~20x faster for these tiny batches.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def minilm(build_model):
    model, tokenizer = build_model("minilm", r=2)
    ds = datasets.Dataset.from_dict({"text": [t for t, _ in TEXTS], "label": [y for _, y in TEXTS]})
    train_set = tokenize_classification(ds, tokenizer, max_length=16, label2id={"neg": 0, "pos": 1})
    return model, train_set, make_collator("classification", tokenizer)


def _plan(**overrides) -> DPPlan:
    values = dict(
        noise_multiplier=1.0,
        sample_rate=0.5,
        steps=2,
        delta=1e-3,
        max_grad_norm=1.0,
        accountant="rdp",
        batch_size=4,
        n_records=8,
        target_epsilon=None,
        rounds=3,
    )
    return DPPlan(**{**values, **overrides})


def test_make_private_keeps_the_model_and_its_names_and_detaches(minilm):
    # Prepare
    model, train_set, collate = minilm
    names = list(trainable_state(model))
    loader = DataLoader(train_set, batch_size=4, collate_fn=collate)
    optimizer = make_optimizer(model, learning_rate=1e-2, weight_decay=0.0)
    model.eval()  # make_private must switch to train mode itself

    # Execute
    private = make_private(
        model,
        optimizer,
        loader,
        noise_multiplier=1.0,
        max_grad_norm=1.0,
        steps=3,
        accountant="rdp",
        seed=0,
    )
    result = train_local(
        private.model,
        private.loader,
        epochs=2,
        max_steps=None,
        learning_rate=1e-2,
        weight_decay=0.0,
        max_grad_norm=None,
        device="cpu",
        optimizer=private.optimizer,
    )
    history = private.history()
    private.close()

    # Assert: same object, same names, 3 accounted steps at q = 1/⌈8/4⌉, no Opacus residue.
    assert private.model is model
    assert list(trainable_state(model)) == names
    assert private.sample_rate == 0.5
    assert history == [(1.0, 0.5, 3)]
    assert result.steps + private.loader.empty == 3
    assert not any(hasattr(p, "grad_sample") for p in model.parameters())
    plain = train_local(
        model,
        loader,
        epochs=1,
        max_steps=1,
        learning_rate=1e-2,
        weight_decay=0.0,
        max_grad_norm=1.0,
        device="cpu",
    )
    assert plain.steps == 1


def test_empty_poisson_batches_become_accounted_noise_only_steps(minilm):
    # Prepare: batch size 1 over 8 records (q = 1/8): P(empty batch) = (7/8)^8 ≈ 0.34.
    model, train_set, collate = minilm
    loader = DataLoader(train_set, batch_size=1, collate_fn=collate)
    optimizer = make_optimizer(model, learning_rate=1e-2, weight_decay=0.0)

    # Execute
    private = make_private(
        model,
        optimizer,
        loader,
        noise_multiplier=1.0,
        max_grad_norm=1.0,
        steps=6,
        accountant="rdp",
        seed=3,
    )
    result = train_local(
        private.model,
        private.loader,
        epochs=1,
        max_steps=None,
        learning_rate=1e-2,
        weight_decay=0.0,
        max_grad_norm=None,
        device="cpu",
        optimizer=private.optimizer,
    )
    history = private.history()
    private.close()

    # Assert: every one of the 6 steps is accounted, the empty ones included.
    assert private.loader.empty == 1
    assert result.steps == 5
    assert history == [(1.0, 0.125, 6)]


def test_a_noise_only_step_moves_the_parameters_by_noise_and_counts(minilm):
    # Prepare
    model, train_set, collate = minilm
    loader = DataLoader(train_set, batch_size=4, collate_fn=collate)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0)
    private = make_private(
        model, optimizer, loader, noise_multiplier=2.0, max_grad_norm=0.5, accountant="rdp", seed=1
    )
    before = trainable_state(model)

    # Execute
    _noise_only_step(private.optimizer)
    after = trainable_state(model)
    history = private.history()
    private.close()

    # Assert: update = -noise / expected batch size, noise std = 2.0 × 0.5 per coordinate.
    update = np.concatenate([(after[k] - before[k]).ravel() for k in before])
    assert history == [(2.0, 0.5, 1)]
    assert np.std(update) * 4 == pytest.approx(1.0, rel=0.1)


def test_per_example_clipping_bounds_the_update(minilm):
    # Prepare: q = 1 (batch = all 8 records), tiny noise, SGD with lr 1: the update is
    # -(Σ clipped per-example gradients + noise) / 8, so its norm is at most C (+ noise).
    model, train_set, collate = minilm
    loader = DataLoader(train_set, batch_size=8, collate_fn=collate)
    start = trainable_state(model)

    def update_norm(clip: float) -> float:
        load_trainable_state(model, start)
        optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0)
        private = make_private(
            model,
            optimizer,
            loader,
            noise_multiplier=1e-6,
            max_grad_norm=clip,
            steps=1,
            accountant="rdp",
            seed=0,
        )
        train_local(
            private.model,
            private.loader,
            epochs=1,
            max_steps=None,
            learning_rate=1.0,
            weight_decay=0.0,
            max_grad_norm=None,
            device="cpu",
            optimizer=private.optimizer,
        )
        private.close()
        after = trainable_state(model)
        return float(np.sqrt(sum(((after[k] - start[k]) ** 2).sum() for k in start)))

    # Execute
    clipped, unclipped = update_norm(1e-3), update_norm(1e3)
    load_trainable_state(model, start)

    # Assert
    assert 0 < clipped <= 1e-3 * (1 + 1e-3)
    assert unclipped > 10 * 1e-3


def test_causal_lm_per_example_gradient_does_not_depend_on_other_examples(
    build_model, llama_batches
):
    # Prepare: example 0 batched with two partners of different response lengths.
    model, _ = build_model("llama", r=2)
    first, second = llama_batches

    def pair(i: int, j: int, batch_j: dict) -> dict:
        width = max(first["input_ids"].shape[1], batch_j["input_ids"].shape[1])

        def pad(t, fill):
            return torch.nn.functional.pad(t, (0, width - t.shape[1]), value=fill)

        return {
            "input_ids": torch.stack(
                [pad(first["input_ids"], 0)[i], pad(batch_j["input_ids"], 0)[j]]
            ),
            "attention_mask": torch.stack(
                [pad(first["attention_mask"], 0)[i], pad(batch_j["attention_mask"], 0)[j]]
            ),
            "labels": torch.stack([pad(first["labels"], -100)[i], pad(batch_j["labels"], -100)[j]]),
        }

    loader = DataLoader([{"x": torch.zeros(1)}] * 4, batch_size=2)
    optimizer = make_optimizer(model, learning_rate=1e-3, weight_decay=0.0)
    private = make_private(
        model, optimizer, loader, noise_multiplier=1.0, max_grad_norm=1.0, accountant="rdp", seed=0
    )
    lora = next(p for n, p in model.named_parameters() if p.requires_grad and "lora_B" in n)

    def grad_of_example_0(module, batch) -> torch.Tensor:
        private.optimizer.zero_grad(set_to_none=True)
        module(**batch).loss.backward()
        return lora.grad_sample[0].clone()

    # Execute
    ours = [grad_of_example_0(_PerExampleLoss(model), pair(0, j, second)) for j in (0, 1)]
    hf = [grad_of_example_0(model, pair(0, j, second)) for j in (0, 1)]
    private.close()

    # Assert: fedft's loss gives example 0 the same gradient whatever its partner; HF's
    # token-averaged loss does not (the partners' response lengths differ).
    assert torch.allclose(ours[0], ours[1], atol=1e-6)
    assert not torch.allclose(hf[0], hf[1], atol=1e-6)


def test_plan_dp_fixed_and_calibrated():
    # Execute
    fixed = plan_dp(
        DPConfig(enabled=True, noise_multiplier=1.1, accountant="rdp"),
        n_records=500,
        batch_size=16,
        local_epochs=2,
        max_steps=None,
        rounds=5,
    )
    capped = plan_dp(
        DPConfig(enabled=True, noise_multiplier=1.1),
        n_records=500,
        batch_size=16,
        local_epochs=2,
        max_steps=10,
        rounds=5,
    )
    calibrated = plan_dp(
        DPConfig(enabled=True, target_epsilon=3.0, target_delta=1e-5, accountant="rdp"),
        n_records=500,
        batch_size=16,
        local_epochs=1,
        max_steps=None,
        rounds=5,
    )

    # Assert
    assert (fixed.sample_rate, fixed.steps, fixed.delta) == (1 / 32, 64, pytest.approx(2e-4))
    assert capped.steps == 10
    assert calibrated.noise_multiplier == pytest.approx(1.014404296875, abs=1e-9)
    eps = epsilon_spent(
        history=[(calibrated.noise_multiplier, 1 / 32, 160)], delta=1e-5, accountant="rdp"
    )
    assert 2.99 <= eps <= 3.0
    assert poisson_sample_rate(n_records=10, batch_size=64) == 1.0


def test_plan_dp_rejects_delta_not_below_one_over_n():
    # Execute
    with pytest.raises(ValueError) as info:
        plan_dp(
            DPConfig(enabled=True, noise_multiplier=1.0, target_delta=0.01),
            n_records=200,
            batch_size=8,
            local_epochs=1,
            max_steps=None,
            rounds=1,
        )

    # Assert
    assert str(info.value).startswith(
        "dp.target_delta: 0.01 is not below 1/n = 0.005 for this site's 200 records"
    )


def test_train_round_private_spends_exactly_the_plan_and_records_it(minilm, tmp_path):
    # Prepare
    model, train_set, collate = minilm
    names = list(trainable_state(model))
    plan = _plan()
    budget = SiteBudget.load(
        tmp_path / "budget.json", accountant="rdp", delta=1e-3, max_epsilon=None
    )

    # Execute: two rounds with the same model object, as a site caches it.
    first = train_round_private(
        model,
        train_set,
        collate_fn=collate,
        plan=plan,
        budget=budget,
        server_round=1,
        learning_rate=1e-2,
        weight_decay=0.0,
        device="cpu",
        seed=0,
    )
    second = train_round_private(
        model,
        train_set,
        collate_fn=collate,
        plan=plan,
        budget=budget,
        server_round=2,
        learning_rate=1e-2,
        weight_decay=0.0,
        device="cpu",
        seed=1,
    )

    # Assert
    one = epsilon_spent(history=[(1.0, 0.5, 2)], delta=1e-3, accountant="rdp")
    two = epsilon_spent(history=[(1.0, 0.5, 4)], delta=1e-3, accountant="rdp")
    assert first.account == RoundAccount(
        noise_multiplier=1.0,
        sample_rate=0.5,
        steps=2,
        delta=1e-3,
        max_grad_norm=1.0,
        accountant="rdp",
        epsilon_round=one,
        epsilon_total=one,
    )
    assert second.account.epsilon_total == pytest.approx(two, abs=0)
    assert second.account.epsilon_round == pytest.approx(one, abs=0)
    assert [r.round for r in budget.records] == [1, 2]
    assert first.train.steps >= 1 and np.isfinite(first.train.loss)
    assert list(trainable_state(model)) == names
    assert not any(hasattr(p, "grad_sample") for p in model.parameters())


def test_train_round_private_on_a_causal_lm(build_model, tmp_path):
    # Prepare: the instruction task through the same entry point (per-example loss inside).
    model, tokenizer = build_model("llama", r=2)
    rows = {
        "instruction": ["Name the colour of the sky.", "What is two plus two?"] * 3,
        "input": [""] * 6,
        "response": ["blue", "four"] * 3,
    }
    train_set = tokenize_instruction(datasets.Dataset.from_dict(rows), tokenizer, max_length=64)
    plan = _plan(n_records=6, batch_size=3, sample_rate=0.5, steps=3)
    budget = SiteBudget.load(tmp_path / "b.json", accountant="rdp", delta=1e-3, max_epsilon=None)
    before = trainable_state(model)

    # Execute
    result = train_round_private(
        model,
        train_set,
        collate_fn=make_collator("instruction", tokenizer),
        plan=plan,
        budget=budget,
        server_round=1,
        learning_rate=1e-2,
        weight_decay=0.0,
        device="cpu",
        seed=0,
    )

    # Assert
    after = trainable_state(model)
    assert result.account.steps == 3
    assert result.account.epsilon_total == pytest.approx(
        epsilon_spent(history=[(1.0, 0.5, 3)], delta=1e-3, accountant="rdp"), abs=0
    )
    assert np.isfinite(result.train.loss)
    assert any(not np.array_equal(before[k], after[k]) for k in before)


def test_over_budget_round_is_declined_before_training(minilm, tmp_path):
    # Prepare: one round costs ε ≈ 3.75 here; the cap allows one round only.
    model, train_set, collate = minilm
    plan = _plan()
    budget = SiteBudget.load(
        tmp_path / "budget.json", accountant="rdp", delta=1e-3, max_epsilon=4.0
    )
    train_round_private(
        model,
        train_set,
        collate_fn=collate,
        plan=plan,
        budget=budget,
        server_round=1,
        learning_rate=1e-2,
        weight_decay=0.0,
        device="cpu",
        seed=0,
    )
    before = trainable_state(model)

    # Execute
    with pytest.raises(BudgetExhausted) as info:
        train_round_private(
            model,
            train_set,
            collate_fn=collate,
            plan=plan,
            budget=budget,
            server_round=2,
            learning_rate=1e-2,
            weight_decay=0.0,
            device="cpu",
            seed=1,
        )

    # Assert
    after = trainable_state(model)
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert info.value.reason.startswith(
        "privacy budget: round 2 would raise this site's ε from 3.751 to 5.281 (δ=0.001, rdp"
    )
    assert "above dp.max_epsilon = 4" in info.value.reason
    assert [r.round for r in budget.records] == [1]


def test_round_account_travels_as_declared_scalars():
    # Prepare
    account = RoundAccount(
        noise_multiplier=1.1,
        sample_rate=0.03,
        steps=64,
        delta=2e-4,
        max_grad_norm=1.0,
        accountant="prv",
        epsilon_round=0.8,
        epsilon_total=2.4,
    )

    # Execute
    metrics = account.as_metrics()

    # Assert
    assert sorted(metrics) == [
        "dp_accountant",
        "dp_delta",
        "dp_epsilon_round",
        "dp_epsilon_total",
        "dp_group_size",
        "dp_max_grad_norm",
        "dp_noise_multiplier",
        "dp_sample_rate",
        "dp_steps",
    ]
    assert RoundAccount.from_metrics(metrics) == account
    with pytest.raises(ValueError, match="site metrics lack dp_steps"):
        RoundAccount.from_metrics({k: v for k, v in metrics.items() if k != "dp_steps"})


def test_an_empty_first_poisson_batch_is_a_noise_only_step_not_a_crash(build_model, minilm_batches):
    """Opacus's empty-batch template breaks on datasets of dicts when the first batch is empty."""
    import datasets as hf_datasets
    import torch

    from fedft.dp.batches import _is_empty
    from fedft.dp.sgd import make_private
    from fedft.train.local import make_optimizer

    # Prepare: a dataset of dicts, as fedft's tokenized sets are
    model, tokenizer = build_model("minilm")
    ds = hf_datasets.Dataset.from_dict(
        {"input_ids": [[101, 2023, 102]] * 200, "attention_mask": [[1, 1, 1]] * 200, "labels": [0] * 200}
    ).with_format("torch")
    loader = torch.utils.data.DataLoader(ds, batch_size=1, collate_fn=lambda rows: {k: torch.stack([r[k] for r in rows]) for k in rows[0]})
    private = make_private(model, make_optimizer(model, learning_rate=0.01, weight_decay=0.0), loader, noise_multiplier=1.0, max_grad_norm=1.0)
    try:
        # Execute: Opacus's collate wrapper meeting an empty Poisson batch before any other
        empty = private.loader._loader.collate_fn([])
        # Assert: no crash; the step budget turns it into an accounted noise-only step
        assert _is_empty(empty)
    finally:
        private.close()

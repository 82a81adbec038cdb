"""Per-group clipping, physical micro-batches and the optimizer choice under DP-SGD, checked
against per-example gradients computed one example at a time with plain autograd and against
Opacus's own per-sample gradients."""

from __future__ import annotations

import math

import datasets
import pytest
import torch
from torch.utils.data import DataLoader

from fedft.data.tokenize import make_collator, tokenize_classification
from fedft.dp.batches import physical_batches
from fedft.dp.clipping import GroupClippingDPOptimizer, head_or_lora
from fedft.dp.sgd import make_private
from fedft.train.local import make_optimizer

TEXTS = [
    ("great service, very happy", "pos"),
    ("terrible, I want a refund, the worst visit of my life", "neg"),
    ("wonderful staff and fast help", "pos"),
    ("awful", "neg"),
    ("happy with the result of the operation and the care", "pos"),
    ("bad and slow", "neg"),
]
LORA_C, HEAD_C = 0.05, 0.7


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture()
def minilm(build_model):
    model, tokenizer = build_model("minilm", r=2)
    # Per-example gradients one at a time must see the same network: no dropout.
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    ds = datasets.Dataset.from_dict({"text": [t for t, _ in TEXTS], "label": [y for _, y in TEXTS]})
    train_set = tokenize_classification(ds, tokenizer, max_length=32, label2id={"neg": 0, "pos": 1})
    collate = make_collator("classification", tokenizer)
    return model, train_set, collate


def _trainable(model) -> list[tuple[str, torch.nn.Parameter]]:
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def _expected_clipped_sum(model, batch, bounds: dict[int, float]) -> list[torch.Tensor]:
    """Σ over examples of the per-group clipped gradient, one example at a time (autograd)."""
    named = _trainable(model)
    groups = head_or_lora([n for n, _ in named])
    total = [torch.zeros_like(p) for _, p in named]
    n = batch["labels"].shape[0]
    for i in range(n):
        one = {k: v[i : i + 1] for k, v in batch.items()}
        model.zero_grad(set_to_none=True)
        model(**one).loss.backward()
        grads = [p.grad.detach().clone() for _, p in named]
        for g, bound in bounds.items():
            norm = math.sqrt(
                sum(float(x.pow(2).sum()) for x, gg in zip(grads, groups, strict=True) if gg == g)
            )
            factor = min(1.0, bound / (norm + 1e-6))
            for j, gg in enumerate(groups):
                if gg == g:
                    total[j] += factor * grads[j]
    model.zero_grad(set_to_none=True)
    return total


def _private(minilm, **clipping):
    """make_private over the whole fixture set as one batch: SGD, σ = 1, RDP, seeded."""
    model, train_set, collate = minilm
    return make_private(
        model,
        make_optimizer(model, learning_rate=0.1, weight_decay=0.0, kind="sgd"),
        DataLoader(train_set, batch_size=len(train_set), collate_fn=collate),
        noise_multiplier=1.0,
        accountant="rdp",
        seed=0,
        **clipping,
    )


def test_head_and_lora_are_told_apart_by_name(build_model):
    # Prepare
    model, _ = build_model("minilm", r=2)

    # Execute
    groups = head_or_lora([n for n, _ in _trainable(model)])

    # Assert: 12 LoRA-B tensors (query, value × 6 layers, FFA) and the head's weight and bias.
    assert groups.count(0) == 12 and groups.count(1) == 2


def test_per_group_clipping_matches_per_example_autograd(minilm):
    # Prepare
    model, train_set, collate = minilm
    batch = collate([train_set[i] for i in range(len(train_set))])
    expected = _expected_clipped_sum(model, batch, {0: LORA_C, 1: HEAD_C})
    private = _private(minilm, max_grad_norm=LORA_C, head_max_grad_norm=HEAD_C)
    optimizer = private.optimizer

    # Execute
    try:
        model.train()
        optimizer.zero_grad(set_to_none=True)
        model(**batch).loss.backward()
        per_sample = [p.grad_sample.clone() for p in optimizer.params]
        optimizer.clip_and_accumulate()
        got = [p.summed_grad.clone() for p in optimizer.params]
    finally:
        private.close()

    # Assert: the groups are clipped to their own bounds; Opacus's per-sample gradients are
    # the per-example gradients (the reference above).
    assert isinstance(optimizer, GroupClippingDPOptimizer)
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-6)
    groups = optimizer.groups
    head_norms = (
        torch.stack(
            [
                s.reshape(len(s), -1).pow(2).sum(1)
                for s, g in zip(per_sample, groups, strict=True)
                if g == 1
            ]
        )
        .sum(0)
        .sqrt()
    )
    lora_norms = (
        torch.stack(
            [
                s.reshape(len(s), -1).pow(2).sum(1)
                for s, g in zip(per_sample, groups, strict=True)
                if g == 0
            ]
        )
        .sum(0)
        .sqrt()
    )
    # The bounds bind in this test (else it would not test clipping): both groups are clipped.
    assert (head_norms > HEAD_C).any() and (lora_norms > LORA_C).any()


def test_flat_clipping_would_give_a_different_sum(minilm):
    # Prepare: the same batch through Opacus's flat clipping at the combined bound.
    model, train_set, collate = minilm
    batch = collate([train_set[i] for i in range(len(train_set))])
    expected = _expected_clipped_sum(model, batch, {0: LORA_C, 1: HEAD_C})
    loader = DataLoader(train_set, batch_size=len(train_set), collate_fn=collate)
    private = make_private(
        model,
        make_optimizer(model, learning_rate=0.1, weight_decay=0.0),
        loader,
        noise_multiplier=1.0,
        max_grad_norm=math.hypot(LORA_C, HEAD_C),
        accountant="rdp",
        seed=0,
    )

    # Execute
    try:
        model.train()
        model(**batch).loss.backward()
        private.optimizer.clip_and_accumulate()
        lora_flat = [p.summed_grad.clone() for p in private.optimizer.params][0]
    finally:
        private.close()

    # Assert: flat clipping lets the head take LoRA's share; per group it does not.
    assert not torch.allclose(lora_flat, expected[0], rtol=1e-2)


def test_each_group_is_noised_to_its_own_bound():
    # Prepare: two groups of 20,000 zero-gradient coordinates; an empty batch (noise only).
    a = torch.nn.Parameter(torch.zeros(20_000))
    b = torch.nn.Parameter(torch.zeros(20_000))
    sigma = 0.8
    optimizer = GroupClippingDPOptimizer(
        torch.optim.SGD([a, b], lr=1.0),
        noise_multiplier=sigma,
        max_grad_norms=[0.1, 2.0],
        groups=[0, 1],
        expected_batch_size=1,
        generator=torch.Generator().manual_seed(0),
    )
    for p in (a, b):
        p.grad_sample = torch.zeros((0, *p.shape))

    # Execute
    optimizer.pre_step()

    # Assert: std σ·√G·C_g per group (√2 here), within sampling error (~0.5 %).
    for p, bound in ((a, 0.1), (b, 2.0)):
        assert float(p.grad.std()) == pytest.approx(sigma * math.sqrt(2) * bound, rel=0.03)


@pytest.mark.parametrize("shares", [(0.1, 0.9), (0.5, 0.5), (0.75, 0.25)])
def test_budget_shares_set_each_groups_noise_and_keep_one_gaussian_mechanism(shares):
    # Prepare: as above, with the noise budget split by `shares`.
    a = torch.nn.Parameter(torch.zeros(20_000))
    b = torch.nn.Parameter(torch.zeros(20_000))
    sigma, bounds = 0.8, (0.1, 2.0)
    optimizer = GroupClippingDPOptimizer(
        torch.optim.SGD([a, b], lr=1.0),
        noise_multiplier=sigma,
        max_grad_norms=list(bounds),
        budget_shares=list(shares),
        groups=[0, 1],
        expected_batch_size=1,
        generator=torch.Generator().manual_seed(0),
    )
    for p in (a, b):
        p.grad_sample = torch.zeros((0, *p.shape))

    # Execute
    optimizer.pre_step()

    # Assert: std σ·C_g/√s_g per group. Rescaling group g by √s_g/C_g (public) leaves noise σ
    # on every coordinate and one example's clipped gradient at norm ≤ √(Σ s_g) = 1: the
    # Gaussian mechanism the accountant charges, whatever the split.
    for p, bound, share in zip((a, b), bounds, shares, strict=True):
        assert float(p.grad.std()) == pytest.approx(sigma * bound / math.sqrt(share), rel=0.03)
        assert float((p.grad * math.sqrt(share) / bound).std()) == pytest.approx(sigma, rel=0.03)
    assert math.sqrt(sum(shares)) == pytest.approx(1.0)


def test_make_private_passes_the_heads_budget_share(minilm):
    # Prepare
    # Execute
    private = _private(
        minilm, max_grad_norm=LORA_C, head_max_grad_norm=HEAD_C, head_budget_share=0.9
    )
    try:
        optimizer = private.optimizer
        stds = [optimizer.group_noise_std(g) for g in (0, 1)]
    finally:
        private.close()

    # Assert: group 0 is LoRA (share 0.1), group 1 the head (0.9).
    assert optimizer.budget_shares == pytest.approx([0.1, 0.9])
    assert stds == pytest.approx([LORA_C / math.sqrt(0.1), HEAD_C / math.sqrt(0.9)])


def test_a_budget_share_without_groups_is_refused(minilm):
    with pytest.raises(ValueError, match="needs per-group clipping"):
        _private(minilm, max_grad_norm=LORA_C, head_budget_share=0.9)


def test_group_optimizer_rejects_bad_groups():
    p = torch.nn.Parameter(torch.zeros(3))
    with pytest.raises(ValueError, match="one per parameter"):
        GroupClippingDPOptimizer(
            torch.optim.SGD([p], lr=1.0),
            noise_multiplier=1.0,
            max_grad_norms=[1.0, 1.0],
            groups=[0, 1],
            expected_batch_size=1,
        )
    with pytest.raises(ValueError, match="must all be finite"):
        GroupClippingDPOptimizer(
            torch.optim.SGD([p], lr=1.0),
            noise_multiplier=1.0,
            max_grad_norms=[0.0],
            groups=[0],
            expected_batch_size=1,
        )
    q = torch.nn.Parameter(torch.zeros(3))
    bad = (([0.5, 0.6], "sum to 1.1"), ([1.0, 0.0], "each in"), ([1.0], "one per"))
    for shares, message in bad:
        with pytest.raises(ValueError, match=message):
            GroupClippingDPOptimizer(
                torch.optim.SGD([p, q], lr=1.0),
                noise_multiplier=1.0,
                max_grad_norms=[1.0, 1.0],
                budget_shares=shares,
                groups=[0, 1],
                expected_batch_size=1,
            )


def test_physical_pieces_accumulate_to_the_whole_batch(minilm):
    # Prepare
    model, train_set, collate = minilm
    batch = collate([train_set[i] for i in range(len(train_set))])
    expected = _expected_clipped_sum(model, batch, {0: LORA_C, 1: HEAD_C})
    private = _private(minilm, max_grad_norm=LORA_C, head_max_grad_norm=HEAD_C)
    optimizer = private.optimizer
    pieces = list(physical_batches(batch, 4))

    # Execute: the loop train_local runs, with the skip signal the step-budgeted loader gives.
    try:
        model.train()
        for i, piece in enumerate(pieces):
            optimizer.zero_grad(set_to_none=True)
            model(**piece).loss.backward()
            if i < len(pieces) - 1:
                optimizer.signal_skip_step(do_skip=True)
                optimizer.step()
        optimizer.clip_and_accumulate()
        got = [p.summed_grad.clone() for p in optimizer.params]
    finally:
        private.close()

    # Assert: 6 examples in pieces of 4 + 2, each piece cut to its own longest row.
    assert [p["input_ids"].shape[0] for p in pieces] == [4, 2]
    assert pieces[1]["input_ids"].shape[1] < batch["input_ids"].shape[1]
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(("kind", "cls"), [("adamw", torch.optim.AdamW), ("sgd", torch.optim.SGD)])
def test_optimizer_choice(build_model, kind: str, cls: type) -> None:
    # Prepare
    model, _ = build_model("minilm", r=2)

    # Execute
    optimizer = make_optimizer(model, learning_rate=0.5, weight_decay=0.0, kind=kind, momentum=0.9)

    # Assert
    assert type(optimizer) is cls
    assert optimizer.defaults["lr"] == 0.5
    if kind == "sgd":
        assert optimizer.defaults["momentum"] == 0.9


def test_sgd_moves_a_pure_noise_coordinate_less_than_adam():
    # Prepare: one coordinate whose gradient is small noise only (what DP leaves of no signal).
    torch.manual_seed(0)
    grads = [torch.randn(1) * 1e-3 for _ in range(20)]
    moved = {}
    for kind in ("adamw", "sgd"):
        w = torch.nn.Parameter(torch.zeros(1))
        model = torch.nn.Module()
        model.w = w
        optimizer = make_optimizer(model, learning_rate=0.1, weight_decay=0.0, kind=kind)
        for g in grads:
            w.grad = g.clone()
            optimizer.step()
        moved[kind] = abs(float(w))

    # Assert: Adam normalises the noise to ~lr-sized steps; SGD moves by lr × noise.
    assert moved["sgd"] < 1e-3 < moved["adamw"]

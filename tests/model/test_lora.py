"""Tests for fedft.model.lora: what trains, seeded init, and why FFA-LoRA averages exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from peft.tuners.lora import LoraLayer

from fedft.model.load import ResolvedModel, load_base_model
from fedft.model.lora import attach_lora, default_target_modules
from fedft.model.state import load_trainable_state, trainable_state


def _lora_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items() if "lora_" in k}


@pytest.mark.parametrize(
    ("kind", "mode", "expected_kinds"),
    [
        ("minilm", "standard", {"lora_A", "lora_B", "modules_to_save"}),
        ("minilm", "ffa", {"lora_B", "modules_to_save"}),
        ("llama", "standard", {"lora_A", "lora_B"}),
        ("llama", "ffa", {"lora_B"}),
    ],
)
def test_only_lora_and_head_train(
    build_model, kind: str, mode: str, expected_kinds: set[str]
) -> None:
    # Execute
    model, _ = build_model(kind, mode=mode)

    # Assert
    names = list(trainable_state(model))
    kinds = {k for n in names for k in ("lora_A", "lora_B", "modules_to_save") if k in n}
    assert kinds == expected_kinds
    assert all(any(k in n for k in expected_kinds) for n in names), "a base weight is trainable"
    targets = {"query", "value"} if kind == "minilm" else {"q_proj", "v_proj"}
    assert {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in names if "lora_" in n} == targets


@pytest.mark.parametrize("kind", ["minilm", "llama"])
def test_init_is_identical_for_the_same_seed_only(build_model, kind: str) -> None:
    # Execute
    first = _lora_tensors(build_model(kind, seed=3)[0])
    second = _lora_tensors(build_model(kind, seed=3)[0])
    other = _lora_tensors(build_model(kind, seed=4)[0])

    # Assert
    assert first.keys() == second.keys() == other.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    a_names = [k for k in first if "lora_A" in k]
    assert a_names and all(not torch.equal(first[k], other[k]) for k in a_names)


def test_ffa_freezes_a_at_the_standard_init(build_model) -> None:
    # Execute
    ffa, _ = build_model("llama", mode="ffa", seed=1)
    standard, _ = build_model("llama", mode="standard", seed=1)

    # Assert: same A, but only standard mode trains it
    assert all(not p.requires_grad for n, p in ffa.named_parameters() if "lora_A" in n)
    a_ffa, a_std = _lora_tensors(ffa), _lora_tensors(standard)
    assert all(torch.equal(a_ffa[k], a_std[k]) for k in a_ffa)


def _delta_weights(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """ΔW = scaling · B·A of every LoRA layer, as peft merges it."""
    return {
        name: module.get_delta_weight("default").detach().numpy().astype(np.float64)
        for name, module in model.named_modules()
        if isinstance(module, LoraLayer)
    }


def _fedavg_error(model: torch.nn.Module, weights: list[float]) -> float:
    """Largest |ΔW(FedAvg of states) − FedAvg of ΔWᵢ| over layers, for 3 simulated sites."""
    start = trainable_state(model)
    rng = np.random.default_rng(0)
    # Simulated local training: every trainable tensor moves, differently at each site.
    sites = [
        {n: a + rng.normal(0.0, 0.1, a.shape).astype(np.float32) for n, a in start.items()}
        for _ in weights
    ]
    per_site = []
    for state in sites:
        load_trainable_state(model, state)
        per_site.append(_delta_weights(model))
    expected = {
        name: sum(w * d[name] for w, d in zip(weights, per_site, strict=True)) / sum(weights)
        for name in per_site[0]
    }

    total = sum(weights)
    fedavg = {n: sum(w * s[n] for w, s in zip(weights, sites, strict=True)) / total for n in sites[0]}
    load_trainable_state(model, fedavg)
    got = _delta_weights(model)
    return max(float(np.abs(got[name] - expected[name]).max()) for name in expected)


def test_ffa_fedavg_is_the_average_of_updates_and_standard_is_not(build_model) -> None:
    # Prepare
    ffa, _ = build_model("llama", mode="ffa")
    standard, _ = build_model("llama", mode="standard")
    weights = [1.0, 2.0, 5.0]

    # Execute
    ffa_error = _fedavg_error(ffa, weights)
    standard_error = _fedavg_error(standard, weights)

    # Assert: mean(Bᵢ)·A == mean(Bᵢ·A) up to float32 rounding; mean(Bᵢ)·mean(Aᵢ) is far off
    assert ffa_error < 1e-6
    assert standard_error > 1e-3


def test_unknown_architecture_needs_target_modules() -> None:
    with pytest.raises(ValueError, match="set lora.target_modules"):
        default_target_modules("my-custom-arch")


def test_target_modules_that_match_nothing_are_rejected(tiny_llama_path: Path) -> None:
    # Prepare
    model, _ = load_base_model(
        ResolvedModel(str(tiny_llama_path), "tiny"),
        task="instruction",
        num_labels=None,
        seed=0,
        device="cpu",
    )

    # Execute / Assert
    with pytest.raises(ValueError, match=r"lora.target_modules \['query'\] do not match"):
        attach_lora(
            model,
            task="instruction",
            r=2,
            alpha=4,
            dropout=0.0,
            target_modules=["query"],
            mode="ffa",
            seed=0,
        )


def _layer_index(name: str) -> int:
    return int(name.split(".layer.")[1].split(".")[0])


def test_last_layers_adapts_only_the_top_layers_and_backprop_stops_below_them(build_model) -> None:
    # Prepare
    top, tokenizer = build_model("minilm", last_layers=2)
    everywhere, _ = build_model("minilm")
    inputs = tokenizer(["the patient is stable"], return_tensors="pt")

    def bottom_output_needs_grad(model: torch.nn.Module) -> bool:
        seen: list[bool] = []
        layer = model.base_model.model.bert.encoder.layer[0]
        handle = layer.register_forward_hook(lambda _m, _i, out: seen.append(out[0].requires_grad))
        model(**inputs)
        handle.remove()
        return seen[0]

    # Execute
    adapted = {_layer_index(n) for n in trainable_state(top) if "lora_" in n}

    # Assert: MiniLM-L6 has layers 0-5; autograd records nothing below layer 4
    assert adapted == {4, 5}
    assert {_layer_index(n) for n in trainable_state(everywhere) if "lora_" in n} == set(range(6))
    assert not bottom_output_needs_grad(top)
    assert bottom_output_needs_grad(everywhere)


def test_last_layers_beyond_the_model_depth_is_rejected(build_model) -> None:
    expected = "lora.last_layers 7 exceeds the 6 layers of model type 'bert'"
    with pytest.raises(ValueError, match=expected):
        build_model("minilm", last_layers=7)

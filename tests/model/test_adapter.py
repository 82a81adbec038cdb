"""Tests for fedft.model.adapter: portable PEFT-format adapters and merged exports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

from fedft.model.adapter import load_adapter_for_inference, merge_and_save, save_adapter
from fedft.model.load import DEFAULT_PUBLIC_ID, load_base_model, resolve_model_path
from fedft.model.pooling import read_pooling, use_mean_pooling
from fedft.model.state import load_trainable_state, trainable_state


def _as_if_trained(model: torch.nn.Module) -> None:
    """Move every trainable tensor away from its init (B starts at 0 and would hide bugs)."""
    rng = np.random.default_rng(1)
    state = {
        n: a + rng.normal(0.0, 0.05, a.shape).astype(np.float32)
        for n, a in trainable_state(model).items()
    }
    load_trainable_state(model, state)
    model.eval()


def _minilm_inputs(tokenizer) -> dict:
    return tokenizer(["the patient is stable", "refund please"], padding=True, return_tensors="pt")


@pytest.mark.parametrize("last_layers", [None, 2])
def test_saved_adapter_loads_with_plain_peft_and_names_the_public_base(
    build_model, tmp_path: Path, last_layers: int | None
) -> None:
    # Prepare
    model, tokenizer = build_model("minilm", num_labels=3, last_layers=last_layers)
    _as_if_trained(model)
    inputs = _minilm_inputs(tokenizer)
    with torch.inference_mode():
        expected = model(**inputs).logits

    # Execute
    save_adapter(model, tmp_path / "adapter", public_base_id=DEFAULT_PUBLIC_ID)
    base, _ = load_base_model(
        resolve_model_path(None), task="classification", num_labels=3, seed=99, device="cpu"
    )
    loaded = PeftModel.from_pretrained(base, str(tmp_path / "adapter")).eval()

    # Assert
    config = json.loads((tmp_path / "adapter" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == DEFAULT_PUBLIC_ID
    # peft's blank card template is not kept: `fedft export` writes the one card.
    assert not (tmp_path / "adapter" / "README.md").exists()
    saved = "".join(p.read_text() for p in (tmp_path / "adapter").glob("*.json"))
    assert "site-packages" not in saved
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()
    with torch.inference_mode():
        torch.testing.assert_close(loaded(**inputs).logits, expected, rtol=0, atol=1e-6)


def test_load_for_inference_resolves_public_id_and_head_size(build_model, tmp_path: Path) -> None:
    # Prepare
    model, tokenizer = build_model("minilm", num_labels=4)
    _as_if_trained(model)
    inputs = _minilm_inputs(tokenizer)
    with torch.inference_mode():
        expected = model(**inputs).logits
    save_adapter(model, tmp_path, public_base_id=DEFAULT_PUBLIC_ID)

    # Execute
    loaded, _ = load_adapter_for_inference(tmp_path, task="classification")

    # Assert
    assert not loaded.training
    with torch.inference_mode():
        torch.testing.assert_close(loaded(**inputs).logits, expected, rtol=0, atol=1e-6)


def test_merged_classifier_matches_adapter(build_model, tmp_path: Path) -> None:
    # Prepare
    model, tokenizer = build_model("minilm", num_labels=2)
    _as_if_trained(model)
    inputs = _minilm_inputs(tokenizer)
    with torch.inference_mode():
        expected = model(**inputs).logits
    save_adapter(model, tmp_path / "adapter", public_base_id=DEFAULT_PUBLIC_ID)

    # Execute
    merge_and_save(
        tmp_path / "adapter", tmp_path / "merged", task="classification", labels=["neg", "pos"]
    )
    merged = AutoModelForSequenceClassification.from_pretrained(tmp_path / "merged")
    # The bundled base's head reads mean-pooled embeddings: the merged model needs the swap too.
    assert read_pooling(tmp_path / "merged") == "mean"
    merged = use_mean_pooling(merged).eval()

    # Assert
    assert merged.config.id2label == {0: "neg", 1: "pos"}
    assert (tmp_path / "merged" / "tokenizer_config.json").is_file()
    with torch.inference_mode():
        torch.testing.assert_close(merged(**inputs).logits, expected, rtol=0, atol=1e-5)


def test_merged_causal_lm_matches_adapter(
    build_model, tiny_llama_path: Path, tmp_path: Path
) -> None:
    # Prepare
    model, tokenizer = build_model("llama")
    _as_if_trained(model)
    inputs = tokenizer(["### Instruction: hello ### Response:"], return_tensors="pt")
    with torch.inference_mode():
        expected = model(**inputs).logits
    save_adapter(model, tmp_path / "adapter", public_base_id=str(tiny_llama_path))

    # Execute
    merge_and_save(tmp_path / "adapter", tmp_path / "merged", task="instruction")
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged").eval()

    # Assert
    with torch.inference_mode():
        torch.testing.assert_close(merged(**inputs).logits, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("files", "call", "message"),
    [
        (
            {},
            lambda d: load_adapter_for_inference(d, task="classification"),
            "has no adapter_config.json",
        ),
        (
            {"adapter_config.json": "{}"},
            lambda d: load_adapter_for_inference(d, task="classification"),
            "base_model_name_or_path is empty",
        ),
    ],
    ids=["no-config", "no-base"],
)
def test_adapter_folder_errors(files: dict, call, message: str, tmp_path: Path) -> None:
    # Prepare
    for name, text in files.items():
        (tmp_path / name).write_text(text)

    # Execute / Assert
    with pytest.raises(ValueError, match=message):
        call(tmp_path)


def test_merge_rejects_wrong_label_count(build_model, tmp_path: Path) -> None:
    # Prepare
    model, _ = build_model("minilm", num_labels=2)
    save_adapter(model, tmp_path / "adapter", public_base_id=DEFAULT_PUBLIC_ID)

    # Execute / Assert
    with pytest.raises(ValueError, match="3 labels given, the model's head has 2 outputs"):
        merge_and_save(
            tmp_path / "adapter", tmp_path / "merged", task="classification", labels=["a", "b", "c"]
        )


def test_resolved_model_of_unknown_base_in_adapter_fails_clearly(tmp_path: Path) -> None:
    # Prepare
    (tmp_path / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": "acme/gone"})
    )

    # Execute / Assert
    with pytest.raises(ValueError, match="not in the Hugging Face cache"):
        load_adapter_for_inference(tmp_path, task="instruction")

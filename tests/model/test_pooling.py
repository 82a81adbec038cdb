"""Tests for fedft.model.pooling: mean-pooled heads and their plain peft + transformers export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from peft import PeftModel
from transformers import AutoModel, AutoModelForSequenceClassification

from fedft.model.adapter import load_adapter_for_inference, save_adapter
from fedft.model.load import DEFAULT_PUBLIC_ID, ResolvedModel, load_base_model
from fedft.model.pooling import HEAD_INFO, MeanPooler, model_pooling, resolve_pooling
from fedft.model.state import load_trainable_state, trainable_state

DOC = Path(__file__).resolve().parents[2] / "docs" / "privacy-guarantees.md"


def _doc_snippet() -> str:
    """The python block of the docs' "Loading the export" section, as a plain user copies it."""
    section = DOC.read_text(encoding="utf-8").split("## Loading the export", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def _trained(model: torch.nn.Module) -> torch.nn.Module:
    rng = np.random.default_rng(3)
    state = {
        n: a + rng.normal(0.0, 0.05, a.shape).astype(np.float32)
        for n, a in trainable_state(model).items()
    }
    load_trainable_state(model, state)
    return model.eval()


def _inputs(tokenizer) -> dict:
    # Different lengths, so padding is present and a mask-blind mean would be wrong.
    texts = ["the patient is stable", "chest pain radiating to the left arm since this morning"]
    return tokenizer(texts, padding=True, return_tensors="pt")


def test_auto_pooling_reads_the_sentence_transformers_folder(
    minilm_path: Path, tiny_llama_path: Path
) -> None:
    # Execute / Assert
    assert resolve_pooling("auto", model_path=minilm_path) == "mean"
    assert resolve_pooling("auto", model_path=tiny_llama_path) == "cls"
    assert resolve_pooling("cls", model_path=minilm_path) == "cls"
    assert resolve_pooling("mean", model_path=tiny_llama_path) == "mean"


def test_mean_pooler_is_the_sentence_transformers_embedding(minilm_path: Path) -> None:
    # Prepare: the embedding sentence-transformers computes (masked mean, then L2 norm).
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(minilm_path)
    inputs = _inputs(tokenizer)
    encoder = AutoModel.from_pretrained(minilm_path).eval()
    with torch.inference_mode():
        tokens = encoder(**inputs).last_hidden_state
    mask = inputs["attention_mask"].unsqueeze(-1).float()
    expected = torch.nn.functional.normalize((tokens * mask).sum(1) / mask.sum(1), dim=-1)
    model, _ = load_base_model(
        ResolvedModel(path=str(minilm_path), public_id=DEFAULT_PUBLIC_ID),
        task="classification",
        num_labels=3,
        seed=0,
        device="cpu",
        pooling="mean",
    )
    model.eval()

    # Execute
    with torch.inference_mode():
        pooled = model.bert(**inputs).pooler_output

    # Assert
    assert isinstance(model.bert.pooler, MeanPooler)
    torch.testing.assert_close(pooled, expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(pooled.norm(dim=-1), torch.ones(2))


def test_cls_pooling_keeps_the_bert_pooler(minilm_path: Path) -> None:
    # Execute
    model, _ = load_base_model(
        ResolvedModel(path=str(minilm_path), public_id=DEFAULT_PUBLIC_ID),
        task="classification",
        num_labels=3,
        seed=0,
        device="cpu",
        pooling="cls",
    )

    # Assert
    assert model_pooling(model) == "cls"
    assert hasattr(model.bert.pooler, "dense")


def test_export_loads_with_plain_peft_and_the_documented_lines(
    build_model, minilm_path: Path, tmp_path: Path
) -> None:
    # Prepare
    model, tokenizer = build_model("minilm", num_labels=4)
    assert model_pooling(model) == "mean"  # the bundled base defaults to mean pooling
    _trained(model)
    inputs = _inputs(tokenizer)
    with torch.inference_mode():
        expected = model(**inputs).logits
    save_adapter(model, tmp_path / "adapter", public_base_id=DEFAULT_PUBLIC_ID)

    # Execute: exactly the docs' block, with plain transformers + peft.
    namespace = {"BASE": str(minilm_path), "ADAPTER": str(tmp_path / "adapter"), "NUM_LABELS": 4}
    exec(compile(_doc_snippet(), str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    loaded = namespace["model"]
    plain = PeftModel.from_pretrained(
        AutoModelForSequenceClassification.from_pretrained(minilm_path, num_labels=4),
        str(tmp_path / "adapter"),
    ).eval()

    # Assert
    assert json.loads((tmp_path / "adapter" / HEAD_INFO).read_text()) == {"pooling": "mean"}
    with torch.inference_mode():
        torch.testing.assert_close(loaded(**inputs).logits, expected, rtol=0, atol=1e-5)
        # Without the lines the head reads the [CLS] pooler: other predictions.
        assert not torch.allclose(plain(**inputs).logits, expected, atol=1e-3)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_load_for_inference_applies_the_recorded_pooling(
    minilm_path: Path, tmp_path: Path, pooling: str
) -> None:
    # Prepare
    from fedft.model.lora import attach_lora

    base, tokenizer = load_base_model(
        ResolvedModel(path=str(minilm_path), public_id=DEFAULT_PUBLIC_ID),
        task="classification",
        num_labels=3,
        seed=0,
        device="cpu",
        pooling=pooling,
    )
    model = attach_lora(
        base,
        task="classification",
        r=2,
        alpha=4.0,
        dropout=0.0,
        target_modules=None,
        mode="ffa",
        seed=0,
    )
    _trained(model)
    inputs = _inputs(tokenizer)
    with torch.inference_mode():
        expected = model(**inputs).logits
    save_adapter(model, tmp_path, public_base_id=DEFAULT_PUBLIC_ID)

    # Execute
    loaded, _ = load_adapter_for_inference(tmp_path, task="classification")

    # Assert
    assert model_pooling(loaded) == pooling
    with torch.inference_mode():
        torch.testing.assert_close(loaded(**inputs).logits, expected, rtol=0, atol=1e-5)

"""Tests for fedft.model.head_init: a head built from the label names classifies before training."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForSequenceClassification

from fedft.model.adapter import save_adapter
from fedft.model.head_init import HEAD_INIT_SCALE, init_head_from_label_names, label_texts
from fedft.model.load import DEFAULT_PUBLIC_ID, ResolvedModel, load_base_model
from fedft.model.lora import attach_lora
from fedft.model.pooling import use_mean_pooling

LABELS = ("cardiology", "pulmonology", "gastroenterology", "neurology", "orthopedics")
# One note per label, in label order, that never names its label.
NOTES = [
    "chest pain on exertion, troponin elevated, started on a beta blocker after the ECG",
    "the lungs: asthma and chronic obstructive pulmonary disease",
    "abdominal pain with bloating and heartburn, endoscopy of the stomach scheduled",
    "sudden severe headache with seizures and weakness of one side, brain MRI ordered",
    "knee fracture after a fall, the bone was set and the leg put in a cast",
]


def _base(minilm_path: Path, *, seed: int = 0):
    resolved = ResolvedModel(path=str(minilm_path), public_id=DEFAULT_PUBLIC_ID)
    return load_base_model(
        resolved, task="classification", num_labels=len(LABELS), seed=seed, device="cpu"
    )


def _label_name_lora(minilm_path: Path, *, seed: int = 0):
    """The base with a label-name head and an FFA-LoRA adapter on top, as a site builds it."""
    model, tokenizer = _base(minilm_path, seed=seed)
    init_head_from_label_names(model, tokenizer, labels=LABELS, template="{label}")
    lora = attach_lora(
        model, task="classification", r=4, alpha=8.0, dropout=0.0, target_modules=None,
        mode="ffa", seed=seed,
    )  # fmt: skip
    return lora, tokenizer


def _predict(model, tokenizer, texts) -> list[int]:
    inputs = tokenizer(list(texts), padding=True, return_tensors="pt")
    with torch.inference_mode():
        return model(**inputs).logits.argmax(-1).tolist()


def test_label_name_head_classifies_before_any_training(minilm_path: Path) -> None:
    # Prepare: the same base twice, one keeps transformers' random head.
    model, tokenizer = _base(minilm_path)
    random_model, _ = _base(minilm_path)

    # Execute
    init_head_from_label_names(model, tokenizer, labels=LABELS, template="{label}")

    # Assert: the names themselves and notes that never name their label land on their row.
    model.eval()
    assert _predict(model, tokenizer, LABELS) == list(range(5))
    assert _predict(model, tokenizer, NOTES) == list(range(5))
    assert _predict(random_model.eval(), tokenizer, NOTES) != list(range(5))
    head = model.classifier
    torch.testing.assert_close(head.weight.norm(dim=-1), torch.full((5,), HEAD_INIT_SCALE))
    assert torch.all(head.bias == 0)


def test_label_name_head_is_the_same_for_every_seed_and_survives_lora(
    minilm_path: Path,
) -> None:
    # Prepare: two parties with different seeds (the head must not depend on the seed).
    heads = []
    for seed in (0, 5):
        # Execute: LoRA's trainable copy of the head starts from the initialised head.
        peft_model, tokenizer = _label_name_lora(minilm_path, seed=seed)
        heads.append(
            dict(peft_model.named_parameters())[
                "base_model.model.classifier.modules_to_save.default.weight"
            ].detach()
        )

    # Assert
    torch.testing.assert_close(heads[0], heads[1], rtol=0, atol=0)
    assert _predict(peft_model.eval(), tokenizer, NOTES) == list(range(5))


def test_exported_label_name_head_loads_with_plain_peft(minilm_path: Path, tmp_path: Path) -> None:
    # Prepare
    model, tokenizer = _label_name_lora(minilm_path)
    model = model.eval()
    save_adapter(model, tmp_path, public_base_id=DEFAULT_PUBLIC_ID)

    # Execute: a plain user's load (random head of their own, replaced by the saved one).
    base = AutoModelForSequenceClassification.from_pretrained(minilm_path, num_labels=5)
    loaded = PeftModel.from_pretrained(use_mean_pooling(base), str(tmp_path)).eval()

    # Assert
    assert _predict(loaded, tokenizer, NOTES) == list(range(5))


@pytest.mark.parametrize(
    ("labels", "template", "expected"),
    [
        (("0", "1", "2"), "{label}", "needs label names"),
        ((), "{label}", "needs label names"),
        (("a", "b"), "a note", "no '{label}' placeholder"),
    ],
)
def test_label_texts_refuse_what_names_nothing(labels, template, expected) -> None:
    with pytest.raises(ValueError, match=expected):
        label_texts(labels, template=template)


def test_label_texts_fill_the_template() -> None:
    assert label_texts(("heart_failure", "asthma"), template="a note about {label}") == [
        "a note about heart failure",
        "a note about asthma",
    ]


def test_workload_without_label_names_is_refused_before_loading() -> None:
    # Prepare: a classification run whose labels are unknown (none listed, none read yet).
    from fedft.config import Config
    from fedft.round.workload import build_workload

    cfg = Config.model_validate({"model": {"head_init": "label_names"}})

    # Execute / Assert
    with pytest.raises(ValueError, match="no label names are known for this run"):
        build_workload(cfg, None)


@pytest.mark.parametrize(
    ("labels", "from_names"),
    [(("asthma", "diabetes", "fracture"), True), (("0", "1", "2"), False)],
)
def test_auto_builds_the_head_from_names_only_when_the_labels_are_names(labels, from_names) -> None:
    # Prepare: the default config's `auto`, with named and with numbered labels.
    from fedft.config import Config
    from fedft.round.workload import build_workload

    def head(head_init: str):
        cfg = Config.model_validate({"model": {"head_init": head_init}})
        weight = build_workload(cfg, labels).model.base_model.model.classifier.original_module
        return weight.weight.detach().clone()

    # Execute
    auto = head("auto")

    # Assert: the same head as the explicit choice auto stands for.
    expected = head("label_names" if from_names else "random")
    assert torch.equal(auto, expected)
    if from_names:
        assert not torch.equal(auto, head("random"))


def test_auto_is_allowed_for_the_instruction_task_and_label_names_is_not() -> None:
    from fedft.config import Config
    from fedft.config.schema import cross_section_errors

    base = {"data": {"task": "instruction"}, "model": {"path": "/models/llama"}}
    for head_init, refused in (("auto", False), ("label_names", True)):
        cfg = Config.model_validate({**base, "model": {**base["model"], "head_init": head_init}})
        assert any("model.head_init" in e for e in cross_section_errors(cfg)) is refused

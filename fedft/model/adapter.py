"""Adapter files in PEFT format, portable across machines.

peft records the folder the base model was loaded from as `base_model_name_or_path`; for the
bundled MiniLM that is a site-packages path that exists on no other machine. The saved adapter
records the public id instead, and loading resolves it back to a local folder, offline.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from peft import PeftModel
from safetensors import safe_open

from fedft.model.load import load_base_model, resolve_model_path
from fedft.model.pooling import model_pooling, read_pooling, write_pooling

log = logging.getLogger(__name__)

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
# Names peft gives a sequence-classification head in the saved adapter (BERT-like / decoders).
_HEAD_SUFFIXES = (".classifier.weight", ".score.weight")


def save_adapter(model: PeftModel, out_dir: str | Path, *, public_base_id: str) -> Path:
    """Write the adapter (LoRA A and B, trained head) as safetensors + adapter_config.json.

    `public_base_id` replaces the local base path in adapter_config.json, so
    `PeftModel.from_pretrained(base, out_dir)` works anywhere the base is available.
    The head's pooling goes to fedft_head.json (a mean-pooling base needs
    `use_mean_pooling(base)` before loading; see `fedft.model.pooling`).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    write_pooling(out, model_pooling(model))

    config_path = out / ADAPTER_CONFIG
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = public_base_id
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    # peft also writes a blank model card template (README.md, "[More Information Needed]",
    # naming the local base path); `fedft export` writes the real card, MODEL_CARD.md.
    (out / "README.md").unlink(missing_ok=True)
    return out


def adapter_base_id(adapter_dir: str | Path) -> str:
    """The base model an adapter was trained on, as recorded in its adapter_config.json."""
    config_path = Path(adapter_dir) / ADAPTER_CONFIG
    if not config_path.is_file():
        raise ValueError(
            f"'{adapter_dir}' has no {ADAPTER_CONFIG}; give a folder written by save_adapter "
            "(a round checkpoint's adapter folder)"
        )
    base = json.loads(config_path.read_text(encoding="utf-8")).get("base_model_name_or_path")
    if not base:
        raise ValueError(
            f"{config_path}: base_model_name_or_path is empty; the adapter names no base model"
        )
    return str(base)


def _saved_num_labels(adapter_dir: Path) -> int:
    with safe_open(str(adapter_dir / ADAPTER_WEIGHTS), framework="pt") as f:
        for key in f.keys():
            if key.endswith(_HEAD_SUFFIXES):
                return int(f.get_slice(key).get_shape()[0])
    raise ValueError(
        f"{adapter_dir / ADAPTER_WEIGHTS} holds no classification head; give num_labels, or "
        "task='instruction' if this adapter is for a causal LM"
    )


def load_adapter_for_inference(
    adapter_dir: str | Path,
    *,
    task: Literal["classification", "instruction"],
    num_labels: int | None = None,
    device: torch.device | str = "cpu",
) -> tuple[PeftModel, Any]:
    """(model in eval mode, tokenizer): the base named by the adapter, offline, plus the adapter.

    `num_labels` defaults to the size of the head saved in the adapter.
    """
    adapter_dir = Path(adapter_dir)
    resolved = resolve_model_path(adapter_base_id(adapter_dir))
    if task == "classification" and num_labels is None:
        num_labels = _saved_num_labels(adapter_dir)
    # The seed only fills the head before the adapter's saved head replaces it.
    base, tokenizer = load_base_model(
        resolved,
        task=task,
        num_labels=num_labels,
        seed=0,
        device=device,
        pooling=read_pooling(adapter_dir),
    )
    model = PeftModel.from_pretrained(base, str(adapter_dir))
    model.eval()
    return model, tokenizer


def merge_and_save(
    adapter_dir: str | Path,
    out_dir: str | Path,
    *,
    task: Literal["classification", "instruction"],
    num_labels: int | None = None,
    labels: Sequence[str] | None = None,
) -> Path:
    """Fold the adapter into the base weights and save a plain transformers model + tokenizer.

    The result loads with `AutoModelFor...from_pretrained(out_dir)`, without peft; a
    mean-pooling head also needs `use_mean_pooling(model)` after loading (fedft_head.json, copied
    next to it, says so). `labels` (classification) names the outputs in config.json's id2label.
    """
    model, tokenizer = load_adapter_for_inference(adapter_dir, task=task, num_labels=num_labels)
    merged = model.merge_and_unload()
    if labels is not None:
        if len(labels) != merged.config.num_labels:
            raise ValueError(
                f"{len(labels)} labels given, the model's head has "
                f"{merged.config.num_labels} outputs; pass one label per output"
            )
        merged.config.id2label = dict(enumerate(labels))
        merged.config.label2id = {label: i for i, label in enumerate(labels)}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    pooling = read_pooling(adapter_dir)
    write_pooling(out, pooling)
    if pooling == "mean":
        log.warning(
            "%s reads mean-pooled embeddings: after AutoModelForSequenceClassification."
            "from_pretrained, call fedft.model.pooling.use_mean_pooling(model) (or the lines in "
            "docs/privacy-guarantees.md); without it the model reads the [CLS] pooler and "
            "predicts wrongly",
            out,
        )
    log.info("merged adapter %s into its base; saved to %s", adapter_dir, out)
    return out

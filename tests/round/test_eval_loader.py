"""Held-out rows are scored in length order (less padding): every row once, same labels."""

from pathlib import Path
from types import SimpleNamespace

import datasets

from fedft.config import load_config
from fedft.round.workload import eval_loader

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "default.yaml"


def test_batches_come_in_length_order_with_every_row_once():
    # Prepare
    lengths = [9, 3, 7, 3, 12, 5, 8, 4, 10]
    ds = datasets.Dataset.from_dict(
        {
            "input_ids": [[1] * n for n in lengths],
            "attention_mask": [[1] * n for n in lengths],
            "labels": list(range(len(lengths))),
        }
    ).with_format("torch")
    cfg = load_config(DEFAULT_CONFIG, ["training.eval_batch_size=4"])
    workload = SimpleNamespace(tokenizer=SimpleNamespace(pad_token_id=0, padding_side="right"))
    # Execute
    batches = list(eval_loader(cfg, workload, ds))
    # Assert
    widths = [b["input_ids"].shape[1] for b in batches]
    assert widths == sorted(widths) and len(batches) == 3
    seen = [int(x) for b in batches for x in b["labels"]]
    assert sorted(seen) == list(range(len(lengths)))
    assert [lengths[i] for i in seen] == sorted(lengths)

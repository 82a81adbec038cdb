"""`fedft export` of a run folder (real ledger, real trained adapter): one card, and the loading
lines README.md and the card give run offline and predict what fedft predicts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from fedft.cli import main
from fedft.model.adapter import load_adapter_for_inference, save_adapter
from fedft.model.load import DEFAULT_PUBLIC_ID
from fedft.model.state import load_trainable_state, trainable_state
from fedft.run.ledger import PrivacyLedger, SiteRound
from fedft.run.rundir import RunDir

README = Path(__file__).resolve().parents[2] / "README.md"
LABELS = ["cardiology", "gastroenterology", "neurology", "orthopedics", "pulmonology"]
TEXTS = [
    "chest pain radiating to the left arm since this morning",
    "wheeze and shortness of breath",
    "the patient is stable",
]


def _python_block(markdown: str, *, after: str) -> str:
    """The first ```python block after `after` in `markdown`, as a reader copies it."""
    return re.search(r"```python\n(.*?)```", markdown.split(after, 1)[1], re.S).group(1)


@pytest.fixture(scope="module")
def run_dir(build_model, tmp_path_factory) -> Path:
    """A finished one-round run: its ledger, labels and the trained global adapter."""
    root = tmp_path_factory.mktemp("export") / "run"
    root.mkdir()
    ledger = PrivacyLedger.open(root)
    ledger.append("run_start", {"rounds_planned": 1, "anonymization_policy_hash": "ab" * 32})
    ledger.append_round(
        server_round=1,
        global_adapter_sha256="01" * 32,
        sites=[SiteRound(site="site-0", status="trained", num_examples=8)],
        secure_aggregation={"enabled": True, "num_shares": 3, "reconstruction_threshold": 2},
    )
    ledger.append("run_end", {"rounds_completed": 1})
    (root / "labels.json").write_text(json.dumps(LABELS))
    (root / "config.yaml").write_text("run: {name: export-test}\n")
    model, _ = build_model("minilm", num_labels=len(LABELS))
    rng = np.random.default_rng(7)  # a trained adapter: B and the head away from their init
    load_trainable_state(
        model,
        {
            n: a + rng.normal(0.0, 0.05, a.shape).astype(np.float32)
            for n, a in trainable_state(model).items()
        },
    )
    save_adapter(model, RunDir(root).adapter(1), public_base_id=DEFAULT_PUBLIC_ID)
    return root


def test_export_writes_one_card_and_readme_lines_load_it_offline(run_dir, tmp_path, monkeypatch):
    # Prepare: the folder name README's example exports to, in the working directory.
    monkeypatch.chdir(tmp_path)
    expected_model, tokenizer = load_adapter_for_inference(
        run_dir / "rounds" / "round-001" / "adapter", task="classification"
    )
    inputs = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.inference_mode():
        expected = expected_model(**inputs).logits

    # Execute
    assert main(["export", str(run_dir), "-o", "my-adapter"]) == 0
    namespace: dict = {}
    exec(
        compile(_python_block(README.read_text(), after="fedft export"), "README.md", "exec"),
        namespace,
    )  # noqa: S102 - our own docs
    card = (tmp_path / "my-adapter" / "MODEL_CARD.md").read_text()
    card_namespace: dict = {}
    exec(compile(_python_block(card, after="## Loading"), "MODEL_CARD.md", "exec"), card_namespace)  # noqa: S102 - our own card

    # Assert: one card (no peft template), and both snippets predict exactly what fedft does.
    assert sorted(p.name for p in (tmp_path / "my-adapter").iterdir()) == [
        "MODEL_CARD.md",
        "adapter_config.json",
        "adapter_model.safetensors",
        "fedft_head.json",
    ]
    assert "More Information Needed" not in card
    assert "Outputs, in order: `cardiology`, `gastroenterology`" in card
    for ns in (namespace, card_namespace):
        batch = ns["tokenizer"](TEXTS, padding=True, return_tensors="pt")
        with torch.inference_mode():
            logits = ns["model"](**batch).logits
        torch.testing.assert_close(logits, expected, rtol=0, atol=1e-5)
        assert logits.argmax(-1).tolist() == expected.argmax(-1).tolist()


def test_merged_export_card_loads_the_merged_model(run_dir, tmp_path):
    # Prepare
    out = tmp_path / "merged"
    adapter_model, tokenizer = load_adapter_for_inference(
        run_dir / "rounds" / "round-001" / "adapter", task="classification"
    )
    inputs = tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.inference_mode():
        expected = adapter_model(**inputs).logits

    # Execute
    assert main(["export", str(run_dir), "--merge", "-o", str(out)]) == 0
    namespace: dict = {}
    card = (out / "MODEL_CARD.md").read_text()
    exec(compile(_python_block(card, after="## Loading"), "MODEL_CARD.md", "exec"), namespace)  # noqa: S102 - our own card

    # Assert
    assert not (out / "README.md").exists()
    with torch.inference_mode():
        logits = namespace["model"](
            **namespace["tokenizer"](TEXTS, padding=True, return_tensors="pt")
        ).logits
    torch.testing.assert_close(logits, expected, rtol=0, atol=1e-4)

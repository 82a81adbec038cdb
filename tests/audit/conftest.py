"""Shared by the audit tests: the tiny Llama with FFA-LoRA, as fedft trains it."""

import pytest

from fedft.model.load import ResolvedModel, load_base_model
from fedft.model.lora import attach_lora


@pytest.fixture(scope="session")
def build(tiny_llama_path):
    def make():
        model, tok = load_base_model(
            ResolvedModel(path=str(tiny_llama_path), public_id=str(tiny_llama_path)),
            task="instruction",
            num_labels=None,
            seed=0,
            device="cpu",
        )
        return attach_lora(
            model,
            task="instruction",
            r=8,
            alpha=16.0,
            dropout=0.0,
            target_modules=None,
            mode="ffa",
            seed=0,
        ), tok

    return make

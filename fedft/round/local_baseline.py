"""A site's local-only baseline: what it would get training alone on the run's budget.

Same recipe as its federated rounds (steps per round, optimizer rebuilt each round, the
round's data-order and dropout seeds, FedProx anchor on the model the round started from),
same starting adapter (the round-0 global one), its own training rows, scored on its own
held-out split. The server's strategy (e.g. FedAdam's server optimizer) does not apply: a
federation of one site is its local training.

The site advances it by one round whenever it evaluates a global round, so the baseline's
curve lines up with the federated one and costs one extra local round per round. The state
after each round is kept in the site's folder under a key of everything it depends on
(config, site, training rows): a re-sent evaluation or a resumed run reads it back instead of
training again, and a site that missed an evaluation catches up from its last saved round.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path

import datasets
import numpy as np
import torch

from fedft.config import Config
from fedft.model.state import load_trainable_state, trainable_state
from fedft.run.rundir import atomic_write_text

__all__ = ["baseline_folder", "local_baseline_scores"]


def _rows_digest(train_set: datasets.Dataset) -> str:
    h = hashlib.sha256()
    plain = train_set.with_format(None)  # lists, not the torch tensors training reads
    for column in ("input_ids", "labels"):
        if column in plain.column_names:
            h.update(json.dumps(list(plain[column])).encode())
    return h.hexdigest()


def baseline_folder(
    cfg: Config, *, state_dir: Path, site_id: str, train_set: datasets.Dataset
) -> Path:
    """Where this site's baseline lives, keyed by what it depends on."""
    parts = {
        "seed": cfg.run.seed,
        "site": site_id,
        "data": cfg.data.model_dump(mode="json", include={"task", "max_length", "labels"}),
        "model": cfg.model.model_dump(mode="json"),
        "lora": cfg.lora.model_dump(mode="json"),
        "training": cfg.training.model_dump(mode="json"),
        "proximal_mu": cfg.strategy.proximal_mu,
        "rows": _rows_digest(train_set),
    }
    key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
    return state_dir / "local-baseline" / key


def _save_state(path: Path, state: Mapping[str, np.ndarray]) -> None:
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **{k: np.asarray(v) for k, v in state.items()})
    tmp.replace(path)


def _load_state(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def local_baseline_scores(
    model: torch.nn.Module,
    *,
    folder: Path,
    server_round: int,
    global_state: Mapping[str, np.ndarray],
    train_round: Callable[[int, Mapping[str, np.ndarray]], None],
    score: Callable[[], dict[str, float]],
) -> dict[str, float] | None:
    """The baseline's held-out scores after `server_round` rounds; None at round 0 (it is the
    global adapter then, whose state is saved as the start) or when the start is missing
    (the site joined after round 0).

    `train_round(r, start_state)` trains `model` in place for round r from `start_state`
    (already loaded); `score()` evaluates `model`. Leaves `model` holding the baseline:
    the caller reloads the global adapter before training it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if server_round == 0:
        _save_state(folder / "state-0.npz", global_state)
        return None
    cached = folder / f"scores-{server_round}.json"
    if cached.is_file():
        return json.loads(cached.read_text(encoding="utf-8"))
    done = [r for r in range(server_round - 1, -1, -1) if (folder / f"state-{r}.npz").is_file()]
    if not done:
        return None
    state = _load_state(folder / f"state-{done[0]}.npz")
    for r in range(done[0] + 1, server_round + 1):
        load_trainable_state(model, state)
        train_round(r, state)
        state = trainable_state(model)
        _save_state(folder / f"state-{r}.npz", state)
        if r > 1:  # only the latest round's state is read again (round 0 stays: the start)
            (folder / f"state-{r - 1}.npz").unlink(missing_ok=True)
    scores = score()
    atomic_write_text(cached, json.dumps(scores))
    return scores

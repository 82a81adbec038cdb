"""The server's checkpoint after every round: everything needed to continue a run exactly.

`checkpoint/latest.json` names the round, the content hash of the arrays file, the RNG
states that drive the next rounds (site sampling uses Python's `random`; Flower's DP noise
numpy's global generator) and how long the ledger and metrics were at that point. Arrays —
the global adapter and the server optimizer's state (FedAdam's moments) — are in a
safetensors file written first; the manifest is replaced last, atomically, so a crash at any
moment leaves the previous complete checkpoint in force.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save

from fedft.run.rundir import atomic_write_bytes, atomic_write_text

FORMAT = "fedft-checkpoint/1"


class CheckpointError(RuntimeError):
    """No usable checkpoint; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class Checkpoint:
    server_round: int  # the last complete round
    global_arrays: list[np.ndarray]
    optimizer_state: dict[str, list[np.ndarray]]  # e.g. {"m_t": [...], "v_t": [...]}
    python_random_state: tuple
    numpy_random_state: tuple
    ledger_entries: int
    metrics_lines: int


def _folder(run_root: Path) -> Path:
    return Path(run_root) / "checkpoint"


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _tensors(ckpt: Checkpoint) -> dict[str, np.ndarray]:
    out = {f"global.{i:04d}": np.ascontiguousarray(a) for i, a in enumerate(ckpt.global_arrays)}
    for name, arrays in ckpt.optimizer_state.items():
        out.update({f"opt.{name}.{i:04d}": np.ascontiguousarray(a) for i, a in enumerate(arrays)})
    return out


def save_checkpoint(run_root: Path, ckpt: Checkpoint) -> Path:
    """Write `ckpt` as the run's latest checkpoint; returns the manifest path."""
    folder = _folder(run_root)
    arrays = folder / f"round-{ckpt.server_round:05d}.safetensors"
    atomic_write_bytes(arrays, save(_tensors(ckpt)))
    np_state = ckpt.numpy_random_state
    manifest = {
        "format": FORMAT,
        "round": ckpt.server_round,
        "arrays": arrays.name,
        "arrays_sha256": _sha256_file(arrays),
        "num_global": len(ckpt.global_arrays),
        "optimizer_state": {k: len(v) for k, v in ckpt.optimizer_state.items()},
        "python_random_state": [
            ckpt.python_random_state[0],
            list(ckpt.python_random_state[1]),
            ckpt.python_random_state[2],
        ],
        "numpy_random_state": [np_state[0], np.asarray(np_state[1]).tolist(), *np_state[2:]],
        "ledger_entries": ckpt.ledger_entries,
        "metrics_lines": ckpt.metrics_lines,
    }
    path = folder / "latest.json"
    atomic_write_text(path, json.dumps(manifest))
    for old in folder.glob("round-*.safetensors"):  # only the latest is ever needed
        if old != arrays:
            old.unlink()
    return path


def load_checkpoint(run_root: Path) -> Checkpoint:
    folder = _folder(run_root)
    path = folder / "latest.json"
    if not path.is_file():
        raise CheckpointError(
            f"{run_root}: no checkpoint (checkpoint/latest.json); the run did not complete a "
            "round, so start it again instead of resuming"
        )
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise CheckpointError(f"{path}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    arrays = folder / manifest["arrays"]
    if not arrays.is_file() or _sha256_file(arrays) != manifest["arrays_sha256"]:
        raise CheckpointError(
            f"{arrays}: missing or not matching the hash in {path.name}; the checkpoint is damaged"
        )
    tensors = load_file(str(arrays))
    py = manifest["python_random_state"]
    npy = manifest["numpy_random_state"]
    return Checkpoint(
        server_round=int(manifest["round"]),
        global_arrays=[tensors[f"global.{i:04d}"] for i in range(manifest["num_global"])],
        optimizer_state={
            name: [tensors[f"opt.{name}.{i:04d}"] for i in range(n)]
            for name, n in manifest["optimizer_state"].items()
        },
        python_random_state=(py[0], tuple(py[1]), py[2]),
        numpy_random_state=(npy[0], np.asarray(npy[1], dtype=np.uint32), *npy[2:]),
        ledger_entries=int(manifest["ledger_entries"]),
        metrics_lines=int(manifest["metrics_lines"]),
    )


def restore_random_states(ckpt: Checkpoint) -> None:
    random.setstate(ckpt.python_random_state)
    np.random.set_state(ckpt.numpy_random_state)

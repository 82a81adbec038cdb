"""Server checkpoints: a faithful round trip, and a damaged one is refused, never half-used."""

from __future__ import annotations

import random

import numpy as np
import pytest

from fedft.round.checkpoint import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    restore_random_states,
    save_checkpoint,
)


def _ckpt(server_round: int, seed: int = 0) -> Checkpoint:
    rng = np.random.default_rng(seed)
    return Checkpoint(
        server_round=server_round,
        global_arrays=[
            rng.normal(size=(4, 3)).astype(np.float32),
            rng.normal(size=(3,)).astype(np.float32),
        ],
        optimizer_state={
            "m_t": [rng.normal(size=(4, 3)).astype(np.float32)],
            "v_t": [np.ones(3, np.float32)],
        },
        python_random_state=random.getstate(),
        numpy_random_state=np.random.get_state(),
        ledger_entries=3,
        metrics_lines=4,
    )


def test_round_trip_is_bit_identical(tmp_path):
    # Prepare
    ckpt = _ckpt(3)

    # Execute
    save_checkpoint(tmp_path, ckpt)
    back = load_checkpoint(tmp_path)

    # Assert
    assert back.server_round == 3 and (back.ledger_entries, back.metrics_lines) == (3, 4)
    for a, b in zip(ckpt.global_arrays, back.global_arrays, strict=True):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert back.optimizer_state.keys() == {"m_t", "v_t"}
    assert back.optimizer_state["m_t"][0].tobytes() == ckpt.optimizer_state["m_t"][0].tobytes()


def test_random_states_restore_the_same_draws(tmp_path):
    # Prepare
    random.seed(5)
    np.random.seed(7)
    save_checkpoint(tmp_path, _ckpt(1))
    expected = (random.random(), np.random.normal(size=3).tolist())
    random.seed(99)
    np.random.seed(99)

    # Execute
    restore_random_states(load_checkpoint(tmp_path))

    # Assert
    assert (random.random(), np.random.normal(size=3).tolist()) == expected


def test_only_the_latest_round_is_kept(tmp_path):
    save_checkpoint(tmp_path, _ckpt(1))
    save_checkpoint(tmp_path, _ckpt(2, seed=1))
    assert sorted(p.name for p in (tmp_path / "checkpoint").iterdir()) == [
        "latest.json",
        "round-00002.safetensors",
    ]
    assert load_checkpoint(tmp_path).server_round == 2


def test_missing_and_damaged_checkpoints_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path)
    save_checkpoint(tmp_path, _ckpt(2))
    arrays = tmp_path / "checkpoint" / "round-00002.safetensors"
    data = bytearray(arrays.read_bytes())
    data[-1] ^= 1
    arrays.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(tmp_path)

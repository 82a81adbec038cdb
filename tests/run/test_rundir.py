"""Run folder: creation rules, atomic writes, metrics lines, progress files."""

import json
import math
import os
from datetime import UTC

import pytest

from fedft.run.metrics import append_metrics, read_metrics
from fedft.run.progress import StepReporter, read_progress
from fedft.run.rundir import (
    RunDirError,
    atomic_write_bytes,
    atomic_write_text,
    create_run_dir,
    new_run_id,
    open_run_dir,
)


def test_a_new_run_never_mixes_into_a_non_empty_folder(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "metrics.jsonl").write_text("{}\n")
    with pytest.raises(RunDirError, match="exists and is not empty"):
        create_run_dir(tmp_path / "old")
    assert create_run_dir(tmp_path / "new").root == (tmp_path / "new").resolve()


def test_unwritable_parent_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RunDirError, match="cannot write the run folder"):
        create_run_dir(blocker / "run")


def test_open_requires_a_run_folder(tmp_path):
    with pytest.raises(RunDirError, match="not a fedft run folder"):
        open_run_dir(tmp_path)


def test_rounds_saved_lists_round_folders_in_order(tmp_path):
    run = create_run_dir(tmp_path / "r")
    for n in (10, 0, 2):
        run.adapter(n).mkdir(parents=True)
    assert run.rounds_saved() == [0, 2, 10]


def test_run_ids_sort_by_time():
    from datetime import datetime

    a = new_run_id("x", now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert a == "x-20260102-030405"


def test_atomic_write_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "a" / "b.json"
    atomic_write_text(target, "1")
    atomic_write_text(target, "2")
    assert target.read_text() == "2"
    assert [p.name for p in target.parent.iterdir()] == ["b.json"]


def test_atomic_write_syncs_the_file_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    # Prepare: record fsync and rename calls in order
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(
        os,
        "fsync",
        lambda fd: calls.append(("fsync", os.path.isdir(f"/proc/self/fd/{fd}"))) or real_fsync(fd),
    )
    monkeypatch.setattr(
        os, "replace", lambda a, b: calls.append(("replace", None)) or real_replace(a, b)
    )
    # Execute
    atomic_write_bytes(tmp_path / "x.bin", b"\x00\x01")
    # Assert: file synced, renamed, folder synced
    assert calls == [("fsync", False), ("replace", None), ("fsync", True)]
    assert (tmp_path / "x.bin").read_bytes() == b"\x00\x01"


def test_atomic_write_sets_the_mode_and_keeps_the_old_file_when_writing_fails(
    tmp_path, monkeypatch
):
    import os

    target = tmp_path / "secret.json"
    atomic_write_text(target, "old", mode=0o600)
    assert target.stat().st_mode & 0o777 == 0o600

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["secret.json"]


def test_metrics_are_one_json_object_per_line_with_nan_as_null(tmp_path):
    path = tmp_path / "metrics.jsonl"
    append_metrics(path, {"round": 0, "eval_loss": 1.5})
    append_metrics(path, {"round": 1, "eval_loss": math.nan, "failures": ["x"]})
    assert read_metrics(path) == [
        {"round": 0, "eval_loss": 1.5},
        {"round": 1, "eval_loss": None, "failures": ["x"]},
    ]
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_step_reporter_throttles_but_always_writes_the_last_step(tmp_path):
    report = StepReporter(tmp_path, "site-0", server_round=3, min_interval_s=3600)
    report(1, 5, 2.0)
    report(2, 5, 1.9)  # throttled
    assert read_progress(tmp_path) == [
        {"site": "site-0", "round": 3, "step": 1, "total": 5, "loss": 2.0}
    ]
    report(5, 5, 1.5)
    assert read_progress(tmp_path)[0]["step"] == 5

"""Layout of a run folder. Every artefact's path is named here and nowhere else.

runs/<id>/
  config.yaml          resolved config (every default spelled out)
  metrics.jsonl        one JSON object per round (round 0 = before training)
  summary.json         first/last round figures, written at the end
  data_report.json     rows read, bad rows (file:line: reason) per source
  labels.json          class labels in head order (classification)
  fedft.log            Flower/Ray logs (the terminal shows them with --verbose)
  progress/<site>.json latest local step of each simulated site (for the terminal)
  rounds/round-NNN/    global adapter after round NNN, PEFT format
  sites/<site>/        site-private state in a simulation (caches, keys, anonymization report,
                       DP budget, outbox.jsonl: the shape of every reply the site sent)
  server/              the coordinator's anonymization report of its held-out set
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


class RunDirError(OSError):
    """A run folder that cannot be created or written."""


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def data_report(self) -> Path:
        return self.root / "data_report.json"

    @property
    def labels(self) -> Path:
        return self.root / "labels.json"

    @property
    def log(self) -> Path:
        return self.root / "fedft.log"

    @property
    def progress(self) -> Path:
        return self.root / "progress"

    def round_dir(self, server_round: int) -> Path:
        return self.root / "rounds" / f"round-{server_round:03d}"

    def adapter(self, server_round: int) -> Path:
        return self.round_dir(server_round) / "adapter"

    def site_dir(self, site: str) -> Path:
        return self.root / "sites" / site

    def rounds_saved(self) -> list[int]:
        folder = self.root / "rounds"
        if not folder.is_dir():
            return []
        return sorted(int(p.name.split("-")[1]) for p in folder.glob("round-*") if p.is_dir())


def new_run_id(name: str, *, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{name}-{stamp}"


def create_run_dir(root: Path) -> RunDir:
    """Create a fresh run folder; refuses to mix a new run into an existing one."""
    root = root.expanduser().resolve()
    if root.exists() and any(root.iterdir()):
        raise RunDirError(
            f"{root}: run folder exists and is not empty; choose another -o or delete it"
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise RunDirError(
            f"{root}: cannot write the run folder ({exc.strerror}); pick a writable -o"
        ) from None
    return RunDir(root)


def open_run_dir(root: Path) -> RunDir:
    """An existing run folder, for reading (export, audit)."""
    root = root.expanduser().resolve()
    if not (root / "config.yaml").is_file():
        raise RunDirError(f"{root}: not a fedft run folder (no config.yaml)")
    return RunDir(root)


def atomic_write_text(path: Path, text: str, *, mode: int | None = None) -> None:
    """`atomic_write_bytes` of `text` in UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write then rename, so a crash never leaves a half-written file that looks complete.

    The file is synced before the rename and its folder after it, so after a power cut the
    path holds the old content or the new, never an empty file. `mode`: the file's permission
    bits (e.g. 0o600 for a site's private state); by default as `open` would create it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique temporary name: two writers of one path (threads, processes) never share it.
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)  # exact, whatever the umask
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":  # Windows cannot open a folder to sync it; its rename is durable
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

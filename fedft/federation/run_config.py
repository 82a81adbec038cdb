"""Flower run config -> fedft Config, for `flwr run` and SuperLink/SuperNode deployments.

The run config's `config` key names a fedft YAML *inside the Flower app* (the folder `flwr run`
packages into a FAB). The FAB is unpacked at the SuperLink and at every site under
`$FLWR_HOME/apps/<publisher>.<name>.<version>.<hash8>/`, and Flower puts that folder first on
`sys.path` when it loads the apps (flwr 1.41 `load_app`); the process's working directory is
wherever the SuperLink or SuperNode was started. So a relative path is looked up in the app
folder first, which is what makes the coordinator and every site read the same YAML — the one
in the bundle whose hash the consortium checks. Light imports only: the deployed ClientApp
calls this for every SecAgg+ stage, each in a fresh process.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fedft.config import Config, load_config

CONFIG_KEY = "config"
DEFAULT_CONFIG = "configs/default.yaml"


def _app_folders() -> list[Path]:
    # Folders on sys.path that hold a Flower app's pyproject.toml: the installed FAB (Flower
    # inserts it at sys.path[0]) or the project folder in a local `flwr run .`.
    out = []
    for entry in sys.path:
        folder = Path(entry or ".")
        if (folder / "pyproject.toml").is_file():
            out.append(folder)
    return out


def app_file(value: str, *, key: str = CONFIG_KEY) -> Path:
    """Resolve a path from the run config: absolute as is; relative against the app folder
    (then the working directory). Raises FileNotFoundError naming the key and where it looked."""
    path = Path(value).expanduser()
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [folder / path for folder in _app_folders()] + [Path.cwd() / path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"run config '{key}' = {value!r}: no such file (looked in {looked}); put the YAML inside "
        "the app folder you submit with `flwr run` and give its path relative to that folder"
    )


def config_from_run_config(run_config: Mapping[str, Any]) -> Config:
    """The fedft Config a run was submitted with (`config` key; default configs/default.yaml)."""
    value = str(run_config.get(CONFIG_KEY) or DEFAULT_CONFIG)
    return load_config(app_file(value))

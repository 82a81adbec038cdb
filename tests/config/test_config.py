"""Config loading: every problem named by key path, all at once; overrides; shipped configs."""

from pathlib import Path

import pytest

from fedft.config import ConfigError, config_to_yaml, load_config, parse_override

REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("federation: {roundz: 3}\n", "federation.roundz: unknown key"),
        ("training: {learning_rate: fast}\n", "training.learning_rate: Input should be a valid number"),
        ("federation: {num_clients: 0}\n", "federation.num_clients: Input should be greater than or equal to 1"),
        ("lora: {mode: sideways}\n", "lora.mode: Input should be 'standard' or 'ffa'"),
        ("federation: {fraction_fit: 1.5}\n", "federation.fraction_fit: Input should be less than or equal to 1"),
        ("federation: {num_clients: 2, min_fit_clients: 3}\n", "federation.min_fit_clients: 3 exceeds"),
        ("data: {task: instruction}\n", "model.path: the instruction task needs a causal language model"),
        ("data: {train: a.jsonl}\n", "data.eval: data.train needs a held-out data.eval"),
        ("run: [1, 2]\n", "run: Input should be a valid dictionary"),
        ("model: {head_init: zero}\n", "model.head_init: Input should be 'random', 'label_names' or 'auto'"),
        ("model: {label_template: a note}\n", "model.label_template: 'a note' has no '{label}'"),
        (
            "dp: {enabled: true, target_epsilon: 8, max_epsilon: 8, clipping: per_group}\n",
            "dp: Value error, dp.clipping is per_group but dp.head_max_grad_norm is not set",
        ),
        (
            "dp: {clipping: per_group, head_max_grad_norm: 1.0, head_budget_share: 1.0}\n",
            "dp.head_budget_share: Value error, dp.head_budget_share must be a number strictly "
            "between 0 and 1, got 1.0",
        ),
        (
            "model: {head_fit: least_squares, pooling: cls}\n",
            "model.head_fit: 'least_squares' cannot be used here: model.pooling cls",
        ),
        (
            "model: {head_fit: least_squares}\nstrategy: {name: fedadam}\n",
            "model.head_fit: 'least_squares' cannot be used here: strategy.name fedadam",
        ),
        (
            "model: {head_fit: least_squares}\n"
            "dp: {enabled: true, target_epsilon: 8, max_epsilon: 8}\n",
            "model.head_fit: 'least_squares' cannot be used here: the feature statistics are not "
            "noised",
        ),
        ("model: {head_fit_ridge: 0}\n", "model.head_fit_ridge: Input should be greater than 0"),
        (
            "dp: {head_budget_share: 0.9}\n",
            "dp: Value error, dp.head_budget_share is set but dp.clipping is flat",
        ),
        (
            "data: {task: instruction, partition: {kind: iid}}\n"
            "model: {path: /models/llama, head_init: label_names}\n",
            "model.head_init: 'label_names' builds a classification head from label names",
        ),
    ],
)
def test_each_error_is_one_clear_line(tmp_path, yaml_text, expected):
    # Prepare
    path = _write(tmp_path, yaml_text)
    # Execute
    with pytest.raises(ConfigError) as info:
        load_config(path)
    # Assert
    assert len(info.value.errors) == 1, info.value.errors
    assert info.value.errors[0].startswith(expected), info.value.errors[0]
    assert str(path) in str(info.value)


def test_all_field_errors_are_reported_at_once(tmp_path):
    path = _write(tmp_path, "run: {seed: -1}\nfederation: {roundz: 3}\ntraining: {batch_size: 0}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    keys = sorted(e.split(":")[0] for e in info.value.errors)
    assert keys == ["federation.roundz", "run.seed", "training.batch_size"]


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("run: {seed: 1\n", "invalid YAML: line 2, column 1: expected"),
        ("- just\n- a list\n", "top level must be a mapping"),
    ],
)
def test_broken_yaml_names_the_line(tmp_path, yaml_text, expected):
    with pytest.raises(ConfigError, match=expected):
        load_config(_write(tmp_path, yaml_text))


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_overrides_apply_with_yaml_types_and_are_validated(tmp_path):
    path = _write(tmp_path, "federation: {rounds: 2}\n")
    cfg = load_config(path, ["federation.rounds=7", "training.learning_rate=5e-4", "lora.target_modules=[query, key]"])
    assert cfg.federation.rounds == 7
    assert cfg.training.learning_rate == pytest.approx(5e-4)
    assert cfg.lora.target_modules == ["query", "key"]
    with pytest.raises(ConfigError, match="federation.roundz: unknown key"):
        load_config(path, ["federation.roundz=3"])


@pytest.mark.parametrize("text", ["noequals", "=3", "a..b=1"])
def test_malformed_override_is_rejected(text):
    with pytest.raises(ConfigError, match="expected key.path=value"):
        parse_override(text)


def test_paths_in_yaml_are_relative_to_the_file_and_overrides_to_cwd(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "cfg.yaml"
    path.write_text("data: {train: train.jsonl, eval: ../eval.jsonl}\n")
    cfg = load_config(path)
    assert cfg.data.train == tmp_path / "sub" / "train.jsonl"
    assert cfg.data.eval == tmp_path / "eval.jsonl"
    monkeypatch.chdir(tmp_path)
    cfg = load_config(path, ["data.train=mine.jsonl"])
    assert cfg.data.train == tmp_path / "mine.jsonl"


def test_resolved_config_round_trips(tmp_path):
    cfg = load_config(REPO / "configs" / "default.yaml")
    again = load_config(_write(tmp_path, config_to_yaml(cfg)))
    assert again == cfg


@pytest.mark.parametrize(
    "path", sorted(p for p in (REPO / "configs").glob("*.yaml")) + sorted((REPO / "simulations").glob("*.yaml")),
    ids=lambda p: p.name,
)
def test_every_shipped_config_is_valid(path):
    load_config(path)


def test_head_fit_auto_fits_only_where_it_applies():
    from fedft.config.schema import fits_head

    default = REPO / "configs" / "default.yaml"
    assert fits_head(load_config(default, ["model.head_fit=auto"]))
    assert not fits_head(load_config(default, ["model.head_fit=none"]))
    # Turning DP on over a config with `auto` falls back to training the head, without error.
    dp = ["model.head_fit=auto", "dp.enabled=true", "dp.target_epsilon=8", "dp.max_epsilon=8"]
    assert not fits_head(load_config(default, dp))
    robust = ["model.head_fit=auto", "strategy.name=fedmedian", "secure_aggregation.enabled=false"]
    assert not fits_head(load_config(default, robust))

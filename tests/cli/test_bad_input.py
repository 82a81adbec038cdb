"""Broken input of every kind, through the commands users run: each case ends with a non-zero
exit code, a message that names the file, field or line and the fix, no traceback, and nothing
written that a later run could mistake for a result (no run folder, no output file)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from fedft.cli import main

GOOD_ROWS = "".join(
    json.dumps({"text": f"note {i}", "label": "ab"[i % 2]}) + "\n" for i in range(6)
)
SMALL = "federation: {num_clients: 2, rounds: 1, min_fit_clients: 2}\n"


@dataclass(frozen=True)
class Case:
    id: str
    # Writes the broken input into the folder and returns the command line (without "fedft").
    setup: Callable[[Path], list[str]]
    expect: tuple[str, ...]  # fragments that must appear in stderr
    code: int = 2


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def _config(folder: Path, text: str) -> str:
    return str(_write(folder, "run.yaml", text))


def _simulate_on_train(
    content: str | bytes, name: str = "train.jsonl"
) -> Callable[[Path], list[str]]:
    """`fedft simulate` of a config whose training file is `content` (eval data is fine)."""

    def setup(folder: Path) -> list[str]:
        _write(folder, name, content)
        _write(folder, "eval.jsonl", GOOD_ROWS)
        cfg = _config(
            folder, SMALL + f"data: {{train: {name}, eval: eval.jsonl, labels: [a, b]}}\n"
        )
        return ["simulate", cfg, "-o", str(folder / "out")]

    return setup


def _simulate_with(text: str, *, out: str = "out") -> Callable[[Path], list[str]]:
    def setup(folder: Path) -> list[str]:
        return ["simulate", _config(folder, SMALL + text), "-o", str(folder / out)]

    return setup


def _anonymize_with(policy: str) -> Callable[[Path], list[str]]:
    def setup(folder: Path) -> list[str]:
        data = _write(folder, "notes.jsonl", GOOD_ROWS)
        pol = _write(folder, "policy.yaml", policy)
        return ["anonymize", str(data), "-o", str(folder / "out.jsonl"), "--policy", str(pol)]

    return setup


def _no_config_file(folder: Path) -> list[str]:
    return ["simulate", str(folder / "missing.yaml"), "-o", str(folder / "out")]


def _model_folder_without_weights(folder: Path) -> list[str]:
    (folder / "model").mkdir()
    return _simulate_with("model: {path: model}\n")(folder)


def _run_dir_under_a_file(folder: Path) -> list[str]:
    _write(folder, "afile", "x")
    return ["simulate", _config(folder, SMALL), "-o", str(folder / "afile" / "run")]


def _run_dir_not_empty(folder: Path) -> list[str]:
    (folder / "out").mkdir()
    _write(folder / "out", "keep.txt", "earlier results")
    return ["simulate", _config(folder, SMALL), "-o", str(folder / "out")]


CASES = [
    # Configs: every problem by key path, before any data is read.
    Case("config-missing", _no_config_file, ("missing.yaml", "file not found"), 1),
    Case("config-yaml-syntax", _simulate_with("federation: [1,\n"), ("line", "invalid YAML"), 1),
    Case(
        "config-not-a-mapping",
        lambda f: ["validate", _config(f, "- 1\n")],
        ("top level must be a mapping",),
        1,
    ),
    Case(
        "config-unknown-key",
        _simulate_with("dp: {noise_multipler: 1.0}\n"),
        ("dp.noise_multipler", "unknown key"),
        1,
    ),
    Case(
        "config-wrong-type",
        _simulate_with("training: {learning_rate: fast}\n"),
        ("training.learning_rate",),
        1,
    ),
    Case(
        "config-epsilon-zero",
        _simulate_with("dp: {enabled: true, target_epsilon: 0}\n"),
        ("dp.target_epsilon",),
        1,
    ),
    Case(
        "config-delta-one",
        _simulate_with("dp: {enabled: true, target_epsilon: 3, target_delta: 1.0}\n"),
        ("dp.target_delta",),
        1,
    ),
    Case(
        "config-threshold-over-shares",
        _simulate_with("secure_aggregation: {num_shares: 3, reconstruction_threshold: 4}\n"),
        ("secure_aggregation", "reconstruction_threshold"),
        1,
    ),
    Case(
        "config-bad-override",
        lambda f: ["simulate", _config(f, SMALL), "--set", "lora.r=zero"],
        ("lora.r",),
        1,
    ),
    # Data files: the file (and line) is named; a file with no usable row stops the run.
    Case("data-empty", _simulate_on_train(""), ("train.jsonl", "empty")),
    Case("data-binary", _simulate_on_train(b"\x00\x01\x02binary\xff"), ("train.jsonl", "binary")),
    Case(
        "data-latin1",
        _simulate_on_train('{"text": "caf\xe9", "label": "a"}\n'.encode("latin-1")),
        ("train.jsonl:1", "UTF-8"),
    ),
    Case(
        "data-truncated-only-row",
        _simulate_on_train('{"text": "note', "cut.jsonl"),
        ("cut.jsonl:1", "invalid JSON"),
    ),
    Case(
        "data-missing-column",
        _simulate_on_train('{"text": "a"}\n{"text": "b"}\n'),
        ("train.jsonl:1", "'label' missing"),
    ),
    Case(
        "data-huge-line",
        _simulate_on_train(json.dumps({"text": "x" * 200_001, "label": "a"}) + "\n"),
        ("data.max_row_chars",),
    ),
    Case("data-unknown-suffix", _simulate_on_train("text,label\n", "train.txt"), ("train.txt",)),
    Case(
        "data-missing-file",
        _simulate_with("data: {train: nowhere.jsonl, eval: nowhere.jsonl, labels: [a, b]}\n"),
        ("nowhere.jsonl",),
    ),
    Case(
        "data-eval-without-train",  # a coordinator's config: valid, but not for a simulation
        lambda f: _simulate_on_train(GOOD_ROWS)(f)[:1]
        + [_config(f, SMALL + "data: {eval: eval.jsonl, labels: [a, b]}\n"), "-o", str(f / "out")],
        ("data.train", "deployment coordinator"),
    ),
    # Policies: one error before any record is read.
    Case(
        "policy-unknown-entity",
        _anonymize_with("anonymization: {entities: [PERSON, NOPE]}\n"),
        ("anonymization.entities", "NOPE"),
        1,
    ),
    Case(
        "policy-bad-regex",
        _anonymize_with(
            "anonymization: {custom_recognizers: [{name: mrn, entity: MRN, "
            'patterns: [{regex: "MRN-(\\\\d+", score: 0.9}]}]}\n'
        ),
        ("custom_recognizers", "does not compile"),
        1,
    ),
    Case(
        "policy-unknown-operator",
        _anonymize_with("anonymization: {operator: scramble}\n"),
        ("anonymization.operator",),
        1,
    ),
    Case(
        "policy-no-secret",
        _anonymize_with("anonymization: {operator: pseudonymize}\n"),
        ("pseudonymize", "FEDFT_SITE_SECRET"),
        1,
    ),
    # Model and run folder.
    Case(
        "model-missing",
        _simulate_with("model: {path: /nonexistent/model}\n"),
        ("model.path", "does not exist"),
    ),
    Case("model-no-config-json", _model_folder_without_weights, ("model.path", "config.json")),
    Case("rundir-unwritable", _run_dir_under_a_file, ("cannot write the run folder",)),
    Case("rundir-not-empty", _run_dir_not_empty, ("not empty",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_clear_error_and_leaves_nothing(case, tmp_path, capsys, monkeypatch):
    # Prepare
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FEDFT_SITE_SECRET", raising=False)
    argv = case.setup(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))

    # Execute
    code = main(argv)

    # Assert
    err = capsys.readouterr().err
    assert code == case.code, err
    assert "Traceback" not in err
    assert all(f in err for f in case.expect), err
    lines = err.strip().splitlines()
    if lines[0].endswith("problem(s)"):  # config problems: a header naming the file, one line each
        assert all(line.startswith("  - ") for line in lines[1:]), err
    else:
        assert len(lines) == 1 and lines[0].startswith(f"fedft {argv[0]}: "), err
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert after == before, "a failed command wrote files"

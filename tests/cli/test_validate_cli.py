"""`fedft validate`: exit codes and messages a user sees."""

from pathlib import Path

from fedft.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_valid_config_prints_the_resolved_config(capsys):
    assert main(["validate", str(REPO / "configs" / "default.yaml")]) == 0
    out = capsys.readouterr()
    assert "num_clients: 4" in out.out
    assert "valid" in out.err


def test_invalid_config_lists_every_problem_and_exits_1(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("federation: {roundz: 3, num_clients: -1}\n")
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "2 problem(s)" in err
    assert "federation.roundz: unknown key" in err
    assert "federation.num_clients" in err
    assert "Traceback" not in err


def test_a_coordinator_config_with_only_held_out_data_validates(tmp_path, capsys):
    # A deployment's coordinator evaluates on data.eval; the sites bring their own training data.
    (tmp_path / "eval.jsonl").write_text('{"text": "a note", "label": "a"}\n')
    cfg = tmp_path / "federation.yaml"
    cfg.write_text(f"data: {{eval: {tmp_path / 'eval.jsonl'}, labels: [a, b]}}\n")
    assert main(["validate", str(cfg)]) == 0, capsys.readouterr().err


def test_override_errors_name_the_key(capsys):
    assert main(["validate", str(REPO / "configs" / "default.yaml"), "--set", "lora.r=zero"]) == 1
    assert "lora.r: Input should be a valid integer" in capsys.readouterr().err


def test_export_of_a_non_run_folder_is_a_one_line_error(tmp_path, capsys):
    assert main(["export", str(tmp_path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fedft export: error:") and "not a fedft run folder" in err
    assert "\n" not in err


def test_every_option_of_validate_is_described(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["validate", "--help"])
    out = capsys.readouterr().out
    assert "--set KEY=VALUE  override a config value" in out


def test_architecture_lists_every_subcommand():
    import argparse
    import re

    from fedft.cli import build_parser

    # Prepare
    [sub] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    text = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")

    # Execute
    listed = re.search(r"`fedft ((?:\w+ \| )+\w+)`", text).group(1).split(" | ")

    # Assert
    assert sorted(listed) == sorted(sub.choices)

"""Run config -> fedft Config: the YAML is found in the installed app folder, not the cwd."""

import sys

import pytest

from fedft.federation.run_config import app_file, config_from_run_config

YAML = "federation: {num_clients: 3, rounds: 1, min_fit_clients: 2}\n"


@pytest.fixture
def installed_app(tmp_path, monkeypatch):
    # What Flower does before loading the apps: the unpacked bundle goes first on sys.path;
    # the process's working directory is elsewhere.
    app = tmp_path / "apps" / "fedft.fedft.0.1.0.abcd1234"
    (app / "configs").mkdir(parents=True)
    (app / "pyproject.toml").write_text("[project]\nname = 'fedft'\n")
    (app / "configs" / "fed.yaml").write_text(YAML)
    elsewhere = tmp_path / "superlink-cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setattr(sys, "path", [str(app), *sys.path])
    return app


def test_a_relative_config_is_read_from_the_app_folder(installed_app):
    # Execute
    cfg = config_from_run_config({"config": "configs/fed.yaml"})
    # Assert
    assert app_file("configs/fed.yaml") == (installed_app / "configs" / "fed.yaml").resolve()
    assert (cfg.federation.num_clients, cfg.federation.rounds) == (3, 1)


def test_an_absolute_config_is_taken_as_is(installed_app, tmp_path):
    # Prepare
    own = tmp_path / "own.yaml"
    own.write_text(YAML.replace("rounds: 1", "rounds: 4"))
    # Execute / Assert
    assert config_from_run_config({"config": str(own)}).federation.rounds == 4


def test_a_missing_config_names_the_key_the_places_and_the_fix(installed_app):
    # Execute
    with pytest.raises(FileNotFoundError) as err:
        config_from_run_config({"config": "configs/nope.yaml"})
    # Assert
    message = str(err.value)
    assert "'config' = 'configs/nope.yaml'" in message
    assert str(installed_app / "configs" / "nope.yaml") in message
    assert "inside the app folder" in message

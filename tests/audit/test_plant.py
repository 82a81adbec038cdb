"""Canaries at a site: planted after anonymization, included with probability ½, recorded
privately, stable across re-preparation, refused at a real site without consent."""

import datasets
import pytest

from fedft.audit.canaries import CANARY_FILE, make_canaries, plant_canaries, read_canary_record
from fedft.config import load_config
from fedft.round.prepare import prepare
from fedft.round.workload import cached_workload

ROWS = [
    {
        "instruction": "Summarise the note.",
        "input": "Patient John Smith, call 555-201-3344.",
        "response": "stable",
    }
] * 6


@pytest.fixture
def cfg(tiny_llama_path, tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text(
        "data: {task: instruction}\n"
        f"model: {{path: '{tiny_llama_path}'}}\n"
        "audit: {canaries: {enabled: true, sites: [site-0], count: 24, repeats: 4}}\n"
    )
    return load_config(path)


def _prepare(cfg, state_dir, *, simulated=True):
    ds = datasets.Dataset.from_list(ROWS)
    workload = cached_workload(cfg)
    return prepare(
        cfg, workload, ds, policy=cfg.anonymization, state_dir=state_dir, create_secret=simulated
    )


def test_canaries_survive_anonymization_and_are_recorded_privately(cfg, tmp_path):
    # Prepare
    state_dir = tmp_path / "sites" / "site-0"
    # Execute
    prepared = _prepare(cfg, state_dir)
    # Assert
    record = read_canary_record(state_dir / CANARY_FILE)
    n_in = sum(record.included)
    assert 0 < n_in < 24  # P(all in or all out) = 2^-23
    assert (record.records_before, record.records_after) == (6, 6 + 4 * n_in)
    assert len(prepared.tokenized) == 6 + 4 * n_in
    tokenizer = cached_workload(cfg).tokenizer
    texts = [tokenizer.decode(ids) for ids in prepared.tokenized["input_ids"]]
    for canary, included in zip(record.canaries, record.included, strict=True):
        # The secret digits arrive intact: planted after the anonymizer, which would mask them.
        hits = sum(canary.secret in t and canary.prompt in t for t in texts)
        assert hits == (4 if included else 0)
    assert not any("John Smith" in t for t in texts)  # the site's own data were anonymized


def test_the_draw_is_kept_when_the_site_prepares_again(cfg, tmp_path):
    state_dir = tmp_path / "sites" / "site-0"
    _prepare(cfg, state_dir)
    first = read_canary_record(state_dir / CANARY_FILE).included
    _prepare(cfg, state_dir)
    assert read_canary_record(state_dir / CANARY_FILE).included == first


def test_a_site_not_listed_plants_nothing(cfg, tmp_path):
    prepared = _prepare(cfg, tmp_path / "sites" / "site-1")
    assert len(prepared.tokenized) == 6
    assert not (tmp_path / "sites" / "site-1" / CANARY_FILE).exists()


def test_a_real_site_refuses_canaries_without_consent(cfg, tmp_path):
    with pytest.raises(ValueError, match=r"audit\.canaries\.consent"):
        _prepare(cfg, tmp_path / "site-0", simulated=False)


def test_classification_canaries_have_random_labels_and_distinct_texts():
    canaries = make_canaries(
        task="classification", count=200, seed=3, site="site-0", labels=["a", "b", "c"]
    )
    assert len({c.prompt for c in canaries}) == 200
    assert {c.secret for c in canaries} == {"a", "b", "c"}
    other_site = make_canaries(
        task="classification", count=200, seed=3, site="site-1", labels=["a", "b", "c"]
    )
    assert canaries != other_site


def test_plant_repeats_only_included_canaries():
    ds = datasets.Dataset.from_list([{"text": "x", "label": "a"}])
    canaries = make_canaries(task="classification", count=3, seed=0, site="s", labels=["a", "b"])
    out = plant_canaries(
        ds, canaries=canaries, included=[True, False, True], repeats=3, task="classification"
    )
    assert len(out) == 1 + 6
    assert sorted(out["text"][1:]) == sorted([canaries[0].prompt] * 3 + [canaries[2].prompt] * 3)

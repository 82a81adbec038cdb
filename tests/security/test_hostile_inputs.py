"""Hostile inputs, one table per class: each row asserts the clear error or the correct outcome.

docs/security.md lists the same classes with the behaviour a user sees.
"""

from __future__ import annotations

import time

import pytest

from fedft.anonymize.engine import PolicyRegexTimeout, bound_patterns
from fedft.anonymize.normalize import fold, unfold_spans
from fedft.anonymize.recognizers.registry import custom_recognizer
from fedft.anonymize.spans import Span
from fedft.cli import main as cli_main
from fedft.config import ConfigError, load_config
from fedft.config.anonymization import (
    CustomRecognizerSpec,
    PatternSpec,
    PolicyError,
    load_policy,
    parse_policy,
)
from fedft.config.base import load_yaml
from fedft.data.sources import DataError, read_examples

# -- 1. PII hidden behind invisible or look-alike characters -------------------------------------

# (input, a fragment of the PII that must not survive anonymization)
HIDDEN_PII = [
    ("SSN 123-45-\u200b6789", "6789"),
    ("Card 4111\u200b1111\u200b1111\u200b1111", "1111"),
    ("Call 555\u2011201\u20113344", "3344"),
    ("Write to john.smith@exam\u200bple.com today", "smith"),
    ("SSN \uff11\uff12\uff13-\uff14\uff15-\uff16\uff17\uff18\uff19", "\uff16\uff17"),
    ("Card 4111\u20601111\u00ad1111\u200d1111", "1111"),
    ("Call 555\u2212201\u22123344", "3344"),
    ("Mail jane.doe\u202e@example.com", "jane"),
    ("Call \u0665\u0665\u0665-201-3344", "3344"),
    ("Card 4111\ufeff1111 1111 1111", "1111"),
    # Cyrillic look-alikes inside Latin words (UTS #39 mixed-script confusables)
    ("Write to j\u043ehn.smith@ex\u0430mple.com today", "smith"),
    ("Mail \u0455mith.j@example.org", "mith.j"),
]


@pytest.mark.parametrize(("text", "fragment"), HIDDEN_PII, ids=[repr(t) for t, _ in HIDDEN_PII])
def test_pii_behind_invisible_characters_is_anonymized(text, fragment, default_anonymizer):
    result = default_anonymizer.anonymize_texts([text])
    [out] = result.texts
    assert fragment not in out
    assert "<" in out  # replaced by a tag, not dropped as residual
    # The replacement swallows the hidden characters inside the span too.
    assert not any(ch in out for ch in "\u200b\u200d\u2060\u00ad\ufeff\u202e")
    assert sum(result.report.residual.values()) == 0


def test_residual_scan_reads_the_folded_text(default_anonymizer):
    # A detection the first pass missed would be caught when the residual scan reads the
    # folded text: the scan and detection share the one folding layer.
    spans = default_anonymizer.detect(["ok", "SSN 123-45-\u200b6789"])
    assert spans[0] == []
    [span] = spans[1]
    assert (span.start, span.end) == (4, 16)  # covers the zero-width space


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("plain ascii", "plain ascii"),
        ("a\u200bb\u200c\u200dc\u2060d\ufeffe\u00adf", "abcdef"),
        ("\uff21\uff11", "A1"),
        ("1\u20112\u20133\u20144\u22125", "1-2-3-4-5"),
        ("\u0663\u0966", "30"),
        ("\ufb01le", "file"),
        ("caf\u00e9", "caf\u00e9"),
        ("\u202eevil\u202c", "evil"),
        ("j\u043ehn@ex\u0430mple.com", "john@example.com"),  # Cyrillic o and a among Latin
        ("\u03a1aul", "Paul"),  # Greek capital rho
        ("\u0418\u0432\u0430\u043d \u041f\u0435\u0442\u0440\u043e\u0432", "\u0418\u0432\u0430\u043d \u041f\u0435\u0442\u0440\u043e\u0432"),  # all Cyrillic: kept
        ("\u039c\u03b1\u03c1\u03af\u03b1 Smith", "\u039c\u03b1\u03c1\u03af\u03b1 Smith"),  # a Greek word next to a Latin one
    ],
)
def test_fold(text, folded):
    assert fold(text).text == folded


def test_fold_maps_spans_back_to_whole_original_characters():
    text = "x \ufb01\u200b12"  # ligature (1 char -> 2) and a zero-width space
    f = fold(text)
    assert f.text == "x fi12"
    [span] = unfold_spans([Span("ID", 2, 6, 1.0)], f)
    assert text[span.start : span.end] == "\ufb01\u200b12"
    [inner] = unfold_spans([Span("ID", 3, 5, 1.0)], f)  # "i1": half a ligature + digit
    assert text[inner.start : inner.end] == "\ufb01\u200b1"


# -- 2. Regexes in a site policy that backtrack catastrophically (ReDoS) --------------------------


def _policy_with(name: str, pattern: str) -> dict:
    recognizer = {"name": name, "entity": "WARD", "patterns": [{"regex": pattern}]}
    return {"custom_recognizers": [recognizer]}


REDOS = [r"(a+)+$", r"(x|xx)+y", r"(\w|\d)+$", r"(a|a)+$"]


@pytest.mark.parametrize("pattern", REDOS)
def test_redos_policy_pattern_fails_validation_naming_the_recognizer(pattern):
    tree = _policy_with("ward", pattern)
    started = time.perf_counter()
    with pytest.raises(PolicyError) as info:
        parse_policy(tree, source="site.yaml")
    assert time.perf_counter() - started < 10
    [line] = info.value.errors
    assert "recognizer 'ward' patterns[0]" in line and "backtracks catastrophically" in line


@pytest.mark.parametrize("pattern", [r"MRN-\d{6}", r"\b[A-Z]{2}\d{6}\b", r"WARD[ -]?\d+[A-Z]?"])
def test_ordinary_policy_patterns_pass_validation(pattern):
    tree = _policy_with("id", pattern)
    assert parse_policy(tree).custom_recognizers[0].patterns[0].regex == pattern


def test_redos_pattern_that_slips_validation_stops_per_row_naming_the_recognizer():
    # A pattern the probes miss still cannot hang a site: each search has a time limit, and
    # running out is an error (Presidio alone would skip the pattern and let its PII through).
    spec = CustomRecognizerSpec.model_construct(
        name="ward", entity="WARD", patterns=[PatternSpec(regex=r"(a+)+$")],
        deny_list=[], context=[], case_sensitive=False,
    )  # fmt: skip
    recognizer = bound_patterns(custom_recognizer(spec, language="en"))
    started = time.perf_counter()
    with pytest.raises(PolicyRegexTimeout, match="recognizer 'ward' patterns\\[0\\]"):
        recognizer.analyze("a" * 5000 + "!", ["WARD"])
    assert time.perf_counter() - started < 30  # 2 s limit; generous for a loaded machine


# -- 3. YAML: alias bombs, duplicate keys, huge or broken documents, endless error lists --------


def _alias_bomb(levels: int) -> str:
    lines = ["a0: &a0 [x]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


# (file content, a fragment of the one error line)
BAD_YAML = [
    (_alias_bomb(9), "line 7, column 5: aliases expand to over 200,000 values"),
    (_alias_bomb(6), "aliases expand to over"),
    ("a: &a [*a]\n", "line 1, column 4: an alias refers to itself"),
    (
        "federation:\n  rounds: 2\nfederation:\n  rounds: 3\n",
        "line 3, column 1: duplicate key 'federation' (first at line 1)",
    ),
    ("dp:\n  enabled: true\n  enabled: false\n", "line 3, column 3: duplicate key 'enabled'"),
    ("[" * 5000, "nested too deeply"),
    ("x: " + "y" * (5 * 1024 * 1024), "over 4,194,304"),
    ("run: !!python/object/apply:os.system ['true']\n", "line 1, column 6: could not determine"),
    ("run:\n  name: [unterminated\n", "line 3, column 1:"),
]  # fmt: skip


@pytest.mark.parametrize(("content", "fragment"), BAD_YAML, ids=[f[:30] for _, f in BAD_YAML])
@pytest.mark.parametrize("reader", ["config", "policy"])
def test_bad_yaml_is_one_clear_error_in_bounded_time(tmp_path, content, fragment, reader):
    path = tmp_path / "input.yaml"
    path.write_text(content, encoding="utf-8")
    started = time.perf_counter()
    error = ConfigError if reader == "config" else PolicyError
    with pytest.raises(error) as info:
        (load_config if reader == "config" else load_policy)(path)
    assert time.perf_counter() - started < 5
    [line] = info.value.errors
    assert line.startswith("invalid YAML: ") and fragment in line
    assert len(str(info.value)) < 500


def test_invalid_utf8_config_names_the_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_bytes(b"run:\n  name: x\xff\n")
    with pytest.raises(ConfigError, match="line 2: not UTF-8 text"):
        load_config(path)


def test_yaml_merge_keys_still_override():
    assert load_yaml("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  x: 3\n")["use"] == {"x": 3, "y": 2}


def test_error_list_is_capped(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("".join(f"key{i}: 1\n" for i in range(300)), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert len(info.value.errors) == 300  # all kept for callers
    shown = str(info.value).splitlines()
    assert len(shown) == 1 + 50 + 1 and shown[-1] == "  - ... and 250 more"


# -- 4. Config values that are valid alone but unsafe together ------------------------------------

# (--set overrides, a fragment of the error naming the key)
CONFIG_HOLES = [
    (
        ["dp.enabled=true", "dp.target_epsilon=3", "dp.max_epsilon=1"],
        "dp.target_epsilon: 3 exceeds dp.max_epsilon (1)",
    ),
    (["dp.enabled=true", "dp.target_epsilon=3"], "dp.max_epsilon: not set while dp.enabled"),
    (["dp.enabled=true", "dp.noise_multiplier=1.0"], "dp.max_epsilon: not set while dp.enabled"),
    (
        ["federation.num_clients=30", "federation.min_fit_clients=30",
         "secure_aggregation.reconstruction_threshold=0.01"],
        "secure_aggregation.reconstruction_threshold: resolves to 2 of 30 shares",
    ),
    (
        ["federation.num_clients=5", "federation.min_fit_clients=5",
         "secure_aggregation.num_shares=5", "secure_aggregation.reconstruction_threshold=2"],
        "Give at least a majority (3)",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "fragment"), CONFIG_HOLES)
def test_unsafe_config_combinations_are_errors(overrides, fragment):
    with pytest.raises(ConfigError) as info:
        load_config(None, overrides)
    assert any(fragment in e for e in info.value.errors), info.value.errors


def test_safe_dp_config_passes():
    cfg = load_config(None, ["dp.enabled=true", "dp.target_epsilon=3", "dp.max_epsilon=3"])
    assert cfg.dp.max_epsilon == 3


def test_anonymization_disabled_warns_loudly(caplog):
    load_config(None, ["anonymization.enabled=false"])
    [record] = [r for r in caplog.records if r.name == "fedft.config"]
    assert record.levelname == "WARNING"
    message = record.getMessage()
    assert "anonymization.enabled: false" in message and "UNCHANGED" in message


# -- 5. Data files: invisible text, bidi labels, broken bytes, broken CSV/JSON, missing files ----

# (file name, bytes, bad rows as "line: reason fragment", rows kept)
BAD_DATA = [
    (
        "zw.jsonl",
        '{"text": "ok", "label": "a"}\n{"text": "\u200b\u200c\u2060", "label": "b"}\n',
        ["2: field 'text' has no visible characters"],
        1,
    ),
    (
        "bidi.jsonl",
        '{"text": "ok", "label": "a"}\n{"text": "fine", "label": "b\u202ec"}\n',
        ["2: field 'label' holds invisible or bidi control characters (U+202E)"],
        1,
    ),
    (
        "utf8.jsonl",
        b'{"text": "ok", "label": "a"}\n{"text": "caf\xe9", "label": "a"}\n'
        b'{"text": "x", "label": "b"}\n',
        ["2: field 'text' holds bytes that are not valid UTF-8"],
        2,
    ),
    (
        "nul.jsonl",
        '{"text": "ok", "label": "a"}\n{"text": "a\\u0000b", "label": "a"}\n'
        '{"text": "x", "label": "b"}\n',
        ["2: field 'text' holds a NUL byte"],
        2,
    ),
    (
        "rawnul.csv",
        b"text,label\nok,a\nbad\x00row,a\nfine,b\n",
        ["3: field 'text' holds a NUL byte"],
        2,
    ),
    (
        "quote.csv",
        'text,label\nok,a\n"never closed,b\nthird,a\nfourth,b\n',
        ["3: a quoted field opens here and never closes"],
        1,
    ),
    (
        "array.json",
        '[{"text": "a", "label": "x"}, {"text": "", "label": "y"}, {"text": "b", "label": "y"}]',
        ["1 (array element 2): field 'text' is empty"],
        2,
    ),
]  # fmt: skip


@pytest.mark.parametrize(("name", "content", "bad", "kept"), BAD_DATA, ids=[b[0] for b in BAD_DATA])
def test_bad_rows_are_reported_with_file_and_line_and_skipped(tmp_path, name, content, bad, kept):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    loaded = read_examples(path, task="classification", on_bad_rows="skip")
    assert len(loaded.bad_rows) == len(bad)
    for got, want in zip(loaded.bad_rows, bad, strict=True):
        where, reason = want.split(": ", 1)
        assert str(got).startswith(f"{path}:{where}: ") and reason in str(got)
    assert len(loaded.dataset) == kept
    with pytest.raises(DataError, match="bad rows"):
        read_examples(path, task="classification", on_bad_rows="error")


def test_binary_file_is_refused_as_a_whole(tmp_path):
    path = tmp_path / "blob.jsonl"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(DataError, match="looks like a binary file"):
        read_examples(path, task="classification")


def test_anonymize_cli_reports_a_missing_input_before_loading_the_model(tmp_path, capsys):
    started = time.perf_counter()
    code = cli_main(["anonymize", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "o.jsonl")])
    assert code != 0 and time.perf_counter() - started < 10
    assert "missing.jsonl: file not found" in capsys.readouterr().err

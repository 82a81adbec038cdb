"""read_examples: bad rows with file + line and reason per format; file-level errors; columns."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fedft.data.sources import BadRow, DataError, read_examples


def _jsonl(*rows: object) -> str:
    """Rows as JSON lines; a str row is written verbatim (blank lines, malformed JSON)."""
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


OK = {"text": "chest pain on exertion", "label": "cardiology"}
OK2 = {"text": "wheezing at night", "label": "pulmonology"}
INSTR = {
    "instruction": "Name the specialty.",
    "input": "Reports chest pain.",
    "response": "cardiology",
}

# (case id, file name, content, read kwargs, expected bad rows as (line, reason), valid rows)
BAD_ROW_CASES = [
    (
        "jsonl-missing-label",
        "notes.jsonl",
        _jsonl(OK, {"text": "no label here"}, OK2),
        {},
        [(2, "field 'label' missing")],
        2,
    ),
    (
        "jsonl-null-label",
        "notes.jsonl",
        _jsonl(OK, {"text": "x", "label": None}),
        {},
        [(2, "field 'label' missing")],
        1,
    ),
    (
        "jsonl-text-wrong-type",
        "notes.jsonl",
        _jsonl(OK, {"text": 42, "label": "cardiology"}),
        {},
        [(2, "field 'text' must be a string, got number")],
        1,
    ),
    (
        "jsonl-label-wrong-type",
        "notes.jsonl",
        _jsonl(OK, {"text": "x", "label": ["a"]}, {"text": "y", "label": True}),
        {},
        [
            (2, "field 'label' must be a string or an integer, got array"),
            (3, "field 'label' must be a string or an integer, got boolean"),
        ],
        1,
    ),
    (
        "jsonl-empty-text",
        "notes.jsonl",
        _jsonl({"text": "   \t", "label": "cardiology"}, OK),
        {},
        [(1, "field 'text' is empty")],
        1,
    ),
    (
        "jsonl-empty-label",
        "notes.jsonl",
        _jsonl(OK, {"text": "x", "label": " "}),
        {},
        [(2, "field 'label' is empty")],
        1,
    ),
    (
        "jsonl-unknown-label",
        "notes.jsonl",
        _jsonl(OK, {"text": "x", "label": "dermatology"}, OK2),
        {"labels": ["cardiology", "pulmonology"]},
        [(2, "label 'dermatology' is not one of the configured labels (cardiology, pulmonology)")],
        2,
    ),
    (
        "jsonl-malformed-line",
        "notes.jsonl",
        _jsonl(OK, '{"text": "x", "label": }', OK2),
        {},
        [(2, "invalid JSON (Expecting value, column 24)")],
        2,
    ),
    (
        "jsonl-not-an-object",
        "notes.jsonl",
        _jsonl(OK, '["x", "cardiology"]', "7"),
        {},
        [(2, "not a JSON object (got array)"), (3, "not a JSON object (got number)")],
        1,
    ),
    (
        "jsonl-blank-lines-keep-physical-numbers",
        "notes.jsonl",
        _jsonl(OK, "", "   ", {"text": "x"}),
        {},
        [(4, "field 'label' missing")],
        1,
    ),
    (
        "jsonl-custom-field-names",
        "notes.jsonl",
        _jsonl({"note": "x", "specialty": "a"}, {"note": "y", "label": "b"}),
        {"text_field": "note", "label_field": "specialty"},
        [(2, "field 'specialty' missing")],
        1,
    ),
    (
        "instruction-missing-response",
        "sft.jsonl",
        _jsonl(INSTR, {"instruction": "Summarize.", "input": "x"}),
        {"task": "instruction"},
        [(2, "field 'response' missing")],
        1,
    ),
    (
        "instruction-input-wrong-type",
        "sft.jsonl",
        _jsonl(INSTR, {**INSTR, "input": 3}),
        {"task": "instruction"},
        [(2, "field 'input' must be a string, got number")],
        1,
    ),
    (
        "instruction-empty-instruction",
        "sft.jsonl",
        _jsonl({**INSTR, "instruction": ""}, INSTR),
        {"task": "instruction"},
        [(1, "field 'instruction' is empty")],
        1,
    ),
    (
        "json-array-element-lines",
        "notes.json",
        '[\n  {"text": "a", "label": "x"},\n  {"text": "b"},\n'
        '  {"text": "c",\n   "label": 3}, 5\n]\n',
        {},
        [(3, "field 'label' missing"), (5, "not a JSON object (got number)")],
        2,
    ),
    (
        "csv-empty-cell",
        "notes.csv",
        "text,label\nchest pain,cardiology\n,pulmonology\n",
        {},
        [(3, "field 'text' is empty")],
        1,
    ),
    (
        "csv-short-row",
        "notes.csv",
        "text,label\nchest pain\nwheeze,pulmonology\n",
        {},
        [(2, "field 'label' missing")],
        1,
    ),
    (
        "csv-extra-field",
        "notes.csv",
        "text,label\nchest pain,cardiology,oops\nwheeze,pulmonology\n",
        {},
        [(2, "row has 3 fields but the header has 2")],
        1,
    ),
    (
        "csv-multiline-note-keeps-physical-lines",
        "notes.csv",
        'text,label\n"line one\nline two",cardiology\n,x\n\nwheeze,dermatology\n',
        {"labels": ["cardiology"]},
        [
            (4, "field 'text' is empty"),
            (6, "label 'dermatology' is not one of the configured labels (cardiology)"),
        ],
        1,
    ),
    (
        "parquet-null-text",
        "notes.parquet",
        {"text": ["a", None, "c"], "label": ["x", "y", "z"]},
        {},
        [(2, "field 'text' missing")],
        2,
    ),
    (
        "parquet-non-integer-label",
        "notes.parquet",
        {"text": ["a", "b", "c"], "label": [1.0, 2.5, None]},
        {},
        [
            (2, "field 'label' must be a string or an integer, got number"),
            (3, "field 'label' missing"),
        ],
        1,
    ),
]


def _write(path: Path, content: str | dict) -> Path:
    if isinstance(content, dict):
        pq.write_table(pa.table(content), path)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "content", "kwargs", "expected", "n_valid"),
    [c[1:] for c in BAD_ROW_CASES],
    ids=[c[0] for c in BAD_ROW_CASES],
)
def test_bad_rows_are_reported_with_file_line_and_reason(
    tmp_path, name, content, kwargs, expected, n_valid
):
    # Prepare
    path = _write(tmp_path / name, content)
    kwargs = {"task": "classification", **kwargs}

    # Execute
    loaded = read_examples(path, **kwargs)

    # Assert
    assert [(b.line, b.reason) for b in loaded.bad_rows] == expected
    assert all(b.path == str(path) for b in loaded.bad_rows)
    assert len(loaded.dataset) == n_valid


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (
            BadRow(path="notes.jsonl", line=17, reason="field 'label' missing"),
            "notes.jsonl:17: field 'label' missing",
        ),
        (
            BadRow(path="t.parquet", line=3, reason="field 'text' missing", unit="row"),
            "t.parquet: row 3: field 'text' missing",
        ),
    ],
)
def test_bad_row_str_names_file_and_position(bad, expected):
    # Execute / Assert
    assert str(bad) == expected


def test_bad_row_reasons_never_quote_note_text(tmp_path):
    # Prepare: a secret in every bad row's text; reasons end up in logs and run folders.
    secret = "Jane Roe SSN 123-45-6789"
    path = _write(
        tmp_path / "n.jsonl",
        _jsonl(
            OK,
            {"text": secret},
            {"text": secret, "label": 5.5},
            {"text": [secret], "label": "x"},
            '{"text": "' + secret + '", "label": }',
        ),
    )

    # Execute
    loaded = read_examples(path, task="classification")

    # Assert
    assert len(loaded.bad_rows) == 4
    assert not any("Jane" in str(b) or "6789" in str(b) for b in loaded.bad_rows)


def test_unknown_label_is_quoted_but_cut_short(tmp_path):
    # Prepare: a mis-set label field could hold note text.
    path = _write(tmp_path / "n.jsonl", _jsonl(OK, {"text": "x", "label": "y" * 500}))

    # Execute
    loaded = read_examples(path, task="classification", labels=["cardiology"])

    # Assert
    assert "y" * 40 + "..." in loaded.bad_rows[0].reason
    assert "y" * 41 not in loaded.bad_rows[0].reason


def test_on_bad_rows_error_raises_listing_at_most_ten(tmp_path):
    # Prepare
    path = _write(tmp_path / "n.jsonl", _jsonl(OK, *[{"text": "x"}] * 12))

    # Execute
    with pytest.raises(DataError) as err:
        read_examples(path, task="classification", on_bad_rows="error")

    # Assert
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: 12 bad rows: {path}:2: field 'label' missing;")
    assert f"{path}:11:" in message and f"{path}:12:" not in message
    assert "... and 2 more" in message and "data.bad_rows: skip" in message


def test_on_bad_rows_error_passes_a_clean_file(tmp_path):
    # Prepare
    path = _write(tmp_path / "n.jsonl", _jsonl(OK, OK2))

    # Execute
    loaded = read_examples(path, task="classification", on_bad_rows="error")

    # Assert
    assert loaded.bad_rows == () and len(loaded.dataset) == 2


# (case id, file name, content as bytes or str or None (no file), message fragments)
FILE_ERROR_CASES = [
    ("missing-file", "absent.jsonl", None, ["file not found"]),
    ("empty-file", "empty.jsonl", b"", ["file is empty"]),
    ("whitespace-only", "blank.csv", "\n  \n", ["only whitespace"]),
    (
        "unsupported-extension",
        "notes.txt",
        "text,label\n",
        ["unsupported file type '.txt'", ".jsonl"],
    ),
    ("no-extension", "notes", "x", ["unsupported file type '(no extension)'"]),
    (
        # One latin-1 row among good ones is a bad row (tests/security); alone, no valid row.
        "latin1-csv",
        "latin1.csv",
        "text,label\nnaïve,x\n".encode("latin-1"),
        [":2: field 'text' holds bytes that are not valid UTF-8", "re-save the file as UTF-8"],
    ),
    (
        "binary-jsonl",
        "blob.jsonl",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        ["looks like a binary file (2 of 3 lines hold NUL bytes"],
    ),
    ("parquet-bytes-in-csv", "t.csv", b"PAR1\x15\x04\x15\x00\x00\x00", ["binary file"]),
    ("not-parquet", "t.parquet", "text,label\na,b\n", ["not a readable Parquet file"]),
    (
        "csv-header-lacks-label",
        "t.csv",
        "text,category\na,b\n",
        ["CSV header has no column 'label' (columns: text, category)", "data.label_field"],
    ),
    (
        "parquet-lacks-response",
        "t.parquet",
        {"instruction": ["a"], "input": ["b"]},
        ["Parquet schema has no column 'response'"],
    ),
    (
        "json-array-malformed",
        "t.json",
        '[\n {"text": "a", "label": "x"},\n {"text": }\n]',
        [":3: invalid JSON"],
    ),
    (
        "json-array-missing-comma",
        "t.json",
        '[{"text": "a", "label": "x"}\n {"text": "b", "label": "y"}]',
        [":2: expected ',' or ']'"],
    ),
    (
        "no-valid-row",
        "t.jsonl",
        _jsonl({"body": "a"}, {"body": "b"}),
        ["no valid row (2 bad rows; first: ", ":1: field 'text' missing", "data.text_field"],
    ),
]


@pytest.mark.parametrize(
    ("name", "content", "fragments"),
    [c[1:] for c in FILE_ERROR_CASES],
    ids=[c[0] for c in FILE_ERROR_CASES],
)
def test_unusable_files_raise_data_error_naming_file_and_fix(tmp_path, name, content, fragments):
    # Prepare
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        _write(path, content)
    task = "instruction" if name == "t.parquet" and isinstance(content, dict) else "classification"

    # Execute
    with pytest.raises(DataError) as err:
        read_examples(path, task=task)

    # Assert
    message = str(err.value)
    assert message.startswith(str(path)) and "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_directory_is_rejected(tmp_path):
    # Prepare
    folder = tmp_path / "data.jsonl"
    folder.mkdir()

    # Execute / Assert
    with pytest.raises(DataError, match="not a regular file"):
        read_examples(folder, task="classification")


def test_data_error_is_a_value_error():
    # The CLI turns ValueError into a one-line error; DataError must be one.
    assert issubclass(DataError, ValueError)


@pytest.mark.parametrize(
    ("labels_in_file", "given", "expected"),
    [
        (["b", "a", "b"], None, ("a", "b")),
        ([10, 2, 1], None, ("1", "2", "10")),  # integers keep their numeric order
        (["x", "y"], ["y", "x", "z"], ("y", "x", "z")),  # a given list is kept as given
    ],
)
def test_labels_are_strings_sorted_or_as_given(tmp_path, labels_in_file, given, expected):
    # Prepare
    path = _write(
        tmp_path / "n.jsonl",
        _jsonl(*[{"text": f"t{i}", "label": y} for i, y in enumerate(labels_in_file)]),
    )

    # Execute
    loaded = read_examples(path, task="classification", labels=given)

    # Assert
    assert loaded.labels == expected
    assert list(loaded.dataset["label"]) == [str(y) for y in labels_in_file]


def test_classification_columns_are_normalized_strings(tmp_path):
    # Prepare: extra columns, an integer label, other field names.
    path = _write(tmp_path / "n.jsonl", _jsonl({"id": 1, "note": "chest pain", "y": 3, "pii": []}))

    # Execute
    ds = read_examples(path, task="classification", text_field="note", label_field="y").dataset

    # Assert
    assert ds.column_names == ["text", "label"]
    assert {k: v.dtype for k, v in ds.features.items()} == {"text": "string", "label": "string"}
    assert ds[0] == {"text": "chest pain", "label": "3"}


def test_instruction_columns_fill_absent_input_with_empty_string(tmp_path):
    # Prepare
    path = _write(
        tmp_path / "sft.jsonl",
        _jsonl(
            {"q": "Say hi.", "a": "hi"},
            {"q": "Name it.", "context": "a note", "a": "x", "input": None},
        ),
    )

    # Execute
    loaded = read_examples(
        path, task="instruction", instruction_field="q", input_field="context", response_field="a"
    )

    # Assert
    assert loaded.labels is None
    assert loaded.dataset.column_names == ["instruction", "input", "response"]
    assert loaded.dataset.to_list() == [
        {"instruction": "Say hi.", "input": "", "response": "hi"},
        {"instruction": "Name it.", "input": "a note", "response": "x"},
    ]


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        (
            "bom-crlf.csv",
            '\ufefftext,label\r\nchest pain,cardiology\r\n"two\r\nlines",x\r\n'.encode(),
        ),
        (
            "crlf.jsonl",
            _jsonl(OK).replace("\n", "\r\n").encode()
            + b'{"text": "two\\nlines", "label": "x"}\r\n',
        ),
        (
            "bom.jsonl",
            "\ufeff".encode() + _jsonl(OK, {"text": "two\nlines", "label": "x"}).encode(),
        ),
    ],
)
def test_bom_and_crlf_are_accepted(tmp_path, name, raw):
    # Prepare
    path = tmp_path / name
    path.write_bytes(raw)

    # Execute
    loaded = read_examples(path, task="classification")

    # Assert
    assert loaded.bad_rows == ()
    assert loaded.dataset["text"][0] in ("chest pain", OK["text"])
    assert loaded.dataset["text"][1].replace("\r", "") == "two\nlines"


def test_non_ascii_text_survives(tmp_path):
    # Prepare
    path = _write(
        tmp_path / "n.jsonl",
        _jsonl({"text": "Patientin Jördis klagt über Schwindel 😵", "label": "neuro"}),
    )

    # Execute
    ds = read_examples(path, task="classification").dataset

    # Assert
    assert ds[0]["text"] == "Patientin Jördis klagt über Schwindel 😵"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"task": "regression"}, "task must be"),
        ({"task": "classification", "on_bad_rows": "warn"}, "on_bad_rows must be"),
        ({"task": "classification", "labels": "a,b"}, "a list of label names"),
        ({"task": "classification", "labels": ["a", "a"]}, "distinct non-empty"),
        ({"task": "classification", "labels": []}, "distinct non-empty"),
        ({"task": "classification", "max_row_chars": 0}, "max_row_chars must be >= 1"),
    ],
)
def test_invalid_arguments_are_value_errors(tmp_path, kwargs, fragment):
    # Prepare
    path = _write(tmp_path / "n.jsonl", _jsonl(OK))

    # Execute / Assert
    with pytest.raises(ValueError, match=fragment):
        read_examples(path, **kwargs)


@pytest.mark.parametrize(
    ("row", "bad"),
    [
        ({"text": "x" * 50, "label": "a"}, False),
        ({"text": "x" * 51, "label": "a"}, True),
    ],
)
def test_rows_over_max_row_chars_are_bad_rows(tmp_path, row, bad):
    # Prepare
    path = _write(tmp_path / "n.jsonl", _jsonl(row, {"text": "short", "label": "b"}))

    # Execute
    loaded = read_examples(path, task="classification", max_row_chars=50)

    # Assert
    assert len(loaded.bad_rows) == int(bad)
    if bad:
        assert "51 characters" in loaded.bad_rows[0].reason and "data.max_row_chars" in loaded.bad_rows[0].reason


def test_instruction_rows_count_every_text_field_toward_the_limit(tmp_path):
    # Prepare
    row = {"instruction": "x" * 20, "input": "y" * 20, "response": "z" * 20}
    path = _write(tmp_path / "n.jsonl", _jsonl(row, {"instruction": "i", "response": "r"}))

    # Execute
    loaded = read_examples(path, task="instruction", max_row_chars=59)

    # Assert
    assert [b.line for b in loaded.bad_rows] == [1]

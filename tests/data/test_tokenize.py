"""Tokenization: label ids, response-only SFT labels, truncation and dropping, padding."""

from __future__ import annotations

import logging

import datasets
import pytest
import torch

from fedft.data.tokenize import (
    IGNORE_INDEX,
    PaddingCollator,
    end_token_id,
    format_prompt,
    make_collator,
    pad_token_id,
    tokenize_classification,
    tokenize_instruction,
)

LABEL2ID = {"cardiology": 0, "neurology": 1, "pulmonology": 2}


def _classification(rows: list[tuple[str, str]]) -> datasets.Dataset:
    return datasets.Dataset.from_dict({"text": [t for t, _ in rows], "label": [y for _, y in rows]})


def _instruction(rows: list[tuple[str, str, str]]) -> datasets.Dataset:
    return datasets.Dataset.from_dict(
        {
            "instruction": [r[0] for r in rows],
            "input": [r[1] for r in rows],
            "response": [r[2] for r in rows],
        }
    )


SFT_ROWS = [
    ("Name the specialty for this note.", "Reports chest pain on stairs.", "cardiology"),
    ("Summarize the note.", "", "Stable, no change."),
]


def test_classification_maps_labels_and_truncates(bert_tokenizer):
    # Prepare
    ds = _classification([("chest pain", "cardiology"), ("tremor at rest " * 50, "neurology")])

    # Execute
    out = tokenize_classification(ds, bert_tokenizer, max_length=16, label2id=LABEL2ID)

    # Assert
    assert out.column_names == ["input_ids", "attention_mask", "labels"]
    assert out[:]["labels"].tolist() == [0, 1]
    first = out[0]["input_ids"].tolist()
    assert first == bert_tokenizer("chest pain")["input_ids"]
    assert len(out[1]["input_ids"]) == 16 and out[1]["input_ids"][-1] == bert_tokenizer.sep_token_id
    assert isinstance(out[0]["input_ids"], torch.Tensor)


def test_classification_rejects_labels_outside_label2id(bert_tokenizer):
    # Prepare
    ds = _classification([("x", "cardiology"), ("y", "dermatology")])

    # Execute / Assert
    with pytest.raises(ValueError, match=r"\['dermatology'\] are not in label2id .*data.labels"):
        tokenize_classification(ds, bert_tokenizer, max_length=16, label2id=LABEL2ID)


@pytest.mark.parametrize("tokenizer_name", ["bert_tokenizer", "bpe_tokenizer"])
def test_instruction_labels_mask_exactly_the_prompt(request, tokenizer_name):
    # Prepare
    tokenizer = request.getfixturevalue(tokenizer_name)
    end = end_token_id(tokenizer)

    # Execute
    out = tokenize_instruction(_instruction(SFT_ROWS), tokenizer, max_length=96)

    # Assert
    assert len(out) == len(SFT_ROWS)
    for (_, _, response), row in zip(SFT_ROWS, out, strict=True):
        ids, labels = row["input_ids"].tolist(), row["labels"].tolist()
        answer = tokenizer(response, add_special_tokens=False)["input_ids"] + [end]
        n_prompt = len(ids) - len(answer)
        assert ids[n_prompt:] == answer
        assert labels == [IGNORE_INDEX] * n_prompt + answer
        assert row["attention_mask"].tolist() == [1] * len(ids)
        assert (
            tokenizer.decode(ids[:n_prompt], skip_special_tokens=True)
            .rstrip()
            .endswith(
                tokenizer.decode(tokenizer("### Response:", add_special_tokens=False)["input_ids"])
            )
        )


def test_instruction_prompt_follows_the_template(bpe_tokenizer):
    # Execute
    out = tokenize_instruction(_instruction(SFT_ROWS), bpe_tokenizer, max_length=128)

    # Assert: byte-level BPE decodes back to the exact prompt text.
    for (instruction, input_, response), row in zip(SFT_ROWS, out, strict=True):
        text = bpe_tokenizer.decode(row["input_ids"].tolist())
        assert text == format_prompt(instruction=instruction, input=input_) + response + "</s>"
    assert "### Input" not in bpe_tokenizer.decode(
        out[1]["input_ids"].tolist()
    )  # empty input: no block


def test_bert_style_tokenizer_keeps_cls_and_ends_with_sep(bert_tokenizer):
    # Execute
    row = tokenize_instruction(_instruction(SFT_ROWS[:1]), bert_tokenizer, max_length=64)[0]

    # Assert
    assert row["input_ids"][0] == bert_tokenizer.cls_token_id and row["labels"][0] == IGNORE_INDEX
    assert row["input_ids"][-1] == bert_tokenizer.sep_token_id == row["labels"][-1]


def test_long_prompt_is_cut_in_the_input_and_keeps_the_response_marker(bpe_tokenizer):
    # Prepare
    rows = [("Name the specialty.", "chest pain " * 200, "cardiology")]

    # Execute
    row = tokenize_instruction(_instruction(rows), bpe_tokenizer, max_length=80)[0]

    # Assert
    ids, labels = row["input_ids"].tolist(), row["labels"].tolist()
    text = bpe_tokenizer.decode(ids)
    assert len(ids) == 80
    assert text.startswith("### Instruction:\nName the specialty.\n\n### Input:\nchest pain")
    assert text.endswith("\n\n### Response:\ncardiology</s>")
    assert bpe_tokenizer.decode([t for t in labels if t != IGNORE_INDEX]) == "cardiology</s>"


def test_examples_whose_response_cannot_fit_are_dropped_and_counted(bpe_tokenizer, caplog):
    # Prepare
    rows = [SFT_ROWS[0], ("Write a lot.", "", "word " * 100), SFT_ROWS[1]]

    # Execute
    with caplog.at_level(logging.WARNING, logger="fedft.data.tokenize"):
        out = tokenize_instruction(_instruction(rows), bpe_tokenizer, max_length=40)

    # Assert
    assert len(out) == 2
    assert "dropped 1 of 3 instruction examples" in caplog.text and "max_length=40" in caplog.text


def test_no_example_fits_is_an_error(bpe_tokenizer):
    # Execute / Assert
    with pytest.raises(ValueError, match="no instruction example fits in max_length=8 tokens"):
        tokenize_instruction(
            _instruction([("Write.", "", "word " * 50)]), bpe_tokenizer, max_length=8
        )


def test_tokenizer_without_eos_or_sep_is_rejected(bpe_tokenizer_without_eos):
    # Execute / Assert
    with pytest.raises(ValueError, match="neither an eos nor a sep token"):
        tokenize_instruction(_instruction(SFT_ROWS), bpe_tokenizer_without_eos, max_length=64)


@pytest.mark.parametrize(
    ("tokenizer_name", "expected_pad"),
    [
        ("bert_tokenizer", "pad_token_id"),
        ("bpe_tokenizer", "eos_token_id"),
    ],  # no pad token: eos pads
)
def test_instruction_collator_pads_ids_mask_and_labels(request, tokenizer_name, expected_pad):
    # Prepare
    tokenizer = request.getfixturevalue(tokenizer_name)
    out = tokenize_instruction(_instruction(SFT_ROWS), tokenizer, max_length=96)
    lengths = [len(r["input_ids"]) for r in out]

    # Execute
    batch = make_collator("instruction", tokenizer)([out[0], out[1]])

    # Assert
    pad = getattr(tokenizer, expected_pad)
    width = max(lengths)
    assert (
        batch["input_ids"].shape
        == batch["labels"].shape
        == batch["attention_mask"].shape
        == (2, width)
    )
    short = lengths.index(min(lengths))
    n = lengths[short]
    assert batch["input_ids"][short, n:].eq(pad).all()
    assert batch["labels"][short, n:].eq(IGNORE_INDEX).all()
    assert batch["attention_mask"][short].tolist() == [1] * n + [0] * (width - n)
    assert batch["labels"][short, :n].tolist() == out[short]["labels"].tolist()


def test_collators_do_not_change_the_tokenizer(bpe_tokenizer):
    # Execute
    collate = make_collator("instruction", bpe_tokenizer)

    # Assert
    assert bpe_tokenizer.pad_token is None
    assert collate.pad_id == bpe_tokenizer.eos_token_id == pad_token_id(bpe_tokenizer)


def test_classification_collator_stacks_scalar_labels(bert_tokenizer):
    # Prepare
    out = tokenize_classification(
        _classification(
            [("chest pain", "cardiology"), ("a tremor at rest for months", "neurology")]
        ),
        bert_tokenizer,
        max_length=32,
        label2id=LABEL2ID,
    )

    # Execute
    batch = make_collator("classification", bert_tokenizer)([out[0], out[1]])

    # Assert
    assert batch["labels"].tolist() == [0, 1]
    assert batch["input_ids"].shape[0] == 2
    assert batch["input_ids"][0, -1] == bert_tokenizer.pad_token_id
    assert batch["attention_mask"].sum(dim=1).tolist() == [
        len(out[0]["input_ids"]),
        len(out[1]["input_ids"]),
    ]


def test_left_padding_collator():
    # Prepare
    examples = [
        {"input_ids": [5, 6, 7], "attention_mask": [1, 1, 1], "labels": [-100, 6, 7]},
        {"input_ids": [8], "attention_mask": [1], "labels": [8]},
    ]

    # Execute
    batch = PaddingCollator(pad_id=0, padding_side="left")(examples)

    # Assert
    assert batch["input_ids"].tolist() == [[5, 6, 7], [0, 0, 8]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [-100, -100, 8]]


def test_collated_batch_trains_a_causal_loss_on_responses_only(bpe_tokenizer):
    # Prepare: a loss computed with the collated labels must ignore prompt and padding.
    out = tokenize_instruction(_instruction(SFT_ROWS), bpe_tokenizer, max_length=96)
    batch = make_collator("instruction", bpe_tokenizer)([out[0], out[1]])
    logits = torch.zeros(*batch["input_ids"].shape, len(bpe_tokenizer))

    # Execute
    counted = (batch["labels"][:, 1:] != IGNORE_INDEX).sum().item()

    # Assert
    expected = sum(
        len(bpe_tokenizer(r, add_special_tokens=False)["input_ids"]) + 1 for _, _, r in SFT_ROWS
    )
    assert counted == expected
    loss = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]),
        batch["labels"][:, 1:].reshape(-1),
        ignore_index=IGNORE_INDEX,
    )
    assert torch.isclose(loss, torch.log(torch.tensor(float(len(bpe_tokenizer)))))


def test_instruction_is_cut_only_when_the_input_is_gone(bpe_tokenizer):
    # Prepare: room for the markers, the response and a few prompt tokens only.
    rows = [("Name the specialty for this note please.", "chest pain " * 20, "cardiology")]
    full = tokenize_instruction(_instruction(rows), bpe_tokenizer, max_length=1000)[0]
    n_fixed = (
        len(
            tokenize_instruction(
                _instruction([("N", "c", "cardiology")]), bpe_tokenizer, max_length=1000
            )[0]["input_ids"]
        )
        - 2
    )

    # Execute
    row = tokenize_instruction(_instruction(rows), bpe_tokenizer, max_length=n_fixed + 5)[0]

    # Assert
    text = bpe_tokenizer.decode(row["input_ids"].tolist())
    assert len(full["input_ids"]) > n_fixed + 5 == len(row["input_ids"])
    assert (
        "\n\n### Input:\n\n\n### Response:\ncardiology</s>" in text
    )  # input emptied, markers kept
    assert text.startswith("### Instruction:\nN") and "please" not in text

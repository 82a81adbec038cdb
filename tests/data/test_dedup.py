"""Tests for fedft.data.dedup: planted exact and near duplicates removed and counted."""

from __future__ import annotations

import pytest

from fedft.data.dedup import find_duplicates, normalize, shingles

NOTE = (
    "Patient reports productive cough for three weeks with reduced air entry on the left side; "
    "started albuterol inhaler and booked a chest x-ray for next Tuesday morning."
)
OTHER = "Card ending 4411 was declined twice at the same merchant; customer asks for a refund."


def test_exact_near_and_distinct_rows():
    # Prepare: an exact copy (case and spacing aside) and a near copy (one word changed)
    rows = [NOTE, OTHER, "  " + NOTE.upper(), NOTE.replace("Tuesday", "Friday"), "short"]
    # Execute
    result = find_duplicates(rows, threshold=0.8)
    # Assert: the first of each group is the one kept
    assert result.keep == (0, 1, 4)
    assert result.counts() == {"exact": 1, "near": 1, "kept": 3}


def test_threshold_one_removes_exact_duplicates_only():
    rows = [NOTE, NOTE, NOTE.replace("Tuesday", "Friday")]
    assert find_duplicates(rows, threshold=1.0).counts() == {"exact": 1, "near": 0, "kept": 2}


def test_a_stricter_threshold_keeps_rows_a_looser_one_drops():
    # Jaccard 0.3 (12 of 40 shingles shared): near at 0.2, distinct at 0.9
    half = " ".join(NOTE.split()[:14] + OTHER.split())
    assert find_duplicates([NOTE, half], threshold=0.2).near == 1
    assert find_duplicates([NOTE, half], threshold=0.9).near == 0


def test_same_rows_same_result():
    rows = [NOTE.replace("three", str(i)) for i in range(40)] + [OTHER] * 3
    assert find_duplicates(rows, threshold=0.7) == find_duplicates(list(rows), threshold=0.7)


def test_shingles_and_normalization():
    assert normalize(" A\tb  C\n") == "a b c"
    assert shingles("a b c d", words=3) == {b"a b c", b"b c d"}
    assert shingles("a b", words=3) == {b"a b"}


@pytest.mark.parametrize("threshold", [0.0, 1.5])
def test_threshold_outside_range_is_refused(threshold):
    with pytest.raises(ValueError, match="outside"):
        find_duplicates(["a"], threshold=threshold)

"""partition_dataset: sizes, coverage, determinism, Dirichlet label skew, clear errors."""

from __future__ import annotations

import collections

import datasets
import pytest

from fedft.data.partition import min_partition_size, partition_dataset

LABELS = ("cardiology", "pulmonology", "gastroenterology", "neurology", "orthopedics")


def _dataset(n: int, *, sorted_by_label: bool = False) -> datasets.Dataset:
    """n rows with a unique `id`, labels cycling over 5 classes (or in 5 sorted blocks)."""
    labels = [LABELS[i % 5] for i in range(n)]
    if sorted_by_label:
        labels.sort()
    return datasets.Dataset.from_dict(
        {"id": list(range(n)), "text": [f"note {i}" for i in range(n)], "label": labels}
    )


def _ids(parts: list[datasets.Dataset]) -> list[list[int]]:
    return [list(p["id"]) for p in parts]


def _mean_label_distance(parts: list[datasets.Dataset]) -> float:
    """Mean total-variation distance between each site's label mix and the overall mix."""
    overall = collections.Counter(y for p in parts for y in p["label"])
    total = sum(overall.values())
    distances = []
    for p in parts:
        counts = collections.Counter(p["label"])
        distances.append(0.5 * sum(abs(counts[y] / len(p) - overall[y] / total) for y in overall))
    return sum(distances) / len(distances)


@pytest.mark.parametrize(
    ("kind", "n", "k", "alpha"),
    [
        ("iid", 103, 4, 0.5),
        ("iid", 5, 5, 0.5),
        ("dirichlet", 500, 4, 0.5),
        ("dirichlet", 500, 10, 0.1),
        ("dirichlet", 20, 4, 0.05),
        ("dirichlet", 1000, 3, 100.0),
    ],
)
def test_partitions_cover_every_row_once_and_none_is_empty(kind, n, k, alpha):
    # Prepare
    ds = _dataset(n)

    # Execute
    parts = partition_dataset(ds, num_partitions=k, kind=kind, alpha=alpha, seed=0)

    # Assert
    ids = [i for p in _ids(parts) for i in p]
    assert len(parts) == k
    assert sorted(ids) == list(range(n))
    assert min(len(p) for p in parts) >= 1


def test_iid_sizes_differ_by_at_most_one():
    # Execute
    parts = partition_dataset(_dataset(103), num_partitions=4, kind="iid", seed=0)

    # Assert
    assert sorted(len(p) for p in parts) == [25, 26, 26, 26]


def test_iid_mixes_a_file_sorted_by_label():
    # Prepare: IidPartitioner alone would give each site one label here.
    ds = _dataset(200, sorted_by_label=True)

    # Execute
    parts = partition_dataset(ds, num_partitions=5, kind="iid", seed=0)

    # Assert
    assert all(len(set(p["label"])) == 5 for p in parts)
    assert _mean_label_distance(parts) < 0.15


@pytest.mark.parametrize("kind", ["iid", "dirichlet"])
def test_same_seed_same_split_other_seed_other_split(kind):
    # Prepare
    ds = _dataset(300)

    # Execute
    a = partition_dataset(ds, num_partitions=4, kind=kind, seed=1)
    b = partition_dataset(ds, num_partitions=4, kind=kind, seed=1)
    c = partition_dataset(ds, num_partitions=4, kind=kind, seed=2)

    # Assert
    assert _ids(a) == _ids(b)
    assert _ids(a) != _ids(c)


def test_partitioning_leaves_the_input_untouched():
    # Prepare
    ds = _dataset(50)

    # Execute
    partition_dataset(ds, num_partitions=3, kind="dirichlet", alpha=0.3, seed=0)

    # Assert
    assert list(ds["id"]) == list(range(50))


def test_small_alpha_skews_label_mix_across_sites():
    # Prepare
    ds = _dataset(1000)

    # Execute
    skewed = partition_dataset(ds, num_partitions=4, kind="dirichlet", alpha=0.1, seed=0)
    even = partition_dataset(ds, num_partitions=4, kind="dirichlet", alpha=100.0, seed=0)
    iid = partition_dataset(ds, num_partitions=4, kind="iid", seed=0)

    # Assert
    assert _mean_label_distance(skewed) > 0.3
    assert _mean_label_distance(even) < 0.1 and _mean_label_distance(iid) < 0.1
    majority = [collections.Counter(p["label"]).most_common(1)[0] for p in skewed]
    assert len({label for label, _ in majority}) >= 2  # different sites, different dominant labels


def test_dirichlet_works_on_integer_and_class_label_columns():
    # Prepare
    ds = _dataset(100).map(lambda r: {"label": LABELS.index(r["label"])})
    as_class = ds.cast_column("label", datasets.ClassLabel(names=list(LABELS)))

    # Execute
    parts = [
        partition_dataset(d, num_partitions=3, kind="dirichlet", alpha=0.5, seed=0)
        for d in (ds, as_class)
    ]

    # Assert
    assert _ids(parts[0]) == _ids(parts[1])


@pytest.mark.parametrize(
    ("ds", "kwargs", "fragment"),
    [
        (
            datasets.Dataset.from_dict({"instruction": ["a"] * 10, "response": ["b"] * 10}),
            {"kind": "dirichlet"},
            "lacks (columns: instruction, response); use kind 'iid'",
        ),
        (
            _dataset(3),
            {"num_partitions": 4},
            "cannot give 4 sites at least one example each from 3",
        ),
        (_dataset(10), {"num_partitions": 0}, "num_partitions must be >= 1"),
        (_dataset(10), {"kind": "dirichlet", "alpha": 0.0}, "alpha must be > 0"),
        (_dataset(10), {"kind": "shards"}, "kind must be 'iid' or 'dirichlet'"),
        (
            _dataset(100),
            {"kind": "dirichlet", "num_partitions": 20, "alpha": 0.001},
            "raise alpha (data.partition.alpha), use fewer sites, or add data",
        ),
    ],
)
def test_impossible_requests_raise_value_error_with_fix(ds, kwargs, fragment):
    # Prepare
    kwargs = {"num_partitions": 2, "kind": "iid", "seed": 0, **kwargs}

    # Execute / Assert
    with pytest.raises(ValueError) as err:
        partition_dataset(ds, **kwargs)
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    ("num_rows", "num_partitions", "expected"),
    [(20, 4, 1), (100, 4, 6), (2000, 4, 10), (5, 5, 1), (1_000_000, 2, 10)],
)
def test_min_partition_size_is_a_quarter_share_between_1_and_10(num_rows, num_partitions, expected):
    assert min_partition_size(num_rows=num_rows, num_partitions=num_partitions) == expected

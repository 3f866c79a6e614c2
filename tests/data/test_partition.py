import numpy as np
import pytest

from fedexp.data.partition import build_dirichlet, build_iid, build_shards, build_size_skew, partition

LABELS = np.repeat(np.arange(10), 300)  # 3,000 examples, 300 of each of 10 classes
PARTITIONERS = {"iid": build_iid(), "dirichlet": build_dirichlet(alpha=0.3, min_size=5),
                "shards": build_shards(classes_per_client=2), "size_skew": build_size_skew(sigma=1.5, min_size=3),
                "power_law": build_size_skew(distribution="power_law", exponent=1.2)}


def label_shares(parts):
    counts = np.array([np.bincount(LABELS[p], minlength=10) for p in parts])
    return counts / counts.sum(1, keepdims=True)


@pytest.mark.parametrize("name", sorted(PARTITIONERS))
def test_every_example_goes_to_exactly_one_client(name):
    parts = partition(PARTITIONERS[name], LABELS, 40, seed=0)
    assert len(parts) == 40 and min(len(p) for p in parts) >= 1
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(LABELS)))


@pytest.mark.parametrize("name", sorted(PARTITIONERS))
def test_the_seed_fixes_the_partition(name):
    a, b, c = (partition(PARTITIONERS[name], LABELS, 20, seed=s) for s in (1, 1, 2))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_a_small_alpha_is_more_skewed_than_a_large_one():
    """Skew as the mean total-variation distance between a client's labels and the global mix (0.1 each)."""
    skew = {alpha: np.abs(label_shares(partition(build_dirichlet(alpha=alpha), LABELS, 30, seed=0)) - 0.1).sum(1)
            .mean() / 2 for alpha in (0.1, 100.0)}
    assert skew[0.1] > 0.6 and skew[100.0] < 0.1


def test_dirichlet_respects_the_minimum_size():
    parts = partition(build_dirichlet(alpha=1.0, min_size=40), LABELS, 30, seed=0)
    assert min(len(p) for p in parts) >= 40


@pytest.mark.parametrize("k", [1, 2, 3])
def test_shards_gives_each_client_exactly_k_labels(k):
    parts = partition(build_shards(classes_per_client=k), LABELS, 50, seed=0)
    assert {len(np.unique(LABELS[p])) for p in parts} == {k}
    combinations = {tuple(np.unique(LABELS[p])) for p in parts}
    assert len(combinations) == 10 if k == 1 else len(combinations) > 10  # not a few combinations over and over


def test_size_skew_gives_unequal_sizes_with_iid_labels():
    sizes = np.array([len(p) for p in partition(build_size_skew(sigma=1.5, min_size=3), LABELS, 40, seed=0)])
    assert sizes.min() >= 3 and sizes.max() > 5 * np.median(sizes) / 2
    iid = np.array([len(p) for p in partition(build_iid(), LABELS, 40, seed=0)])
    assert sizes.std() > 10 * iid.std() + 10


def test_a_partition_is_cached_by_its_config(tmp_path):
    first = partition(build_dirichlet(alpha=0.5), LABELS, 20, seed=3, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("partition-*.npz"))) == 1

    def never(*args):
        raise AssertionError("recomputed")
    cached = partition(build_dirichlet(alpha=0.5)._replace(split=never), LABELS, 20, seed=3, cache_dir=tmp_path)
    assert all(np.array_equal(a, b) for a, b in zip(first, cached))
    for other in (dict(seed=4), dict(num_clients=21)):  # another seed or size is another partition
        kwargs = {"seed": 3, "num_clients": 20, **other}
        partition(build_dirichlet(alpha=0.5), LABELS, kwargs.pop("num_clients"), cache_dir=tmp_path, **kwargs)
    partition(build_dirichlet(alpha=0.6), LABELS, 20, seed=3, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("partition-*.npz"))) == 4


@pytest.mark.parametrize("build, message", [
    (lambda: build_dirichlet(alpha=0), "alpha must be a number > 0, found 0"),
    (lambda: build_dirichlet(alpha=-1.0), "alpha must be a number > 0, found -1.0"),
    (lambda: build_dirichlet(min_size=0), "min_size must be an integer >= 1, found 0"),
    (lambda: build_shards(classes_per_client=0), "classes_per_client must be an integer >= 1, found 0"),
    (lambda: build_size_skew(distribution="zipf"), r"distribution must be one of \['lognormal', 'power_law'\]"),
    (lambda: build_size_skew(sigma=0), "sigma must be a number > 0, found 0"),
])
def test_bad_hyperparameters(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize("partitioner, num_clients, message", [
    (build_iid(), 3001, r"num_clients must be at most the number of examples \(3000\), found 3001"),
    (build_dirichlet(alpha=0.5, min_size=200), 20, "3000 examples cannot give 20 clients 200 each"),
    (build_dirichlet(alpha=0.01, min_size=100), 29, "left a client with fewer than 100 examples"),
    (build_shards(classes_per_client=2), 4, "4 clients x 2 classes cannot hold all 10 classes"),
    (build_shards(classes_per_client=11), 20, "partition.classes_per_client is 11, but the data has 10 classes"),
    (build_shards(classes_per_client=10), 301, "class 0 has 300 examples for 301 clients"),
    (build_size_skew(min_size=101), 30, "3000 examples cannot give 30 clients 101 each"),
])
def test_a_partition_that_cannot_be_made_says_why(partitioner, num_clients, message):
    with pytest.raises(ValueError, match=message):
        partition(partitioner, LABELS, num_clients, seed=0)


def test_a_custom_partitioner_that_leaves_a_client_empty_is_refused():
    from fedexp.data.partition import Partitioner
    halves = Partitioner({"kind": "halves"}, lambda labels, n, rng: [np.arange(len(labels))] + [np.array([], int)] * (n - 1))
    with pytest.raises(ValueError, match=r"leaves 2 client\(s\) without examples \(client 1\)"):
        partition(halves, LABELS, 3, seed=0)

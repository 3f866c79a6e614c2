"""What every partitioner shares: `partition` covers each example once, is seeded, cached, and refuses empty clients."""

import numpy as np
import pytest

from fedexp.data.partition import build_dirichlet, build_iid, build_shards, build_size_skew, partition

LABELS = np.repeat(np.arange(10), 300)  # 3,000 examples, 300 of each of 10 classes
PARTITIONERS = {"iid": build_iid(), "dirichlet": build_dirichlet(alpha=0.3, min_size=5),
                "shards": build_shards(classes_per_client=2), "size_skew": build_size_skew(sigma=1.5, min_size=3),
                "power_law": build_size_skew(distribution="power_law", exponent=1.2)}


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


def test_more_clients_than_examples_is_refused():
    with pytest.raises(ValueError, match=r"num_clients must be at most the number of examples \(3000\), found 3001"):
        partition(build_iid(), LABELS, 3001, seed=0)


def test_a_custom_partitioner_that_leaves_a_client_empty_is_refused():
    from fedexp.data.partition import Partitioner
    halves = Partitioner({"kind": "halves"}, lambda labels, n, rng: [np.arange(len(labels))] + [np.array([], int)] * (n - 1))
    with pytest.raises(ValueError, match=r"leaves 2 client\(s\) without examples \(client 1\)"):
        partition(halves, LABELS, 3, seed=0)

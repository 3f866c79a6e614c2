import numpy as np
import pytest

from fedexp.data.partition import build_shards, partition
from tests.data.partition.test_partition import LABELS


@pytest.mark.parametrize("k", [1, 2, 3])
def test_shards_gives_each_client_exactly_k_labels(k):
    parts = partition(build_shards(classes_per_client=k), LABELS, 50, seed=0)
    assert {len(np.unique(LABELS[p])) for p in parts} == {k}
    combinations = {tuple(np.unique(LABELS[p])) for p in parts}
    assert len(combinations) == 10 if k == 1 else len(combinations) > 10  # not a few combinations over and over


@pytest.mark.parametrize("k, num_clients, message", [
    (2, 4, "4 clients x 2 classes cannot hold all 10 classes"),
    (11, 20, "partition.classes_per_client is 11, but the data has 10 classes"),
    (10, 301, "class 0 has 300 examples for 301 clients"),
])
def test_shards_that_cannot_be_made_say_why(k, num_clients, message):
    with pytest.raises(ValueError, match=message):
        partition(build_shards(classes_per_client=k), LABELS, num_clients, seed=0)


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="classes_per_client must be an integer >= 1, found 0"):
        build_shards(classes_per_client=0)

import numpy as np
import pytest

from fedexp.data.partition import build_dirichlet, partition
from tests.data.partition.test_partition import LABELS


def label_shares(parts):
    counts = np.array([np.bincount(LABELS[p], minlength=10) for p in parts])
    return counts / counts.sum(1, keepdims=True)


def test_a_small_alpha_is_more_skewed_than_a_large_one():
    """Skew as the mean total-variation distance between a client's labels and the global mix (0.1 each)."""
    skew = {alpha: np.abs(label_shares(partition(build_dirichlet(alpha=alpha), LABELS, 30, seed=0)) - 0.1).sum(1)
            .mean() / 2 for alpha in (0.1, 100.0)}
    assert skew[0.1] > 0.6 and skew[100.0] < 0.1


def test_dirichlet_respects_the_minimum_size():
    parts = partition(build_dirichlet(alpha=1.0, min_size=40), LABELS, 30, seed=0)
    assert min(len(p) for p in parts) >= 40




def test_bad_hyperparameters():
    for kwargs, message in ((dict(alpha=0), "alpha must be a number > 0, found 0"),
                            (dict(alpha=-1.0), "alpha must be a number > 0, found -1.0"),
                            (dict(min_size=0), "min_size must be an integer >= 1, found 0")):
        with pytest.raises(ValueError, match=message):
            build_dirichlet(**kwargs)


def test_too_few_examples_for_the_minimum_size():
    with pytest.raises(ValueError, match="3000 examples cannot give 20 clients 200 each"):
        partition(build_dirichlet(alpha=0.5, min_size=200), LABELS, 20, seed=0)
    with pytest.raises(ValueError, match="left a client with fewer than 100 examples"):
        partition(build_dirichlet(alpha=0.01, min_size=100), LABELS, 29, seed=0)

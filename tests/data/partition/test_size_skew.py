import numpy as np
import pytest

from fedexp.data.partition import build_iid, build_size_skew, partition
from tests.data.partition.test_partition import LABELS


def test_size_skew_gives_unequal_sizes_with_iid_labels():
    sizes = np.array([len(p) for p in partition(build_size_skew(sigma=1.5, min_size=3), LABELS, 40, seed=0)])
    assert sizes.min() >= 3 and sizes.max() > 5 * np.median(sizes) / 2
    iid = np.array([len(p) for p in partition(build_iid(), LABELS, 40, seed=0)])
    assert sizes.std() > 10 * iid.std() + 10


def test_bad_hyperparameters_and_too_few_examples():
    with pytest.raises(ValueError, match=r"distribution must be one of \['lognormal', 'power_law'\]"):
        build_size_skew(distribution="zipf")
    with pytest.raises(ValueError, match="sigma must be a number > 0, found 0"):
        build_size_skew(sigma=0)
    with pytest.raises(ValueError, match="3000 examples cannot give 30 clients 101 each"):
        partition(build_size_skew(min_size=101), LABELS, 30, seed=0)

import numpy as np

from fedexp.data.partition import build_iid, partition
from tests.data.partition.test_partition import LABELS


def test_iid_parts_differ_in_size_by_at_most_one_and_mix_the_labels():
    parts = partition(build_iid(), LABELS, 7, seed=0)
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == len(LABELS)
    assert all(len(np.unique(LABELS[p])) == 10 for p in parts)

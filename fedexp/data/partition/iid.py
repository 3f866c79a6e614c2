"""IID: shuffled examples in parts whose sizes differ by at most one."""

import numpy as np

from fedexp.data.partition._base import Partitioner


def build_iid() -> Partitioner:
    """Returns a `Partitioner` into shuffled parts whose sizes differ by at most one."""
    return Partitioner({"kind": "iid"}, lambda labels, num_clients, rng: iid_partition(len(labels), num_clients, rng))


def iid_partition(num_examples, num_clients, rng):
    return np.array_split(rng.permutation(num_examples), num_clients)

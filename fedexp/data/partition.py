"""Splitting a centralized dataset into clients: IID, or Dirichlet label skew.

Every partition is a list of index arrays, one per client, covering each example once.
"""

import numpy as np


def iid_partition(num_examples, num_clients, rng):
    """Shuffled indices split into `num_clients` parts whose sizes differ by at most one."""
    return np.array_split(rng.permutation(num_examples), num_clients)


def dirichlet_partition(labels, num_clients, alpha, rng, *, min_size=1, max_tries=1000):
    """Label skew (Hsu et al. 2019): each class is spread over the clients in proportions
    drawn from Dirichlet(alpha); small alpha gives clients few classes. Redrawn until every
    client has at least `min_size` examples."""
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, found {alpha!r}")
    labels = np.asarray(labels)
    if num_clients * min_size > len(labels):
        raise ValueError(f"{len(labels)} examples cannot give {num_clients} clients {min_size} each")
    by_class = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    for _ in range(max_tries):
        parts = [[] for _ in range(num_clients)]
        for idx in by_class:
            cuts = (np.cumsum(rng.dirichlet(np.full(num_clients, alpha))) * len(idx)).astype(int)[:-1]
            for part, chunk in zip(parts, np.split(idx, cuts)):
                part.append(chunk)
        parts = [np.concatenate(p) for p in parts]
        if min(len(p) for p in parts) >= min_size:
            return [rng.permutation(p) for p in parts]
    raise ValueError(f"Dirichlet(alpha={alpha}) left a client with fewer than {min_size} examples "
                     f"in {max_tries} draws; raise alpha or lower num_clients")

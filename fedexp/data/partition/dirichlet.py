"""Label skew (Hsu et al. 2019): each class spread over the clients in Dirichlet(alpha) proportions."""

import numpy as np

from fedexp import checks
from fedexp.data.partition._base import Partitioner, check_enough_examples, check_min_size


def build_dirichlet(*, alpha=0.5, min_size=1) -> Partitioner:
    """Label skew (Hsu et al. 2019): each class is spread over the clients in proportions drawn
    from Dirichlet(alpha); a small alpha gives each client few classes. Returns a `Partitioner`
    that redraws until every client has `min_size` examples; raises ValueError for alpha <= 0."""
    checks.number("alpha", alpha, above=0)
    check_min_size(min_size)
    return Partitioner({"kind": "dirichlet", "alpha": alpha, "min_size": min_size},
                       lambda labels, num_clients, rng: dirichlet_partition(labels, num_clients, alpha, rng,
                                                                            min_size=min_size))


def dirichlet_partition(labels, num_clients, alpha, rng, *, min_size=1, max_tries=1000):
    """Redrawn until every client has at least `min_size` examples."""
    labels = np.asarray(labels)
    check_enough_examples(labels, num_clients, min_size)
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

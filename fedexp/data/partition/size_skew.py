"""Size skew: IID labels, unequal client sizes (log-normal or power law)."""

import numpy as np

from fedexp import checks
from fedexp.data.partition._base import Partitioner, check_enough_examples, check_min_size, largest_remainder


def build_size_skew(*, distribution="lognormal", sigma=1.0, exponent=1.5, min_size=1) -> Partitioner:
    """IID labels, unequal sizes: client shares drawn log-normal(0, sigma) or power law
    (Pareto with `exponent`), every client given at least `min_size` examples. Returns a
    `Partitioner`; raises ValueError for an unknown distribution or a parameter <= 0."""
    draws = {"lognormal": lambda rng, n: rng.lognormal(0.0, sigma, n),
             "power_law": lambda rng, n: rng.pareto(exponent, n) + 1.0}
    checks.one_of("distribution", distribution, sorted(draws))
    checks.number("sigma", sigma, above=0)
    checks.number("exponent", exponent, above=0)
    check_min_size(min_size)

    def split(labels, num_clients, rng):
        check_enough_examples(labels, num_clients, min_size)
        spare = len(labels) - num_clients * min_size
        share = draws[distribution](rng, num_clients)
        sizes = min_size + largest_remainder(share / share.sum() * spare)
        return np.split(rng.permutation(len(labels)), np.cumsum(sizes)[:-1])

    return Partitioner({"kind": "size_skew", "distribution": distribution, "sigma": sigma, "exponent": exponent,
                        "min_size": min_size}, split)

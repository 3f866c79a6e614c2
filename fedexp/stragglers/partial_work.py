"""Systems heterogeneity as in the FedProx paper (Li et al. 2020): each sampled client is a straggler
with probability `fraction` (drawn from the seed, the round and its id), and a straggler completes
only a random number of its local steps, uniform from 1 to all of them, so local epochs differ
between clients. The straggler sends the update of the steps it took (FedProx's partial work), or,
with `drop`, does not report at all (FedAvg as the paper runs it)."""

from typing import NamedTuple

from fedexp import checks


class Stragglers(NamedTuple):
    fraction: float
    drop: bool


def build_partial_work(*, fraction=0.5, drop=False):
    """`fraction` (0 to 1) of each cohort stops after a random number of its steps; with `drop` those
    clients do not report. Returns a `Stragglers`; raises ValueError for a fraction outside [0, 1]."""
    checks.probability("fraction", fraction)
    checks.boolean("drop", drop)
    return Stragglers(float(fraction), bool(drop))

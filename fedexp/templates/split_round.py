"""A round split across workers: each runs `local` on its part of the cohort, the parts are merged
by one sum (an all-reduce, done by the caller), and every worker runs the same `finish`, so the
server state stays the same on all of them.

    local:  (<S@SERVER, D@CLIENTS> -> <states, partial=P@SERVER, sums=M@SERVER>)
    finish: (<S@SERVER, states, P@SERVER, M@SERVER> -> <state=S@SERVER, metrics=@SERVER>)

`P` is the aggregator's partial (see `fedexp.templates.aggregation_process`), `M` the distributor's
and client work's measurements in a form that adds up, and `states` their new states (the same on
every worker: a client work whose state depends on which clients trained cannot be split).
Measurements add up as they are, except a rate next to a `num_examples` (the training loss and
accuracy), carried as rate x num_examples and divided back by the merged count.
"""

from typing import NamedTuple

import tensorflow as tf

from fedexp.templates import errors
from fedexp.templates.computation import Computation


class SplitRound(NamedTuple):
    local: Computation
    finish: Computation


def _rates(tree, fn):
    """`fn(rate, num_examples)` on each floating entry of a dict that also holds a `num_examples`."""
    if not isinstance(tree, dict):
        return tree
    n = tree.get("num_examples")
    return {k: fn(v, tf.cast(n, v.dtype)) if n is not None and k != "num_examples" and not isinstance(v, dict)
            and v.dtype.is_floating else _rates(v, fn) for k, v in tree.items()}


def as_sums(measurements):
    """Measurements in a form whose sum over workers is the whole cohort's."""
    return _rates(measurements, lambda rate, n: rate * n)


def from_sums(sums):
    """The whole cohort's measurements from their merged sums."""
    return _rates(sums, tf.math.divide_no_nan)


def check_splittable(aggregator, client_work):
    """Raises `RoundNotSplittableError` unless a round of these blocks can be split across workers."""
    if not aggregator.is_decomposable:
        raise errors.RoundNotSplittableError(
            f"aggregator '{aggregator.name}' needs every client's value at once: it cannot run with its cohort split "
            f"across workers (decomposable: mean, unweighted_mean, sum, secure_sum, dp_gaussian, and clipping, "
            f"zeroing or quantize around them)")
    if getattr(client_work, "state_from_cohort", False):
        raise errors.RoundNotSplittableError(
            f"client_work '{client_work.name}' keeps server state that depends on which clients trained: it cannot "
            f"run with its cohort split across workers")

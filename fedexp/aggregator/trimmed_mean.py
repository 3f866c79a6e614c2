"""The coordinate-wise trimmed mean (Yin et al. 2018): per coordinate, the `beta` fraction of
largest and of smallest client values are dropped and the rest averaged.

    next: (<()@SERVER, V@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)

Measures `trimmed_count`, the values dropped at each end, floor(beta * clients).
"""

import tensorflow as tf

from fedexp import checks
from fedexp.aggregator._shared import build_leaf
from fedexp.templates.client_values import num_clients


def build_trimmed_mean(value_type, *, beta=0.1, clients_per_round=None, name="trimmed_mean"):
    """The coordinate-wise mean without the `beta` fraction of largest and of smallest values.
    `clients_per_round`, when known (the `fedexp` command injects it), must leave a value to trim.
    Returns an unweighted `AggregationProcess`; raises ValueError unless 0 <= beta < 0.5, or for a
    beta > 0 that trims nothing of the cohort (silently a plain mean)."""
    checks.require("beta", beta, isinstance(beta, (int, float)) and 0 <= beta < 0.5, "a fraction in [0, 0.5)")
    if clients_per_round is not None and 0 < beta and int(beta * clients_per_round) == 0:
        checks.require("beta", beta, False, f"at least 1/clients_per_round = {1 / clients_per_round:g} to trim "
                       f"anything of {clients_per_round} clients (or 0 for a plain mean)")

    def reduce(value):
        n = num_clients(value)
        k = tf.cast(tf.floor(beta * tf.cast(n, tf.float32)), tf.int32)  # 2k < n: at least one value is kept
        kept = tf.nest.map_structure(lambda v: tf.reduce_mean(tf.sort(v, axis=0)[k:n - k], axis=0), value)
        return kept, {"trimmed_count": tf.cast(k, tf.float32)}

    return build_leaf(value_type, reduce, name=name)

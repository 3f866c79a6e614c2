"""Krum (Blanchard et al. 2017): the server takes the update of the client closest to its
neighbours. Each client is scored by the sum of squared distances to its n - f - 2
nearest others (f: the Byzantine clients tolerated); Krum keeps the best-scored client's
value, Multi-Krum (`multi` > 1) the mean of the `multi` best.

    next: (<()@SERVER, V@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)

Measures `selected_client`, the cohort position of the best-scored client.
"""

import tensorflow as tf

from fedexp import checks
from fedexp.aggregator._shared import build_leaf
from fedexp.errors import InvalidValueError
from fedexp.templates.client_values import client_vectors


def krum_scores(flat, f):
    """flat: [clients, d] -> each client's Krum score, [clients]."""
    sq = tf.reduce_sum(tf.square(flat), axis=1)
    dist = tf.maximum(sq[:, None] + sq[None, :] - 2 * tf.matmul(flat, flat, transpose_b=True), 0.0)
    n = tf.shape(flat)[0]
    nearest = tf.maximum(n - f - 2, 1)
    # Sorted distances per row; column 0 is the client itself (distance 0).
    return tf.reduce_sum(tf.sort(dist, axis=1)[:, 1:nearest + 1], axis=1)


def build_krum(value_type, *, f=1, multi=1, clients_per_round=None, name="krum"):
    """Krum tolerating `f` Byzantine clients (Multi-Krum with `multi` > 1). `clients_per_round`,
    when known (the `fedexp` command injects it), is checked against f. Returns an unweighted
    `AggregationProcess`; raises ValueError for f < 0, multi < 1, fewer than 2f + 3 clients, or
    multi > clients_per_round - f."""
    checks.integer("f", f, at_least=0)
    checks.integer("multi", multi, at_least=1)
    if clients_per_round is not None and clients_per_round < 2 * f + 3:
        raise InvalidValueError("f", f"f={f} Byzantine clients need clients_per_round >= 2f + 3 = {2 * f + 3}, "
                         f"found {clients_per_round}")
    if clients_per_round is not None and multi > clients_per_round - f:  # Blanchard et al.: m <= n - f
        raise InvalidValueError("multi", f"multi must be at most clients_per_round - f = {clients_per_round - f} "
                                f"(more would average Byzantine clients in), found {multi}")

    def reduce(value):
        best = tf.argsort(krum_scores(client_vectors(value), f))[:multi]
        result = tf.nest.map_structure(lambda v: tf.reduce_mean(tf.gather(v, best), axis=0), value)
        return result, {"selected_client": tf.cast(best[0], tf.float32)}

    return build_leaf(value_type, reduce, name=name)

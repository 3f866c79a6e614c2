"""Simulated secure aggregation (Bonawitz et al. 2017; TFF's `SecureSumFactory`): each
coordinate is clipped to [-clip_range, clip_range] and rounded to an integer in
[0, 2^bits - 1]; the server only learns their sum modulo 2^modulus_bits, which it decodes.
With clients x (2^bits - 1) < 2^modulus_bits nothing wraps, and the decoded sum is the
clipped values' sum within clients x clip_range / (2^bits - 1) per coordinate.
With `average`, the result is that sum over the number of clients (a secure mean).

    next: (<()@SERVER, V@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)

Measures `clipped_coordinates` and `bytes_received` (modulus_bits per coordinate).
"""

import numpy as np
import tensorflow as tf

from fedexp import checks
from fedexp.aggregator._shared import build_leaf
from fedexp.templates.client_values import num_clients


def build_secure_sum(value_type, *, average, clip_range=1.0, bits=16, modulus_bits=32, clients_per_round=None,
                     name="secure_sum"):
    """`average`: the sum over the number of clients (a secure mean, as an aggregator of its own),
    or the sum (the inner of `dp_gaussian`); no default, since the two differ by the cohort size.
    Returns an unweighted `AggregationProcess`; raises ValueError for a bad range or bit width, or
    a modulus the cohort's sum would wrap."""
    checks.number("clip_range", clip_range, above=0)
    checks.integer("bits", bits, at_least=1, at_most=30)
    checks.integer("modulus_bits", modulus_bits, at_least=1, at_most=62)
    levels = 2 ** bits - 1
    if clients_per_round is not None and clients_per_round * levels >= 2 ** modulus_bits:
        raise ValueError(f"modulus_bits={modulus_bits} wraps the sum of {clients_per_round} clients' {bits}-bit "
                         f"values; use modulus_bits >= {int(np.ceil(np.log2(clients_per_round * levels + 1)))}")
    modulus = tf.constant(2 ** modulus_bits, tf.int64)
    coordinates = sum(int(np.prod(s.shape)) for s in tf.nest.flatten(value_type))

    def reduce(value):
        n = num_clients(value)

        def secure_sum(v):
            clipped = tf.clip_by_value(v, -clip_range, clip_range)
            encoded = tf.cast(tf.round((clipped + clip_range) / (2 * clip_range) * levels), tf.int64) % modulus
            total = tf.reduce_sum(encoded, axis=0) % modulus  # all the server sees
            decoded = tf.cast(total, tf.float32) * (2 * clip_range / levels) - tf.cast(n, tf.float32) * clip_range
            return decoded / tf.cast(n, tf.float32) if average else decoded

        clipped = tf.add_n([tf.reduce_sum(tf.cast(tf.abs(v) > clip_range, tf.float32))
                            for v in tf.nest.flatten(value)])
        return tf.nest.map_structure(secure_sum, value), {
            "clipped_coordinates": clipped,
            "bytes_received": tf.cast(n, tf.float32) * coordinates * modulus_bits / 8}

    return build_leaf(value_type, reduce, name=name)

"""Per-client math on values at CLIENTS: nests of tensors stacked along a leading cohort axis.

Aggregators (clipping, zeroing, Krum, quantization) and client work (clipping each client's
gradient side by side, SCAFFOLD's per-client controls) share these.
"""

import numpy as np
import tensorflow as tf


def num_clients(value):
    """The cohort's size: the leading axis of a value at CLIENTS."""
    return tf.shape(tf.nest.flatten(value)[0])[0]


def per_client(vector, like):
    """`vector`, one value per client (`[clients]`, or a scalar for a single client), shaped to
    broadcast against `like` (`[clients, ...]`, or that client's value)."""
    return tf.reshape(vector, [-1] * vector.shape.rank + [1] * (like.shape.rank - vector.shape.rank))


def scale_clients(value, factor):
    """Multiplies client c's value by `factor[c]`."""
    return tf.nest.map_structure(lambda v: v * tf.cast(per_client(factor, v), v.dtype), value)


def client_vectors(value):
    """Each client's whole value as one row: [clients, coordinates]."""
    n = num_clients(value)
    return tf.concat([tf.reshape(v, [n, -1]) for v in tf.nest.flatten(value)], axis=1)


def client_norms(value, order=2):
    """Each client's global norm of its whole value (L2, or max-abs with order='inf'): [clients]."""
    leaves = tf.nest.flatten(value)
    if order in ("inf", np.inf):
        return tf.reduce_max(tf.stack([tf.reduce_max(tf.abs(v), axis=list(range(1, v.shape.rank)))
                                       for v in leaves]), axis=0)
    return tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(v), axis=list(range(1, v.shape.rank))) for v in leaves]))


def clip_clients(value, clip_norm):
    """Each client's value scaled to a global L2 norm of at most `clip_norm`; also returns the
    norms before clipping, [clients]."""
    norms = client_norms(value)
    return scale_clients(value, clip_norm / tf.maximum(norms, clip_norm)), norms

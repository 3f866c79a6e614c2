"""Federated operators on placed values (placement is a shape: DESIGN decision 2).

A round is traced inside `cohort(size)`, which tells `federated_broadcast` how many
clients to send to. Traced alone, a block sees a symbolic cohort size, so its CLIENTS
values keep an unknown (`None`) leading axis; run alone, it has one client.
"""

import contextlib
import threading

import tensorflow as tf

from fedexp.templates.client_values import per_client

_cohort = threading.local()


@contextlib.contextmanager
def cohort(size):
    """Traces the enclosed code for a round with `size` clients (a scalar int32 tensor)."""
    stack = _cohort.__dict__.setdefault("sizes", [])
    stack.append(size)
    try:
        yield
    finally:
        stack.pop()


def cohort_size():
    sizes = getattr(_cohort, "sizes", None)
    if sizes:
        return sizes[-1]
    return tf.compat.v1.placeholder_with_default(tf.constant(1), shape=[])


def federated_broadcast(value):
    """V@SERVER -> V@CLIENTS: one copy per client of the cohort."""
    n = cohort_size()
    return tf.nest.map_structure(lambda v: tf.broadcast_to(v, tf.concat([[n], tf.shape(v)], 0)), value)


def federated_sum(value):
    """V@CLIENTS -> V@SERVER."""
    return tf.nest.map_structure(lambda v: tf.reduce_sum(v, axis=0), value)


def federated_mean(value, weight=None):
    """V@CLIENTS -> V@SERVER: the mean weighted by `weight`@CLIENTS (uniform if None).

    With a total weight of zero the mean is zero, not NaN.
    """
    if weight is None:
        return tf.nest.map_structure(lambda v: tf.reduce_mean(v, axis=0), value)

    def mean(v):
        w = tf.cast(per_client(weight, v), v.dtype)
        return tf.math.divide_no_nan(tf.reduce_sum(v * w, axis=0), tf.reduce_sum(w))

    return tf.nest.map_structure(mean, value)

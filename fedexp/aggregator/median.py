"""The coordinate-wise median of the clients' values (Yin et al. 2018): one wildly wrong
client cannot move it far.

    next: (<()@SERVER, V@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)
"""

import tensorflow as tf

from fedexp.aggregator._shared import build_leaf


def median(v):
    """Along the client axis; with an even count, the mean of the two middle values (as NumPy)."""
    ordered = tf.sort(v, axis=0)
    n = tf.shape(v)[0]
    return (tf.gather(ordered, (n - 1) // 2) + tf.gather(ordered, n // 2)) / 2


def build_median(value_type, *, name="median"):
    """The coordinate-wise median of values of `value_type`. Returns an unweighted
    `AggregationProcess` (see the module's signature)."""
    return build_leaf(value_type, lambda value: (tf.nest.map_structure(median, value), {}), name=name)

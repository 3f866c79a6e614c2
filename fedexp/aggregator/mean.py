"""The weighted mean of the clients' values (TFF's `MeanFactory`).

    next: (<()@SERVER, V@CLIENTS, float32@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)

Measures `mean_weight`, the total weight (with a total of zero the mean is zero), and
`bytes_received`.
"""

import tensorflow as tf

from fedexp.aggregator._shared import build_leaf
from fedexp.templates import federated_mean


def build_weighted_mean(value_type, *, name="mean"):
    """The example-weighted mean of values of `value_type` (a nest of `tf.TensorSpec`s, one
    client's value). Returns a weighted `AggregationProcess`:
    `next: (<()@SERVER, V@CLIENTS, float32@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)`."""
    return build_leaf(value_type, lambda value, weight: (federated_mean(value, weight),
                                                         {"mean_weight": tf.reduce_sum(weight)}),
                      name=name, weighted=True)

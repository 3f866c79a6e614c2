"""The weighted mean of the clients' values (TFF's `MeanFactory`).

    next: (<()@SERVER, V@CLIENTS, float32@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)

Measures `mean_weight`, the total weight (with a total of zero the mean is zero), and
`bytes_received`. Decomposable: the weighted values' sum and the weights'.
"""

import tensorflow as tf

from fedexp.aggregator._shared import build_sum_leaf
from fedexp.templates.client_values import scale_clients


def build_weighted_mean(value_type, *, name="mean"):
    """The example-weighted mean of values of `value_type` (a nest of `tf.TensorSpec`s, one
    client's value). Returns a weighted `AggregationProcess`:
    `next: (<()@SERVER, V@CLIENTS, float32@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)`."""
    def sums(value, weight):
        return {"value": tf.nest.map_structure(lambda v: tf.reduce_sum(v, axis=0), scale_clients(value, weight)),
                "weight": tf.reduce_sum(weight)}

    def finish(total, clients):  # with a total weight of zero, zero
        mean = tf.nest.map_structure(lambda v: tf.math.divide_no_nan(v, total["weight"]), total["value"])
        return mean, {"mean_weight": total["weight"]}

    return build_sum_leaf(value_type, sums, finish, name=name, weighted=True)

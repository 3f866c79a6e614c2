"""The plain mean of the clients' values, every client counting once.

    next: (<()@SERVER, V@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)

Measures `mean_weight`, the number of clients averaged, and `bytes_received`.
"""

import tensorflow as tf

from fedexp.aggregator._shared import build_leaf
from fedexp.templates import federated_mean
from fedexp.templates.client_values import num_clients


def build_unweighted_mean(value_type, *, name="unweighted_mean"):
    """The plain mean of values of `value_type`. Returns an unweighted `AggregationProcess`:
    `next: (<()@SERVER, V@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)`."""
    return build_leaf(value_type, lambda value: (federated_mean(value),
                                                 {"mean_weight": tf.cast(num_clients(value), tf.float32)}),
                      name=name)

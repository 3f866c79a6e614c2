"""The plain mean of the clients' values, every client counting once.

    next: (<()@SERVER, V@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)

Measures `mean_weight`, the number of clients averaged, and `bytes_received`. Decomposable:
the values' sum and the count.
"""

import tensorflow as tf

from fedexp.aggregator._shared import build_sum_leaf
from fedexp.templates import federated_sum


def build_unweighted_mean(value_type, *, name="unweighted_mean"):
    """The plain mean of values of `value_type`. Returns an unweighted `AggregationProcess`:
    `next: (<()@SERVER, V@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)`."""
    def finish(total, clients):
        return tf.nest.map_structure(lambda v: v / clients, total), {"mean_weight": clients}

    return build_sum_leaf(value_type, federated_sum, finish, name=name)

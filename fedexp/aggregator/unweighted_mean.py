"""The plain mean of the clients' values, every client counting once.

    next: (<()@SERVER, V@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)

`mean_weight` measures the number of clients averaged.
"""

import tensorflow as tf

from fedexp.templates import AggregationProcess, Computation, MeasuredProcessOutput, at_clients, federated_mean


def build_unweighted_mean(value_type, *, name="unweighted_mean"):
    def initialize():
        return ()

    def next_fn(state, value):
        num_clients = tf.cast(tf.shape(tf.nest.flatten(value)[0])[0], tf.float32)
        return MeasuredProcessOutput(state, federated_mean(value), {"mean_weight": num_clients})

    init_fn = Computation(initialize)
    return AggregationProcess(init_fn, Computation(next_fn, init_fn.result_type, at_clients(value_type)), name=name)

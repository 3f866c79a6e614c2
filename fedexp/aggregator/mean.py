"""The weighted mean of the clients' values (TFF's `MeanFactory`).

    next: (<()@SERVER, V@CLIENTS, float32@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)

`mean_weight` measures the total weight; with a total of zero the mean is zero.
"""

import tensorflow as tf

from fedexp.templates import AggregationProcess, Computation, MeasuredProcessOutput, at_clients, federated_mean


def build_weighted_mean(value_type, weight_type=tf.TensorSpec([], tf.float32), *, name="mean"):
    def initialize():
        return ()

    def next_fn(state, value, weight):
        return MeasuredProcessOutput(state, federated_mean(value, weight), {"mean_weight": tf.reduce_sum(weight)})

    init_fn = Computation(initialize)
    return AggregationProcess(
        init_fn, Computation(next_fn, init_fn.result_type, at_clients(value_type), at_clients(weight_type)),
        name=name)

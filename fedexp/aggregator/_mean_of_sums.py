"""TFF's mean over inner sums (`MeanFactory(value_sum_factory, weight_sum_factory)`,
`UnweightedMeanFactory(value_sum_factory, count_sum_factory)`): the sum of the weighted values
over the sum of the weights (or of the values over the count of clients), each sum an aggregator of
its own; `secure_aggregator` makes both secure sums.

    next: (<S@SERVER, V@CLIENTS[, float32@CLIENTS]> -> <state=S@SERVER, result=V@SERVER, measurements=M@SERVER>)

State `{"value_sum": …, "weight_sum": …}`; measures the two sums' measurements as `mean_value` and
`mean_weight` (TFF's names). With a total weight of zero the mean is zero, as `build_weighted_mean`'s.
"""

import tensorflow as tf

from fedexp import checks
from fedexp.aggregator._shared import WEIGHT_TYPE
from fedexp.templates import AggregationProcess, Computation, MeasuredProcessOutput, at_clients
from fedexp.templates.client_values import num_clients, scale_clients


def build_mean_of_sums(value_type, value_sum, weight_sum, *, weighted, name=None):
    """The (weighted) mean of values of `value_type` from `value_sum`, an unweighted aggregator of
    them, and `weight_sum`, one of one float32 per client (the weights, or ones to count the
    clients). Returns an `AggregationProcess`, weighted if `weighted`; raises ValueError if a sum
    is not an unweighted aggregator."""
    for key, process in (("value_sum", value_sum), ("weight_sum", weight_sum)):
        checks.require(key, process, isinstance(process, AggregationProcess) and not process.is_weighted,
                       "an unweighted aggregator")
    name = name or ("mean" if weighted else "unweighted_mean")

    def initialize():
        return {"value_sum": value_sum.initialize_fn.fn(), "weight_sum": weight_sum.initialize_fn.fn()}

    def next_fn(state, value, *weight):
        n = num_clients(value)
        weights = weight[0] if weighted else tf.ones([n], tf.float32)
        if weighted:  # as TFF: each client multiplies its value by its weight before the sum
            value = scale_clients(value, weights)
        values = value_sum.next_fn.fn(state["value_sum"], value)
        total = weight_sum.next_fn.fn(state["weight_sum"], weights)
        mean = tf.nest.map_structure(lambda s: tf.math.divide_no_nan(s, tf.cast(total.result, s.dtype)), values.result)
        return MeasuredProcessOutput({"value_sum": values.state, "weight_sum": total.state}, mean,
                                     {name: {"mean_value": values.measurements, "mean_weight": total.measurements}})

    init_fn = Computation(initialize)
    weight_types = (at_clients(WEIGHT_TYPE),) if weighted else ()
    return AggregationProcess(init_fn, Computation(next_fn, init_fn.result_type, at_clients(value_type),
                                                   *weight_types), name=name)

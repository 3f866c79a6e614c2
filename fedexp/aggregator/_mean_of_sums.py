"""TFF's mean over inner sums (`MeanFactory(value_sum_factory, weight_sum_factory)`,
`UnweightedMeanFactory(value_sum_factory, count_sum_factory)`): the sum of the weighted values
over the sum of the weights (or of the values over the count of clients), each sum an aggregator of
its own; `secure_aggregator` makes both secure sums.

    next: (<S@SERVER, V@CLIENTS[, float32@CLIENTS]> -> <state=S@SERVER, result=V@SERVER, measurements=M@SERVER>)

State `{"value_sum": …, "weight_sum": …}`; measures the two sums' measurements as `mean_value` and
`mean_weight` (TFF's names). With a total weight of zero the mean is zero, as `build_weighted_mean`'s.
Decomposable when both sums are.
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

    def summed(value, weight):
        """(the values to sum, the weights to sum): as TFF, each client multiplies its value by its weight."""
        if weighted:
            return scale_clients(value, weight[0]), weight[0]
        return value, tf.ones([num_clients(value)], tf.float32)

    def mean(state, values, total):
        result = tf.nest.map_structure(lambda s: tf.math.divide_no_nan(s, tf.cast(total.result, s.dtype)), values.result)
        return MeasuredProcessOutput({"value_sum": values.state, "weight_sum": total.state}, result,
                                     {name: {"mean_value": values.measurements, "mean_weight": total.measurements}})

    def next_fn(state, value, *weight):
        value, weights = summed(value, weight)
        return mean(state, value_sum.next_fn.fn(state["value_sum"], value),
                    weight_sum.next_fn.fn(state["weight_sum"], weights))

    def partial(state, value, *weight):
        value, weights = summed(value, weight)
        return {"value_sum": value_sum.partial_fn(state["value_sum"], value),
                "weight_sum": weight_sum.partial_fn(state["weight_sum"], weights)}

    def finalize(state, merged):
        return mean(state, value_sum.finalize_fn(state["value_sum"], merged["value_sum"]),
                    weight_sum.finalize_fn(state["weight_sum"], merged["weight_sum"]))

    init_fn = Computation(initialize)
    weight_types = (at_clients(WEIGHT_TYPE),) if weighted else ()
    split = dict(partial_fn=partial, finalize_fn=finalize) if value_sum.is_decomposable and \
        weight_sum.is_decomposable else {}
    return AggregationProcess(init_fn, Computation(next_fn, init_fn.result_type, at_clients(value_type),
                                                   *weight_types), name=name, **split)

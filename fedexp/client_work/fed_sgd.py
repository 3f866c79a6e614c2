"""FedSGD's client work: one gradient of the mean loss over all the client's examples.

The update is that gradient and its weight the client's number of examples (or 1), so
a weighted mean over the cohort is the gradient over the union of their data.
"""

import tensorflow as tf

from fedexp.client_work._full_gradient import full_gradients
from fedexp.client_work._result import (
    ClientWeighting, finalize_train_metrics, parse_weighting, update_weight, zero_if_non_finite)
from fedexp.templates.client_data import cohort_type
from fedexp.model._functional import functional_model
from fedexp.templates import ClientResult, ClientWorkProcess, Computation, MeasuredProcessOutput, at_clients


def build_fed_sgd_client_work(model_fn, client_weighting=ClientWeighting.NUM_EXAMPLES, *, name="fed_sgd"):
    """FedSGD's client work: each client sends its full-batch gradient, weighted by its examples
    (or 1). Returns a `ClientWorkProcess`:
    `next: (<S@SERVER, W@CLIENTS, Cohort@CLIENTS> -> <state=S@SERVER, result=ClientResult@CLIENTS, measurements=M@SERVER>)`;
    raises ValueError for an unknown weighting."""
    weighting = parse_weighting(client_weighting)
    model = functional_model(model_fn)

    def initialize():
        return {"round": tf.constant(0, tf.int64)}

    def next_fn(state, weights, data):
        gradients, metrics = full_gradients(model, state["round"], weights, data)
        result = ClientResult(*zero_if_non_finite(gradients, update_weight(weighting, metrics)))
        return MeasuredProcessOutput({"round": state["round"] + 1}, result,
                                     finalize_train_metrics(metrics, result.update_weight))

    init_fn = Computation(initialize)
    return ClientWorkProcess(
        init_fn,
        Computation(next_fn, init_fn.result_type, at_clients(model.weights_type), cohort_type(model.feature_shape)),
        name=name)

"""FedSGD's client work: one gradient of the mean loss over all the client's examples.

The update is that gradient and its weight the client's number of examples (or 1), so
a weighted mean over the cohort is the gradient over the union of their data.
"""

import tensorflow as tf

from fedexp.client_work.training import (
    ClientWeighting, TrainMetrics, batch_loss, client_ids, client_output_type, finalize_train_metrics, for_each_batch, for_each_client,
    parse_weighting, update_weight, zero_if_non_finite)
from fedexp.data.cohort import cohort_type
from fedexp.model.functional import functional_model
from fedexp.templates import ClientResult, ClientWorkProcess, Computation, MeasuredProcessOutput, at_clients


def build_fed_sgd_client_work(model_fn, client_weighting=ClientWeighting.NUM_EXAMPLES, *, name="fed_sgd"):
    weighting = parse_weighting(client_weighting)
    model = functional_model(model_fn)
    trainable_type = model.weights_type.trainable

    def client_gradient(round_num, client, weights, data):
        def step(i, grad_sum, non_trainable, metrics):
            with tf.GradientTape() as tape:
                tape.watch(weights.trainable)
                loss, non_trainable, batch_metrics = batch_loss(
                    model, weights.trainable, non_trainable, data.x[i], data.y[i], data.mask[i])
            grads = tape.gradient(loss, weights.trainable)
            # The batch's mean gradient times its size: summed, then divided by all examples.
            grad_sum = tf.nest.map_structure(lambda s, g: s + g * batch_metrics.num_examples, grad_sum, grads)
            return grad_sum, non_trainable, metrics + batch_metrics

        zeros = tf.nest.map_structure(tf.zeros_like, weights.trainable)
        non_trainable = model.reseeded(weights.non_trainable, round_num, client)
        grad_sum, _, metrics = for_each_batch(step, data.mask, (zeros, non_trainable, TrainMetrics.zeros()))
        gradient = tf.nest.map_structure(lambda g: tf.math.divide_no_nan(g, metrics.num_examples), grad_sum)
        return ClientResult(*zero_if_non_finite(gradient, update_weight(weighting, metrics))), metrics

    def initialize():
        return {"round": tf.constant(0, tf.int64)}

    def next_fn(state, weights, data):
        result, metrics = for_each_client(
            lambda i, w, d: client_gradient(state["round"], i, w, d),
            (client_ids(data), weights, data), client_output_type(trainable_type))
        return MeasuredProcessOutput({"round": state["round"] + 1}, result, finalize_train_metrics(metrics))

    init_fn = Computation(initialize)
    return ClientWorkProcess(
        init_fn,
        Computation(next_fn, init_fn.result_type, at_clients(model.weights_type), cohort_type(model.feature_shape)),
        name=name)

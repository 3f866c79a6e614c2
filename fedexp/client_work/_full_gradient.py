"""Each client's gradient of its mean loss over all its examples (FedSGD, MimeLite, SCAFFOLD's option I)."""

import tensorflow as tf

from fedexp.client_work._devices import across_devices
from fedexp.client_work._loops import client_output_type, for_each_batch, for_each_client
from fedexp.model._loss import TrainMetrics, batch_loss


def full_gradient(model, round_num, weights, data):
    """One client's gradient of its mean loss over all its examples, at `weights`, and its metrics."""
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
    non_trainable = model.reseeded(weights.non_trainable, round_num, data.ids)
    grad_sum, _, metrics = for_each_batch(step, data.mask, (zeros, non_trainable, TrainMetrics.zeros()))
    return tf.nest.map_structure(lambda g: tf.math.divide_no_nan(g, metrics.num_examples), grad_sum), metrics


def full_gradients(model, round_num, weights, data, devices=()):
    """`full_gradient` of every client of the cohort: (gradients, TrainMetrics), stacked."""
    return across_devices(devices, lambda w, d: for_each_client(
        lambda *args: full_gradient(model, round_num, *args), (w, d), client_output_type(model.weights_type.trainable)),
        (weights, data))

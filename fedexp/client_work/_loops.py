"""The loops of client work: over a client's real batches, and over the cohort's clients."""

import tensorflow as tf

from fedexp.model._loss import TrainMetrics
from fedexp.templates.client_data import num_batches


def for_each_batch(body, mask, loop_vars):
    """Runs `loop_vars = body(i, *loop_vars)` over a client's real batches, in order."""
    return tf.while_loop(lambda i, *_: i < num_batches(mask), lambda i, *v: (i + 1, *body(i, *v)),
                         (tf.constant(0), *loop_vars))[1:]


def for_each_client(client_fn, clients_args, output_type):
    """Maps `client_fn` over the cohort (the leading axis of every argument); up to 10 clients in flight."""
    return tf.map_fn(lambda args: client_fn(*args), clients_args, fn_output_signature=output_type,
                     parallel_iterations=10)


def client_output_type(trainable_type):
    """The type of what a client's training returns: (trainable weights or their gradient, TrainMetrics)."""
    return trainable_type, TrainMetrics(*[tf.TensorSpec([])] * 4)

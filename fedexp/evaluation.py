"""Centralized evaluation of the global model on a held-out test set, compiled once."""

import numpy as np
import tensorflow as tf

from fedexp.model.functional import functional_model


def build_centralized_evaluation(model_fn, x, y, *, batch_size=1000):
    """Returns `evaluate(weights) -> {"loss", "accuracy"}` over all of (x, y), in inference mode.

    The test set is placed on the device once, as padded batches with a mask.
    """
    model = functional_model(model_fn)
    x, y = np.asarray(x, np.float32), np.asarray(y, np.int32)
    steps = -(-len(x) // batch_size)
    pad = steps * batch_size - len(x)
    xs = tf.constant(np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)]).reshape(steps, batch_size, *x.shape[1:]))
    ys = tf.constant(np.concatenate([y, np.zeros(pad, y.dtype)]).reshape(steps, batch_size))
    mask = tf.constant((np.arange(steps * batch_size) < len(x)).reshape(steps, batch_size), tf.float32)

    @tf.function(input_signature=[model.weights_type], autograph=False)
    def evaluate(weights):
        def batch(i, loss_sum, correct):
            outputs, _, _ = model.forward(weights, xs[i], training=False)
            loss_sum += tf.reduce_sum(model.per_example_loss(ys[i], outputs) * mask[i])
            hits = tf.cast(tf.equal(tf.argmax(outputs, -1, output_type=tf.int32), ys[i]), tf.float32)
            return i + 1, loss_sum, correct + tf.reduce_sum(hits * mask[i])

        _, loss_sum, correct = tf.while_loop(lambda i, *_: i < steps, batch, (0, 0.0, 0.0))
        return {"loss": loss_sum / len(x), "accuracy": correct / len(x)}

    return evaluate

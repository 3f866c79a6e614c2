"""The masked loss of a padded batch and the training metrics summed from it, shared by local
training and evaluation. Padding (mask 0) contributes nothing: not to the loss, its gradient,
or the metrics."""

from typing import NamedTuple

import tensorflow as tf

from fedexp.model._functional import ModelWeights


class TrainMetrics(NamedTuple):
    """Sums over a client's batches (float32 scalars)."""

    loss_sum: tf.Tensor
    correct: tf.Tensor
    num_examples: tf.Tensor
    num_batches: tf.Tensor

    @classmethod
    def zeros(cls):
        return cls(*(tf.zeros([]) for _ in cls._fields))

    def __add__(self, other):
        return TrainMetrics(*(a + b for a, b in zip(self, other)))


def batch_loss(model, trainable, non_trainable, x, y, mask):
    """The mean loss over the real examples of one padded batch, and the batch's metrics.

    Padding (mask 0) contributes nothing: not to the loss, its gradient, or the metrics.
    Returns (loss, new non-trainable weights, metrics).
    """
    outputs, non_trainable, model_losses = model.forward(ModelWeights(trainable, non_trainable), x, training=True)
    loss, metrics = masked_loss(model, y, outputs, mask)
    return loss + model_losses, non_trainable, metrics


def masked_loss(model, y, outputs, mask):
    """(mean loss over real examples, TrainMetrics) of a batch `[..., batch]`; leading axes (clients) are kept."""
    per_example = model.per_example_loss(y, outputs) * mask
    n = tf.reduce_sum(mask, -1)
    hits = tf.cast(tf.equal(tf.argmax(outputs, -1, output_type=y.dtype), y), tf.float32) * mask
    loss_sum = tf.reduce_sum(per_example, -1)
    metrics = TrainMetrics(loss_sum, tf.reduce_sum(hits, -1), n, tf.cast(n > 0, tf.float32))
    return tf.math.divide_no_nan(loss_sum, n), metrics

"""Adagrad (Duchi et al. 2011), as Keras's and `tff.learning.optimizers.build_adagrad`.

    v <- v + g^2;  w <- w - lr * g / sqrt(v + eps),  v starting at initial_preconditioner_value
"""

import tensorflow as tf

from fedexp.optimizer._base import build_optimizer, fill


def build_adagrad(learning_rate=0.001, initial_preconditioner_value=0.1, epsilon=1e-7):
    """Returns an `Optimizer` with `learning_rate` and `epsilon` in its state (the accumulator starts
    at `initial_preconditioner_value`); raises ValueError for a negative hyperparameter."""
    def update(hp, step, v, w, g):
        v = v + tf.square(g)
        return v, w - hp["learning_rate"] * g / tf.sqrt(v + hp["epsilon"])

    return build_optimizer(
        "adagrad", dict(learning_rate=learning_rate, epsilon=epsilon),
        lambda w: fill(w, initial_preconditioner_value), update)

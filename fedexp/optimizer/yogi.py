"""Yogi (Zaheer et al. 2018), the server optimizer of FedYogi (Reddi et al. 2021).

    m <- b1 m + (1 - b1) g
    v <- v - (1 - b2) sign(v - g^2) g^2
    w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
"""

import tensorflow as tf

from fedexp.optimizer._base import bias_corrected_lr, build_optimizer, fill, zeros


def build_yogi(learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-3, initial_preconditioner_value=1e-6):
    """Returns an `Optimizer` with these hyperparameters in its state (v starts at
    `initial_preconditioner_value`); raises ValueError for a negative hyperparameter."""
    def update(hp, step, slot, w, g):
        m, v = slot
        g2 = tf.square(g)
        m = hp["beta_1"] * m + (1 - hp["beta_1"]) * g
        v = v - (1 - hp["beta_2"]) * tf.sign(v - g2) * g2
        return (m, v), w - bias_corrected_lr(hp, step) * m / (tf.sqrt(v) + hp["epsilon"])

    return build_optimizer(
        "yogi", dict(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon),
        lambda w: (zeros(w), fill(w, initial_preconditioner_value)), update)

"""AdamW (Loshchilov & Hutter 2019), as Keras's and `tff.learning.optimizers.build_adamw`: Adam
with the weights decayed apart from the gradient.

    m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
    w <- w - lr (sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps) + weight_decay w)
"""

import tensorflow as tf

from fedexp.optimizer._base import bias_corrected_lr, build_optimizer, zeros


def build_adamw(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=0.004):
    """Returns an `Optimizer` with these hyperparameters in its state (TFF's and Keras's defaults);
    raises ValueError for a negative one."""
    def update(hp, step, slot, w, g):
        m, v = slot
        m = hp["beta_1"] * m + (1 - hp["beta_1"]) * g
        v = hp["beta_2"] * v + (1 - hp["beta_2"]) * tf.square(g)
        decayed = w - hp["learning_rate"] * hp["weight_decay"] * w
        return (m, v), decayed - bias_corrected_lr(hp, step) * m / (tf.sqrt(v) + hp["epsilon"])

    return build_optimizer(
        "adamw", dict(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                      weight_decay=weight_decay),
        lambda w: (zeros(w), zeros(w)), update)

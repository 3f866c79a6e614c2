"""RMSprop (Hinton 2012), as Keras's (without momentum or centering).

    v <- rho v + (1 - rho) g^2;  w <- w - lr * g / sqrt(v + eps)
"""

import tensorflow as tf

from fedexp.optimizer._base import build_optimizer, zeros


def build_rmsprop(learning_rate=0.001, rho=0.9, epsilon=1e-7):
    """Returns an `Optimizer` with these hyperparameters in its state; raises ValueError for a negative one."""
    def update(hp, step, v, w, g):
        v = hp["rho"] * v + (1 - hp["rho"]) * tf.square(g)
        return v, w - hp["learning_rate"] * g / tf.sqrt(v + hp["epsilon"])

    return build_optimizer("rmsprop", dict(learning_rate=learning_rate, rho=rho, epsilon=epsilon),
                           zeros, update)

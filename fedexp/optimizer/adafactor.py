"""Adafactor (Shazeer & Stern 2018), as `tff.learning.optimizers.build_adafactor`: Adam's second
moment kept factored for a matrix (a row and a column mean of g^2), updates clipped by their RMS,
the step relative to the weights' RMS.

    t = step;  lr <- min(lr, 1/sqrt(t)) if relative_step;  rho = min(lr, sqrt(t))
    alpha = max(epsilon_2, rms(w)) * rho;  beta_2 = 1 - t^beta_2_decay;  s = g^2 + epsilon_1
    rank < 2:  v <- beta_2 v + (1 - beta_2) s
    rank >= 2: r <- beta_2 r + (1 - beta_2) mean(s, -1);  c <- beta_2 c + (1 - beta_2) mean(s, -2)
               v = r / mean(r) (outer) c
    u = g / sqrt(v);  w <- w - alpha * u / max(1, rms(u) / clip_threshold)

`rho` is TFF's `min(lr, sqrt(t))`; Keras's is `min(lr, 1/sqrt(t))`: the two agree with
`relative_step` (the default), and without it TFF's keeps `lr` where Keras's still decays.
Where TFF and Keras divide 0 by 0, fedexp's u is 0: a dead ReLU unit's row and column of a
matrix have zero gradients, their factored v is epsilon_1^2 = 1e-60, which float32 holds as 0,
and one NaN there makes rms(u), and so the whole tensor, NaN.
"""

import tensorflow as tf

from fedexp import checks
from fedexp.optimizer._base import build_optimizer


def _rms(t):
    return tf.sqrt(tf.reduce_mean(tf.square(t)))


def _moments(like):
    """(r, c, v) for a weight: r and c empty below rank 2."""
    shape, dtype = like.shape, like.dtype
    r, c = ((0,), (0,)) if shape.rank < 2 else (shape[:-1], shape[:-2] + shape[-1:])
    return tf.zeros(r, dtype), tf.zeros(c, dtype), tf.zeros(shape, dtype)


def build_adafactor(learning_rate, *, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0,
                    relative_step=True):
    """TFF's `build_adafactor` with its defaults (the learning rate has none). Returns an `Optimizer`
    with the numeric hyperparameters in its state (`relative_step` changes the program: fixed when
    built); it is not elementwise, so clients train one after another. Raises ValueError for a
    hyperparameter out of its range."""
    checks.boolean("relative_step", relative_step)

    def update(hp, step, slot, w, g):
        t = tf.cast(step, w.dtype)
        lr = tf.minimum(hp["learning_rate"], tf.math.rsqrt(t)) if relative_step else hp["learning_rate"]
        alpha = tf.maximum(hp["epsilon_2"], _rms(w)) * tf.minimum(lr, tf.sqrt(t))
        squared = tf.square(g) + hp["epsilon_1"]
        beta_2 = 1.0 - tf.pow(t, hp["beta_2_decay"])
        r, c, v = slot
        if w.shape.rank < 2:
            v = beta_2 * v + (1.0 - beta_2) * squared
        else:
            r = beta_2 * r + (1.0 - beta_2) * tf.reduce_mean(squared, axis=-1)
            c = beta_2 * c + (1.0 - beta_2) * tf.reduce_mean(squared, axis=-2)
            v = (r / tf.reduce_mean(r, axis=-1, keepdims=True))[..., None] * c[..., None, :]
        u = tf.math.divide_no_nan(g, tf.sqrt(v))
        return (r, c, v), w - alpha * u / tf.maximum(1.0, _rms(u) / hp["clip_threshold"])

    return build_optimizer(
        "adafactor", dict(learning_rate=learning_rate, beta_2_decay=beta_2_decay, epsilon_1=epsilon_1,
                          epsilon_2=epsilon_2, clip_threshold=clip_threshold),
        _moments, update, elementwise=False)

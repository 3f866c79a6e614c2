"""A little is enough (Baruch et al. 2019): the malicious clients, knowing the honest updates, all
send mean - z x std of them, coordinate by coordinate: close enough to the honest ones to pass
median, trimmed-mean and Krum defences, shifted enough to steer the model.

With `z` null it is the paper's choice for n clients of which m are malicious:
s = floor(n / 2 + 1) - m, z = Phi^-1((n - s) / n), from each round's reporting cohort."""

import tensorflow as tf

from fedexp import checks
from fedexp.attack._base import Attack
from fedexp.templates.client_values import per_client


def build_little_is_enough(*, fraction=0.1, z=None):
    """`fraction` of the clients (0 to 1) send mean - `z` x std of the honest reporting clients' updates
    (`z` null: the paper's). Returns an `Attack`; raises ValueError for a fraction outside [0, 1] or z <= 0."""
    checks.probability("fraction", fraction)
    if z is not None:
        checks.number("z", z, above=0)

    def craft(update, honest, malicious, reported, seed):
        benign = tf.cast(reported & ~malicious, tf.float32)
        count = tf.reduce_sum(benign)
        n, m = tf.reduce_sum(tf.cast(reported, tf.float32)), tf.reduce_sum(tf.cast(reported & malicious, tf.float32))
        if z is None:
            s = tf.floor(n / 2 + 1) - m
            factor = tf.math.ndtri(tf.clip_by_value((n - s) / tf.maximum(n, 1.0), 1e-6, 1 - 1e-6))
        else:
            factor = tf.constant(z, tf.float32)

        def crafted(h, u):
            w = per_client(benign, h)
            mean = tf.math.divide_no_nan(tf.reduce_sum(h * w, 0), count)
            std = tf.sqrt(tf.math.divide_no_nan(tf.reduce_sum(tf.square(h - mean) * w, 0), count))
            return tf.where(per_client(malicious, u), mean - factor * std, u)

        return tf.nest.map_structure(crafted, honest, update)

    return Attack("little_is_enough", fraction, craft=craft)

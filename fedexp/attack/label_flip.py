"""Label flipping (data poisoning; Tolpegin et al. 2020): a malicious client trains on its own
examples with every label y replaced by num_classes - 1 - y, and sends that update."""

import tensorflow as tf

from fedexp import checks
from fedexp.attack._base import Attack


def build_label_flip(*, fraction=0.1):
    """`fraction` of the clients (0 to 1) train on flipped labels. Returns an `Attack`; raises
    ValueError for a fraction outside [0, 1]."""
    checks.probability("fraction", fraction)

    def poison(y, malicious, num_classes):
        return tf.where(malicious[:, None, None], tf.cast(num_classes - 1, y.dtype) - y, y)

    return Attack("label_flip", fraction, poison=poison)

"""Sign flipping: a malicious client trains honestly, then sends its update reversed and scaled,
-`scale` x its honest update (a model-poisoning attack; the default -4 x is RSA's, Li et al. 2019)."""

import tensorflow as tf

from fedexp import checks
from fedexp.attack._base import Attack
from fedexp.templates.client_values import per_client


def build_sign_flip(*, fraction=0.1, scale=4.0):
    """`fraction` of the clients (0 to 1) send -`scale` x their update. Returns an `Attack`;
    raises ValueError for a fraction outside [0, 1] or a scale <= 0."""
    checks.probability("fraction", fraction)
    checks.number("scale", scale, above=0)

    def craft(update, honest, malicious, reported, seed):
        return tf.nest.map_structure(lambda u: tf.where(per_client(malicious, u), -scale * u, u), update)

    return Attack("sign_flip", fraction, craft=craft)

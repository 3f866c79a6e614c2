"""Noise: a malicious client sends Gaussian noise scaled to L2 norm `norm` instead of its update
(a random-fault, or omniscience-free Byzantine, client)."""

import tensorflow as tf

from fedexp import checks
from fedexp.attack._base import Attack
from fedexp.templates.client_values import client_norms, per_client, scale_clients


def build_gaussian_noise(*, fraction=0.1, norm=10.0):
    """`fraction` of the clients (0 to 1) send a direction drawn from the round's seed, of L2 norm
    `norm`. Returns an `Attack`; raises ValueError for a fraction outside [0, 1] or a norm <= 0."""
    checks.probability("fraction", fraction)
    checks.number("norm", norm, above=0)

    def craft(update, honest, malicious, reported, seed):
        leaves = tf.nest.flatten(update)
        seeds = tf.random.experimental.stateless_split(seed, len(leaves))
        noise = tf.nest.pack_sequence_as(update, [tf.random.stateless_normal(tf.shape(u), seeds[i])
                                                  for i, u in enumerate(leaves)])
        noise = scale_clients(noise, norm / client_norms(noise))
        return tf.nest.map_structure(lambda u, z: tf.where(per_client(malicious, u), z, u), update, noise)

    return Attack("gaussian_noise", fraction, craft=craft)

"""Compression: each client sends its value quantized to `bits` bits per coordinate, with
unbiased stochastic rounding onto 2^bits evenly spaced levels between its minimum and
maximum (Suresh et al. 2017), optionally after a randomized Hadamard rotation that spreads
the value evenly over the coordinates first (`rotation: hadamard`; padded to a power of two).
The server decodes and hands the values to the inner aggregator.

    next: (<S@SERVER, V@CLIENTS[, float32@CLIENTS]> -> <state=S@SERVER, result=V@SERVER, measurements=M@SERVER>)

Measures `bits_per_client` (coordinates x bits, plus the two float32 bounds),
`compression_ratio` (float32 size / that) and `bytes_received`.
"""

import math

import numpy as np
import tensorflow as tf

from fedexp import checks
from fedexp.aggregator._shared import build_stage
from fedexp.templates.client_values import client_vectors, num_clients


def hadamard(x):
    """x @ H / sqrt(n) along the last axis (n a power of two): orthonormal and its own inverse."""
    n = x.shape[-1]
    h = 1
    while h < n:  # butterflies of stride h
        pairs = tf.reshape(x, [-1, n // (2 * h), 2, h])
        x = tf.reshape(tf.stack([pairs[:, :, 0] + pairs[:, :, 1], pairs[:, :, 0] - pairs[:, :, 1]], axis=2),
                       [-1, n])
        h *= 2
    return x / math.sqrt(n)


def stochastic_quantize(x, bits, seed):
    """Per row of x: unbiased rounding onto 2^bits levels between the row's min and max, decoded."""
    lo = tf.reduce_min(x, axis=1, keepdims=True)
    step = (tf.reduce_max(x, axis=1, keepdims=True) - lo) / (2 ** bits - 1)
    scaled = tf.math.divide_no_nan(x - lo, step)
    levels = tf.floor(scaled + tf.random.stateless_uniform(tf.shape(x), seed))  # E[levels] = scaled
    return lo + tf.minimum(levels, 2 ** bits - 1) * step


def build_quantize(value_type, inner, *, bits=8, rotation="hadamard", seed=0, name="quantize"):
    """Quantizes each client's value to `bits` bits per coordinate (after a randomized Hadamard
    `rotation`, or "none"), with rounding drawn from `seed` and the round, then aggregates with
    `inner` (required). Returns an `AggregationProcess` weighted as `inner`; raises ValueError
    for bits outside 1-16 or an unknown rotation."""
    checks.integer("bits", bits, at_least=1, at_most=16)
    checks.one_of("rotation", rotation, ("hadamard", "none"))
    sizes = [int(np.prod(s.shape)) for s in tf.nest.flatten(value_type)]
    dim = sum(sizes)
    sent = 1 << max(dim - 1, 0).bit_length() if rotation == "hadamard" else dim
    bits_per_client = sent * bits + 64

    def initial_state():
        return {"round": tf.constant(0, tf.int64)}

    def step(own, value, aggregate):
        n = num_clients(value)
        flat = client_vectors(value)
        signs_seed, rounding_seed = tf.unstack(tf.random.experimental.stateless_split(
            tf.stack([tf.constant(seed, tf.int64), own["round"]]), 2))
        if rotation == "hadamard":  # D = random signs shared by all clients this round
            signs = tf.sign(tf.random.stateless_uniform([sent], signs_seed) - 0.5)
            flat = hadamard(tf.pad(flat, [[0, 0], [0, sent - dim]]) * signs)
        decoded = stochastic_quantize(flat, bits, rounding_seed)
        if rotation == "hadamard":
            decoded = (hadamard(decoded) * signs)[:, :dim]
        parts = tf.split(decoded, sizes, axis=1)
        value = tf.nest.pack_sequence_as(value, [tf.reshape(p, tf.shape(v)) for p, v in
                                                 zip(parts, tf.nest.flatten(value))])
        result = aggregate(value)
        return {"round": own["round"] + 1}, result, {
            "bits_per_client": tf.constant(bits_per_client, tf.float32),
            "compression_ratio": tf.constant(32 * dim / bits_per_client, tf.float32),
            "bytes_received": tf.cast(n, tf.float32) * bits_per_client / 8}

    return build_stage(value_type, inner, name=name, initial_state=initial_state,
                       step=step)

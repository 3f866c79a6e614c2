"""Compression: each client sends its value quantized to `bits` bits per coordinate, with
unbiased stochastic rounding onto 2^bits evenly spaced levels between a minimum and maximum
(Suresh et al. 2017): those of the whole value after a randomized Hadamard rotation that
spreads it evenly over the coordinates (`rotation: hadamard`; padded to a power of two), or
each tensor's own (`rotation: none`, as TFF's `EncodedSumFactory`). Tensors of at most
`threshold` elements (biases, say) are sent as they are. The server decodes and hands the
values to the inner aggregator.

    next: (<S@SERVER, V@CLIENTS[, float32@CLIENTS]> -> <state=S@SERVER, result=V@SERVER, measurements=M@SERVER>)

Measures `bits_per_client` (quantized coordinates x bits, plus two float32 bounds for each
quantized vector, plus 32 bits per coordinate sent as is),
`compression_ratio` (float32 size / that) and `bytes_received`.
"""

import math

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


def build_quantize(value_type, inner, *, bits=8, rotation="hadamard", threshold=0, seed=0, name="quantize"):
    """Quantizes each client's value to `bits` bits per coordinate, with rounding drawn from `seed`
    and the round, then aggregates with `inner` (required). The tensors of more than `threshold`
    elements are quantized: together after a randomized Hadamard `rotation`, or each between its
    own minimum and maximum (`rotation: none`, TFF's `EncodedSumFactory.quantize_above_threshold`);
    the others are sent as float32. Returns an `AggregationProcess` weighted as `inner`; raises
    ValueError for bits outside 1-16, an unknown rotation or a negative threshold."""
    checks.integer("bits", bits, at_least=1, at_most=16)
    checks.one_of("rotation", rotation, ("hadamard", "none"))
    checks.integer("threshold", threshold, at_least=0)
    sizes = [math.prod(s.shape) for s in tf.nest.flatten(value_type)]
    quantized = [size > threshold for size in sizes]
    dim = sum(size for size, q in zip(sizes, quantized) if q)  # quantized coordinates
    if rotation == "hadamard":
        sent = 1 << max(dim - 1, 0).bit_length() if dim else 0
        bits_per_client = sent * bits + 64 * (dim > 0)
    else:
        bits_per_client = dim * bits + 64 * sum(quantized)  # each tensor's two float32 bounds
    bits_per_client += 32 * (sum(sizes) - dim)

    def initial_state():
        return {"round": tf.constant(0, tf.int64)}

    def prepare(own, value):
        n = num_clients(value)
        leaves = tf.nest.flatten(value)
        signs_seed, rounding_seed = tf.unstack(tf.random.experimental.stateless_split(
            tf.stack([tf.constant(seed, tf.int64), own["round"]]), 2))
        chosen = [v for v, q in zip(leaves, quantized) if q]
        if rotation == "hadamard" and chosen:  # D = random signs shared by all clients this round
            flat = client_vectors(chosen)
            signs = tf.sign(tf.random.stateless_uniform([sent], signs_seed) - 0.5)
            flat = hadamard(tf.pad(flat, [[0, 0], [0, sent - dim]]) * signs)
            flat = (hadamard(stochastic_quantize(flat, bits, rounding_seed)) * signs)[:, :dim]
            decoded = tf.split(flat, [s for s, q in zip(sizes, quantized) if q], axis=1)
        else:
            seeds = tf.unstack(tf.random.experimental.stateless_split(rounding_seed, max(len(chosen), 1)))
            decoded = [stochastic_quantize(tf.reshape(v, [n, -1]), bits, s) for v, s in zip(chosen, seeds)]
        decoded = iter(decoded)
        value = tf.nest.pack_sequence_as(value, [tf.reshape(next(decoded), tf.shape(v)) if q else v
                                                 for v, q in zip(leaves, quantized)])
        return value, {"clients": tf.cast(n, tf.float32)}

    def finish(own, counts, result):
        return {"round": own["round"] + 1}, result, {
            "bits_per_client": tf.constant(bits_per_client, tf.float32),
            "compression_ratio": tf.constant(32 * sum(sizes) / bits_per_client, tf.float32),
            "bytes_received": counts["clients"] * bits_per_client / 8}

    return build_stage(value_type, inner, name=name, initial_state=initial_state, prepare=prepare, finish=finish)

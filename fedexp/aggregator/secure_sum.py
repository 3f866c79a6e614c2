"""Simulated secure aggregation (Bonawitz et al. 2017; TFF's `SecureSumFactory`): each
coordinate is clipped to [-clip_range, clip_range] and rounded to an integer in
[0, 2^bits - 1]; the server only learns their sum modulo 2^modulus_bits, which it decodes.
With clients x (2^bits - 1) < 2^modulus_bits nothing wraps, and the decoded sum is the
clipped values' sum within clients x clip_range / (2^bits - 1) per coordinate.
With `average`, the result is that sum over the number of clients (a secure mean).

    next: (<()@SERVER, V@CLIENTS> -> <state=()@SERVER, result=V@SERVER, measurements=M@SERVER>)

Measures `clipped_coordinates` and `bytes_received` (modulus_bits per coordinate).

`build_secure_quantized_sum` is TFF's `SecureSumFactory` for float values: bounds [lower, upper]
(fixed, or adaptive), 32-bit deterministic rounding, no wrap (`fedexp.SecureSumFactory`).
"""

import math

import numpy as np
import tensorflow as tf

from fedexp import checks
from fedexp.aggregator._shared import build_decomposed, build_sum_leaf, check_quantile, next_quantile_estimate
from fedexp.templates import MeasuredProcessOutput
from fedexp.templates.client_values import num_clients


def build_secure_sum(value_type, *, average, clip_range=1.0, bits=16, modulus_bits=32, clients_per_round=None,
                     name="secure_sum"):
    """`average`: the sum over the number of clients (a secure mean, as an aggregator of its own),
    or the sum (the inner of `dp_gaussian`); no default, since the two differ by the cohort size.
    Returns an unweighted `AggregationProcess`; raises ValueError for a bad range or bit width, or
    a modulus the cohort's sum would wrap."""
    checks.number("clip_range", clip_range, above=0)
    checks.integer("bits", bits, at_least=1, at_most=30)
    checks.integer("modulus_bits", modulus_bits, at_least=1, at_most=62)
    levels = 2 ** bits - 1
    if clients_per_round is not None and clients_per_round * levels >= 2 ** modulus_bits:
        raise ValueError(f"modulus_bits={modulus_bits} wraps the sum of {clients_per_round} clients' {bits}-bit "
                         f"values; use modulus_bits >= {int(np.ceil(np.log2(clients_per_round * levels + 1)))}")
    modulus = tf.constant(2 ** modulus_bits, tf.int64)
    coordinates = sum(int(np.prod(s.shape)) for s in tf.nest.flatten(value_type))

    def encode(v):
        clipped = tf.clip_by_value(v, -clip_range, clip_range)
        encoded = tf.cast(tf.round((clipped + clip_range) / (2 * clip_range) * levels), tf.int64) % modulus
        return tf.reduce_sum(encoded, axis=0) % modulus

    def sums(value):
        return {"encoded": tf.nest.map_structure(encode, value),
                "clipped": tf.add_n([tf.reduce_sum(tf.cast(tf.abs(v) > clip_range, tf.float32))
                                     for v in tf.nest.flatten(value)])}

    def finish(total, n):
        def decode(encoded):  # the sum modulo 2^modulus_bits is all the server sees
            decoded = tf.cast(encoded % modulus, tf.float32) * (2 * clip_range / levels) - n * clip_range
            return decoded / n if average else decoded

        return tf.nest.map_structure(decode, total["encoded"]), {
            "clipped_coordinates": total["clipped"], "bytes_received": n * coordinates * modulus_bits / 8}

    return build_sum_leaf(value_type, sums, finish, name=name)


SECAGG_MAX = 2 ** 32 - 1  # TFF's: values are quantized to 32 bits, summed exactly in int64


def build_secure_quantized_sum(value_type, *, upper_bound, lower_bound=None, target_quantile=None,
                               learning_rate=1.0, multiplier=2.0, increment=0.0, name="secure_sum"):
    """TFF's `SecureSumFactory` with float bounds (`primitives.secure_quantized_sum`): each client's
    value is clipped to [lower_bound, upper_bound] (lower: -upper unless given), quantized to 32 bits
    by deterministic rounding, summed exactly and decoded; the sum is exact to (upper - lower) / 2^32
    per client and coordinate. With `target_quantile` the bound adapts as TFF's
    `PrivateQuantileEstimationProcess.no_noise(upper_bound, target_quantile, learning_rate,
    multiplier, increment)`: the bound is `estimate x multiplier + increment` (and its negative the
    lower one), the estimate tracks that quantile of each client's largest absolute entry.
    Measures `secure_upper_clipped_count`, `secure_lower_clipped_count` (clients whose largest /
    smallest entry passed a bound) and both bounds. Returns an unweighted `AggregationProcess`;
    raises ValueError for bounds that do not make a range."""
    if lower_bound is not None:
        checks.number("lower_bound", lower_bound, at_least=-math.inf)
    checks.number("upper_bound", upper_bound, above=0 if lower_bound is None else lower_bound,
                  context=None if lower_bound is None else "lower_bound")
    if target_quantile is not None:
        check_quantile(target_quantile, learning_rate)
        checks.require("lower_bound", lower_bound, lower_bound is None, "unset with target_quantile (the bound "
                       "is symmetric)")
        checks.number("multiplier", multiplier, above=0)
        checks.number("increment", increment, at_least=0)

    coordinates = sum(math.prod(s.shape) for s in tf.nest.flatten(value_type))

    def initialize():
        return {"estimate": tf.constant(upper_bound, tf.float32)} if target_quantile is not None else ()

    fixed_lower = -upper_bound if lower_bound is None else lower_bound

    def bounds(state):
        if target_quantile is None:
            return tf.constant(upper_bound, tf.float64), tf.constant(fixed_lower, tf.float64)
        upper = tf.cast(state["estimate"] * multiplier + increment, tf.float64)
        return upper, -upper

    def quantization(state):
        upper, lower = bounds(state)
        scale = tf.math.divide_no_nan(tf.constant(SECAGG_MAX, tf.float64), upper - lower)
        return upper, lower, scale, tf.saturate_cast(tf.round(lower * scale), tf.int64)

    def partial(state, value):
        n = num_clients(value)
        upper, lower, scale, shift = quantization(state)

        def quantized_sum(v):  # as TFF's _client_tensor_shift_for_secure_sum: 32-bit integers, summed exactly
            q = tf.saturate_cast(tf.round(tf.clip_by_value(tf.cast(v, tf.float64), lower, upper) * scale), tf.int64)
            return tf.reduce_sum(tf.clip_by_value(q - shift, 0, SECAGG_MAX), axis=0)

        leaves = tf.nest.flatten(value)
        largest = tf.reduce_max(tf.stack([tf.reduce_max(tf.reshape(v, [n, -1]), axis=1) for v in leaves]), axis=0)
        smallest = tf.reduce_min(tf.stack([tf.reduce_min(tf.reshape(v, [n, -1]), axis=1) for v in leaves]), axis=0)
        sums = {"quantized": tf.nest.map_structure(quantized_sum, value), "clients": tf.cast(n, tf.int64),
                "upper_clipped": tf.reduce_sum(tf.cast(tf.cast(largest, tf.float64) > upper, tf.float32)),
                "lower_clipped": tf.reduce_sum(tf.cast(tf.cast(smallest, tf.float64) < lower, tf.float32))}
        if target_quantile is not None:
            magnitude = tf.maximum(tf.abs(largest), tf.abs(smallest))
            sums["below"] = tf.reduce_sum(tf.cast(magnitude <= state["estimate"], tf.float32))
        return sums

    def finalize(state, sums):
        upper, lower, _, shift = quantization(state)

        def decode(total, spec):  # as TFF's _server_tensor_shift_for_secure_sum
            total = total + shift * sums["clients"]
            return tf.cast(tf.cast(total, tf.float64) * ((upper - lower) / SECAGG_MAX), spec.dtype)

        result = tf.nest.map_structure(decode, sums["quantized"], value_type)
        if target_quantile is not None:
            below = sums["below"] / tf.cast(sums["clients"], tf.float32)
            state = {"estimate": next_quantile_estimate(state["estimate"], below, target_quantile, learning_rate)}
        measurements = {
            "secure_upper_clipped_count": sums["upper_clipped"], "secure_lower_clipped_count": sums["lower_clipped"],
            "secure_upper_threshold": tf.cast(upper, tf.float32), "secure_lower_threshold": tf.cast(lower, tf.float32),
            "bytes_received": tf.cast(sums["clients"], tf.float32) * coordinates * 4}
        return MeasuredProcessOutput(state, result, {name: measurements})

    return build_decomposed(value_type, name=name, initialize=initialize, partial=partial, finalize=finalize)

"""Clips each client's value to a global L2 norm, then aggregates with the inner aggregator
(TFF's `clipping_factory`). The norm is fixed, or adaptive: with `target_quantile` it tracks
that quantile of the clients' norms, starting at `clip_norm` (Andrew et al. 2021).

    next: (<S@SERVER, V@CLIENTS[, float32@CLIENTS]> -> <state=S@SERVER, result=V@SERVER, measurements=M@SERVER>)

Measures `clip_norm` (the norm this round used) and `clipped_count`.
"""

import tensorflow as tf

from fedexp.aggregator.stage import (
    build_stage, check_positive, check_quantile, client_norms, inner_or_mean, next_quantile_estimate, scale_clients)


def clip(value, clip_norm):
    """Each client's value scaled to at most `clip_norm`; also returns the norms before clipping."""
    norms = client_norms(value)
    return scale_clients(value, clip_norm / tf.maximum(norms, clip_norm)), norms


def build_clipping(value_type, inner=None, *, clip_norm=1.0, target_quantile=None, learning_rate=0.2,
                   name="clipping"):
    check_positive("clip_norm", clip_norm)
    check_quantile(target_quantile, learning_rate)

    def initial_state():
        return {"clip_norm": tf.constant(clip_norm, tf.float32)}

    def step(own, value, aggregate):
        norm = own["clip_norm"]
        clipped, norms = clip(value, norm)
        result = aggregate(clipped)
        if target_quantile is not None:
            below = tf.reduce_mean(tf.cast(norms <= norm, tf.float32))
            own = {"clip_norm": next_quantile_estimate(norm, below, target_quantile, learning_rate)}
        return own, result, {"clip_norm": norm, "clipped_count": tf.reduce_sum(tf.cast(norms > norm, tf.float32))}

    return build_stage(value_type, inner_or_mean(value_type, inner), name=name, initial_state=initial_state,
                       step=step, hparams=("clip_norm",) if target_quantile is None else ())

"""Clips each client's value to a global L2 norm, then aggregates with the inner aggregator
(TFF's `clipping_factory`). The norm is fixed, or adaptive: with `target_quantile` it tracks
that quantile of the clients' norms, starting at `clip_norm` (Andrew et al. 2021).

    next: (<S@SERVER, V@CLIENTS[, float32@CLIENTS]> -> <state=S@SERVER, result=V@SERVER, measurements=M@SERVER>)

Measures `clip_norm` (the norm this round used) and `clipped_count`.
"""

import tensorflow as tf

from fedexp import checks
from fedexp.aggregator._shared import build_stage, check_quantile, next_quantile_estimate
from fedexp.templates.client_values import clip_clients


def build_clipping(value_type, inner, *, clip_norm=1.0, target_quantile=None, learning_rate=0.2,
                   name="clipping"):
    """Clips each client's value to `clip_norm` (or, with `target_quantile`, to an adaptive
    estimate of that quantile of the norms, moved by `learning_rate`), then aggregates with
    `inner` (an `AggregationProcess`, required as in TFF's `clipping_factory`). Returns an
    `AggregationProcess` weighted as `inner` (see the module's signature); raises ValueError
    for a norm <= 0, a quantile outside (0, 1), a learning rate <= 0 or an `inner` that is not an aggregator."""
    checks.number("clip_norm", clip_norm, above=0)
    check_quantile(target_quantile, learning_rate)

    def initial_state():
        return {"clip_norm": tf.constant(clip_norm, tf.float32)}

    def prepare(own, value):
        clipped, norms = clip_clients(value, own["clip_norm"])
        return clipped, {"below": tf.reduce_sum(tf.cast(norms <= own["clip_norm"], tf.float32)),
                         "clipped": tf.reduce_sum(tf.cast(norms > own["clip_norm"], tf.float32)),
                         "clients": tf.cast(tf.size(norms), tf.float32)}

    def finish(own, counts, result):
        norm = own["clip_norm"]
        if target_quantile is not None:
            own = {"clip_norm": next_quantile_estimate(norm, counts["below"] / counts["clients"], target_quantile,
                                                       learning_rate)}
        return own, result, {"clip_norm": norm, "clipped_count": counts["clipped"]}

    return build_stage(value_type, inner, name=name, initial_state=initial_state, prepare=prepare, finish=finish,
                       hparams=("clip_norm",) if target_quantile is None else ())

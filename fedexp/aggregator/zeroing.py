"""Zeroes out the values of clients whose norm exceeds a threshold (or is not finite), then
aggregates with the inner aggregator (TFF's `zeroing_factory`); their weights are kept, as
in TFF. The threshold is fixed (`zeroing_norm`), or adaptive: with `target_quantile` it is
`multiplier * q + increment` for q an estimate of that quantile of the norms, starting at
`zeroing_norm` (TFF's `robust_aggregator`: 0.98, x2 + 1, learning rate log 10).

    next: (<S@SERVER, V@CLIENTS[, float32@CLIENTS]> -> <state=S@SERVER, result=V@SERVER, measurements=M@SERVER>)

Measures `zeroing_norm` (the threshold this round used) and `zeroed_count`. The norm is TFF's
default, the largest absolute entry (`norm_order="inf"`): zeroing is against corrupted values, and a
value with one huge entry is what corruption looks like; `norm_order=2` measures the L2 norm. Unlike
TFF, a value that is not finite is zeroed too (TFF keeps it, and the round's model is lost).
"""

import math

import tensorflow as tf

from fedexp import checks
from fedexp.aggregator._shared import build_stage, check_quantile, next_quantile_estimate
from fedexp.templates.client_values import client_norms, scale_clients


def build_zeroing(value_type, inner, *, zeroing_norm=10.0, target_quantile=None, learning_rate=math.log(10.0),
                  multiplier=2.0, increment=1.0, norm_order="inf", name="zeroing"):
    """Zeroes each client's value whose `norm_order` norm ("inf", TFF's default: its largest absolute
    entry; or 2) exceeds `zeroing_norm`
    (or, with `target_quantile`, `multiplier` x an adaptive quantile estimate + `increment`), then
    aggregates with `inner` (required). Returns an `AggregationProcess` weighted as `inner`;
    raises ValueError for a bad norm, order, quantile or learning rate."""
    checks.number("zeroing_norm", zeroing_norm, above=0)
    check_quantile(target_quantile, learning_rate)
    checks.one_of("norm_order", norm_order, (2, "inf"))
    adaptive = target_quantile is not None

    def threshold(estimate):
        return estimate * multiplier + increment if adaptive else estimate

    def initial_state():
        return {"zeroing_norm": tf.constant(zeroing_norm, tf.float32)}

    def prepare(own, value):
        norms = client_norms(value, norm_order)
        keep = tf.cast(tf.math.is_finite(norms) & (norms <= threshold(own["zeroing_norm"])), tf.float32)
        value = tf.nest.map_structure(lambda v: tf.where(tf.math.is_finite(v), v, tf.zeros_like(v)), value)
        return scale_clients(value, keep), {
            "below": tf.reduce_sum(tf.cast(norms <= own["zeroing_norm"], tf.float32)),
            "zeroed": tf.reduce_sum(1.0 - keep), "clients": tf.cast(tf.size(norms), tf.float32)}

    def finish(own, counts, result):
        bound = threshold(own["zeroing_norm"])
        if adaptive:
            own = {"zeroing_norm": next_quantile_estimate(own["zeroing_norm"], counts["below"] / counts["clients"],
                                                          target_quantile, learning_rate)}
        return own, result, {"zeroing_norm": bound, "zeroed_count": counts["zeroed"]}

    return build_stage(value_type, inner, name=name, initial_state=initial_state, prepare=prepare, finish=finish,
                       hparams=() if adaptive else ("zeroing_norm",))

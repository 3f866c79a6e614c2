"""Central DP-FedAvg's aggregator (McMahan et al. 2018; TFF's `DifferentiallyPrivateFactory`
with the Gaussian mechanism): clip each client's value to norm C, sum them (the inner
aggregator: `sum` or `secure_sum`), add Gaussian noise of standard deviation z * C to every
coordinate, and divide by the expected cohort size.

    next: (<S@SERVER, V@CLIENTS> -> <state=S@SERVER, result=V@SERVER, measurements=M@SERVER>)

C is fixed (`clip_norm`) or adaptive (`target_quantile`; Andrew et al. 2021): the clipped
count is released with noise of standard deviation `clipped_count_stddev` (default m / 20
for m clients per round), and the value's noise multiplier becomes
z_value = (z^-2 - (2 * clipped_count_stddev)^-2)^(-1/2), so that the round as a whole has
noise multiplier z. Measures `clip_norm`, `clipped_count` (exact; not released),
`noise_multiplier` (z) and `noise_stddev` (z_value * C).

Given the population `num_clients`, the stage declares a round monitor, the `PrivacyLedger`:
each round is a Poisson-sampled Gaussian mechanism with sampling rate m / num_clients,
composed by `dp-accounting`'s RDP or PLD accountant; epsilon at `delta` is logged every
round and the run stops before a round that would exceed `epsilon_budget`.
"""

import tensorflow as tf

from fedexp import checks
from fedexp.aggregator._privacy import ACCOUNTANTS, PrivacyLedger
from fedexp.aggregator._shared import build_stage, check_inner, check_quantile, next_quantile_estimate
from fedexp.errors import InvalidValueError
from fedexp.templates.client_values import clip_clients

def build_dp_gaussian(value_type, inner, *, noise_multiplier=1.0, clients_per_round, clip_norm=1.0,
                      target_quantile=None, learning_rate=0.2, clipped_count_stddev=None, num_clients=None,
                      delta=None, epsilon_budget=None, accountant="rdp", seed=0, name="dp_gaussian"):
    """Central DP's Gaussian mechanism around `inner` (required: `build_sum` or `build_secure_sum`
    with average=false). `clients_per_round` (the expected cohort, the divisor) and `num_clients`
    (the population, for the sampling rate and the default delta = 1 / num_clients) are filled in
    by the `fedexp` command; given `num_clients`, the stage declares its `PrivacyLedger` as a
    round monitor. Returns an unweighted `AggregationProcess`; raises ValueError for a bad
    setting, a weighted `inner`, or an `epsilon_budget` that not even one round fits in."""
    checks.number("clip_norm", clip_norm, above=0)
    checks.number("clients_per_round", clients_per_round, above=0)
    check_quantile(target_quantile, learning_rate)
    checks.number("noise_multiplier", noise_multiplier, at_least=0)
    checks.one_of("accountant", accountant, ACCOUNTANTS)
    if epsilon_budget is not None:
        checks.number("epsilon_budget", epsilon_budget, above=0)
    if delta is not None:
        checks.fraction("delta", delta)
    adaptive = target_quantile is not None
    count_stddev = clients_per_round / 20 if clipped_count_stddev is None else clipped_count_stddev
    if adaptive and not 2 * count_stddev > noise_multiplier:
        raise InvalidValueError("clipped_count_stddev", f"clipped_count_stddev must exceed noise_multiplier / 2 = "
                                f"{noise_multiplier / 2} for adaptive clipping, found {count_stddev}")
    checks.require("inner", inner.name, not check_inner(inner).is_weighted, "an unweighted sum (sum or secure_sum)")

    def value_noise_multiplier(z):
        if not adaptive:
            return z
        return tf.math.rsqrt(tf.maximum(z ** -2 - (2 * count_stddev) ** -2, 0.0))

    def initial_state():
        return {"clip_norm": tf.constant(clip_norm, tf.float32),
                "noise_multiplier": tf.constant(noise_multiplier, tf.float32), "round": tf.constant(0, tf.int64)}

    def prepare(own, value):
        clipped, norms = clip_clients(value, own["clip_norm"])
        return clipped, {"below": tf.reduce_sum(tf.cast(norms <= own["clip_norm"], tf.float32)),
                         "clients": tf.cast(tf.size(norms), tf.float32)}

    def finish(own, counts, total):  # the noise is drawn once, from the seed and the round
        norm, z, below = own["clip_norm"], own["noise_multiplier"], counts["below"]
        stddev = value_noise_multiplier(z) * norm
        leaves = tf.nest.flatten(total)
        seeds = tf.random.experimental.stateless_split(tf.stack([tf.constant(seed, tf.int64), own["round"]]),
                                                       len(leaves) + 1)
        noised = [v + tf.random.stateless_normal(tf.shape(v), seeds[i], stddev=stddev) for i, v in enumerate(leaves)]
        result = tf.nest.pack_sequence_as(total, [v / clients_per_round for v in noised])
        new = {**own, "round": own["round"] + 1}
        if adaptive:
            noisy_below = below + tf.random.stateless_normal([], seeds[-1], stddev=count_stddev)
            new["clip_norm"] = next_quantile_estimate(norm, noisy_below / clients_per_round, target_quantile,
                                                      learning_rate)
        return new, result, {"clip_norm": norm, "clipped_count": counts["clients"] - below, "noise_multiplier": z,
                             "noise_stddev": stddev}

    monitors = ()
    if num_clients is not None:
        if clients_per_round > num_clients:
            raise ValueError(f"clients_per_round ({clients_per_round}) exceeds num_clients ({num_clients})")
        ledger = PrivacyLedger(
            sampling_rate=clients_per_round / num_clients, delta=1 / num_clients if delta is None else delta,
            noise_multiplier=noise_multiplier, epsilon_budget=epsilon_budget, accountant=accountant, stage=name)
        ledger.check_budget()
        monitors = (ledger,)
    return build_stage(value_type, inner, name=name, initial_state=initial_state, prepare=prepare, finish=finish,
                       hparams=("noise_multiplier",) + (() if adaptive else ("clip_norm",)), monitors=monitors)

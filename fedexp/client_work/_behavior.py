"""What clients do besides honest training, simulated inside the round's program: a client work
around another, with an `attack` (`fedexp.attack`), `dropout` (`fedexp.dropout`) and `stragglers`
(`fedexp.stragglers`), any of them None.

    next: (<S@SERVER, W@CLIENTS, Cohort@CLIENTS> -> <state=S@SERVER, result=ClientResult@CLIENTS, measurements=M@SERVER>)

Every draw is a mask or a factor over the cohort, from the seed, the round and the client's id:
the malicious clients are a fixed set of the population chosen from the seed; each round draws
who fails to report, who straggles and after how many of its steps. Clients that do not report
do not train (their batches are masked out) and are left out of the result, so the aggregator
sees only the clients kept — as many as `clients_per_round` at most (over-selection). A straggler's
batches after its drawn step are masked out; a malicious client's labels are poisoned before it
trains, or its update crafted after. Measures, under `clients`: `sampled`, `reported`,
`malicious_in_cohort` (reporting malicious clients), `stragglers` (sampled ones).
"""

import numpy as np
import tensorflow as tf

from fedexp import checks
from fedexp.templates import ClientResult, ClientWorkProcess, Computation, MeasuredProcessOutput
from fedexp.templates.client_data import num_batches


def malicious_clients(num_clients, fraction, seed) -> np.ndarray:
    """Which of the population are malicious: round(fraction x num_clients) of them, drawn from the seed."""
    table = np.zeros(num_clients, bool)
    table[np.random.default_rng([seed, 7]).choice(num_clients, round(fraction * num_clients), replace=False)] = True
    return table


def round_draws(seed, round_num, num_clients):
    """A round's uniforms for every client of the population, by id — (whether it fails to report, whether it
    straggles, after how much of its work it stops) — and the attack's seed for the round."""
    seeds = tf.random.experimental.stateless_split(tf.stack([tf.constant(seed, tf.int64), 1000 + round_num]), 4)
    return [tf.random.stateless_uniform([num_clients], s) for s in tf.unstack(seeds[:3])], seeds[3]


def build_client_behavior(client_work, *, num_clients, seed=0, clients_per_round=None, num_classes=None,
                          attack=None, dropout=None, stragglers=None):
    """`client_work` (a `ClientWorkProcess`) with the given behaviours. `num_clients`: the population
    (client ids are below it); `clients_per_round`: how many reporting clients to keep (needed with
    dropout's over-selection); `num_classes`: needed by a data-poisoning attack. Returns a
    `ClientWorkProcess` with the same hyperparameters; raises ValueError for a missing argument."""
    checks.integer("num_clients", num_clients, at_least=1)
    if attack is not None and attack.poison is not None:
        checks.integer("num_classes", num_classes, at_least=2)
    keep = clients_per_round if dropout is not None and dropout.over_selection > 0 else None
    if keep is not None:
        checks.integer("clients_per_round", clients_per_round, at_least=1)
    table = tf.constant(malicious_clients(num_clients, attack.fraction if attack else 0.0, seed))

    def initialize():
        return {"inner": client_work.initialize_fn.fn(), "round": tf.constant(0, tf.int64)}

    def next_fn(state, weights, data):
        uniforms, attack_seed = round_draws(seed, state["round"], num_clients)
        u_report, u_straggle, u_steps = (tf.gather(u, data.ids) for u in uniforms)
        malicious = tf.gather(table, data.ids)
        reported = tf.ones_like(malicious)
        if dropout is not None:
            reported = u_report >= dropout.rate
        straggler = tf.zeros_like(malicious)
        mask = data.mask
        if stragglers is not None:
            straggler = u_straggle < stragglers.fraction
            if stragglers.drop:
                reported &= ~straggler
            else:  # steps 1..all of the client's, uniformly
                steps = num_batches(mask)
                stop = tf.where(straggler, 1 + tf.cast(tf.floor(u_steps * tf.cast(steps, tf.float32)), tf.int32), steps)
                mask *= tf.cast(tf.range(tf.shape(mask)[1])[None, :] < stop[:, None], mask.dtype)[:, :, None]
        if keep is not None:  # the first clients_per_round that report
            reported &= tf.cumsum(tf.cast(reported, tf.int32)) <= keep
        mask *= tf.cast(reported, mask.dtype)[:, None, None]  # clients that do not report do not train
        y = data.y
        if attack is not None and attack.poison is not None:
            y = attack.poison(y, malicious, num_classes)
        out = client_work.next_fn.fn(state["inner"], weights, data._replace(y=y, mask=mask))
        update = out.result.update
        if attack is not None and attack.craft is not None:
            update = attack.craft(update, out.result.update, malicious, reported, attack_seed)
        result = ClientResult(*(tf.nest.map_structure(lambda v: tf.boolean_mask(v, reported), part)
                                for part in (update, out.result.update_weight)))
        counts = {"sampled": tf.size(reported), "reported": tf.reduce_sum(tf.cast(reported, tf.int32)),
                  "malicious_in_cohort": tf.reduce_sum(tf.cast(reported & malicious, tf.int32)),
                  "stragglers": tf.reduce_sum(tf.cast(straggler, tf.int32))}
        return MeasuredProcessOutput({"inner": out.state, "round": state["round"] + 1}, result,
                                     {**out.measurements, "clients": tf.nest.map_structure(
                                         lambda c: tf.cast(c, tf.int64), counts)})

    def get_hparams(state):
        return client_work.get_hparams_fn.fn(state["inner"])

    def set_hparams(state, hparams):
        return {**state, "inner": client_work.set_hparams_fn.fn(state["inner"], hparams)}

    init_fn = Computation(initialize)
    state_type = init_fn.result_type
    get_fn = Computation(get_hparams, state_type)
    work = ClientWorkProcess(init_fn, Computation(next_fn, state_type, *client_work.next_fn.parameter_type[1:]), get_fn,
                             Computation(set_hparams, state_type, get_fn.result_type), name=client_work.name,
                             monitors=client_work.monitors)
    work.state_from_cohort = client_work.state_from_cohort
    work.batched = getattr(client_work, "batched", None)
    return work

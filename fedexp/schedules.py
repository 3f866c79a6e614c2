"""Round-indexed hyperparameter schedules, applied through `set_hparams` before each round.

In YAML, `schedules` mirrors the learning process's hyperparameters (`get_hparams`), with a
schedule where a value should change:

    schedules:
      client_work:
        learning_rate: {kind: cosine, initial: 0.1, rounds: 50, final: 0.001}
      aggregator:
        clipping:
          clip_norm: {kind: piecewise, boundaries: [10, 20], values: [1.0, 0.5, 0.25]}

Rounds count from 1. Kinds:
    constant     value
    piecewise    boundaries, values    values[i] from round boundaries[i-1] on (alias: step)
    exponential  initial, decay_rate, decay_rounds, staircase=false
                 initial * decay_rate ** ((round - 1) / decay_rounds), floored with staircase
    cosine       initial, rounds, final=0    from initial (round 1) to final (round rounds + 1), then final
    warmup       rounds, then: a schedule  linear up to then's first value over `rounds`, then `then`
"""

import math

import tensorflow as tf

from fedexp import checks


def constant(*, value):
    return lambda r: value


def piecewise(*, boundaries, values):
    if len(values) != len(boundaries) + 1 or list(boundaries) != sorted(boundaries):
        raise ValueError(f"piecewise needs increasing boundaries and one value more than boundaries, found "
                         f"boundaries {list(boundaries)} and values {list(values)}")
    return lambda r: values[sum(r >= b for b in boundaries)]


def exponential(*, initial, decay_rate, decay_rounds, staircase=False):
    def value(r):
        p = (r - 1) / decay_rounds
        return initial * decay_rate ** (math.floor(p) if staircase else p)
    return value


def cosine(*, initial, rounds, final=0.0):
    return lambda r: final + (initial - final) * (1 + math.cos(math.pi * min(r - 1, rounds) / rounds)) / 2


def warmup(*, rounds, then):
    after = build_schedule(then)
    return lambda r: after(1) * r / rounds if r <= rounds else after(r - rounds)


KINDS = {"constant": constant, "piecewise": piecewise, "step": piecewise, "exponential": exponential,
         "cosine": cosine, "warmup": warmup}


def build_schedule(spec):
    """A function round -> value from `{kind: ..., **settings}`."""
    spec = dict(spec)
    kind = spec.pop("kind", None)
    checks.one_of("kind", kind, KINDS)
    try:
        return KINDS[kind](**spec)
    except TypeError as e:
        raise ValueError(f"{kind}: {str(e).split(') ', 1)[-1]}") from None


def build_schedules(tree, hparams, path=()):
    """`{path: schedule}` for every schedule in `tree` (nested like `hparams`); raises a
    ValueError naming the key when a path is not a hyperparameter of the process."""
    schedules = {}
    for key, node in tree.items():
        where = (*path, key)
        if not isinstance(hparams, dict) or key not in hparams:
            raise ValueError(f"schedules.{'.'.join(where)}: no such hyperparameter; there are: "
                             f"{', '.join(_paths(hparams, path)) or 'none'}")
        if isinstance(node, dict) and "kind" in node:
            try:
                schedules[where] = build_schedule(node)
            except ValueError as e:
                raise ValueError(f"schedules.{'.'.join(where)}: {e}") from None
        else:
            schedules.update(build_schedules(node, hparams[key], where))
    return schedules


def check_schedules(schedules, rounds):
    """Refuses a schedule whose value at any of rounds 1..`rounds` is outside its hyperparameter's range
    (`checks.hparam`): what would be refused if set directly is refused when scheduled."""
    for path, schedule in schedules.items():
        for round_num in range(1, rounds + 1):
            checks.hparam(f"schedules.{'.'.join(path)}", schedule(round_num), context=f"its value at round {round_num}")


def _paths(tree, prefix=()):
    if not isinstance(tree, dict):
        return [".".join(prefix)]
    return [p for k, v in tree.items() for p in _paths(v, (*prefix, k))]


def apply_schedules(process, state, schedules, round_num):
    """The state with every scheduled hyperparameter set to its value for `round_num`."""
    if not schedules:
        return state
    hparams = process.get_hparams(state)
    for path, schedule in schedules.items():
        node = hparams
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = tf.constant(schedule(round_num), node[path[-1]].dtype)
    return process.set_hparams(state, hparams)

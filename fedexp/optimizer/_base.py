"""Functional optimizers with their hyperparameters in their state (as TFF's).

An optimizer is a `NamedTuple` of pure functions, usable on clients and on the server:

    initialize(specs) -> state
    next(state, weights, gradients) -> (state, weights)
    get_hparams(state) -> {name: scalar}
    set_hparams(state, hparams) -> state

Keras 3's optimizers bake every hyperparameter but the learning rate into the traced
program as Python floats; keeping them all in the state lets `set_hparams` (and
schedules) change any of them between rounds without retracing.
"""

from typing import Any, Callable, NamedTuple

import tensorflow as tf

from fedexp import checks


class Optimizer(NamedTuple):
    initialize: Callable[[Any], dict]
    next: Callable[[dict, Any, Any], tuple]
    get_hparams: Callable[[dict], dict]
    set_hparams: Callable[[dict, dict], dict]
    elementwise: bool = True  # each entry updated alone: a stack of clients' weights can step at once


def check_optimizer(key, optimizer):
    """`optimizer`, if it is a fedexp optimizer; else an InvalidValueError naming `key` (TFF's older
    `lambda: tf.keras.optimizers.SGD(0.02)` form included)."""
    return checks.require(key, optimizer, isinstance(optimizer, Optimizer),
                          "a fedexp optimizer (fedexp.build_sgdm(0.02), fedexp.build_adam(0.001), ...; TFF's "
                          "`lambda: tf.keras.optimizers.SGD(0.02)` is fedexp.build_sgdm(0.02))")


def build_optimizer(name, hparams: dict, slots: Callable[[Any], dict], update, *, elementwise=True) -> Optimizer:
    """Builds an `Optimizer` from its hyperparameters and a per-tensor update rule.

    `slots(like)` gives the initial accumulators of one weight tensor (`like` is its spec,
    or a tensor of its shape: a stack of clients' weights gets per-client accumulators);
    `update(hp, step, slot, w, g) -> (slot, w)` updates one tensor, where `hp` holds
    the hyperparameters and `step` counts the updates so far, this one included.
    `elementwise=False`: the update reads across a tensor's entries (Adafactor's factored
    moments and RMS), so clients' weights cannot be stacked into one tensor for it.
    """
    for key, value in hparams.items():
        checks.hparam(key, value, context=name)

    def initialize(specs):
        state = {k: tf.constant(v, tf.float32) for k, v in hparams.items()}
        state["step"] = tf.constant(0, tf.int64)
        state["slots"] = tuple(slots(s) for s in tf.nest.flatten(specs))
        return state

    def next_(state, weights, gradients):
        step = state["step"] + 1
        hp = {k: state[k] for k in hparams}
        flat_w, flat_g = tf.nest.flatten(weights), tf.nest.flatten(gradients)
        new_slots, new_w = [], []
        for slot, w, g in zip(state["slots"], flat_w, flat_g):
            slot, w = update(hp, step, slot, w, tf.cast(g, w.dtype))
            new_slots.append(slot)
            new_w.append(w)
        return ({**state, "step": step, "slots": tuple(new_slots)},
                tf.nest.pack_sequence_as(weights, new_w))

    def get_hparams(state):
        return {k: state[k] for k in hparams}

    def set_hparams(state, new):
        unknown = set(new) - set(hparams)
        if unknown:
            raise KeyError(f"{name}: unknown hyperparameter(s) {sorted(unknown)}; it has {sorted(hparams)}")
        return {**state, **{k: tf.cast(v, tf.float32) for k, v in new.items()}}

    return Optimizer(initialize, next_, get_hparams, set_hparams, elementwise)


def zeros(like):
    """Zeros shaped like a weight given as a `tf.TensorSpec` or as a tensor."""
    return tf.zeros_like(like) if tf.is_tensor(like) else tf.zeros(like.shape, like.dtype)


def fill(like, value):
    return zeros(like) + tf.constant(value, like.dtype)


def bias_corrected_lr(hp, step):
    """Adam's step size: lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)."""
    t = tf.cast(step, tf.float32)
    return hp["learning_rate"] * tf.sqrt(1 - tf.pow(hp["beta_2"], t)) / (1 - tf.pow(hp["beta_1"], t))

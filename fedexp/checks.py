"""Checks of a builder's arguments, each refusing a bad value with one `InvalidValueError`
that names the key: `clip_norm must be a number > 0, found -1`."""

import math
import numbers

from fedexp.errors import InvalidValueError


def require(key, value, ok, allowed, *, context=None):
    """Raises `{key} must be {allowed}, found {value!r}[ ({context})]` unless `ok`."""
    if not ok:
        raise InvalidValueError(key, f"{key} must be {allowed}, found {value!r}" + (f" ({context})" if context else ""))
    return value


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_finite(value):
    return _is_number(value) and math.isfinite(value)


def is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def number(key, value, *, above=None, at_least=None, context=None):
    """A finite real number `> above` or `>= at_least`."""
    if above is not None:
        return require(key, value, _is_finite(value) and value > above, f"a number > {above}", context=context)
    return require(key, value, _is_finite(value) and value >= at_least, f"a number >= {at_least}", context=context)


# A hyperparameter's range by its name (the last part of its key), wherever its value comes from: YAML, the
# command line, a schedule's value at each round, the Python API. Any other: a finite number >= 0.
RANGES = {
    "learning_rate": (lambda v: v > 0, "a number > 0"),  # at 0 nothing learns: also server_/client_learning_rate
    "momentum": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "beta_1": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "beta_2": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "rho": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "epsilon": (lambda v: v > 0, "a number > 0"),
    "clip_norm": (lambda v: v > 0, "a number > 0"),
    "epsilon_1": (lambda v: v > 0, "a number > 0"),
    "beta_2_decay": (lambda v: v < 0, "a number < 0"),  # Adafactor's beta_2 = 1 - t^decay rises to 1
    "clip_threshold": (lambda v: v > 0, "a number > 0"),
}


def hparam(key, value, *, context=None):
    """A hyperparameter in its range (`RANGES`)."""
    name = key.rsplit(".", 1)[-1]
    test, allowed = RANGES.get("learning_rate" if name.endswith("learning_rate") else name,
                               (lambda v: v >= 0, "a number >= 0"))
    return require(key, value, _is_finite(value) and test(value), allowed, context=context)


def integer(key, value, *, at_least, at_most=None):
    """An integer `>= at_least` (and `<= at_most`)."""
    if at_most is None:
        return require(key, value, is_integer(value) and value >= at_least, f"an integer >= {at_least}")
    return require(key, value, is_integer(value) and at_least <= value <= at_most,
                   f"an integer from {at_least} to {at_most}")


def fraction(key, value):
    """A number strictly between 0 and 1."""
    return require(key, value, _is_number(value) and 0 < value < 1, "between 0 and 1")


def probability(key, value):
    """A number from 0 to 1, both included."""
    return require(key, value, _is_number(value) and 0 <= value <= 1, "a number from 0 to 1")


def one_of(key, value, choices):
    """One of `choices`."""
    return require(key, value, value in tuple(choices), f"one of {list(choices)}")


def boolean(key, value):
    return require(key, value, isinstance(value, bool), "true or false")


def refuse(key, problem):
    """Raises `{key}: {problem}`, for what a range cannot say (`path: … is not an HDF5 file`)."""
    raise InvalidValueError(key, f"{key}: {problem}")

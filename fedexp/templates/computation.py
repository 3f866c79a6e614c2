"""Types read off by tracing, and placement as a shape (DESIGN decision 2).

A type is a nest of `tf.TensorSpec`s. A value at CLIENTS is stacked along a
leading cohort axis whose size is unknown when traced (`None`); a value at SERVER
has no such axis. So the placement of a traced value is read off its shapes:

    float32[784,10]     a server value       (placement SERVER)
    float32[?,784,10]   one per client       (placement CLIENTS, member float32[784,10])
"""

import inspect
from typing import Any, Callable

import tensorflow as tf

from fedexp.templates import errors

SERVER = "SERVER"
CLIENTS = "CLIENTS"


def at_clients(member_type):
    """The CLIENTS type whose members have `member_type`: a leading cohort axis on every leaf."""
    return tf.nest.map_structure(lambda s: tf.TensorSpec([None, *s.shape], s.dtype), member_type)


def member_type(clients_type):
    """The type of one client's value in a CLIENTS type."""
    return tf.nest.map_structure(lambda s: tf.TensorSpec(s.shape[1:], s.dtype), clients_type)


def type_of(value):
    """The type of a nest of tensors or values convertible to tensors; `None` leaves stay `None`."""
    def spec(v):
        return None if v is None else tf.TensorSpec.from_tensor(v if tf.is_tensor(v) else tf.convert_to_tensor(v))
    return tf.nest.map_structure(spec, value)


def bytes_of(type_) -> int:
    """The size in bytes of a value of `type_` (fully shaped)."""
    return sum(s.shape.num_elements() * s.dtype.size for s in tf.nest.flatten(type_))


def placement_of(type_):
    """SERVER, CLIENTS, None for an empty nest (placeable anywhere); raises if neither."""
    leaves = tf.nest.flatten(type_)
    if not all(isinstance(s, tf.TensorSpec) for s in leaves):
        raise ValueError("not a nest of tensors")
    at = {CLIENTS if s.shape.rank and s.shape[0] is None else SERVER for s in leaves}
    if len(at) > 1:
        raise ValueError("leaves placed at both SERVER and CLIENTS")
    return at.pop() if at else None


def check_placement(type_, expected, what, *, not_federated=errors.TemplateNotFederatedError,
                    wrong_placement=errors.TemplatePlacementError):
    """Raises unless `type_` is federated and placed at `expected` (an empty nest is placed anywhere)."""
    try:
        found = placement_of(type_)
    except ValueError as e:
        raise not_federated(f"{what}: expected a value placed at {expected}, found {type_str(type_)} ({e})") from None
    if found not in (None, expected):
        raise wrong_placement(f"{what}: expected a value placed at {expected}, found {type_str(type_)}")


def is_assignable(target, source) -> bool:
    """True if a value of type `source` can be passed where `target` is expected."""
    try:
        tf.nest.assert_same_structure(target, source, check_types=False)
    except (ValueError, TypeError):
        return False
    return all(
        isinstance(t, tf.TensorSpec) and isinstance(s, tf.TensorSpec)
        and t.dtype == s.dtype and t.shape.is_compatible_with(s.shape)
        for t, s in zip(tf.nest.flatten(target), tf.nest.flatten(source)))


def type_str(type_) -> str:
    """A compact rendering in TFF's notation, each placed value tagged with its placement:
    `<state=<>,result=<float32[?,784,10],float32[?,10]>@CLIENTS,measurements=<>>`."""
    try:
        at = placement_of(type_)
    except ValueError:
        at = "mixed"
    if at in (SERVER, CLIENTS):
        return _render(type_, None) + f"@{at}"
    return _render(type_, type_str)


def render_type(t) -> str:
    """A nest of specs in TFF's notation, without placement: `<float32[784,10],float32[10]>`."""
    return _render(t, None)


def _render(t, render_field) -> str:
    if isinstance(t, tf.TensorSpec):
        dims = ",".join("?" if d is None else str(d) for d in t.shape.as_list()) if t.shape.rank else ""
        return f"{t.dtype.name}[{dims}]" if t.shape.rank else t.dtype.name
    render_field = render_field or (lambda v: _render(v, None))
    if isinstance(t, dict):
        return "<" + ",".join(f"{k}={render_field(v)}" for k, v in t.items()) + ">"
    if hasattr(t, "_fields"):
        return "<" + ",".join(f"{k}={render_field(v)}" for k, v in zip(t._fields, t)) + ">"
    if isinstance(t, (list, tuple)):
        return "<" + ",".join(render_field(v) for v in t) + ">"
    return str(t)


class Computation:
    """A function of tensors with a type signature read off by tracing it once.

    `Computation(fn, *parameter_type)` traces `fn` with one `tf.TensorSpec` nest per
    argument; `result_type` is the nest of specs it returns. Calling the computation
    runs the compiled function, which never retraces (its input signature is fixed); with
    `jit_compile`, XLA compiles it once per shape of its inputs.
    Composite processes call `fn` directly so that a whole round is one program.
    """

    def __init__(self, fn: Callable[..., Any], *parameter_type, jit_compile: bool = False):
        params = inspect.signature(fn).parameters.values()
        num_params = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
        varargs = any(p.kind == p.VAR_POSITIONAL for p in params)  # next(state, value, *weight)
        if len(parameter_type) < num_params or (not varargs and len(parameter_type) != num_params):
            raise TypeError(
                f"{fn.__name__} takes {num_params} argument(s) but {len(parameter_type)} type(s) were given")
        self.fn = fn
        self.parameter_type = tuple(parameter_type)
        # No autograph: blocks write their loops as tf.while_loop, and converting source costs seconds.
        self._compiled = tf.function(fn, input_signature=list(parameter_type), autograph=False,
                                     jit_compile=jit_compile)
        self._concrete = self._compiled.get_concrete_function()
        self._leaf_types = [(spec.dtype, spec.shape.as_list()) for spec in tf.nest.flatten(self.parameter_type)]
        self.result_type = type_of(self._concrete.structured_outputs)

    def __call__(self, *args):
        # Arguments that are already tensors of the signature's types go straight to the traced
        # function (`_call_flat`, as of the pinned TensorFlow 2.21): TensorFlow's own argument
        # binding costs a tenth of a small model's round.
        # Anything else (other structures, arrays, numbers) takes the checked path and its errors.
        if tf.executing_eagerly():
            try:
                tf.nest.assert_same_structure(args, self.parameter_type)
            except (ValueError, TypeError):
                pass
            else:
                flat = tf.nest.flatten(args)
                if all(self._fits(value, *leaf) for value, leaf in zip(flat, self._leaf_types)):
                    return self._concrete._call_flat(flat, self._concrete.captured_inputs)
        try:  # as TFF, any structure of the same leaves: lists where the type has tuples, arrays for tensors
            tf.nest.assert_same_structure(args, self.parameter_type, check_types=False)
            args = tf.nest.pack_sequence_as(self.parameter_type, tf.nest.flatten(args))
        except (ValueError, TypeError):
            pass
        try:
            return self._concrete(*args)
        except (TypeError, ValueError) as e:
            found = tf.nest.map_structure(lambda v: tf.TensorSpec.from_tensor(tf.convert_to_tensor(v)), args)
            raise TypeError(f"{self.fn.__name__}: the arguments do not fit its signature {self.type_signature}; "
                            f"found {', '.join(type_str(a) for a in found)}") from e

    @staticmethod
    def _fits(value, dtype, dims):
        if not (isinstance(value, tf.Tensor) and value.dtype == dtype):
            return False
        shape = value.shape
        return len(shape) == len(dims) and all(d is None or d == n for d, n in zip(dims, shape))

    @property
    def type_signature(self) -> str:
        params = ",".join(type_str(t) for t in self.parameter_type)
        result = self.result_type
        # A process output's fields are placed apart: show each field's placement.
        shown = _render(result, type_str) if hasattr(result, "_fields") else type_str(result)
        return f"(<{params}> -> {shown})"

    def __repr__(self):
        return f"Computation({self.fn.__name__}: {self.type_signature})"

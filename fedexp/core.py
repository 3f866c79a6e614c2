"""TFF's federated core, run locally: the programs of "Building Your Own Federated Learning Algorithm".

    @fedexp.core.tf_computation(tf_dataset_type, model_weights_type)     # tff.tensorflow.computation
    def client_update_fn(tf_dataset, server_weights): ...

    @fedexp.core.federated_computation(federated_server_type, federated_dataset_type)
    def next_fn(server_weights, federated_dataset):
        server_weights_at_client = fedexp.core.federated_broadcast(server_weights)
        client_weights = fedexp.core.federated_map(client_update_fn, (federated_dataset, server_weights_at_client))
        return fedexp.core.federated_mean(client_weights)

Every name is TFF's, under `fedexp.core` (`tff.X` is `fedexp.core.X`; `tff.tensorflow.computation` is
`tf_computation`). As in TFF, a federated computation is traced once when defined, with types only, so
that its type signature is known and a type that does not fit is refused there; called, it runs its
Python function again on values. A value at CLIENTS is a list, one member per client (a `tf.data.Dataset`
for a `SequenceType`), a value at SERVER is the value itself; results come back as NumPy values.
`federated_map` runs its TensorFlow computation once per client, as TFF's local executor does, each
call one compiled function. fedexp's own rounds place values as shapes instead (DESIGN decision 2,
`fedexp.templates.federated_mean` and its kin, inside one compiled round): write algorithms as blocks
for fedexp's speed, and here to run TFF's federated-core programs as they are written.
"""

import contextlib
import inspect

import tensorflow as tf

from fedexp.templates.client_values import per_client
from fedexp.templates.computation import is_assignable, render_type, type_of

SERVER, CLIENTS = "SERVER", "CLIENTS"
_TRACED = object()  # the value of a placed value while a federated computation is traced


class SequenceType:
    """A sequence of elements of `element` (a nest of specs): a `tf.data.Dataset` with that element spec."""

    def __init__(self, element):
        self.element = to_type(element)

    def __str__(self):
        return f"{render_type(self.element)}*"


class FederatedType:
    """`member` placed at `placement` (SERVER or CLIENTS); `all_equal`: one value for every client
    (default: at SERVER only)."""

    def __init__(self, member, placement, all_equal=None):
        if placement not in (SERVER, CLIENTS):
            raise ValueError(f"FederatedType: placement must be fedexp.core.SERVER or CLIENTS, found {placement!r}")
        self.member, self.placement = to_type(member), placement
        self.all_equal = placement == SERVER if all_equal is None else all_equal

    def __str__(self):
        member = render_type(self.member)
        return f"{member if self.all_equal else '{' + member + '}'}@{self.placement}"


def to_type(spec):
    """A type from TFF's spellings: a dtype (`np.float32`, a scalar), a `tf.TensorSpec`, a `SequenceType`,
    or a nest of them (TFF's `tff.types.tensorflow_to_type`). Raises TypeError for anything else."""
    def leaf(t):
        if isinstance(t, (tf.TensorSpec, SequenceType, FederatedType)):
            return t
        try:
            return tf.TensorSpec([], tf.as_dtype(t))
        except TypeError:
            raise TypeError(f"not a type: {t!r} (a dtype such as np.float32, a tf.TensorSpec, "
                            "fedexp.core.SequenceType or FederatedType)") from None
    return tf.nest.map_structure(leaf, spec)


tensorflow_to_type = to_type


def _fits(expected, found):
    """True if a value of type `found` can be passed where `expected` is (an all-equal value where one value
    per client is expected, too)."""
    if isinstance(expected, FederatedType):
        return (isinstance(found, FederatedType) and found.placement == expected.placement
                and (found.all_equal or not expected.all_equal) and _fits(expected.member, found.member))
    if isinstance(expected, SequenceType):
        return isinstance(found, SequenceType) and is_assignable(expected.element, found.element)
    return not isinstance(found, (SequenceType, FederatedType)) and is_assignable(expected, found)


class FunctionType:
    """A computation's type: `parameter` (a tuple of types) and `result`, printed as TFF prints it."""

    def __init__(self, parameter, result):
        self.parameter, self.result = tuple(parameter), result

    def __str__(self):
        params = ",".join(render_type(t) for t in self.parameter)
        return f"({params if len(self.parameter) < 2 else '<' + params + '>'} -> {render_type(self.result)})"


def _decorator(cls, args):
    """`@cls` and `@cls(*types)` alike (a plain function as the only argument is the one decorated)."""
    if len(args) == 1 and inspect.isfunction(args[0]):
        return cls(args[0], ())
    return lambda fn: cls(fn, args)


class TfComputation:
    """A TensorFlow function of fixed argument types, compiled once (`tf.function` with an input signature);
    a `SequenceType` argument is a `tf.data.Dataset`."""

    def __init__(self, fn, parameter):
        self.fn, self.__name__ = fn, fn.__name__
        parameter = tuple(to_type(t) for t in parameter)
        signature = [tf.data.DatasetSpec(t.element) if isinstance(t, SequenceType) else t for t in parameter]
        self._compiled = tf.function(fn, input_signature=signature)
        self.type_signature = FunctionType(parameter, type_of(self._compiled.get_concrete_function().structured_outputs))

    def __call__(self, *args):
        return self._compiled(*args)


def tf_computation(*args):
    """TFF's `tff.tensorflow.computation` (earlier `tff.tf_computation`): `@tf_computation(*types)` or bare
    for no arguments. Returns a `TfComputation`."""
    return _decorator(TfComputation, args)


class _Placed:
    """A federated value: its `type_` and its value (a list at CLIENTS unless all equal; `_TRACED` when traced)."""

    def __init__(self, type_, value):
        self.type_, self.value = type_, value

    @property
    def traced(self):
        return self.value is _TRACED


def _federated(what, value, placement=None):
    if not isinstance(value, _Placed) or (placement and value.type_.placement != placement):
        at = f" placed at {placement}" if placement else ""
        found = value.type_ if isinstance(value, _Placed) else type(value).__name__
        raise TypeError(f"{what}: expected a federated value{at}, found {found}")
    return value


@contextlib.contextmanager
def _inside(tracing=False):
    """Marks the running (or, `tracing`, traced) body of a federated computation."""
    _inside.depth += 1
    was, _inside.tracing = _inside.tracing, tracing
    try:
        yield
    finally:
        _inside.depth -= 1
        _inside.tracing = was


_inside.depth, _inside.tracing = 0, False
_inside.clients = None  # how many clients the outermost running computation was given (None: not known)


class FederatedComputation:
    """A Python function of federated values, traced once with types only (its `type_signature`), run on
    values when called."""

    def __init__(self, fn, parameter):
        self.fn, self.__name__ = fn, fn.__name__
        parameter = tuple(to_type(t) for t in parameter)
        for t in parameter:
            if not isinstance(t, FederatedType):
                raise TypeError(f"{fn.__name__}: a federated computation's parameters are placed "
                                f"(FederatedType(member, SERVER or CLIENTS)), found {render_type(t)}")
        with _inside(tracing=True):
            result = fn(*(_Placed(t, _TRACED) for t in parameter))
        self._result_type = tf.nest.map_structure(lambda p: _federated(f"{fn.__name__} returns", p).type_, result)
        self.type_signature = FunctionType(parameter, self._result_type)

    def __call__(self, *args):
        parameter = self.type_signature.parameter
        if len(args) != len(parameter):
            raise TypeError(f"{self.__name__} takes {len(parameter)} argument(s), given {len(args)}")
        if _inside.depth:  # called inside another federated computation: on its federated values
            for i, (t, a) in enumerate(zip(parameter, args)):
                if not (isinstance(a, _Placed) and _fits(t, a.type_)):
                    raise TypeError(f"{self.__name__}: argument {i} must be {t}, found {getattr(a, 'type_', a)}")
            return self.fn(*args)
        values = [_Placed(t, _enter(self.__name__, i, t, a)) for i, (t, a) in enumerate(zip(parameter, args))]
        _inside.clients = _clients(values)
        try:
            with _inside():
                result = self.fn(*values)
        finally:
            _inside.clients = None
        return tf.nest.map_structure(lambda p: _to_numpy(p.value), result)


def federated_computation(*args):
    """TFF's `tff.federated_computation`: `@federated_computation(*federated_types)` or bare for no arguments.
    Returns a `FederatedComputation`."""
    return _decorator(FederatedComputation, args)


def _to_numpy(value):
    if isinstance(value, list):
        return [_to_numpy(v) for v in value]
    return tf.nest.map_structure(lambda v: v.numpy() if tf.is_tensor(v) else v, value)


def _enter(name, i, type_, value):
    """A federated computation's argument `i` as a value of `type_`, checked; TypeError naming what does not fit."""
    def member(v, where):
        if isinstance(type_.member, SequenceType):
            if not isinstance(v, tf.data.Dataset):
                raise TypeError(f"{name}: argument {i}{where} must be a tf.data.Dataset, found {type(v).__name__}")
            if not is_assignable(type_.member.element, v.element_spec):
                raise TypeError(f"{name}: argument {i}{where}'s elements are {render_type(v.element_spec)}, "
                                f"expected {render_type(type_.member.element)}")
            return v
        try:
            if isinstance(type_.member, tf.TensorSpec):  # a list is one tensor's value here
                leaves = [v]
            else:
                tf.nest.assert_same_structure(type_.member, v, check_types=False)
                leaves = tf.nest.flatten(v)
            flat = [tf.convert_to_tensor(x, s.dtype) for s, x in zip(tf.nest.flatten(type_.member), leaves)]
            found = tf.nest.pack_sequence_as(type_.member, flat)
        except (TypeError, ValueError):
            found = None
        if found is None or not is_assignable(type_.member, type_of(found)):
            raise TypeError(f"{name}: argument {i}{where} must be {render_type(type_.member)}, found {v!r:.80}")
        return found

    if type_.all_equal:
        return member(value, "")
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name}: argument {i} is placed at CLIENTS: a list of one value per client, "
                        f"found {type(value).__name__}")
    return [member(v, f" (client {c})") for c, v in enumerate(value)]


def _clients(values):
    """The number of clients that the CLIENTS values among `values` agree on; if all are all-equal, the
    running computation's (None when it was given no CLIENTS value)."""
    sizes = {len(v.value) for v in values if v.type_.placement == CLIENTS and not v.type_.all_equal}
    if len(sizes) > 1:
        raise ValueError(f"federated values of different numbers of clients: {sorted(sizes)}")
    return sizes.pop() if sizes else _inside.clients


def _members(placed, n):
    """One member per client (an all-equal value repeated `n` times)."""
    if placed.type_.placement == CLIENTS and not placed.type_.all_equal:
        return placed.value
    if n is None:
        raise ValueError(f"the number of clients is not known for {placed.type_}: give the federated "
                         "computation a value placed at CLIENTS")
    return [placed.value] * n


def federated_map(fn, arg):
    """TFF's `tff.federated_map`: `fn` (a `tf_computation`) on each member of `arg`, a federated value or a
    tuple of them (one argument each) at one placement."""
    if not isinstance(fn, TfComputation):
        raise TypeError(f"federated_map: fn must be a fedexp.core.tf_computation, found {type(fn).__name__}")
    args = tuple(arg) if isinstance(arg, (tuple, list)) else (arg,)
    args = tuple(_federated("federated_map", a) for a in args)
    placements = {a.type_.placement for a in args}
    if len(placements) > 1:
        raise TypeError("federated_map: the arguments are placed at both SERVER and CLIENTS")
    parameter = fn.type_signature.parameter
    members = tuple(a.type_.member for a in args)
    if len(members) != len(parameter) or not all(_fits(p, m) for p, m in zip(parameter, members)):
        raise TypeError(f"federated_map: {fn.__name__} takes {FunctionType(parameter, '…')}, given "
                        f"{','.join(render_type(m) for m in members)}")
    (placement,) = placements
    all_equal = placement == SERVER or all(a.type_.all_equal for a in args)
    type_ = FederatedType(fn.type_signature.result, placement, all_equal)
    if any(a.traced for a in args):
        return _Placed(type_, _TRACED)
    if all_equal:
        return _Placed(type_, fn(*(a.value for a in args)))
    n = _clients(args)
    return _Placed(type_, [fn(*m) for m in zip(*(_members(a, n) for a in args))])


def federated_broadcast(value):
    """TFF's `tff.federated_broadcast`: T@SERVER -> T@CLIENTS, the same value for every client."""
    value = _federated("federated_broadcast", value, SERVER)
    return _Placed(FederatedType(value.type_.member, CLIENTS, all_equal=True), value.value)


def _reduce(what, value, reduce, *weight, floating=True):
    value = _federated(what, value, CLIENTS)
    for spec in tf.nest.flatten(value.type_.member):
        if not (isinstance(spec, tf.TensorSpec) and (spec.dtype.is_floating or not floating and spec.dtype.is_integer)):
            kind = "floating-point" if floating else "numeric"
            raise TypeError(f"{what}: the clients' values must be {kind} tensors, found {value.type_}")
    type_ = FederatedType(value.type_.member, SERVER)
    if value.traced or any(w.traced for w in weight):
        return _Placed(type_, _TRACED)
    members = _members(value, _clients((value, *weight)))
    return _Placed(type_, tf.nest.map_structure(lambda *leaves: reduce(tf.stack(leaves), *weight), *members))


def federated_sum(value):
    """TFF's `tff.federated_sum`: {T}@CLIENTS -> T@SERVER."""
    return _reduce("federated_sum", value, lambda stacked: tf.reduce_sum(stacked, 0), floating=False)


def federated_mean(value, weight=None):
    """TFF's `tff.federated_mean`: {T}@CLIENTS -> T@SERVER, weighted by `weight` ({float32}@CLIENTS) if given."""
    if weight is None:
        return _reduce("federated_mean", value, lambda stacked: tf.reduce_mean(stacked, 0))
    weight = _federated("federated_mean: weight", weight, CLIENTS)

    def mean(stacked, weight):
        w = tf.cast(tf.stack(_members(weight, stacked.shape[0])), stacked.dtype)
        return tf.reduce_sum(stacked * per_client(w, stacked), 0) / tf.reduce_sum(w)

    return _reduce("federated_mean", value, mean, weight)


def federated_value(value, placement):
    """TFF's `tff.federated_value`: a Python or NumPy value (or nest of them) placed at `placement`, all equal."""
    value = tf.nest.map_structure(tf.convert_to_tensor, value)
    return _Placed(FederatedType(type_of(value), placement, all_equal=True), _TRACED if _inside.tracing else value)


def federated_eval(fn, placement):
    """TFF's `tff.federated_eval`: the no-argument `fn` (a `tf_computation`) evaluated at `placement`."""
    if not isinstance(fn, TfComputation) or fn.type_signature.parameter:
        raise TypeError("federated_eval: fn must be a fedexp.core.tf_computation without arguments")
    value = _TRACED if _inside.tracing else fn()
    return _Placed(FederatedType(fn.type_signature.result, placement, all_equal=True), value)


class IterativeProcess:
    """TFF's `tff.templates.IterativeProcess` over federated computations: `initialize` (no arguments)
    gives the state, `next(state, *args)` returns the next one (or a tuple whose first is the next state)."""

    def __init__(self, initialize_fn, next_fn):
        for key, fn in (("initialize_fn", initialize_fn), ("next_fn", next_fn)):
            if not isinstance(fn, FederatedComputation):
                raise TypeError(f"IterativeProcess: {key} must be a fedexp.core.federated_computation, "
                                f"found {type(fn).__name__}")
        if initialize_fn.type_signature.parameter:
            raise TypeError(f"IterativeProcess: initialize_fn must take no arguments, found {initialize_fn.type_signature}")
        state, result = initialize_fn.type_signature.result, next_fn.type_signature.result
        parameter = next_fn.type_signature.parameter
        next_state = result[0] if isinstance(result, tuple) else result
        if not parameter or not _fits(parameter[0], state) or not _fits(parameter[0], next_state):
            raise TypeError(f"IterativeProcess: next_fn must take the state {state} first and return it; "
                            f"found {next_fn.type_signature}")
        self.initialize, self.next, self.state_type = initialize_fn, next_fn, state


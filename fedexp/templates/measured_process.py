"""Iterative and measured processes: `initialize` and `next`, checked once when built.

    initialize: ( -> S@SERVER)
    next:       (<S@SERVER, *> -> <state=S@SERVER, result=*, measurements=M@SERVER>)
"""

from typing import Any, NamedTuple

from fedexp.templates import errors
from fedexp.templates.computation import SERVER, Computation, check_placement, is_assignable, type_str


class MeasuredProcessOutput(NamedTuple):
    """What a measured process's `next` returns."""

    state: Any
    result: Any
    measurements: Any


def _check_computation(fn, what):
    if not isinstance(fn, Computation):
        raise TypeError(f"{what} must be a fedexp.templates.Computation, found {type(fn).__name__}")


class IterativeProcess:
    """A pair `initialize` / `next` whose state `next` returns and takes back.

        initialize: ( -> S)
        next:       (<S, *> -> S)
    """

    role = "iterative process"
    _min_next_args = 1
    _exact_args = False  # True: next takes exactly _min_next_args arguments

    def __init__(self, initialize_fn: Computation, next_fn: Computation, *, name: str | None = None, monitors=()):
        """`monitors`: the `RoundMonitor`s that watch a run of this process (see `fedexp.templates.monitor`)."""
        self.name = name or type(self).__name__
        self.monitors = tuple(monitors)
        _check_computation(initialize_fn, f"{self._what}: initialize_fn")
        _check_computation(next_fn, f"{self._what}: next_fn")
        if initialize_fn.parameter_type:
            raise errors.TemplateInitFnParamNotEmptyError(
                f"{self._what}: initialize_fn must take no arguments, found {initialize_fn.type_signature}")
        self._check_num_args(next_fn)
        self.state_type = initialize_fn.result_type
        self._check_state(next_fn)
        self.initialize_fn = initialize_fn
        self.next_fn = next_fn

    def initialize(self):
        return self.initialize_fn()

    def next(self, state, *args):
        return self.next_fn(state, *args)

    @property
    def _what(self) -> str:
        return f"{self.role} '{self.name}'"

    def _check_num_args(self, next_fn):
        found = len(next_fn.parameter_type)
        if found < self._min_next_args or (self._exact_args and found != self._min_next_args):
            expected = f"{'' if self._exact_args else 'at least '}{self._min_next_args}"
            raise errors.TemplateNextFnNumArgsError(
                f"{self._what}: next_fn must take {expected} argument(s), found {found}: {next_fn.type_signature}")

    def _next_state_type(self, next_fn):
        return next_fn.result_type

    def _check_state(self, next_fn):
        state_param = next_fn.parameter_type[0]
        if not is_assignable(state_param, self.state_type):
            raise errors.TemplateStateNotAssignableError(
                f"{self._what}: next_fn's first argument must accept the state initialize_fn returns; "
                f"expected {type_str(self.state_type)}, found {type_str(state_param)}")
        next_state = self._next_state_type(next_fn)
        if not is_assignable(state_param, next_state):
            raise errors.TemplateStateNotAssignableError(
                f"{self._what}: the state next_fn returns must be assignable to its first argument; "
                f"expected {type_str(state_param)}, found {type_str(next_state)}")


class MeasuredProcess(IterativeProcess):
    """An iterative process whose `next` returns `MeasuredProcessOutput(state, result, measurements)`."""

    role = "measured process"

    def _next_state_type(self, next_fn):
        if not isinstance(next_fn.result_type, MeasuredProcessOutput):
            raise errors.TemplateNotMeasuredProcessOutputError(
                f"{self._what}: next_fn must return a MeasuredProcessOutput(state, result, measurements), "
                f"found {type_str(next_fn.result_type)}")
        return next_fn.result_type.state


def hparams_computations(what, state_type, get_fn=None, set_fn=None):
    """Checks (or defaults) a process's `get_hparams_fn` and `set_hparams_fn`."""
    get_fn = get_fn or Computation(_empty_hparams, state_type)
    _check_computation(get_fn, f"{what}: get_hparams_fn")
    if len(get_fn.parameter_type) != 1 or not is_assignable(get_fn.parameter_type[0], state_type):
        raise errors.GetHparamsTypeError(
            f"{what}: get_hparams_fn must take the state {type_str(state_type)}, found {get_fn.type_signature}")
    set_fn = set_fn or Computation(_pass_through, state_type, get_fn.result_type)
    _check_computation(set_fn, f"{what}: set_hparams_fn")
    params = set_fn.parameter_type
    if (len(params) != 2 or not is_assignable(params[0], state_type)
            or not is_assignable(params[1], get_fn.result_type)
            or not is_assignable(state_type, set_fn.result_type)):
        raise errors.SetHparamsTypeError(
            f"{what}: set_hparams_fn must map <{type_str(state_type)},{type_str(get_fn.result_type)}> "
            f"to {type_str(state_type)}, found {set_fn.type_signature}")
    return get_fn, set_fn


def _empty_hparams(state):
    del state
    return {}


def _pass_through(state, hparams):
    del hparams
    return state


class BlockProcess(MeasuredProcess):
    """A building block: a measured process at SERVER with hyperparameters in its state.

        get_hparams: (S -> H)          default: the empty dict
        set_hparams: (<S, H> -> S)     default: the state unchanged
    """

    role = "block"
    _not_federated = errors.TemplateNotFederatedError
    _wrong_placement = errors.TemplatePlacementError

    def __init__(self, initialize_fn, next_fn, get_hparams_fn=None, set_hparams_fn=None, *, name=None, monitors=()):
        super().__init__(initialize_fn, next_fn, name=name, monitors=monitors)
        self._check_placement(self.state_type, SERVER, "initialize_fn's state")
        self._check_placement(next_fn.result_type.state, SERVER, "next_fn's state")
        self._check_placement(next_fn.result_type.measurements, SERVER, "next_fn's measurements")
        self._check_next(next_fn)
        self.get_hparams_fn, self.set_hparams_fn = hparams_computations(
            self._what, self.state_type, get_hparams_fn, set_hparams_fn)

    def get_hparams(self, state):
        return self.get_hparams_fn(state)

    def set_hparams(self, state, hparams):
        return self.set_hparams_fn(state, hparams)

    def _check_placement(self, type_, expected, what):
        check_placement(type_, expected, f"{self._what}: {what}",
                        not_federated=self._not_federated, wrong_placement=self._wrong_placement)

    def _check_next(self, next_fn):
        """Role-specific checks of next_fn's arguments and result."""

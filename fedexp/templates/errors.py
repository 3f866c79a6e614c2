"""One error class per broken contract, named as in TFF's templates.

Every error is a `TypeError` (as in TFF) raised when a process is constructed or
composed, never during a round; its message names the block and shows what was
expected and what was found.
"""


class TemplateError(TypeError):
    """Base class of the errors raised by fedexp's templates."""


class TemplateInitFnParamNotEmptyError(TemplateError):
    """`initialize_fn` takes arguments; it must take none."""


class TemplateNextFnNumArgsError(TemplateError):
    """`next_fn` takes the wrong number of arguments for its role."""


class TemplateStateNotAssignableError(TemplateError):
    """The state `next_fn` returns cannot be fed back as its first argument."""


class TemplateNotMeasuredProcessOutputError(TemplateError):
    """`next_fn` does not return a `MeasuredProcessOutput`."""


class TemplateNotFederatedError(TemplateError):
    """A value has no single placement (it mixes SERVER and CLIENTS, or is not a tensor)."""


class TemplatePlacementError(TemplateError):
    """A value is placed at CLIENTS where SERVER is expected, or the reverse."""


class AggregationNotFederatedError(TemplateError):
    """An aggregation's value has no single placement."""


class AggregationPlacementError(TemplateError):
    """An aggregation's value is placed at the wrong place."""


class AggregationValueTypeMismatchError(TemplateError):
    """An aggregation's result type differs from the type of the values it aggregates."""


class ClientResultTypeError(TemplateError):
    """Client work does not return a `ClientResult` at CLIENTS."""


class FinalizerResultTypeError(TemplateError):
    """A finalizer's result is not of the model weights type it was given."""


class GetHparamsTypeError(TemplateError):
    """`get_hparams_fn` does not take the process state."""


class SetHparamsTypeError(TemplateError):
    """`set_hparams_fn` does not map (state, hparams) to a state."""


class LearningProcessOutputError(TemplateError):
    """A learning process's `next_fn` does not return a `LearningProcessOutput`."""


class BlockRoleError(TemplateError):
    """The composer was given a block of the wrong role."""


class ModelWeightsTypeError(TemplateError):
    """A block's model weights type is not the learning process's model weights type."""


class ClientUpdateTypeError(TemplateError):
    """The aggregator does not accept the client work's update, or the finalizer its result."""


class RoundNotSplittableError(TemplateError):
    """A round cannot be split across workers: its aggregator needs every client's value at once,
    or its client work's state depends on which clients trained."""

"""LearningProcess: rounds of federated training, with the model weights kept in its state.

    initialize:        ( -> S@SERVER)
    next:              (<S@SERVER, D@CLIENTS> -> <state=S@SERVER, metrics=M@SERVER>)
    get_model_weights: (S -> W)
    set_model_weights: (<S, W> -> S)
    get_hparams:       (S -> H)
    set_hparams:       (<S, H> -> S)
"""

from typing import Any, NamedTuple

import tensorflow as tf

from fedexp.templates.client_data import Cohort
from fedexp.templates.client_datasets import pack_datasets
from fedexp.templates import errors
from fedexp.templates.computation import CLIENTS, SERVER, check_placement, is_assignable, type_str
from fedexp.templates.measured_process import IterativeProcess, hparams_computations


class LearningAlgorithmState(NamedTuple):
    """The server state of a composed learning process: the model and each block's state."""

    global_model_weights: Any
    distributor: Any
    client_work: Any
    aggregator: Any
    finalizer: Any


class LearningProcessOutput(NamedTuple):
    state: Any
    metrics: Any


class LearningProcess(IterativeProcess):
    role = "learning process"
    _min_next_args = 2
    _exact_args = True

    def __init__(self, initialize_fn, next_fn, get_model_weights_fn, set_model_weights_fn,
                 get_hparams_fn=None, set_hparams_fn=None, *, name=None, monitors=()):
        super().__init__(initialize_fn, next_fn, name=name, monitors=monitors)
        what = self._what
        check_placement(self.state_type, SERVER, f"{what}: initialize_fn's state")
        self.client_data_type = next_fn.parameter_type[1]
        check_placement(self.client_data_type, CLIENTS, f"{what}: next_fn's client data argument")
        check_placement(next_fn.result_type.metrics, SERVER, f"{what}: next_fn's metrics")
        weights_type = get_model_weights_fn.result_type
        if (len(get_model_weights_fn.parameter_type) != 1 or len(set_model_weights_fn.parameter_type) != 2
                or not is_assignable(get_model_weights_fn.parameter_type[0], self.state_type)
                or not is_assignable(set_model_weights_fn.parameter_type[1], weights_type)
                or not is_assignable(self.state_type, set_model_weights_fn.result_type)):
            raise TypeError(
                f"{what}: get_model_weights_fn must map the state to W and set_model_weights_fn "
                f"<state, W> to the state; found {get_model_weights_fn.type_signature} and "
                f"{set_model_weights_fn.type_signature}")
        self.model_weights_type = weights_type
        self.get_model_weights_fn = get_model_weights_fn
        self.set_model_weights_fn = set_model_weights_fn
        self.get_hparams_fn, self.set_hparams_fn = hparams_computations(
            what, self.state_type, get_hparams_fn, set_hparams_fn)

    def _next_state_type(self, next_fn):
        if not isinstance(next_fn.result_type, LearningProcessOutput):
            raise errors.LearningProcessOutputError(
                f"{self._what}: next_fn must return a LearningProcessOutput(state, metrics), "
                f"found {type_str(next_fn.result_type)}")
        return next_fn.result_type.state

    def next(self, state, client_data) -> LearningProcessOutput:
        """One round. `client_data` is a packed `Cohort`, or one `tf.data.Dataset` of
        `(x, y)` batches per client (TFF's form), iterated as given."""
        if not isinstance(client_data, Cohort) and isinstance(client_data, (list, tuple)):
            if all(isinstance(d, tf.data.Dataset) for d in client_data):
                client_data = pack_datasets(client_data, self.client_data_type)
        return self.next_fn(state, client_data)

    def split_round(self):
        """The round split at the aggregator (`fedexp.templates.split_round`); a composed process has one."""
        raise errors.RoundNotSplittableError(f"{self._what} was not composed from blocks: its round cannot be split "
                                             f"across workers")

    def get_model_weights(self, state):
        return self.get_model_weights_fn(state)

    def set_model_weights(self, state, weights):
        return self.set_model_weights_fn(state, weights)

    def get_hparams(self, state):
        return self.get_hparams_fn(state)

    def set_hparams(self, state, hparams):
        return self.set_hparams_fn(state, hparams)

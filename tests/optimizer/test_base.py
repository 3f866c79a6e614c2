"""What every optimizer shares: hyperparameters in the state, settable, and checked."""

import numpy as np
import pytest

import fedexp
from tests.optimizer.conftest import SPECS


@pytest.mark.parametrize("build", [fedexp.build_sgdm, fedexp.build_adam, fedexp.build_adagrad,
                                   fedexp.build_yogi, fedexp.build_rmsprop])
def test_hparams_round_trip_and_take_effect(build, problem):
    weights, grads = problem
    optimizer = build(learning_rate=0.1)
    state = optimizer.initialize(SPECS)
    hparams = {k: float(v) for k, v in optimizer.get_hparams(state).items()}
    assert hparams["learning_rate"] == pytest.approx(0.1)
    state = optimizer.set_hparams(state, {**hparams, "learning_rate": 0.0})
    _, new_weights = optimizer.next(state, weights, grads[0])
    for a, b in zip(new_weights, weights):
        np.testing.assert_array_equal(a, b)


def test_bad_hyperparameters_are_refused():
    with pytest.raises(ValueError, match="learning_rate must be a number > 0, found -0.1"):
        fedexp.build_sgdm(learning_rate=-0.1)
    optimizer = fedexp.build_adam()
    with pytest.raises(KeyError, match="unknown hyperparameter"):
        optimizer.set_hparams(optimizer.initialize(SPECS), {"momentum": 0.9})

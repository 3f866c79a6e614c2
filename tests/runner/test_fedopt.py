"""FedOpt presets (Reddi et al. 2021): two server steps match a hand computation on the
clients' mean update, which is read off FedAvg's (server SGD at learning rate 1) step."""

import numpy as np
import pytest

from fedexp.runner.build import build_experiment
from tests.conftest import TINY, compose


def hand_adam(hp, yogi=False):
    b1, b2, eps, lr = hp.beta_1, hp.beta_2, hp.epsilon, hp.learning_rate
    slots = {}

    def step(t, w, g):
        m, v = slots.get("m", 0 * g), slots.get("v", 0 * g + (hp.initial_preconditioner_value if yogi else 0))
        m = b1 * m + (1 - b1) * g
        v = v - (1 - b2) * np.sign(v - g * g) * g * g if yogi else b2 * v + (1 - b2) * g * g
        slots.update(m=m, v=v)
        return w - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    return step


def hand_adagrad(hp):
    slots = {}

    def step(t, w, g):
        slots["v"] = slots.get("v", 0 * g + hp.initial_preconditioner_value) + g * g
        return w - hp.learning_rate * g / np.sqrt(slots["v"] + hp.epsilon)
    return step


def hand_momentum(hp):
    slots = {}

    def step(t, w, g):
        slots["a"] = hp.momentum * slots.get("a", 0 * g) + g
        return w - hp.learning_rate * slots["a"]
    return step


HAND = {"fedadam": hand_adam, "fedyogi": lambda hp: hand_adam(hp, yogi=True), "fedadagrad": hand_adagrad,
        "fedavgm": hand_momentum}


@pytest.mark.parametrize("preset", sorted(HAND))
def test_two_server_steps_match_the_hand_computation(preset):
    cfg = compose(*TINY, f"+algo={preset}")
    experiment, fedavg = build_experiment(cfg), build_experiment(compose(*TINY, "+algo=fedavg"))
    state, reference = experiment.process.initialize(), fedavg.process.initialize()
    expected = [w.numpy() for w in experiment.process.get_model_weights(state).trainable]
    steps = [HAND[preset](cfg.server_optimizer) for _ in expected]  # one optimizer state per weight
    for t, clients in ((1, [0, 1]), (2, [2, 3])):
        cohort = experiment.data.train.cohort(clients, batch_size=50)
        weights = experiment.process.get_model_weights(state)
        moved = fedavg.process.next(fedavg.process.set_model_weights(reference, weights), cohort).state
        updates = [a.numpy() - b.numpy() for a, b in zip(weights.trainable,
                                                           fedavg.process.get_model_weights(moved).trainable)]
        state = experiment.process.next(state, cohort).state
        expected = [step(t, w, g) for step, w, g in zip(steps, expected, updates)]
        for got, want in zip(experiment.process.get_model_weights(state).trainable, expected):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)

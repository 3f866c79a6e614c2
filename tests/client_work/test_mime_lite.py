"""MimeLite against a hand computation of Karimireddy et al. (2021) / TFF's `build_weighted_mime_lite`
on two quadratic clients: local SGD steps use the server's momentum, held fixed; the server
advances the momentum with the clients' full-batch gradients weighted by their examples."""

import numpy as np
import pytest

import fedexp
from tests.client_work.test_scaffold import CLIENTS, cohort, compose, quadratic_fn
from tests.conftest import broadcast, pack, random_clients

LR, MOMENTUM = 0.02, 0.9


def mime_lite_process(optimizer, batched=False):
    return compose(fedexp.build_mime_lite_client_work(quadratic_fn, optimizer, batched=batched))


def hand(rounds, cohorts):
    grad = [lambda w, a=a, b=b: 2 * a * (a * w - b) for a, b, _ in CLIENTS]
    x, momentum, trace = 0.0, 0.0, []
    for r in range(rounds):
        updates, grads, weights = [], [], []
        for i in cohorts[r]:
            y = x
            for _ in range(CLIENTS[i][2]):
                y -= LR * (MOMENTUM * momentum + grad[i](y))
            updates.append(x - y)
            grads.append(grad[i](x))
            weights.append(CLIENTS[i][2])  # one example per step
        momentum = MOMENTUM * momentum + np.average(grads, weights=weights)
        x -= np.average(updates, weights=weights)  # the server's SGD at learning rate 1
        trace.append((x, momentum))
    return trace


@pytest.mark.parametrize("batched", [False, True])
def test_two_rounds_match_the_hand_computation(batched):
    cohorts = [[0, 1], [1], [0, 1]]
    process = mime_lite_process(fedexp.build_sgdm(learning_rate=LR, momentum=MOMENTUM), batched)
    state = process.initialize()
    for ids, (x, momentum) in zip(cohorts, hand(len(cohorts), cohorts)):
        state = process.next(state, cohort(ids)).state
        np.testing.assert_allclose(float(state.global_model_weights.trainable[0][0, 0]), x, rtol=1e-5)
        np.testing.assert_allclose(float(state.client_work["optimizer"]["slots"][0][0, 0]), momentum, rtol=1e-5)
    assert momentum != 0


def test_with_plain_sgd_it_is_fedavg(linear_fn):
    clients = pack(random_clients(np.random.default_rng(0), [7, 12, 3], batch_size=4))
    weights = fedexp.ModelWeights.from_model(linear_fn())
    results = [work.next(work.initialize(), broadcast(weights, 3), clients).result for work in (
        fedexp.build_mime_lite_client_work(linear_fn, fedexp.build_sgdm(learning_rate=0.1)),
        fedexp.build_model_delta_client_work(linear_fn, fedexp.build_sgdm(learning_rate=0.1)))]
    for a, b in zip(results[0].update, results[1].update):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(results[0].update_weight.numpy(), results[1].update_weight.numpy())


def test_adam_state_is_shared_and_its_hparams_settable(linear_fn):
    work = fedexp.build_mime_lite_client_work(linear_fn, fedexp.build_adam(learning_rate=0.01))
    state = work.initialize()
    assert set(work.get_hparams(state)) == {"learning_rate", "beta_1", "beta_2", "epsilon"}
    state = work.set_hparams(state, {**work.get_hparams(state), "learning_rate": 0.5})
    weights = fedexp.ModelWeights.from_model(linear_fn())
    out = work.next(state, broadcast(weights, 2), pack(random_clients(np.random.default_rng(1), [5, 9], 4)))
    assert int(out.state["optimizer"]["step"]) == 1  # the server's step; clients' steps do not count
    assert float(work.get_hparams(out.state)["learning_rate"]) == 0.5

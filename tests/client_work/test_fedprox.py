import numpy as np
import pytest

import fedexp
from fedexp.model._functional import ModelWeights
from tests.conftest import broadcast, pack, random_clients, softmax_ce_grad


def updates(linear_fn, mu, clients, batched=False, lr=0.1):
    work = (fedexp.build_model_delta_client_work(linear_fn, fedexp.build_sgdm(learning_rate=lr), batched=batched)
            if mu is None else fedexp.build_fedprox_client_work(
                linear_fn, fedexp.build_sgdm(learning_rate=lr), proximal_strength=mu, batched=batched))
    weights = ModelWeights.from_model(linear_fn())
    out = work.next(work.initialize(), broadcast(weights, len(clients)), pack(clients))
    return weights, [u.numpy() for u in out.result.update]


@pytest.mark.parametrize("batched", [False, True])
def test_fedprox_with_mu_zero_is_fedavg(linear_fn, batched):
    clients = random_clients(np.random.default_rng(0), [17, 9, 30], batch_size=4)
    _, prox = updates(linear_fn, 0.0, clients, batched)
    _, avg = updates(linear_fn, None, clients, batched)
    for p, a in zip(prox, avg):
        np.testing.assert_array_equal(p, a)


def test_two_steps_match_the_hand_computed_proximal_gradient(linear_fn):
    clients = random_clients(np.random.default_rng(1), [8], batch_size=4)
    weights, (update_w, update_b) = updates(linear_fn, 0.5, clients)
    w0, b0 = (v.numpy() for v in weights.trainable)
    w, b = w0.copy(), b0.copy()
    for x, y in clients[0]:
        gw, gb = softmax_ce_grad(w, b, x, y)
        w, b = w - 0.1 * (gw + 0.5 * (w - w0)), b - 0.1 * (gb + 0.5 * (b - b0))
    np.testing.assert_allclose(update_w[0], w0 - w, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(update_b[0], b0 - b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("batched", [False, True])
def test_a_large_mu_keeps_clients_near_the_global_weights(linear_fn, batched):
    clients = random_clients(np.random.default_rng(2), [200, 120], batch_size=4)
    norm = {mu: np.sqrt(sum(np.sum(u ** 2) for u in updates(linear_fn, mu, clients, batched, lr=0.05)[1]))
            for mu in (0.0, 10.0)}
    assert norm[10.0] < 0.25 * norm[0.0]


def test_mu_must_not_be_negative(linear_fn):
    with pytest.raises(ValueError, match="proximal_strength must be a number >= 0, found -1"):
        fedexp.build_fedprox_client_work(linear_fn, fedexp.build_sgdm(learning_rate=0.1), proximal_strength=-1)

import numpy as np

import fedexp
from fedexp.model._functional import ModelWeights
from tests.conftest import broadcast, pack, random_clients, softmax_ce_grad


def test_fed_sgd_over_all_clients_is_one_full_batch_gradient_step(linear_fn):
    clients = random_clients(np.random.default_rng(0), [7, 20, 3], batch_size=4)
    process = fedexp.build_fed_sgd(linear_fn, fedexp.build_sgdm(learning_rate=0.3))
    state = process.initialize()
    out = process.next(state, pack(clients))
    w, b = (v.numpy() for v in process.get_model_weights(state).trainable)
    x = np.concatenate([bx for c in clients for bx, _ in c])
    y = np.concatenate([by for c in clients for _, by in c])
    grad_w, grad_b = softmax_ce_grad(w, b, x, y)
    new_w, new_b = (v.numpy() for v in out.state.global_model_weights.trainable)
    np.testing.assert_allclose(new_w, w - 0.3 * grad_w, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(new_b, b - 0.3 * grad_b, rtol=1e-5, atol=1e-7)
    assert out.metrics["client_work"]["train"]["num_examples"] == 30
    assert out.metrics["aggregator"]["mean"]["mean_weight"] == 30.0


def test_fed_sgd_client_update_is_its_mean_gradient(linear_fn):
    clients = random_clients(np.random.default_rng(1), [11], batch_size=3)
    work = fedexp.build_fed_sgd_client_work(linear_fn)
    weights = ModelWeights.from_model(linear_fn())
    out = work.next(work.initialize(), broadcast(weights, 1), pack(clients))
    x = np.concatenate([bx for bx, _ in clients[0]])
    y = np.concatenate([by for _, by in clients[0]])
    grad_w, _ = softmax_ce_grad(weights.trainable[0].numpy(), weights.trainable[1].numpy(), x, y)
    np.testing.assert_allclose(out.result.update[0][0], grad_w, rtol=1e-5, atol=1e-7)
    assert out.result.update_weight.numpy().tolist() == [11.0]

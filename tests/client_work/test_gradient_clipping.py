import numpy as np
import pytest

import fedexp
from fedexp.model._functional import ModelWeights
from tests.conftest import broadcast, pack, random_clients, softmax_ce_grad


@pytest.fixture(scope="module")
def weights(linear_fn):
    return ModelWeights.from_model(linear_fn())


def updates(work, weights, clients, hparams=None):
    state = work.initialize()
    if hparams:
        state = work.set_hparams(state, hparams)
    out = work.next(state, broadcast(weights, len(clients)), pack(clients))
    return [u.numpy() for u in out.result.update]


def test_each_step_is_clipped_to_the_clip_norm(linear_fn, weights):
    work = fedexp.build_gradient_clipping_client_work(linear_fn, fedexp.build_sgdm(learning_rate=1.0), clip_norm=0.05)
    clients = random_clients(np.random.default_rng(0), [10], batch_size=10)
    grad = softmax_ce_grad(weights.trainable[0].numpy(), weights.trainable[1].numpy(), *clients[0][0])
    norm = np.sqrt(sum((g ** 2).sum() for g in grad))
    assert norm > 0.05
    update_w, update_b = updates(work, weights, clients)
    # With SGD at learning rate 1 the update of one step is the clipped gradient: g * c / |g|.
    np.testing.assert_allclose(update_w[0], grad[0] * 0.05 / norm, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(update_b[0], grad[1] * 0.05 / norm, rtol=1e-4, atol=1e-7)


def test_many_steps_move_at_most_clip_norm_times_learning_rate_each(linear_fn, weights):
    work = fedexp.build_gradient_clipping_client_work(linear_fn, fedexp.build_sgdm(learning_rate=0.5), clip_norm=0.01)
    update = updates(work, weights, random_clients(np.random.default_rng(1), [30], batch_size=5))
    assert np.sqrt(sum((u[0] ** 2).sum() for u in update)) <= 6 * 0.5 * 0.01 + 1e-6


def test_a_large_clip_norm_is_a_no_op(linear_fn, weights):
    clients = random_clients(np.random.default_rng(2), [17, 9], batch_size=4)
    clipped = fedexp.build_gradient_clipping_client_work(linear_fn, fedexp.build_sgdm(learning_rate=0.1), 1e6)
    plain = fedexp.build_model_delta_client_work(linear_fn, fedexp.build_sgdm(learning_rate=0.1))
    for a, b in zip(updates(clipped, weights, clients), updates(plain, weights, clients)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


def test_clip_norm_is_a_hyperparameter(linear_fn, weights):
    work = fedexp.build_gradient_clipping_client_work(linear_fn, fedexp.build_sgdm(learning_rate=1.0), clip_norm=1e6)
    hparams = {k: float(v) for k, v in work.get_hparams(work.initialize()).items()}
    assert hparams == pytest.approx({"learning_rate": 1.0, "clip_norm": 1e6})
    clients = random_clients(np.random.default_rng(3), [10], batch_size=10)
    update = updates(work, weights, clients, {"learning_rate": 1.0, "clip_norm": 0.02})
    assert np.sqrt(sum((u[0] ** 2).sum() for u in update)) == pytest.approx(0.02, rel=1e-4)


def test_clip_norm_must_be_positive(linear_fn):
    with pytest.raises(ValueError, match="clip_norm must be a number > 0"):
        fedexp.build_gradient_clipping_client_work(linear_fn, fedexp.build_sgdm(learning_rate=0.1), clip_norm=0.0)

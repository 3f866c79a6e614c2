import keras
import numpy as np
import pytest
import tensorflow as tf

import fedexp
from fedexp.model._functional import ModelWeights
from tests.conftest import broadcast, pack, random_clients, softmax_ce_grad


@pytest.fixture(scope="module")
def work(linear_fn):
    return fedexp.build_model_delta_client_work(linear_fn, fedexp.build_sgdm(learning_rate=0.1))


@pytest.fixture(scope="module")
def weights(linear_fn):
    return ModelWeights.from_model(linear_fn())


def run(work, weights, clients):
    out = work.next(work.initialize(), broadcast(weights, len(clients)), pack(clients))
    return [u.numpy() for u in out.result.update], out.result.update_weight.numpy(), out.measurements


def test_one_client_one_batch_is_a_hand_computed_sgd_step(work, weights):
    clients = random_clients(np.random.default_rng(0), [8], batch_size=8)
    (update_w, update_b), weight, metrics = run(work, weights, clients)
    x, y = clients[0][0]
    grad_w, grad_b = softmax_ce_grad(weights.trainable[0].numpy(), weights.trainable[1].numpy(), x, y)
    np.testing.assert_allclose(update_w[0], 0.1 * grad_w, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(update_b[0], 0.1 * grad_b, rtol=1e-5, atol=1e-7)
    assert weight.tolist() == [8.0]
    assert metrics["train"]["num_examples"] == 8 and metrics["train"]["num_batches"] == 1


def test_padding_does_not_change_a_clients_update(work, weights):
    rng = np.random.default_rng(1)
    small = random_clients(rng, [13], batch_size=5)  # batches of 5, 5, 3
    big = random_clients(rng, [40], batch_size=8)  # forces 5 steps of 8 on the small client
    alone, weight_alone, _ = run(work, weights, small)
    padded, weights_padded, _ = run(work, weights, small + big)
    for a, p in zip(alone, padded):
        np.testing.assert_allclose(a[0], p[0], rtol=1e-5, atol=1e-7)
    assert weights_padded.tolist() == [13.0, 40.0] and weight_alone.tolist() == [13.0]


def test_several_steps_equal_keras_training(linear_fn, work, weights):
    clients = random_clients(np.random.default_rng(2), [23], batch_size=5)
    (update_w, update_b), _, metrics = run(work, weights, clients)
    model = linear_fn()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=model.loss)
    losses = [model.train_on_batch(x, y) for x, y in clients[0]]
    np.testing.assert_allclose(update_w[0], weights.trainable[0] - model.trainable_variables[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(update_b[0], weights.trainable[1] - model.trainable_variables[1].numpy(), atol=1e-6)
    # The reported loss is the example-weighted mean of the per-batch losses before each step.
    sizes = [len(x) for x, _ in clients[0]]
    np.testing.assert_allclose(metrics["train"]["loss"], np.dot(losses, sizes) / sum(sizes), rtol=1e-5)


def test_uniform_weighting_gives_every_client_weight_one(linear_fn, weights):
    work = fedexp.build_model_delta_client_work(linear_fn, fedexp.build_sgdm(learning_rate=0.1), "uniform")
    _, weight, _ = run(work, weights, random_clients(np.random.default_rng(3), [4, 9], batch_size=4))
    assert weight.tolist() == [1.0, 1.0]


def test_a_client_with_a_non_finite_update_sends_zeros_with_weight_zero(work, weights):
    clients = random_clients(np.random.default_rng(4), [6, 6], batch_size=6)
    clients[0][0][0][0, 0] = np.nan
    (update_w, _), weight, _ = run(work, weights, clients)
    assert weight.tolist() == [0.0, 6.0]
    assert not update_w[0].any() and np.isfinite(update_w[1]).all() and update_w[1].any()


def test_hparams_are_the_optimizers(work):
    state = work.initialize()
    assert {k: float(v) for k, v in work.get_hparams(state).items()} == pytest.approx({"learning_rate": 0.1})
    state = work.set_hparams(state, {"learning_rate": 0.5})
    assert float(work.get_hparams(state)["learning_rate"]) == 0.5


def test_unknown_client_weighting_is_refused(linear_fn):
    with pytest.raises(ValueError, match="client_weighting must be one of"):
        fedexp.build_model_delta_client_work(linear_fn, fedexp.build_sgdm(learning_rate=0.1), "by_size")


def test_model_without_a_loss_is_refused():
    def model_fn():
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="compiled with a loss"):
        fedexp.build_model_delta_client_work(model_fn, fedexp.build_sgdm(learning_rate=0.1))


def test_the_type_signature_is_the_seeds(work):
    sig = work.next_fn.type_signature
    assert sig.startswith("(<<hparams=<learning_rate=float32>,round=int64>@SERVER,<trainable=<float32[?,6,3],float32[?,3]>")
    assert "result=<update=<float32[?,6,3],float32[?,3]>,update_weight=float32[?]>@CLIENTS" in sig
    assert tf.nest.flatten(work.next_fn.result_type.measurements)


def test_dropout_draws_fresh_masks_on_every_client_and_round():
    import keras as k

    def model_fn():
        model = k.Sequential([k.Input((6,)), k.layers.Dropout(0.5, seed=0), k.layers.Dense(3)])
        model.compile(loss=k.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model
    work = fedexp.build_model_delta_client_work(model_fn, fedexp.build_sgdm(learning_rate=0.1))
    weights = ModelWeights.from_model(model_fn())
    clients = random_clients(np.random.default_rng(5), [8], batch_size=8) * 2  # two clients, the same data
    first = work.next(work.initialize(), broadcast(weights, 2), pack(clients))
    second = work.next(first.state, broadcast(weights, 2), pack(clients))
    a, b = first.result.update[0].numpy()
    c = second.result.update[0].numpy()[0]
    assert not np.allclose(a, b) and not np.allclose(a, c)
    again = work.next(work.initialize(), broadcast(weights, 2), pack(clients))
    np.testing.assert_array_equal(again.result.update[0], first.result.update[0])

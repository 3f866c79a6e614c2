"""Training the cohort side by side gives the sequential path's results."""

import os

import numpy as np
import pytest
import tensorflow as tf

import fedexp
from fedexp.client_work._devices import lanes
from fedexp.data._federated import FederatedData
from fedexp.model.emnist_cnn import build_emnist_cnn
from fedexp.model.mlp import build_mlp


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    sizes = [5, 31, 12, 3, 18]  # unequal: clients run out of batches at different steps
    return FederatedData(rng.normal(size=(sum(sizes), 6)).astype(np.float32),
                         rng.integers(0, 3, sum(sizes)).astype(np.int32), sizes)


def run_two_rounds(process, data):
    state = process.initialize()
    first = process.next(state, data.cohort([0, 1, 2, 3, 4], batch_size=4, seed=1))
    return process.next(first.state, data.cohort([4, 1, 3], batch_size=7, seed=2, epochs=2))


@pytest.mark.parametrize("optimizer, clip_norm, devices", [
    (lambda: fedexp.build_sgdm(learning_rate=0.1), None, ()),
    (lambda: fedexp.build_sgdm(learning_rate=0.1, momentum=0.9), None, ()),
    (lambda: fedexp.build_adam(learning_rate=0.01), 0.3, ()),
    # one part per core of each: 3 or more parts, some of them with one client or none
    (lambda: fedexp.build_sgdm(learning_rate=0.1, momentum=0.9), None, ("/CPU:0",) * 3),
], ids=["sgd", "sgdm", "adam+clipping", "sgdm-in-parts"])
def test_side_by_side_equals_one_after_another(data, optimizer, clip_norm, devices):
    model_fn = build_mlp(input_shape=(6,), hidden_units=(8,), num_classes=3, seed=2)
    weights = fedexp.weights_type(model_fn())
    outputs = []
    for batched in (False, True):
        options = dict(batched=batched, devices=devices if batched else (), name="work")
        work = (fedexp.build_gradient_clipping_client_work(model_fn, optimizer(), clip_norm, **options) if clip_norm
                else fedexp.build_model_delta_client_work(model_fn, optimizer(), **options))
        assert work.batched is batched
        process = fedexp.compose_learning_process(
            lambda: fedexp.ModelWeights.from_model(model_fn()), fedexp.build_broadcast_process(weights), work,
            fedexp.build_weighted_mean(weights.trainable),
            fedexp.build_apply_optimizer_finalizer(fedexp.build_sgdm(learning_rate=1.0), weights))
        outputs.append(run_two_rounds(process, data))
    for a, b in zip(tf.nest.flatten(outputs[0]), tf.nest.flatten(outputs[1])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_cpu_trains_side_by_side_in_one_part_per_core():
    cores = len(os.sched_getaffinity(0))
    assert lanes(()) == ("/CPU:0",) * min(cores, 8)
    assert lanes(("/CPU:0", "/CPU:1")) == ("/CPU:0",) * min(cores, 8) + ("/CPU:1",) * min(cores, 8)
    assert lanes(("/GPU:0", "/GPU:1")) == ("/GPU:0", "/GPU:1")


def test_auto_trains_dense_models_side_by_side_and_convolutions_one_by_one():
    sgd = fedexp.build_sgdm(learning_rate=0.1)
    assert fedexp.build_model_delta_client_work(build_mlp(), sgd).batched is True
    assert fedexp.build_model_delta_client_work(build_emnist_cnn(), sgd).batched is False
    with pytest.raises(ValueError, match="cannot train side by side"):
        fedexp.build_model_delta_client_work(build_emnist_cnn(), sgd, batched=True)

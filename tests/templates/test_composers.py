import numpy as np
import pytest
import tensorflow as tf

import fedexp
from fedexp.data._federated import FederatedData
from fedexp.model.linear import build_linear


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    sizes = [5, 12, 30, 8, 17, 21]
    x = rng.normal(size=(sum(sizes), 6)).astype(np.float32)
    y = rng.integers(0, 3, sum(sizes)).astype(np.int32)
    return FederatedData(x, y, sizes)


def assert_same_weights(a, b, **tolerance):
    for u, v in zip(tf.nest.flatten(a), tf.nest.flatten(b)):
        np.testing.assert_allclose(u, v, **tolerance)


def test_the_tutorials_composition_equals_the_built_in_fed_avg_with_clipping(linear_fn, data):
    # "Composing Learning Algorithms": the four blocks, put together by hand.
    weights_type = fedexp.weights_type(linear_fn())
    by_hand = fedexp.compose_learning_process(
        lambda: fedexp.ModelWeights.from_model(linear_fn()),
        fedexp.build_broadcast_process(weights_type),
        fedexp.build_gradient_clipping_client_work(linear_fn, fedexp.build_sgdm(learning_rate=0.1), clip_norm=0.5),
        fedexp.build_weighted_mean(weights_type.trainable),
        fedexp.build_apply_optimizer_finalizer(fedexp.build_sgdm(learning_rate=1.0), weights_type))
    built_in = fedexp.build_fed_avg_with_gradient_clipping(
        linear_fn, fedexp.build_sgdm(learning_rate=0.1), fedexp.build_sgdm(learning_rate=1.0), clip_norm=0.5)
    s1, s2 = by_hand.initialize(), built_in.initialize()
    for round_num in range(3):
        cohort = data.cohort([round_num, round_num + 2, 5], batch_size=4, seed=round_num)
        o1, o2 = by_hand.next(s1, cohort), built_in.next(s2, cohort)
        s1, s2 = o1.state, o2.state
        assert_same_weights(s1, s2, rtol=0, atol=0)
        assert_same_weights(o1.metrics, o2.metrics, rtol=0, atol=0)
    assert set(o1.metrics) == {"distributor", "client_work", "aggregator", "finalizer"}
    assert set(s1._fields) == {"global_model_weights", "distributor", "client_work", "aggregator", "finalizer"}


def test_one_round_of_fed_avg_by_hand(linear_fn, data):
    """Weighted FedAvg with server SGD at learning rate 1 moves to the example-weighted mean of the clients' models."""
    process = fedexp.build_weighted_fed_avg(linear_fn, fedexp.build_sgdm(learning_rate=0.1))
    work = fedexp.build_model_delta_client_work(linear_fn, fedexp.build_sgdm(learning_rate=0.1))
    state = process.initialize()
    cohort = data.cohort([1, 2, 4], batch_size=5)
    out = process.next(state, cohort)
    weights = process.get_model_weights(state)
    clients = work.next(work.initialize(), tf.nest.map_structure(lambda v: tf.stack([v] * 3), weights), cohort)
    sizes = np.array([12, 30, 17], np.float32)
    for w, u, new in zip(weights.trainable, clients.result.update, out.state.global_model_weights.trainable):
        np.testing.assert_allclose(new, w - np.tensordot(sizes / sizes.sum(), u, 1), rtol=1e-5, atol=1e-6)
    assert out.metrics["client_work"]["train"]["num_examples"] == 59


def test_a_list_of_datasets_equals_the_packed_cohort(linear_fn, data):
    process = fedexp.build_weighted_fed_avg(linear_fn, fedexp.build_sgdm(learning_rate=0.1))
    state = process.initialize()
    clients = [0, 2, 3]
    packed = process.next(state, data.cohort(clients, batch_size=4))
    datasets = process.next(state, [data.client_dataset(c, batch_size=4) for c in clients])
    assert_same_weights(packed, datasets, rtol=1e-6, atol=1e-7)


def test_nothing_retraces_from_round_to_round(linear_fn, data):
    process = fedexp.build_weighted_fed_avg(linear_fn, fedexp.build_adam(learning_rate=0.01))
    state = process.initialize()
    traced = process.next_fn._compiled.experimental_get_tracing_count()
    rng = np.random.default_rng(1)
    for n, batch_size in [(2, 4), (5, 4), (3, 8), (6, 2)]:
        cohort = data.cohort(rng.choice(data.num_clients, n, replace=False), batch_size=batch_size, seed=n)
        state = process.next(state, cohort).state
    state = process.set_hparams(state, process.get_hparams(state))
    assert process.next_fn._compiled.experimental_get_tracing_count() == traced


def test_hparams_round_trip_through_the_learning_process(linear_fn, data):
    process = fedexp.build_weighted_fed_avg(
        linear_fn, fedexp.build_sgdm(learning_rate=0.1), fedexp.build_sgdm(learning_rate=1.0, momentum=0.9))
    state = process.initialize()
    hparams = process.get_hparams(state)
    assert float(hparams["client_work"]["learning_rate"]) == pytest.approx(0.1)
    assert float(hparams["finalizer"]["momentum"]) == pytest.approx(0.9)
    assert hparams["distributor"] == {} and hparams["aggregator"] == {}
    frozen = process.set_hparams(state, {**hparams, "finalizer": {"learning_rate": 0.0, "momentum": 0.9}})
    assert float(process.get_hparams(frozen)["finalizer"]["learning_rate"]) == 0.0
    out = process.next(frozen, data.cohort([0, 1], batch_size=4))
    assert_same_weights(process.get_model_weights(out.state), process.get_model_weights(state), rtol=0, atol=0)


def test_set_model_weights(linear_fn):
    process = fedexp.build_weighted_fed_avg(linear_fn, fedexp.build_sgdm(learning_rate=0.1))
    state = process.initialize()
    zeros = tf.nest.map_structure(tf.zeros_like, process.get_model_weights(state))
    assert_same_weights(process.get_model_weights(process.set_model_weights(state, zeros)), zeros, atol=0)


def test_the_same_seed_gives_identical_weights(data):
    def train(seed):
        process = fedexp.build_weighted_fed_avg(build_linear(input_shape=(6,), num_classes=3, seed=seed),
                                                fedexp.build_sgdm(learning_rate=0.1))
        state = process.initialize()
        for r in range(2):
            state = process.next(state, data.cohort([r, 3, 4], batch_size=4, seed=r)).state
        return process.get_model_weights(state)

    assert_same_weights(train(7), train(7), rtol=0, atol=0)
    assert not np.allclose(train(7).trainable[0], train(8).trainable[0])


def test_unweighted_fed_avg_and_fed_sgd_run(linear_fn, data):
    cohort = data.cohort([0, 2], batch_size=4)
    for process in (fedexp.build_unweighted_fed_avg(linear_fn, fedexp.build_sgdm(learning_rate=0.1)),
                    fedexp.build_fed_sgd(linear_fn, fedexp.build_sgdm(learning_rate=0.1))):
        out = process.next(process.initialize(), cohort)
        assert out.metrics["client_work"]["train"]["num_examples"] == 35
    assert out.metrics["aggregator"]["mean"]["mean_weight"] == 35.0

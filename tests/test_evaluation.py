"""Centralized and federated evaluation against a hand computation with the linear model."""

import numpy as np
import pytest

import fedexp
from fedexp.data._federated import FederatedData
from fedexp.data._sampling import sample_clients
from fedexp.evaluation import build_centralized_evaluation, build_federated_evaluation


def hand(weights, x, y):
    w, b = (v.numpy() for v in weights.trainable)
    logits = x @ w + b
    log_p = logits - logits.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    return -log_p[np.arange(len(y)), y], (logits.argmax(1) == y).astype(float)


@pytest.fixture
def test_data():
    rng = np.random.default_rng(0)
    sizes = [3, 17, 8, 1, 25]
    return FederatedData(rng.normal(size=(sum(sizes), 6)).astype(np.float32), rng.integers(0, 3, sum(sizes)), sizes)


def test_centralized_is_the_mean_over_every_example(linear_fn, test_data):
    weights = fedexp.ModelWeights.from_model(linear_fn())
    loss, hits = hand(weights, test_data.x, test_data.y)
    out = build_centralized_evaluation(linear_fn, test_data.x, test_data.y, batch_size=7)(weights)
    np.testing.assert_allclose([float(out["loss"]), float(out["accuracy"])], [loss.mean(), hits.mean()], rtol=1e-5)


def test_federated_weighs_clients_by_examples_and_reports_their_spread(linear_fn, test_data):
    weights = fedexp.ModelWeights.from_model(linear_fn())
    evaluate = build_federated_evaluation(linear_fn, test_data, clients_per_round=3, seed=4, batch_size=4)
    out = evaluate(weights, 7)
    clients = sample_clients(5, 3, seed=4, round_num=7, stream=3)
    per_client = [hand(weights, test_data.x[test_data.client_indices(c)], test_data.y[test_data.client_indices(c)])
                  for c in clients]
    losses, hits = np.concatenate([lo for lo, _ in per_client]), np.concatenate([h for _, h in per_client])
    accuracies = [h.mean() for _, h in per_client]
    np.testing.assert_allclose([out["loss"], out["accuracy"], out["client_accuracy_mean"], out["client_accuracy_p10"]],
                               [losses.mean(), hits.mean(), np.mean(accuracies), np.percentile(accuracies, 10)],
                               rtol=1e-5)
    assert out["num_clients"] == 3
    assert not np.array_equal(clients, sample_clients(5, 3, seed=4, round_num=8, stream=3))  # new clients each round


def test_federated_cannot_sample_more_clients_than_there_are(linear_fn, test_data):
    with pytest.raises(ValueError, match=r"clients_per_round must be an integer between 1 and the 5 test clients"):
        build_federated_evaluation(linear_fn, test_data, clients_per_round=6, seed=0)

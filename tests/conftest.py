import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from fedexp.data.cohort import cohort_type, pack_batches  # noqa: E402
from fedexp.model.linear import build_linear  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    from fedexp.data.digits import load_digits
    return load_digits()


@pytest.fixture(scope="session")
def linear_fn():
    """A small linear model: 6 features, 3 classes."""
    return build_linear(input_shape=(6,), num_classes=3, seed=1)


def random_clients(rng, sizes, batch_size, num_features=6, num_classes=3):
    """Each client's list of (x, y) batches of random data."""
    clients = []
    for n in sizes:
        x = rng.normal(size=(n, num_features)).astype(np.float32)
        y = rng.integers(0, num_classes, n).astype(np.int32)
        clients.append([(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, n, batch_size)])
    return clients


def pack(clients, num_features=6):
    return pack_batches(clients, cohort_type((num_features,)))


def softmax_ce_grad(w, b, x, y):
    """Hand-computed gradient of the mean softmax cross-entropy of a linear model."""
    logits = x @ w + b
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return x.T @ p / len(y), p.mean(0)


def broadcast(weights, n):
    """weights@SERVER -> weights@CLIENTS for n clients (as the distributor does)."""
    return tf.nest.map_structure(lambda v: tf.stack([v] * n), weights)

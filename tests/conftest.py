import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("FEDEXP_PLUGINS", "tests.runner")  # the blocks the tests build (fedexp.targets)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from fedexp.templates.client_data import cohort_type, pack_batches  # noqa: E402
from fedexp.model.linear import build_linear  # noqa: E402


@pytest.fixture(autouse=True)
def in_its_own_folder(tmp_path, monkeypatch):
    """What a test writes into the working directory (`train()` outside the command checkpoints into it,
    the default store is `outputs/mlflow.db` there) goes to its own folder, not the checkout."""
    monkeypatch.chdir(tmp_path)


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


CONFIG_DIR = str(__import__("pathlib").Path(__file__).resolve().parents[1] / "conf")

# A small, fast run: the linear model on few clients of the embedded digits.
TINY = ["model=linear", "num_rounds=2", "clients_per_round=2", "eval_every=1",
        "data.num_clients=5", "data.test_size=100", "data.batch_size=50", "data.epochs=1"]


def compose(*overrides):
    from hydra import compose as hydra_compose, initialize_config_dir
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return hydra_compose("config", overrides=list(overrides))


def store(tmp_path):
    """A fresh MLflow SQLite store under tmp_path: (uri, client)."""
    from mlflow import MlflowClient
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    return uri, MlflowClient(uri)


def all_runs(client):
    experiment = client.get_experiment_by_name("fedexp")
    return [] if experiment is None else client.search_runs([experiment.experiment_id])

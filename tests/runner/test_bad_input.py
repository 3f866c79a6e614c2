"""Bad input: one clear message naming the key, before any training, nothing recorded."""

import pytest

from fedexp.runner.errors import ConfigError
from fedexp.runner.train import train
from tests.conftest import TINY, all_runs, compose, store


@pytest.mark.parametrize("override, message", [
    ("num_rounds=0", "num_rounds must be an integer >= 1, found 0"),
    ("clients_per_round=0", "clients_per_round must be an integer >= 1, found 0"),
    ("clients_per_round=6", r"clients_per_round must be at most the number of clients \(5\), found 6"),
    ("eval_every=-1", "eval_every must be an integer >= 0, found -1"),
    ("client_optimizer.learning_rate=-0.1", "client_optimizer.learning_rate must be a number >= 0, found -0.1"),
    ("server_optimizer.learning_rate=-1", "server_optimizer.learning_rate must be a number >= 0, found -1"),
    ("data.alpha=0", r"data.alpha must be > 0, found 0"),
    ("data.batch_size=0", "data.batch_size must be an integer >= 1, found 0"),
    ("+client_optimizer.lr=0.1", "client_optimizer: build_sgdm.. got an unexpected keyword argument 'lr'"),
    ("client_work.client_weighting=by_size", "client_work.client_weighting must be one of"),
    ("model.input_shape=[32,32,3]", r"model.input_shape: examples have 784 values; the model's input shape"),
    ("aggregator._target_=tests.runner.broken_blocks.build_fixed_mean",
     r"the blocks do not compose: aggregator 'mean': must accept the client work's update"),
    ("tracking.uri=http://127.0.0.1:9", r"tracking.uri: cannot reach the MLflow server at http://127.0.0.1:9"),
])
def test_bad_input_is_refused_before_training(tmp_path, override, message):
    uri, client = store(tmp_path)
    overrides = [*TINY, f"tracking.uri={uri}", override]
    if override.startswith("data.alpha"):
        overrides.append("data.partition=dirichlet")
    with pytest.raises(ConfigError, match=message):
        train(compose(*overrides))
    assert all_runs(client) == []  # nothing was started

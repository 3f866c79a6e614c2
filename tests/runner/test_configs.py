"""Every option of every config group instantiates and runs (the presets: `tests/runner/test_cli.py`)."""

from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds

from fedexp.runner.build import build_experiment, instantiate
from fedexp.runner.train import train
from tests.conftest import CONFIG_DIR, TINY, compose
from tests.data.test_federated_emnist import write as write_emnist


def options(group):
    return sorted(p.stem for p in (Path(CONFIG_DIR) / group).glob("*.yaml"))


EXTRA = {"krum": ["clients_per_round=5"], "multi_krum": ["clients_per_round=5"],  # f = 1 needs 2f + 3 clients
         "trimmed_mean": ["clients_per_round=5", "aggregator.beta=0.2"],  # beta * clients >= 1 trims one of each end
         "dp_fedavg": ["aggregator.clipped_count_stddev=1.0"],  # the default, m / 20, is for 100s of clients
         "fedavg_krum": ["clients_per_round=9", "data.num_clients=10"],  # f = 3
         "fedavg_trimmed_mean": ["clients_per_round=5"]}
BLOCK_OPTIONS = [(group, option) for group in ("distributor", "client_work", "aggregator", "finalizer", "model")
                 for option in options(group)]


@pytest.mark.parametrize("group, option", BLOCK_OPTIONS, ids=[f"{g}={o}" for g, o in BLOCK_OPTIONS])
def test_every_block_option_builds_a_process_that_runs(group, option):
    cfg = compose(*TINY, f"{group}={option}", *EXTRA.get(option, []))
    experiment = build_experiment(cfg)
    state = experiment.process.initialize()
    cohort = experiment.data.train.cohort([0, 1], batch_size=50)
    output = experiment.process.next(state, cohort)
    assert int(output.metrics["client_work"]["train"]["num_examples"]) == sum(experiment.data.train.client_sizes[:2])
    assert 0.0 <= experiment.evaluate(experiment.process.get_model_weights(output.state), 1)["eval/accuracy"] <= 1.0


@pytest.mark.parametrize("option", options("optimizer"))
def test_every_optimizer_instantiates_on_both_sides(option):
    cfg = compose(*TINY, f"optimizer@client_optimizer={option}", f"optimizer@server_optimizer={option}",
                  "server_optimizer.learning_rate=0.01")
    for side in ("client_optimizer", "server_optimizer"):
        optimizer = instantiate(cfg, side)
        assert float(optimizer.get_hparams(optimizer.initialize(()))["learning_rate"]) > 0


@pytest.mark.parametrize("option", options("tracking"))
def test_tracking_options_instantiate(option):
    assert instantiate(compose(*TINY, f"tracking={option}"), "tracking") is not None


DATA = [f"data={o}" for o in options("data")] + [f"data/partition={o}" for o in options("data/partition")]


@pytest.mark.parametrize("choice", DATA)
def test_every_data_source_and_partition_gives_a_split(choice, tmp_path):
    overrides = {"data=tfds": ["data.num_clients=20", "data.cache_dir=null"], "data=synthetic": [],
                 "data=federated_emnist": [f"data.path={tmp_path}"]}.get(choice, ["data.cache_dir=null"])
    write_emnist(tmp_path, "fed_emnist_digitsonly_{}.h5", lambda w, n: np.arange(n) % 10)
    with tfds.testing.mock_data(num_examples=100):
        split = instantiate(compose(choice, *overrides), "data")
    assert split.train.num_clients >= 4 and split.test.num_clients >= 1 and split.num_classes == 10
    assert split.train.client_sizes.sum() == len(split.train.y) and split.train.client_sizes.min() >= 1


def test_presets_select_their_blocks():
    cfg = compose("+algo=fedsgd")
    assert cfg.client_work._target_.endswith("build_fed_sgd_client_work") and cfg.get("client_optimizer") is None
    cfg = compose("+algo=fedavg_unweighted")
    assert cfg.aggregator._target_.endswith("build_unweighted_mean") and cfg.client_work.client_weighting == "uniform"
    assert compose("+algo=fedavg_clip").client_work.clip_norm == 1.0


def test_the_same_seed_gives_the_same_run():
    a, b, c = (train(compose(*TINY, "tracking=none", f"seed={s}")) for s in (3, 3, 4))
    assert a["eval/loss"] == b["eval/loss"] and a["model/global_norm"] == b["model/global_norm"]
    assert a["model/global_norm"] != c["model/global_norm"]


BEHAVIOR_OPTIONS = [(group, option) for group in ("attack", "dropout", "stragglers") for option in options(group)]


@pytest.mark.parametrize("group, option", BEHAVIOR_OPTIONS, ids=[f"{g}={o}" for g, o in BEHAVIOR_OPTIONS])
def test_every_client_behavior_option_builds_and_runs_a_round(group, option):
    experiment = build_experiment(compose(*TINY, "clients_per_round=4", f"+{group}={option}"))
    cohort = experiment.data.train.cohort(list(range(experiment.sampled)), batch_size=50)
    output = experiment.process.next(experiment.process.initialize(), cohort)
    clients = output.metrics["client_work"]["clients"]
    assert int(clients["sampled"]) == experiment.sampled >= 4 and 0 <= int(clients["reported"]) <= 4

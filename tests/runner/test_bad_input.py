"""Bad input: one clear message naming the key, before any training, nothing recorded."""

import pytest

from fedexp.errors import ConfigError
from fedexp.runner.train import train
from tests.conftest import TINY, all_runs, compose, store


@pytest.mark.parametrize("override, message", [
    ("num_rounds=0", "num_rounds must be an integer >= 1, found 0"),
    ("clients_per_round=0", "clients_per_round must be an integer >= 1, found 0"),
    ("clients_per_round=6", r"clients_per_round must be at most the number of clients \(5\), found 6"),
    ("eval_every=-1", "eval_every must be an integer >= 0, found -1"),
    ("client_optimizer.learning_rate=-0.1", "client_optimizer.learning_rate must be a number > 0, found -0.1"),
    ("server_optimizer.learning_rate=-1", "server_optimizer.learning_rate must be a number > 0, found -1"),
    ("client_optimizer.learning_rate=inf", "client_optimizer.learning_rate must be a number > 0, found inf"),
    ("server_optimizer.learning_rate=nan", "server_optimizer.learning_rate must be a number > 0, found nan"),
    ("optimizer@client_optimizer=adam client_optimizer.beta_1=1",
     r"client_optimizer.beta_1 must be a number in \[0, 1\), found 1"),
    ("optimizer@server_optimizer=adam server_optimizer.learning_rate=0.01 server_optimizer.epsilon=0",
     "server_optimizer.epsilon must be a number > 0, found 0"),
    ("client_optimizer.momentum=-0.5", r"client_optimizer.momentum must be a number in \[0, 1\), found -0.5"),
    ("aggregator=clipping aggregator.clip_norm=inf", "aggregator.clip_norm must be a number > 0, found inf"),
    ("aggregator=multi_krum clients_per_round=5 aggregator.multi=5",
     r"aggregator.multi must be at most clients_per_round - f = 4 \(more would average Byzantine clients in\), found 5"),
    ("aggregator=dp_gaussian aggregator.delta=1", "aggregator.delta must be between 0 and 1, found 1"),
    ("aggregator=dp_gaussian aggregator.delta=-1e-5", "aggregator.delta must be between 0 and 1, found -1e-05"),
    ("+schedules.client_work.learning_rate={kind:piecewise,boundaries:[2],values:[0.1,-1]}",
     r"schedules.client_work.learning_rate must be a number > 0, found -1.* \(its value at round 2\)"),
    ("+schedules.finalizer.learning_rate={kind:constant,value:inf}",
     r"schedules.finalizer.learning_rate must be a number > 0, found inf \(its value at round 1\)"),
    ("data.partition.alpha=0", r"data.partition.alpha must be a number > 0, found 0"),
    ("data.partition.classes_per_client=11", r"data.partition.classes_per_client is 11, but the data has 10 classes"),
    ("data.num_clients=4901", r"data.num_clients must be at most the number of examples \(4900\), found 4901"),
    ("data.test_clients=0", r"data.test_clients must be an integer >= 1, found 0"),
    ("data.batch_size=0", "data.batch_size must be an integer >= 1, found 0"),
    ("client_sampling=random", r"client_sampling must be one of \['uniform', 'by_size'\], found 'random'"),
    ("evaluation.centralized=false", "evaluation: centralized and federated are both false; switch at least one on"),
    ("evaluation.federated=true evaluation.clients_per_round=11",
     r"evaluation.clients_per_round must be an integer between 1 and the 10 test clients \(data.test_clients\)"),
    ("+client_optimizer.lr=0.1", "client_optimizer: build_sgdm.. got an unexpected keyword argument 'lr'; "
                                 "did you mean client_optimizer.learning_rate?"),
    ("aggregator=clipping +aggregator.clip_nrm=1", "aggregator: build_clipping.. got an unexpected keyword argument "
                                                   "'clip_nrm'; did you mean aggregator.clip_norm?"),
    ("+num_round=3", "num_round: no such key; did you mean num_rounds. the keys here are: aggregator, attack, checkpoint"),
    ("+evaluation.federatd=true", "evaluation.federatd: no such key; did you mean evaluation.federated. the keys "
                                  "here are: centralized, clients_per_round, federated"),
    ("+checkpoint.evry=2", "checkpoint.evry: no such key; did you mean checkpoint.every?"),
    ("+learning_rate=0.1", "learning_rate: no such key; the keys here are"),
    ("client_work.client_weighting=by_size", "client_work.client_weighting must be one of"),
    ("model.input_shape=[32,32,3]", r"model.input_shape: examples have 784 values; the model's input shape"),
    ("aggregator._target_=tests.runner.broken_blocks.build_fixed_mean",
     r"the blocks do not compose: aggregator 'mean': must accept the client work's update"),
    ("tracking.uri=http://127.0.0.1:9", r"tracking.uri: cannot reach the MLflow server at http://127.0.0.1:9"),
    ("on_nonfinite=ignore", r"on_nonfinite must be one of \['stop', 'skip_round'\], found 'ignore'"),
    ("checkpoint.every=-1", "checkpoint.every must be an integer >= 0, found -1"),
    ("checkpoint.keep=0", "checkpoint.keep must be an integer >= 1, found 0"),
    ("checkpoint.log_to_mlflow=2", "checkpoint.log_to_mlflow must be true or false, found 2"),
    ("resume=yesterday", r"resume: 'yesterday' is neither a folder nor an MLflow run id; allowed: a run folder, "
                         r"a checkpoint folder, a run id, true or null"),
    ("resume=0123456789abcdef0123456789abcdef", r"resume: no run 0123456789abcdef0123456789abcdef in the MLflow store"),
    ("resume=/tmp", r"resume: no checkpoint in /tmp \(a run folder holds them in checkpoints/round-…\)"),
])
def test_bad_input_is_refused_before_training(tmp_path, override, message):
    uri, client = store(tmp_path)
    overrides = [*TINY, f"tracking.uri={uri}", *override.split()]
    if override.startswith("data.partition."):
        kind = "dirichlet" if "alpha" in override else "shards"
        overrides.append(f"data/partition={kind}")
    with pytest.raises(ConfigError, match=message):
        train(compose(*overrides))
    assert all_runs(client) == []  # nothing was started


def test_a_required_key_left_unset_is_named():
    with pytest.raises(ConfigError, match=r"data.path must be set \(the config leaves it \?\?\?\), e.g. data.path="):
        train(compose("data=federated_emnist", "tracking=none"))


def test_resume_true_needs_a_record_to_look_in():
    with pytest.raises(ConfigError, match=r"resume: true finds this command's last run in MLflow; with tracking=none "
                                          r"give its folder: resume=<run folder>"):
        train(compose(*TINY, "tracking=none", "resume=true"))


@pytest.mark.parametrize("uri, message", [
    ("sqlite:///{tmp}", r"tracking.uri: {tmp} is a folder; give the database file inside it, e.g. sqlite:///{tmp}/mlflow.db"),
    ("sqlite:///{tmp}/notes.txt", r"tracking.uri: {tmp}/notes.txt is not an SQLite database"),
    ("sqlite:///{tmp}/notes.txt/mlflow.db", r"tracking.uri: {tmp}/notes.txt/mlflow.db cannot be created: "
                                            r"{tmp}/notes.txt is not a writable folder"),
    ("ftp://example.org/store", r"tracking.uri: 'ftp://example.org/store' is not a store fedexp knows; allowed: "
                                r"sqlite:///<absolute path>.db, http\(s\)://<MLflow server>"),
    ("{tmp}/mlflow.db", r"tracking.uri: '{tmp}/mlflow.db' is not a store fedexp knows"),
])
def test_a_store_that_cannot_be_used_is_refused_before_the_data_is_built(tmp_path, uri, message):
    (tmp_path / "notes.txt").write_text("not a database\n")
    with pytest.raises(ConfigError, match="^" + message.format(tmp=tmp_path)):
        train(compose(*TINY, f"tracking.uri={uri.format(tmp=tmp_path)}", "data.num_clients=999999"))


def test_an_empty_or_deleted_experiment_is_refused(tmp_path):
    uri, client = store(tmp_path)
    with pytest.raises(ConfigError, match=r"tracking.experiment_name must be a non-empty name, found ''"):
        train(compose(*TINY, f"tracking.uri={uri}", "tracking.experiment_name=''"))
    client.delete_experiment(client.create_experiment("old"))
    with pytest.raises(ConfigError, match=r"tracking.experiment_name: the experiment 'old' was deleted; restore it "
                                          r"\(MLFLOW_TRACKING_URI=sqlite:///.* mlflow experiments restore "
                                          r"--experiment-id \d+\) or choose another name"):
        train(compose(*TINY, f"tracking.uri={uri}", "tracking.experiment_name=old"))

"""A run's name, its sweep's axes and the command that reruns it."""

import sys

from fedexp.tracking._identity import command, job_values, run_name, short_names, sweep_axes

CHOSEN = {"algo": "fedavg_clip", "client_work": "gradient_clipping", "aggregator": "mean", "model": "mlp"}


def test_the_axes_of_a_sweep_by_the_names_a_table_uses():
    axes = sweep_axes(["+algo=fedavg,fedavg_clip", "optimizer@client_optimizer=adam,sgd", "seed=range(0,3)",
                       "num_rounds=5", "data/partition=dirichlet"], {"client_optimizer.learning_rate": "0.01,0.1"})
    assert axes == {"algo": ["fedavg", "fedavg_clip"], "client_optimizer": ["adam", "sgd"], "seed": ["0", "1", "2"],
                    "client_optimizer.learning_rate": ["0.01", "0.1"]}
    assert job_values(["+algo=fedavg", "optimizer@client_optimizer=adam", "seed=2"]) == {
        "algo": "fedavg", "client_optimizer": "adam", "seed": "2"}


def test_short_names_stay_apart():
    assert short_names(["client_optimizer.learning_rate", "seed"]) == {"client_optimizer.learning_rate": "lr",
                                                                       "seed": "seed"}
    assert short_names(["client_optimizer.learning_rate", "server_optimizer.learning_rate"]) == {
        "client_optimizer.learning_rate": "client_optimizer.lr", "server_optimizer.learning_rate": "server_optimizer.lr"}


def test_names_say_what_distinguishes_a_run():
    assert run_name(CHOSEN) == "fedavg_clip mlp"
    assert run_name({**CHOSEN, "algo": "none", "aggregator": "median"}) == "gradient_clipping+median mlp"
    swept = ["algo", "client_optimizer.learning_rate", "seed"]
    values = {"algo": "fedavg_clip", "client_optimizer.learning_rate": "0.05", "seed": "1"}
    assert run_name(CHOSEN, swept, values) == "fedavg_clip lr=0.05 seed=1"
    assert run_name(CHOSEN, ["model"], {"model": "mlp"}) == "fedavg_clip model=mlp"


def test_the_command_keeps_the_config_flags_and_the_jobs_own_overrides(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["fedexp", "-m", "--config-dir", "my conf", "-cn=paper", "seed=0,1", "lr=0.1"])
    assert command(["seed=1", "lr=0.1"]) == "fedexp --config-dir 'my conf' -cn=paper seed=1 lr=0.1"

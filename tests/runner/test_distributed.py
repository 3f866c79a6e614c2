"""Beyond one machine, part 2: one experiment across worker processes on 127.0.0.1 — the same result
as one process, one MLflow run, a worker killed for real, a worker that never comes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient

from fedexp.data._sampling import worker_part
from fedexp.runner.distributed import free_ports, peers_override
from tests.conftest import all_runs, compose
from tests.runner.test_resume import rounds_logged

# An odd cohort (2 + 3 clients), a stateful aggregator (adaptive zeroing and clipping), local epochs.
RUN = ["+algo=robust_fedavg", "model=linear", "clients_per_round=5", "data.num_clients=12", "data.test_size=200",
       "data.batch_size=16", "data.epochs=2", "eval_every=2", "checkpoint.every=2"]


def fedexp(cwd, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", "fedexp", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def start(cwd, *args):
    return subprocess.Popen([sys.executable, "-m", "fedexp", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def final_state(run_folder):
    newest = sorted((Path(run_folder) / "checkpoints").glob("round-*"))[-1]
    with np.load(newest / "state.npz") as npz:
        return newest.name, [npz[k] for k in sorted(npz.files, key=lambda k: int(k.split("_")[1]))]


def test_two_workers_give_one_processs_result_in_one_run(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    common = [*RUN, "num_rounds=4", f"tracking.uri={uri}"]
    runs = [start(tmp_path, *common, f"hydra.run.dir={tmp_path / 'one'}"),  # side by side: a minute is short
            start(tmp_path, *common, "distributed.workers=2", f"hydra.run.dir={tmp_path / 'two'}")]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err[-3000:]

    client = MlflowClient(uri)
    runs = {r.data.params["distributed.workers"]: r for r in all_runs(client)}
    assert len(all_runs(client)) == 2 and set(runs) == {"1", "2"}  # the group made exactly one run
    for key in ("eval/accuracy", "eval/loss", "client_work/train/loss", "client_work/train/num_examples",
                "aggregator/clipping/clip_norm", "aggregator/zeroing/zeroed_count", "model/global_norm"):
        single = [m.value for m in client.get_metric_history(runs["1"].info.run_id, key)]
        group = [m.value for m in client.get_metric_history(runs["2"].info.run_id, key)]
        np.testing.assert_allclose(group, single, rtol=1e-5, err_msg=key)
        assert len(single) == (2 if key.startswith("eval/") else 4)
    (round_one, state_one), (round_two, state_two) = final_state(tmp_path / "one"), final_state(tmp_path / "two")
    assert round_one == round_two == "round-000004"
    for a, b in zip(state_one, state_two):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    assert not (tmp_path / "two" / "workers" / "1" / "checkpoints").exists()  # rank 0 alone checkpoints


def test_a_killed_worker_fails_the_run_in_bounded_time_and_resume_restarts_the_group(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    peers = [f"127.0.0.1:{p}" for p in free_ports(2)]
    group = [*RUN, "num_rounds=100000", f"tracking.uri={uri}", "distributed.workers=2", "distributed.timeout_seconds=3",
             peers_override(peers)]
    workers = [start(tmp_path, *group, f"distributed.rank={rank}", f"hydra.run.dir={tmp_path / f'rank{rank}'}")
               for rank in (0, 1)]
    try:
        deadline = time.monotonic() + 120
        while rounds_logged(tmp_path / "mlflow.db") < 3:
            assert all(w.poll() is None for w in workers) and time.monotonic() < deadline, workers[0].stderr.read()
            time.sleep(0.2)
        os.kill(workers[1].pid, signal.SIGKILL)
        killed = time.monotonic()
        code = workers[0].wait(timeout=60)
        took = time.monotonic() - killed
    finally:
        for w in workers:
            w.kill()
            w.wait()
    err = workers[0].stderr.read()
    assert code == 1 and took < 40, (code, took)
    assert "fedexp: error: worker 0: a peer stopped answering, or was busy longer" in err and "Traceback" not in err
    (run,) = all_runs(MlflowClient(uri))
    assert run.info.status == "FAILED" and rounds_logged(tmp_path / "mlflow.db") >= 3  # what was logged stays

    last, _ = final_state(tmp_path / "rank0")  # the last good round, saved as the worker stopped
    done = int(last.split("-")[1])
    resumed = fedexp(tmp_path, f"resume={tmp_path / 'rank0'}", f"num_rounds={done + 2}", "distributed.workers=2",
                     f"hydra.run.dir={tmp_path / 'resumed'}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    (run,) = all_runs(MlflowClient(uri))
    assert run.info.status == "FINISHED" and rounds_logged(tmp_path / "mlflow.db") == done + 2


def test_a_worker_whose_peers_never_join_says_so_within_the_deadline(tmp_path):
    peers = [f"127.0.0.1:{p}" for p in free_ports(2)]
    began = time.monotonic()
    alone = fedexp(tmp_path, *RUN, "tracking=none", "distributed.workers=2", "distributed.rank=0",
                   peers_override(peers), "distributed.startup_seconds=2", timeout=60)
    assert alone.returncode == -signal.SIGKILL and time.monotonic() - began < 45  # TF ignores SIGTERM as it waits
    assert f"fedexp: error: worker 0: the other workers ({peers[1]}) did not all join within " \
           f"distributed.startup_seconds=2" in alone.stderr


@pytest.mark.parametrize("override, message", [
    ("distributed.rank=2", "distributed.rank must be"),
    ("distributed.peers=[a:1]", "distributed.peers must be a list of 2 host:port addresses"),
    ("distributed.timeout_seconds=0", "distributed.timeout_seconds must be"),
    ("clients_per_round=1", "distributed.workers: 2 workers exceed clients_per_round=1: every worker trains a share"),
    ("+attack=little_is_enough", "attack: little_is_enough crafts from the whole cohort's honest updates"),
])
def test_bad_distributed_settings_are_refused_before_tensorflow_starts(tmp_path, override, message):
    refused = fedexp(tmp_path, "distributed.workers=2", override, "tracking=none", timeout=60)
    assert refused.returncode == 2 and message in refused.stderr and "Traceback" not in refused.stderr


def test_the_python_api_refuses_a_group_it_cannot_start():
    from fedexp.errors import ConfigError
    from fedexp.runner.train import train
    with pytest.raises(ConfigError, match="distributed.workers > 1 runs through the fedexp command"):
        train(compose("model=linear", "tracking=none", "distributed.workers=2"))


def test_each_worker_trains_a_contiguous_share_of_the_cohort():
    assert [worker_part(5, r, 2) for r in range(2)] == [slice(0, 2), slice(2, 5)]
    assert [worker_part(2, r, 3) for r in range(3)] == [slice(0, 0), slice(0, 1), slice(1, 2)]

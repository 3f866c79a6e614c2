"""A run that fails or is interrupted is marked so, with what it had logged kept."""

import subprocess
import sys
import time

import pytest

from fedexp.data._federated import FederatedData
from fedexp.runner.train import train
from tests.conftest import TINY, all_runs, compose, store


def break_round(monkeypatch, error, at_round):
    pack = FederatedData.pack
    calls = []

    def pack_then_fail(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == at_round:
            raise error
        return pack(self, *args, **kwargs)
    monkeypatch.setattr(FederatedData, "pack", pack_then_fail)


@pytest.mark.parametrize("error, status, tag", [(KeyboardInterrupt(), "KILLED", "interrupted"),
                                               (RuntimeError("disk full"), "FAILED", "error")])
def test_an_interrupted_or_failed_run_keeps_its_rounds_and_resumes_as_the_same_run(tmp_path, monkeypatch, error,
                                                                                    status, tag):
    monkeypatch.chdir(tmp_path)
    uri, client = store(tmp_path)
    break_round(monkeypatch, error, at_round=3)
    with pytest.raises(type(error)):
        train(compose(*TINY, "num_rounds=5", "checkpoint.every=2", f"tracking.uri={uri}"))
    (run,) = all_runs(client)
    assert run.info.status == status
    assert [m.step for m in client.get_metric_history(run.info.run_id, "client_work/train/loss")] == [1, 2]
    assert run.data.params["num_rounds"] == "5" and tag in run.data.tags
    if status == "FAILED":
        assert run.data.tags["error"] == "RuntimeError: disk full"
        assert "error.txt" in {a.path for a in client.list_artifacts(run.info.run_id)}
    assert (tmp_path / "checkpoints" / "round-000002" / "manifest.json").is_file()  # the checkpoint before it stays
    monkeypatch.undo()
    train(compose(*TINY, "num_rounds=5", "checkpoint.every=2", f"tracking.uri={uri}", f"resume={tmp_path}"))
    (run,) = all_runs(client)
    assert run.info.status == "FINISHED" and tag not in run.data.tags
    assert run.data.tags["fedexp.resumed"] == "after round 2"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "client_work/train/loss")] == [1, 2, 3, 4, 5]


def test_the_default_store_is_sqlite_under_outputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from fedexp.tracking.mlflow import MlflowTracker
    tracker = MlflowTracker()
    assert tracker.uri == f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}"
    tracker.experiment_id()
    assert (tmp_path / "outputs" / "mlflow.db").is_file()


RACER = """
import sys, time
from pathlib import Path
import mlflow  # imported before the start, so that the stores are made at the same moment
from fedexp.tracking.mlflow import MlflowTracker
uri, go, name = sys.argv[1:]
Path(go + name).touch()
while not Path(go).exists():
    time.sleep(0.001)
tracker = MlflowTracker(uri=uri)
with tracker.run(run_name=name):
    tracker.log_params({"name": name})
    for step in range(1, 6):
        tracker.log_metrics({"loss": 1.0 / step}, step=step)
"""


def test_eight_processes_started_at_once_on_a_new_store_all_record(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # not opened here: a client would make its tables
    go = tmp_path / "go"
    processes = [subprocess.Popen([sys.executable, "-c", RACER, uri, str(go), f"p{i}"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for i in range(8)]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("gop*"))) < 8:  # every process has imported MLflow and waits
        assert time.monotonic() < deadline and all(p.poll() is None for p in processes)
        time.sleep(0.05)
    go.touch()
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0] * 8, [err[-2000:] for _, err in outputs if err]
    _, client = store(tmp_path)
    runs = all_runs(client)
    assert sorted(r.data.params["name"] for r in runs) == [f"p{i}" for i in range(8)]
    for run in runs:
        assert run.info.status == "FINISHED"
        assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [1, 2, 3, 4, 5]


def test_a_name_taken_under_the_same_parent_gets_a_number(tmp_path):
    from fedexp.tracking.mlflow import MlflowTracker, set_sweep_parent
    tracker = MlflowTracker(uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    parent = tracker.client.create_run(tracker.experiment_id(), run_name="sweep").info.run_id
    set_sweep_parent(parent)
    names = []
    try:
        for _ in range(3):
            with tracker.run(run_name="fedavg seed=0"):
                names.append(tracker.client.get_run(tracker.run_id).info.run_name)
    finally:
        set_sweep_parent(None)
    assert names == ["fedavg seed=0", "fedavg seed=0 (2)", "fedavg seed=0 (3)"]

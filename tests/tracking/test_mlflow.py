"""A run that fails or is interrupted is marked so, with what it had logged kept."""

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

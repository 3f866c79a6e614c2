"""tracking=none: a run that records nothing still trains and reports."""

from fedexp.runner.train import train
from fedexp.tracking.none import NoTracker
from tests.conftest import TINY, compose


def test_no_tracker_records_nothing_and_says_so():
    tracker = NoTracker()
    with tracker.run(run_name="x", tags={}) as run:
        run.log_params({"a": 1})
        run.log_metrics({"m": 1.0}, step=1)
    assert not tracker.enabled and tracker.run_id is None
    assert tracker.describe() == "not recorded (tracking=none)"


def test_a_run_without_tracking_trains(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    final = train(compose(*TINY, "tracking=none"))
    assert final["round"] == 2 and 0.0 <= final["eval/accuracy"] <= 1.0
    assert not (tmp_path / "outputs" / "mlflow.db").exists()  # no MLflow store was created

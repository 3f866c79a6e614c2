"""A sweep's parent run, from children made by hand: the best child, and seeds aggregated into
mean ± std and a 95% interval, against numbers computed by hand."""

import csv

import pytest

from fedexp.tracking._compare import mean_ci
from fedexp.tracking._sweep import MlflowSweepCallback
from fedexp.tracking.mlflow import MlflowTracker

# eval accuracy of each (algo, seed); fedavg's: mean 0.85, sample std 0.05,
# 95% half-width t(0.975, 2) * 0.05 / sqrt(3) = 4.302653 * 0.028868 = 0.124207
ACCURACY = {("fedavg", 0): 0.80, ("fedavg", 1): 0.85, ("fedavg", 2): 0.90,
            ("fedavg_clip", 0): 0.70, ("fedavg_clip", 1): 0.72, ("fedavg_clip", 2): 0.74}


def test_mean_std_and_interval_by_hand():
    stats = mean_ci([0.80, 0.85, 0.90])
    assert stats["n"] == 3 and stats["mean"] == pytest.approx(0.85) and stats["std"] == pytest.approx(0.05)
    assert stats["ci95_low"] == pytest.approx(0.725793, abs=1e-6)
    assert stats["ci95_high"] == pytest.approx(0.974207, abs=1e-6)
    one = mean_ci([0.5])
    assert one["mean"] == 0.5 and one["n"] == 1 and one["std"] != one["std"]  # NaN: no spread from one seed


def test_the_parent_gets_the_best_child_and_every_groups_statistics(tmp_path):
    tracker = MlflowTracker(uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    client = tracker.client
    parent = client.create_run(tracker.experiment_id(), run_name="sweep").info.run_id
    ids = {}
    for (algo, seed), accuracy in ACCURACY.items():
        run = client.create_run(tracker.experiment_id(), run_name=f"{algo} seed={seed}", tags={
            "mlflow.parentRunId": parent, "overrides": f"+algo={algo} seed={seed} num_rounds=4"})
        ids[algo, seed] = run.info.run_id
        client.log_param(run.info.run_id, "num_rounds", "4")
        for step in (2, 4):
            client.log_metric(run.info.run_id, "eval/accuracy", accuracy * step / 4, step=step)
        client.log_metric(run.info.run_id, "eval/loss", 1 - accuracy, step=4)
        client.set_terminated(run.info.run_id, "FINISHED")
    callback = MlflowSweepCallback()
    callback.tracker, callback.parent_run_id = tracker, parent
    tracker.run_id = parent
    callback.axes = {"algo": ["fedavg", "fedavg_clip"], "seed": ["0", "1", "2"]}
    callback._finish("FINISHED")

    run = client.get_run(parent)
    assert run.info.status == "FINISHED" and run.data.tags["fedexp.best_run_id"] == ids["fedavg", 2]
    metrics = run.data.metrics
    assert metrics["eval/accuracy"] == 0.90 and metrics["eval/loss"] == pytest.approx(0.10)  # the best child's
    assert metrics["seeds/n"] == 3 and metrics["seeds/eval_accuracy_mean"] == pytest.approx(0.85)  # the best group's
    assert metrics["seeds/eval_accuracy_std"] == pytest.approx(0.05)
    assert metrics["seeds/eval_accuracy_ci95_low"] == pytest.approx(0.725793, abs=1e-6)
    assert metrics["seeds/eval_loss_mean"] == pytest.approx(0.15)
    rows = list(csv.DictReader(open(client.download_artifacts(parent, "comparison/seeds.csv", str(tmp_path)))))
    assert [(r["algo"], r["n"], r["eval_accuracy_mean"], r["eval_accuracy_std"]) for r in rows] == [
        ("fedavg", "3", "0.8500", "0.0500"), ("fedavg_clip", "3", "0.7200", "0.0200")]
    assert rows[1]["eval_accuracy_ci95_high"] == "0.7697"  # 0.72 + 4.302653 * 0.02 / sqrt(3) = 0.769683
    note = run.data.tags["mlflow.note.content"]
    assert "Best: **fedavg seed=2**" in note and "| fedavg | 3 | 0.8500 ± 0.0500 | [0.7258, 0.9742] |" in note

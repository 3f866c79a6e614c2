"""A run that cannot learn: a round that leaves the loss or the model non-finite stops the run, FAILED
with the cause and the last good checkpoint (on_nonfinite=stop), or is dropped (skip_round)."""

import subprocess
import sys

import numpy as np
import pytest

from fedexp.runner.checkpoint import folders
from fedexp.runner.loop import Diverged
from fedexp.runner.train import train
from tests.conftest import TINY, all_runs, compose, store

# The client learning rate is 1e30 from round 5 on: round 5 overflows the model.
BLOW_UP = "+schedules.client_work.learning_rate={kind:piecewise,boundaries:[5],values:[0.1,1e30]}"
RUN = [*TINY, "num_rounds=8", "eval_every=0", "checkpoint.every=3", BLOW_UP]


def test_a_diverged_run_stops_failed_with_its_cause_and_last_good_checkpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri, client = store(tmp_path)
    last_good = tmp_path / "checkpoints" / "round-000004"
    with pytest.raises(Diverged, match=rf"^model weights non-finite \(global norm (inf|nan)\) after round 5; "
                                       rf"last good checkpoint: round 4 \({last_good}\)$"):
        train(compose(*RUN, f"tracking.uri={uri}"))
    (run,) = all_runs(client)
    assert run.info.status == "FAILED" and "after round 5; last good checkpoint: round 4" in run.data.tags["error"]
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "model/global_norm")]
    assert steps == [1, 2, 3, 4, 5]  # the diverged round is logged, for the record
    assert folders(tmp_path / "checkpoints") == [last_good, tmp_path / "checkpoints" / "round-000003"]


def test_skip_round_drops_the_non_finite_rounds_and_goes_on(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri, client = store(tmp_path)
    final = train(compose(*RUN, "on_nonfinite=skip_round", "checkpoint.every=4", f"tracking.uri={uri}"))
    (run,) = all_runs(client)
    assert run.info.status == "FINISHED" and final["rounds/skipped"] == 4.0
    skipped = client.get_metric_history(run.info.run_id, "rounds/skipped")
    assert [(m.step, m.value) for m in skipped] == [(5, 1.0), (6, 2.0), (7, 3.0), (8, 4.0)]
    assert np.isfinite(final["eval/loss"])
    with np.load(tmp_path / "checkpoints" / "round-000004" / "state.npz") as before, \
            np.load(tmp_path / "checkpoints" / "round-000008" / "state.npz") as after:
        for key in before.files:  # every round after 4 was dropped: the state is round 4's
            np.testing.assert_array_equal(before[key], after[key])


def test_the_command_says_a_divergence_in_one_line(tmp_path):
    uri, _ = store(tmp_path)
    result = subprocess.run([sys.executable, "-m", "fedexp", *RUN, f"tracking.uri={uri}"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 1
    assert "fedexp: error: model weights non-finite" in result.stderr and "the run is marked FAILED" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_job_that_diverges_in_a_sweep_fails_alone_and_the_sweep_says_so(tmp_path):
    uri, client = store(tmp_path)
    result = subprocess.run([sys.executable, "-m", "fedexp", "-m", *TINY, "client_optimizer.learning_rate=1e30,0.1",
                             "seed=0,1", f"tracking.uri={uri}"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    runs = [r for r in all_runs(client) if r.data.tags.get("fedexp.sweep") != "true"]
    status = sorted((r.data.params["client_optimizer.learning_rate"], r.data.params["seed"], r.info.status)
                    for r in runs)
    assert status == [("0.1", "0", "FINISHED"), ("0.1", "1", "FINISHED"), ("1e+30", "0", "FAILED"),
                      ("1e+30", "1", "FAILED")], status  # the diverging jobs came first; the others still ran
    assert result.stderr.count("the sweep goes on") == 2 and "fedexp: error: 2 job(s) of the sweep failed" in result.stderr
    (parent,) = [r for r in all_runs(client) if r.data.tags.get("fedexp.sweep") == "true"]
    assert parent.info.status == "FINISHED" and "seeds.md" in [a.path.split("/")[-1] for a in
                                                                client.list_artifacts(parent.info.run_id, "comparison")]

"""Checkpoints in one process: what they hold, that a write cut short leaves the previous ones usable,
that a damaged one is named with the previous one offered, and resume's rules about changed keys."""

import hashlib
import json
import shutil

import numpy as np
import pytest
import tensorflow as tf

from fedexp.errors import ConfigError
from fedexp.runner.build import build_experiment
from fedexp.runner.checkpoint import CheckpointError, Checkpointer, folders, load, read_manifest
from fedexp.runner.loop import run_rounds
from fedexp.runner.resume import newest_checkpoint
from fedexp.runner.train import train
from tests.conftest import TINY, all_runs, compose, store
from tests.runner.test_cli import fedexp

WATCHED = "aggregator._target_=tests.runner.monitored_blocks.build_watched_mean"  # a monitor with state


def run(experiment, root, rounds, *, every=1, keep=2, resume_from=None, log=lambda metrics, step: None):
    if resume_from is None:  # a new run: the watched mean's monitor starts over (`load` restores it otherwise)
        for monitor in experiment.process.monitors:
            monitor.set_state({"seen": 0})
    checkpoints = Checkpointer(root, every=every, keep=keep, run_id="r",
                               tracking_uri=None, overrides=["model=linear"], config_yaml="seed: 0\n")
    return run_rounds(experiment, rounds=rounds, clients_per_round=2, seed=0, by_size=False, eval_every=0,
                      device="/CPU:0", log=log, checkpoints=checkpoints,
                      resume_from=resume_from)


@pytest.fixture
def experiment():
    return build_experiment(compose(*TINY, WATCHED, "+aggregator.rounds=100"))


def test_a_checkpoint_holds_the_state_the_monitors_and_the_history(tmp_path, experiment):
    done = run(experiment, tmp_path, 3)
    assert [p.name for p in folders(tmp_path)] == ["round-000003", "round-000002"]  # keep=2
    manifest = read_manifest(tmp_path / "round-000003")
    assert manifest["round"] == 3 and manifest["run_id"] == "r" and manifest["overrides"] == ["model=linear"]
    assert sorted(manifest["files"]) == ["config.yaml", "history.json", "monitors.json", "state.npz"]
    (monitor,) = experiment.process.monitors
    monitor.set_state({"seen": 0})
    checkpoint = load(tmp_path / "round-000003", state_type=experiment.process.state_type,
                      monitors=experiment.process.monitors)
    assert monitor.seen == 3  # the monitor goes on from where it was
    assert checkpoint.round == 3 and [h["round"] for h in checkpoint.history] == [1, 2, 3]
    assert checkpoint.history == json.loads(json.dumps(done.history))
    weights = experiment.process.get_model_weights(checkpoint.state)
    for a, b in zip(tf.nest.flatten(weights), tf.nest.flatten(done.weights)):
        np.testing.assert_array_equal(a, b)


def interrupt_in_round(round_num):
    """A `log` that stops the run as Ctrl-C would, while round `round_num` is logged."""
    def log(metrics, step):
        if step == round_num:
            raise KeyboardInterrupt
    return log


def without_times(history):
    return [{k: v for k, v in h.items() if not k.startswith("time/")} for h in history]


def test_an_interrupted_run_saves_its_last_round_and_resumes_to_the_uninterrupted_result(tmp_path, experiment):
    whole = run(experiment, tmp_path / "whole", 4)
    with pytest.raises(KeyboardInterrupt):
        run(experiment, tmp_path / "cut", 4, every=10, log=interrupt_in_round(3))
    assert folders(tmp_path / "cut") == [tmp_path / "cut" / "round-000002"]  # the last whole round, saved on the way out
    checkpoint = load(tmp_path / "cut" / "round-000002", state_type=experiment.process.state_type,
                      monitors=experiment.process.monitors)
    resumed = run(experiment, tmp_path / "cut", 4, resume_from=checkpoint)
    assert without_times(resumed.history) == without_times(whole.history)
    for a, b in zip(tf.nest.flatten(resumed.weights), tf.nest.flatten(whole.weights)):
        np.testing.assert_array_equal(a, b)


def test_a_write_cut_short_is_not_a_checkpoint(tmp_path, experiment):
    run(experiment, tmp_path, 2)
    shutil.copytree(tmp_path / "round-000002", tmp_path / ".round-000003.tmp")  # killed before the rename
    (tmp_path / ".round-000003.tmp" / "manifest.json").unlink()
    shutil.copytree(tmp_path / ".round-000003.tmp", tmp_path / "round-000004")  # no manifest: not finished
    assert newest_checkpoint(tmp_path) == tmp_path / "round-000002"
    run(experiment, tmp_path, 3)  # the next write of round 3 replaces the leftover
    assert newest_checkpoint(tmp_path) == tmp_path / "round-000003" and not (tmp_path / ".round-000003.tmp").exists()


def written_by_an_older_version(folder):
    """history.json without its "stopped" entry, the manifest's sha256 made to match."""
    history = json.loads((folder / "history.json").read_text())
    del history["stopped"]
    (folder / "history.json").write_text(json.dumps(history))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["history.json"] = hashlib.sha256((folder / "history.json").read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage, message", [
    (written_by_an_older_version, r"its files lack the entry 'stopped' \(written by another version of fedexp\?\)"),
    (lambda f: (f / "state.npz").write_bytes((f / "state.npz").read_bytes()[:100]),
     r"state.npz does not match its sha256 in the manifest \(changed or cut short\)"),
    (lambda f: (f / "manifest.json").write_text("{"), r"Expecting property name"),
    (lambda f: (f / "history.json").unlink(), r"history.json"),
])
def test_a_damaged_checkpoint_is_named_and_the_previous_one_offered(tmp_path, experiment, damage, message):
    run(experiment, tmp_path, 3)
    damage(tmp_path / "round-000003")
    with pytest.raises(CheckpointError, match=rf"checkpoint {tmp_path}/round-000003 cannot be used: .*{message}"
                                              rf".*; resume from the previous one with resume={tmp_path}/round-000002"):
        load(tmp_path / "round-000003", state_type=experiment.process.state_type,
             monitors=experiment.process.monitors)


@pytest.mark.parametrize("saved, loaded, message", [
    ("model=linear", "model=mlp", r"state.npz holds 6 tensors, the process's state has 10 \(a different algorithm or model\)"),
    ("model=mlp", "model=mlp model.hidden_units=[100,100]",
     r"state.npz tensor 0 is float32\[784, 200\], the process's state expects float32\[784, 100\]"),
])
def test_a_checkpoint_of_another_model_is_refused(tmp_path, saved, loaded, message):
    run(build_experiment(compose(*TINY, WATCHED, saved)), tmp_path, 1)
    other = build_experiment(compose(*TINY, WATCHED, *loaded.split()))
    with pytest.raises(CheckpointError, match=rf"round-000001 cannot be used: {message}; there is no earlier checkpoint"):
        load(tmp_path / "round-000001", state_type=other.process.state_type, monitors=other.process.monitors)


def test_resume_refuses_keys_that_change_results_and_allows_the_others(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri, client = store(tmp_path)
    first = train(compose(*TINY, "num_rounds=3", f"tracking.uri={uri}"))
    with pytest.raises(ConfigError, match=r"resume: these keys differ from the run in .*round-000003 and change its "
                                          r"results: client_optimizer.learning_rate: 0.1 -> 0.5; data.seed: 0 -> 1; model.seed: 0 -> 1; seed: 0 -> 1\. "
                                          r"Only num_rounds, eval_every, on_nonfinite, checkpoint, tracking, resume"):
        train(compose(*TINY, "num_rounds=3", "client_optimizer.learning_rate=0.5", "seed=1", f"tracking.uri={uri}",
                      f"resume={tmp_path}"))
    with pytest.raises(ConfigError, match=r"num_rounds: 2 is below the round of the checkpoint"):
        train(compose(*TINY, "num_rounds=2", f"tracking.uri={uri}", f"resume={tmp_path}"))
    extended = train(compose(*TINY, "num_rounds=5", "eval_every=0", f"tracking.uri={uri}", f"resume={tmp_path}"))
    (run_,) = all_runs(client)  # the same run, extended
    assert run_.info.status == "FINISHED" and extended["round"] == 5 and first["round"] == 3
    assert [m.step for m in client.get_metric_history(run_.info.run_id, "client_work/train/loss")] == [1, 2, 3, 4, 5]
    assert "num_rounds: 3 -> 5" in run_.data.tags["fedexp.resumed"] and "eval_every: 1 -> 0" in run_.data.tags["fedexp.resumed"]


def test_a_shared_checkpoint_cannot_name_code_to_run(tmp_path):
    """A checkpoint's manifest is data too: the overrides it brings are checked as the command line's."""
    train(compose(*TINY, "num_rounds=1", "tracking=none"))  # into ./checkpoints (the test's own folder)
    (folder,) = folders(tmp_path / "checkpoints")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["overrides"] += ["aggregator._target_=builtins.open", f"+aggregator._args_=[{tmp_path}/MARKER,w]"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    result = fedexp(f"resume={folder}", cwd=tmp_path)  # the command composes the saved overrides, then its own
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "fedexp: error: aggregator._target_: 'builtins.open' is not allowed" in result.stderr, result.stderr
    assert not (tmp_path / "MARKER").exists()


def test_a_run_a_monitor_stopped_stays_stopped_when_resumed(tmp_path):
    experiment = build_experiment(compose(*TINY, WATCHED, "+aggregator.rounds=2"))
    done = run(experiment, tmp_path, 5, every=10)
    assert done.stopped == "seen 2 rounds" and folders(tmp_path) == [tmp_path / "round-000002"]
    checkpoint = load(tmp_path / "round-000002", state_type=experiment.process.state_type,
                      monitors=experiment.process.monitors)
    again = run(experiment, tmp_path, 5, resume_from=checkpoint)
    assert again.stopped == "seen 2 rounds" and len(again.history) == 2  # no round past the stop (a privacy budget)


@pytest.mark.parametrize("overrides", [["+algo=compressed_fedavg"], ["model=emnist_cnn", "data.num_clients=40"]],
                         ids=["quantization", "dropout"])
def test_random_streams_are_drawn_alike_after_a_resume(tmp_path, overrides):
    """Quantization's stochastic rounding and dropout's masks come from (seed, round): a resumed run
    draws what the run left alone drew (sampling, shuffling and DP noise: tests/runner/test_resume.py)."""
    whole = run(build_experiment(compose(*TINY, *overrides)), tmp_path / "whole", 4)
    cut = build_experiment(compose(*TINY, *overrides))
    with pytest.raises(KeyboardInterrupt):
        run(cut, tmp_path / "cut", 4, every=10, log=interrupt_in_round(3))
    checkpoint = load(tmp_path / "cut" / "round-000002", state_type=cut.process.state_type, monitors=[])
    resumed = run(cut, tmp_path / "cut", 4, resume_from=checkpoint)
    assert without_times(resumed.history) == without_times(whole.history)
    for a, b in zip(tf.nest.flatten(resumed.weights), tf.nest.flatten(whole.weights)):
        np.testing.assert_array_equal(a, b)


def test_checkpoints_go_to_mlflow_when_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri, client = store(tmp_path)
    train(compose(*TINY, "num_rounds=3", "checkpoint.every=2", "checkpoint.log_to_mlflow=true", f"tracking.uri={uri}"))
    (run_,) = all_runs(client)
    uploaded = {a.path for d in ("checkpoints/round-000002", "checkpoints/round-000003")
                for a in client.list_artifacts(run_.info.run_id, d)}
    assert {f"checkpoints/round-00000{r}/{f}" for r in (2, 3) for f in ("manifest.json", "state.npz")} <= uploaded

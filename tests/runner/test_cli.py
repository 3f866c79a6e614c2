"""The `fedexp` command end to end, as a user runs it; its MLflow record read back."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fedexp.tracking._identity import PALETTE, PARENT_COLOR
from tests.conftest import TINY, all_runs, store
from tests.runner.test_configs import EXTRA, options


def fedexp(*args, cwd):
    return subprocess.run([sys.executable, "-m", "fedexp", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_one_run_is_recorded_in_mlflow(tmp_path):
    uri, client = store(tmp_path)
    result = fedexp("+algo=fedavg_clip", *TINY, "num_rounds=3", f"tracking.uri={uri}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (run,) = all_runs(client)
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"  # the UI opens on runs
    url = f"http://127.0.0.1:5000/#/experiments/{experiment.experiment_id}/runs/{run.info.run_id}?workflowType=machine_learning"
    assert f"fedexp: MLflow run {run.info.run_id}: {url}\n" in result.stdout
    assert (f"fedexp: to see it: MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false mlflow ui --backend-store-uri {uri} "
            "--workers 1\n") in result.stdout
    assert "fedexp: 3 rounds in" in result.stdout and "eval accuracy" in result.stdout
    for chatter in ("absl", "cuda", "cuInit", "mlflow.store", "Creating initial", "tensorflow", "Traceback"):
        assert chatter not in result.stdout + result.stderr, chatter  # TensorFlow's and MLflow's start-up lines
    log = next((tmp_path / "outputs" / "runs").glob("*/*/fedexp.log")).read_text()  # Hydra's job log has them
    assert "[fedexp][INFO] - data: 5 clients, 4900 training examples" in log and "3 rounds in" in log
    assert run.info.status == "FINISHED" and run.info.run_name == "fedavg_clip linear"
    params, tags = run.data.params, run.data.tags
    assert {k: params[k] for k in ("algo", "client_work", "aggregator", "model", "client_optimizer", "data",
                                   "data/partition")} == {
        "algo": "fedavg_clip", "client_work": "gradient_clipping", "aggregator": "mean", "model": "linear",
        "client_optimizer": "sgd", "data": "digits", "data/partition": "iid"}
    assert params["num_rounds"] == "3" and params["client_work.clip_norm"] == "1.0"
    assert params["model._target_"] == "fedexp.model.linear.build_linear" and params["model.input_shape"] == "[784]"
    assert params["data/num_clients"] == "5" and params["data/num_examples"] == "4900"  # constants: params
    assert not [k for k in run.data.metrics if k.startswith("data/")]
    command = f"fedexp +algo=fedavg_clip {' '.join(TINY)} num_rounds=3 tracking.uri={uri}"
    assert tags["mlflow.note.content"] == f"Rerun it: `cd {tmp_path} && {command}`"
    assert tags["mlflow.source.name"] == "fedexp" and tags["mlflow.source.type"] == "LOCAL" and tags["mlflow.user"]
    assert len(tags["mlflow.source.git.commit"]) == 40 and tags["algo"] == "fedavg_clip" and tags["fedexp.version"]
    for key in ("client_work/train/loss", "client_work/train/accuracy", "client_work/train/num_examples",
                "aggregator/mean/mean_weight", "aggregator/mean/bytes_received", "distributor/bytes_sent",
                "finalizer/update_non_finite", "hparams/client_work/learning_rate",
                "hparams/client_work/clip_norm", "model/global_norm", "time/round_seconds",
                "time/examples_per_second", "eval/accuracy", "eval/loss"):
        assert [m.step for m in client.get_metric_history(run.info.run_id, key)] == [1, 2, 3], key
    artifacts = {a.path for d in (None, "plots", "hydra", "data") for a in client.list_artifacts(run.info.run_id, d)}
    assert {"config.yaml", "plots/learning_curve.png", "hydra/config.yaml", "hydra/overrides.yaml",
            "data/client_counts.csv", "data/label_heatmap.png"} <= artifacts
    assert list((tmp_path / "outputs" / "runs").glob("*/*/.hydra/config.yaml"))  # Hydra's folder under outputs/

    from fedexp.data.digits import build_digits, digits_file
    from fedexp.tracking._dataset import digest
    split = build_digits(num_clients=5, test_size=100, batch_size=50, epochs=1, seed=0, cache_dir=None)
    inputs = {{t.key: t.value for t in i.tags}["mlflow.data.context"]: i for i in run.inputs.dataset_inputs}
    for context, data in (("training", split.train), ("evaluation", split.test)):
        dataset = inputs[context].dataset
        assert dataset.name == "digits" and dataset.source_type == "local" and dataset.digest == digest(data)
        assert json.loads(dataset.source) == {"uri": Path(digits_file()).as_uri()}
        assert json.loads(dataset.profile)["partition"] == "iid"
    assert json.loads(inputs["training"].dataset.profile)["examples"] == 4900

    import mlflow
    mlflow.set_tracking_uri(uri)
    (output,) = run.outputs.model_outputs
    model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    assert client.get_logged_model(output.model_id).source_run_id == run.info.run_id
    accuracy = (model.predict(split.test_x).argmax(1) == split.test_y).mean()
    assert accuracy == pytest.approx(run.data.metrics["eval/accuracy"], abs=1e-6)  # the final model, predicting


def children_of(client, parent):
    return [r for r in all_runs(client) if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]


def test_a_sweep_is_one_parent_named_by_its_axes_with_a_child_per_job(tmp_path):
    uri, client = store(tmp_path)
    result = fedexp("-m", "+algo=fedavg,fedavg_clip", "client_optimizer.learning_rate=0.01,0.05", *TINY,
                    f"tracking.uri={uri}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (parent,) = [r for r in all_runs(client) if r.data.tags.get("fedexp.sweep") == "true"]
    children = children_of(client, parent)
    assert parent.info.status == "FINISHED" and parent.info.run_name == "sweep algo=fedavg,fedavg_clip lr=0.01,0.05"
    assert parent.data.params == {"algo": "fedavg,fedavg_clip", "client_optimizer.learning_rate": "0.01,0.05"}
    assert sorted(c.info.run_name for c in children) == [
        "fedavg lr=0.01", "fedavg lr=0.05", "fedavg_clip lr=0.01", "fedavg_clip lr=0.05"]
    for child in children:
        algo, lr = child.info.run_name.replace("lr=", "").split()
        assert child.data.params["algo"] == algo and child.data.params["client_optimizer.learning_rate"] == lr
    assert sorted(c.data.tags["mlflow.runColor"] for c in children) == sorted(PALETTE[:4])  # by job number
    assert parent.data.tags["mlflow.runColor"] == PARENT_COLOR
    best = max(children, key=lambda c: c.data.metrics["eval/accuracy"])
    assert parent.data.tags["fedexp.best_run_id"] == best.info.run_id
    for key in ("eval/accuracy", "eval/loss", "client_work/train/accuracy"):
        assert parent.data.metrics[key] == best.data.metrics[key], key
    assert best.info.run_name in parent.data.tags["mlflow.note.content"]
    table = client.download_artifacts(parent.info.run_id, "comparison/sweep.csv", str(tmp_path))
    lines = open(table).read().splitlines()
    assert lines[0] == ("algo,client_optimizer.learning_rate,eval_accuracy,eval_loss,train_accuracy,rounds,"
                        "wall_time_s,status,run_name,run_id")
    assert sorted(line.split(",")[8] for line in lines[1:]) == sorted(c.info.run_name for c in children)
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "comparison")} == {
        "comparison/sweep.csv", "comparison/sweep.md", "comparison/sweep.png"}
    url = f"http://127.0.0.1:5000/#/experiments/{parent.info.experiment_id}/runs/{parent.info.run_id}?workflowType=machine_learning"
    assert f"fedexp: sweep recorded as MLflow run {parent.info.run_id} with 4 child run(s): {url}" in result.stdout


def test_a_sweep_over_seeds_reports_each_group_by_mean_std_and_interval(tmp_path):
    """Three seeds in parallel jobs (joblib): the parent's numbers against a hand computation from the children's."""
    uri, client = store(tmp_path)
    result = fedexp("-m", "hydra/launcher=joblib", "seed=0,1,2", *TINY, f"tracking.uri={uri}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (parent,) = [r for r in all_runs(client) if r.data.tags.get("fedexp.sweep") == "true"]
    children = children_of(client, parent)
    assert sorted(c.info.run_name for c in children) == [f"model_delta+mean seed={i}" for i in range(3)]
    accuracies = np.array([c.data.metrics["eval/accuracy"] for c in children])
    mean, std = accuracies.mean(), accuracies.std(ddof=1)
    t = 0.95 / np.sqrt(2 * 0.975 * 0.025)  # Student's t quantile 0.975 with 2 degrees of freedom: 4.3027
    half = t * std / np.sqrt(3)
    metrics = parent.data.metrics
    assert metrics["seeds/n"] == 3 and metrics["seeds/eval_accuracy_mean"] == pytest.approx(mean, abs=1e-12)
    assert metrics["seeds/eval_accuracy_std"] == pytest.approx(std, abs=1e-12)
    assert metrics["seeds/eval_accuracy_ci95_low"] == pytest.approx(mean - half, abs=1e-12)
    assert metrics["seeds/eval_accuracy_ci95_high"] == pytest.approx(mean + half, abs=1e-12)
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "comparison")} == {
        "comparison/sweep.csv", "comparison/sweep.md", "comparison/sweep.png", "comparison/seeds.csv",
        "comparison/seeds.md"}
    assert f"| 3 | {mean:.4f} ± {std:.4f} | [{mean - half:.4f}, {mean + half:.4f}] |" in result.stdout


def test_every_algo_preset_runs_two_rounds(tmp_path):
    """One multirun of every preset (a preset that needs its own overrides runs alone), read back from MLflow."""
    uri, client = store(tmp_path)
    presets = options("algo")
    together = [p for p in presets if p not in EXTRA]
    for args in [["-m", *TINY, f"+algo={','.join(together)}"]] + [[*TINY, f"+algo={p}", *EXTRA[p]]  # its own last
                                                                  for p in presets if p in EXTRA]:
        result = fedexp(*args, f"tracking.uri={uri}", cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
    runs = {r.data.tags["algo"]: r for r in all_runs(client) if r.data.tags.get("fedexp.sweep") != "true"}
    assert sorted(runs) == presets
    for preset, run in runs.items():
        metrics = run.data.metrics
        assert run.info.status == "FINISHED", preset
        assert [m.step for m in client.get_metric_history(run.info.run_id, "eval/accuracy")] == [1, 2], preset
        assert metrics["client_work/train/num_examples"] > 0 and 0.0 <= metrics["eval/accuracy"] <= 1.0, preset
        assert metrics["finalizer/update_non_finite"] == 0, preset


@pytest.mark.parametrize("args, message", [
    (["num_rounds=0"], "fedexp: error: num_rounds must be an integer >= 1, found 0"),
    (["aggregator=mode"], "Available options in 'aggregator':"),
])
def test_bad_input_exits_non_zero_with_its_message(tmp_path, args, message):
    uri, client = store(tmp_path)
    result = fedexp(*TINY, f"tracking.uri={uri}", *args, cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert all_runs(client) == []


def test_inspect_describes_the_data_without_training(tmp_path):
    uri, client = store(tmp_path)
    result = fedexp("+inspect=true", "data/partition=shards", "data.partition.classes_per_client=3",
                    f"tracking.uri={uri}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "fedexp: data: 50 clients, 4000 training examples" in result.stdout
    assert "10 classes (3.00 per client on average); test: 1000 examples on 10 clients" in result.stdout
    (folder,) = (tmp_path / "outputs" / "runs").glob("*/*")
    assert (folder / "label_heatmap.png").is_file() and len((folder / "client_counts.csv").read_text().splitlines()) == 51
    assert all_runs(client) == [] and "rounds in" not in result.stdout


def test_help_lists_every_group_and_option(tmp_path):
    result = fedexp("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "fedexp: federated-learning experiments" in result.stdout
    assert "resume=true" in result.stdout and "resume=outputs/runs/DAY/TIME" in result.stdout
    for line in ("aggregator: clipping, dp_gaussian, krum, mean, median, multi_krum, quantize, secure_sum, sum, "
                 "trimmed_mean, unweighted_mean, zeroing",
                 "algo: compressed_fedavg, dp_fedavg, fedadagrad, fedadam, fedavg, fedavg_clip, fedavg_krum, "
                 "fedavg_median, fedavg_trimmed_mean, fedavg_unweighted, fedavgm, fedprox, fedprox_mu1, fedsgd, "
                 "fedyogi, mime_lite, robust_fedavg, scaffold",
                 "client_work: fed_sgd, fedprox, gradient_clipping, mime_lite, model_delta, scaffold",
                 "data: digits, federated_emnist, synthetic, tfds", "data/partition: dirichlet, iid, shards, size_skew", "model: emnist_cnn, linear, mlp",
                 "optimizer: adafactor, adagrad, adam, adamw, rmsprop, sgd, yogi", "tracking: mlflow, none"):
        assert line in result.stdout


def test_client_behaviors_come_from_the_command_line_and_are_logged_each_round(tmp_path):
    uri, client = store(tmp_path)
    result = fedexp(*TINY, "data.num_clients=10", "clients_per_round=4", "aggregator=median", "+attack=sign_flip",
                    "attack.fraction=0.5", "+dropout=random", "dropout.rate=0.3", "dropout.over_selection=0.5",
                    "+stragglers=partial_work", f"tracking.uri={uri}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = all_runs(client)
    for key in ("sampled", "reported", "malicious_in_cohort", "stragglers"):
        history = client.get_metric_history(run.info.run_id, f"client_work/clients/{key}")
        assert [m.step for m in history] == [1, 2], key
    assert run.data.metrics["client_work/clients/sampled"] == 6 and run.data.params["attack.fraction"] == "0.5"

"""The `fedexp` command end to end, as a user runs it; its MLflow record read back."""

import subprocess
import sys

import pytest

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
    assert f"MLflow run {run.info.run_id}" in result.stdout and f"mlflow ui --backend-store-uri {uri}" in result.stdout
    assert "fedexp: 3 rounds in" in result.stdout and "eval accuracy" in result.stdout
    assert run.info.status == "FINISHED"
    params, tags = run.data.params, run.data.tags
    assert params["num_rounds"] == "3" and params["client_work.clip_norm"] == "1.0"
    assert params["model._target_"] == "fedexp.model.linear.build_linear" and params["model.input_shape"] == "[784]"
    assert tags["algo"] == "fedavg_clip" and tags["choice.client_work"] == "gradient_clipping"
    assert "num_rounds=3" in tags["overrides"] and tags["fedexp.version"]
    for key in ("client_work/train/loss", "client_work/train/accuracy", "client_work/train/num_examples",
                "aggregator/mean/mean_weight", "aggregator/mean/bytes_received", "distributor/bytes_sent", "finalizer/update_non_finite", "hparams/client_work/learning_rate",
                "hparams/client_work/clip_norm", "model/global_norm", "time/round_seconds",
                "time/examples_per_second", "eval/accuracy", "eval/loss"):
        assert [m.step for m in client.get_metric_history(run.info.run_id, key)] == [1, 2, 3], key
    artifacts = {a.path for d in (None, "model", "plots", "hydra", "data")
                 for a in client.list_artifacts(run.info.run_id, d)}
    assert {"config.yaml", "model/model.keras", "plots/learning_curve.png", "hydra/config.yaml",
            "hydra/overrides.yaml", "data/client_counts.csv", "data/label_heatmap.png"} <= artifacts
    assert run.data.metrics["data/num_clients"] == 5 and run.data.metrics["data/num_examples"] == 4900
    assert list((tmp_path / "outputs" / "runs").glob("*/*/.hydra/config.yaml"))  # Hydra's folder under outputs/


@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_a_multirun_is_one_parent_with_a_child_per_job(tmp_path, launcher):
    uri, client = store(tmp_path)
    result = fedexp("-m", f"hydra/launcher={launcher}", "+algo=fedavg,fedavg_clip", *TINY, f"tracking.uri={uri}",
                    cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    runs = all_runs(client)
    (parent,) = [r for r in runs if r.data.tags.get("fedexp.sweep") == "true"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 3 and len(children) == 2
    assert {c.data.tags["algo"] for c in children} == {"fedavg", "fedavg_clip"}
    assert parent.info.status == "FINISHED"
    table = client.download_artifacts(parent.info.run_id, "comparison/sweep.csv", str(tmp_path))
    lines = open(table).read().splitlines()
    assert lines[0] == "+algo,eval_accuracy,eval_loss,rounds,wall_time_s,status,run_id"
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["fedavg", "fedavg_clip"]
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "comparison")} == {
        "comparison/sweep.csv", "comparison/sweep.md", "comparison/sweep.png"}


def test_every_algo_preset_runs_two_rounds(tmp_path):
    """One multirun of every preset (a preset that needs its own overrides runs alone), read back from MLflow."""
    uri, client = store(tmp_path)
    presets = options("algo")
    together = [p for p in presets if p not in EXTRA]
    for args in [["-m", f"+algo={','.join(together)}"]] + [[f"+algo={p}", *EXTRA[p]] for p in presets if p in EXTRA]:
        result = fedexp(*args, *TINY, f"tracking.uri={uri}", cwd=tmp_path)
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
                 "algo: compressed_fedavg, dp_fedavg, fedadagrad, fedadam, fedavg, fedavg_clip, fedavg_median, "
                 "fedavg_unweighted, fedavgm, fedprox, fedsgd, fedyogi, mime_lite, robust_fedavg, scaffold",
                 "client_work: fed_sgd, fedprox, gradient_clipping, mime_lite, model_delta, scaffold",
                 "data: digits, federated_emnist, synthetic, tfds", "data/partition: dirichlet, iid, shards, size_skew", "model: emnist_cnn, linear, mlp",
                 "optimizer: adagrad, adam, rmsprop, sgd, yogi", "tracking: mlflow, none"):
        assert line in result.stdout

"""Beyond one machine, part 1: sweeps through Hydra's submitit launcher into a real `mlflow server`,
refusals before a job starts, and a requeued SLURM job resuming its run."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from mlflow import MlflowClient

from tests.conftest import TINY, all_runs, store
from tests.runner.test_resume import rounds_logged


def fedexp(cwd, *args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "fedexp", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` on a free 127.0.0.1 port (SQLite behind it, artifacts proxied), stopped by PID."""
    tmp_path = tmp_path_factory.mktemp("server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        ["mlflow", "server", "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}", "--artifacts-destination",
         str(tmp_path / "artifacts"), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "mlflow server did not start"
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and its workers (their own process group)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.mark.parametrize("launcher", [["hydra/launcher=submitit_local"],
                                      ["hydra/launcher=ray", "+hydra.launcher.ray.init.include_dashboard=false"]],
                         ids=["submitit_local", "ray"])
def test_a_sweep_through_a_launcher_reaches_a_tracking_server_as_one_parent_and_its_children(
        tmp_path, mlflow_server, launcher):
    experiment = f"sweep-{launcher[0].split('=')[1]}"
    result = fedexp(tmp_path, "-m", *launcher, "seed=0,1", *TINY, f"tracking.uri={mlflow_server}",
                    f"tracking.experiment_name={experiment}")
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(mlflow_server)
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    (parent,) = [r for r in runs if "fedexp.sweep" in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 3 and sorted(r.data.params["seed"] for r in children) == ["0", "1"]
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "comparison")} >= {
        "comparison/sweep.csv", "comparison/seeds.md", "comparison/sweep.png"}
    assert client.get_experiment(parent.info.experiment_id).artifact_location.startswith("mlflow-artifacts:")
    assert not (tmp_path / "outputs" / "mlflow.db").exists()  # nothing went to a local store


@pytest.mark.parametrize("args, message", [
    (["hydra/launcher=submitit_slurm"],
     "fedexp: error: tracking.uri: hydra/launcher=submitit_slurm runs jobs on other machines, which cannot write to "
     "the SQLite file outputs/mlflow.db; start an MLflow server they can reach and pass "
     "tracking.uri=http://<server>:5000 (README: Beyond one machine)"),
    (["hydra/launcher=ray", "hydra.launcher.ray.init.address=10.0.0.1:6379", "tracking.uri=sqlite:////tmp/x.db"],
     "fedexp: error: tracking.uri: hydra/launcher=ray runs jobs on other machines, which cannot write to the SQLite "
     "file sqlite:////tmp/x.db; start an MLflow server they can reach and pass tracking.uri=http://<server>:5000 "
     "(README: Beyond one machine)"),
    (["hydra/launcher=ray_aws"],
     "fedexp: error: hydra/launcher=ray_aws: Ray's AWS launcher is not supported (best-effort upstream); start a Ray "
     "cluster and use hydra/launcher=ray hydra.launcher.ray.init.address=<head>:6379"),
    (["hydra/launcher=submitit_slurm", "tracking=none"],
     "fedexp: error: hydra/launcher=submitit_slurm: SLURM's sbatch is not on this machine; launch the sweep from "
     "the cluster's login node (or hydra/launcher=submitit_local to try it here)"),
])
def test_a_sweep_that_cannot_run_or_record_elsewhere_is_refused_before_any_job(tmp_path, args, message):
    """Refused before Hydra starts a launcher (or a Ray, or a job)."""
    result = fedexp(tmp_path, "-m", *args, "seed=0,1", *TINY)
    assert result.returncode == 2 and result.stderr.strip() == message, result.stderr[-2000:]
    assert not (tmp_path / "outputs").exists()


def test_a_requeued_slurm_job_resumes_its_run_from_its_folder(tmp_path):
    """SIGTERM (a preemption) after a checkpoint; the same job started again by SLURM (its folder, and
    SLURM_RESTART_COUNT=1) goes on in the same MLflow run."""
    uri, client = store(tmp_path)
    args = ["model=linear", "num_rounds=40", "clients_per_round=3", "eval_every=0", "checkpoint.every=2",
            "data.num_clients=10", "data.test_size=100", f"tracking.uri={uri}", f"hydra.run.dir={tmp_path / 'job'}"]
    first = subprocess.Popen([sys.executable, "-m", "fedexp", *args], cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while rounds_logged(tmp_path / "mlflow.db") < 5 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    finally:
        first.kill()
    (killed,) = all_runs(client)
    assert killed.info.status == "KILLED"
    stopped_at = rounds_logged(tmp_path / "mlflow.db")
    assert 5 <= stopped_at < 40
    again = fedexp(tmp_path, *args, env={"SLURM_RESTART_COUNT": "1"})
    assert again.returncode == 0 and "SLURM requeued this job (restart 1): resuming from" in again.stdout, \
        again.stdout[-2000:] + again.stderr[-2000:]
    (resumed,) = all_runs(client)
    assert resumed.info.run_id == killed.info.run_id and resumed.info.status == "FINISHED"
    steps = [m.step for m in client.get_metric_history(resumed.info.run_id, "time/round_seconds")]
    assert steps == list(range(1, 41))  # every round once


def test_only_a_requeued_job_resumes_unasked(tmp_path, monkeypatch):
    from omegaconf import OmegaConf

    from fedexp.runner.resume import Target, find_target
    (tmp_path / "checkpoints" / "round-000002").mkdir(parents=True)
    (tmp_path / "checkpoints" / "round-000002" / "manifest.json").write_text("{}")
    cfg = OmegaConf.create({"resume": None})
    assert find_target(cfg, None, tmp_path) == Target()
    monkeypatch.setenv("SLURM_RESTART_COUNT", "2")
    assert find_target(cfg, None, tmp_path).checkpoint == tmp_path / "checkpoints" / "round-000002"
    assert find_target(cfg, None, tmp_path / "checkpoints" / "round-000002" / "none") == Target()

"""The durability contract, end to end with real processes: a run killed with SIGKILL at a random
round and then resumed ends with the same final weights and the same per-round metrics, step for
step, as the run left alone; a sweep killed midway and rerun with resume=true completes every job
under its parent without logging a step twice."""

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import all_runs, store

ALGOS = ["fedavg", "scaffold", "robust_fedavg", "dp_fedavg"]  # robust_fedavg: adaptive zeroing + clipping
ROUNDS = 40  # dp_fedavg's adaptive clipping needs clipped_count_stddev = clients / 20 > noise_multiplier / 2: 12 clients
RUN = ["model=linear", f"num_rounds={ROUNDS}", "clients_per_round=12", "eval_every=4", "checkpoint.every=3",
       "data.num_clients=20", "data.test_size=100", "data.batch_size=50"]


STARTED = []  # every process a test starts, killed when its fixture ends


def fedexp(cwd, *args):
    process = subprocess.Popen([sys.executable, "-m", "fedexp", *args], cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    STARTED.append(process)
    return process


def rounds_logged(db):
    """The last round the store holds (read with sqlite3: cheap enough to poll)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            row = con.execute("SELECT MAX(step) FROM metrics WHERE key = 'time/round_seconds'").fetchone()
        return row[0] or 0
    except sqlite3.OperationalError:  # tables not there yet, or locked for a moment
        return 0


def finish(process, timeout=300):
    """What the process printed, once it has ended."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        process.kill()
    return stdout + stderr


def histories(client, run_id):
    """Every metric's [(step, value)] but the wall times, which no two runs share."""
    keys = [k for k in client.get_run(run_id).data.metrics if not k.startswith("time/")]
    return {k: [(m.step, m.value) for m in sorted(client.get_metric_history(run_id, k), key=lambda m: m.step)]
            for k in keys}


def final_weights(folder):
    with np.load(Path(folder) / f"round-{ROUNDS:06d}" / "state.npz") as npz:
        return [npz[k] for k in sorted(npz.files, key=lambda k: int(k.split("_")[1]))]


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory):
    """Each algorithm killed at a random round and resumed; the same runs uninterrupted as a sweep.
    The processes of a stage run side by side."""
    tmp = tmp_path_factory.mktemp("resume")
    try:
        yield kill_and_resume(tmp)
    finally:
        for process in STARTED:
            process.kill()


def kill_and_resume(tmp):
    rng = random.Random()
    kill_at = {algo: rng.randint(2, ROUNDS // 2) for algo in ALGOS}
    (tmp / "reference").mkdir()
    reference = fedexp(tmp / "reference", "-m", f"+algo={','.join(ALGOS)}", *RUN)
    killed = {}
    for algo in ALGOS:
        (tmp / algo).mkdir()
        killed[algo] = fedexp(tmp / algo, f"+algo={algo}", *RUN)
    deadline = time.monotonic() + 400
    pending = dict(killed)
    while pending:
        for algo, process in list(pending.items()):
            assert process.poll() is None, f"{algo} ended before round {kill_at[algo]}: {finish(process)}"
            if rounds_logged(tmp / algo / "outputs" / "mlflow.db") >= kill_at[algo]:
                process.send_signal(signal.SIGKILL)
                process.wait()
                del pending[algo]
        assert time.monotonic() < deadline, f"no kill within the time for {sorted(pending)}"
        time.sleep(0.02)
    killed_at = {algo: rounds_logged(tmp / algo / "outputs" / "mlflow.db") for algo in ALGOS}
    resumed = {algo: fedexp(tmp / algo, f"+algo={algo}", *RUN, "resume=true") for algo in ALGOS}
    printed = {algo: finish(process) for algo, process in resumed.items()}
    assert all(p.returncode == 0 for p in resumed.values()), printed
    assert reference.wait(timeout=400) == 0, finish(reference)
    return tmp, killed_at, printed


@pytest.mark.parametrize("algo", ALGOS)
def test_a_run_killed_at_a_random_round_resumes_to_the_uninterrupted_result(killed_and_resumed, algo):
    tmp, killed_at, printed = killed_and_resumed
    where = f"{algo} killed after round {killed_at[algo]}"
    assert 0 < killed_at[algo] < ROUNDS, where
    _, client = store(tmp / algo / "outputs")
    (run,) = all_runs(client)  # resumed in the same MLflow run
    assert run.info.status == "FINISHED", where
    assert f"fedexp: resuming run {run.info.run_id} after round" in printed[algo], where
    _, ref_client = store(tmp / "reference" / "outputs")
    (ref,) = [r for r in all_runs(ref_client) if r.data.tags.get("algo") == algo]
    got, want = histories(client, run.info.run_id), histories(ref_client, ref.info.run_id)
    assert sorted(got) == sorted(want), where
    for key in want:  # every step once, every value equal
        assert got[key] == want[key], f"{where}: {key}"
    if algo == "dp_fedavg":
        assert len(want["privacy/epsilon"]) == ROUNDS and want["privacy/epsilon"][-1][1] > want["privacy/epsilon"][0][1]
    for a, b in zip(final_weights(run.data.tags["fedexp.checkpoints"]), final_weights(ref.data.tags["fedexp.checkpoints"])):
        np.testing.assert_array_equal(a, b, err_msg=where)


def finished_children(db):
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("SELECT COUNT(*) FROM runs WHERE status = 'FINISHED' AND run_uuid IN "
                               "(SELECT run_uuid FROM tags WHERE key = 'mlflow.parentRunId')").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_a_killed_sweep_rerun_with_resume_completes_every_job_under_one_parent(tmp_path):
    rates = ["0.02", "0.05", "0.1", "0.2"]
    sweep = ["-m", "model=linear", "num_rounds=15", "clients_per_round=3", "eval_every=5", "checkpoint.every=4",
             "data.num_clients=10", "data.test_size=100", "data.batch_size=50",
             f"client_optimizer.learning_rate={','.join(rates)}"]
    db = tmp_path / "outputs" / "mlflow.db"
    killed = fedexp(tmp_path, *sweep)
    try:
        deadline = time.monotonic() + 400
        while finished_children(db) < 2:
            assert killed.poll() is None and time.monotonic() < deadline, finish(killed)
            time.sleep(0.05)
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    finally:
        killed.kill()
    _, client = store(tmp_path / "outputs")
    before = {r.info.run_id: r.info.status for r in all_runs(client)}
    resumed = fedexp(tmp_path, *sweep, "resume=true")
    printed = finish(resumed)
    assert resumed.returncode == 0, printed
    runs = all_runs(client)
    (parent,) = [r for r in runs if r.data.tags.get("fedexp.sweep") == "true"]
    assert parent.info.run_id in before and parent.info.status == "FINISHED"
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 5 and len(children) == 4 and {r.info.status for r in children} == {"FINISHED"}
    assert sorted(r.data.params["client_optimizer.learning_rate"] for r in children) == rates
    assert sum(status == "FINISHED" for status in before.values()) >= 2  # kept, not run again
    assert printed.count("already finished its 15 rounds") == sum(
        status == "FINISHED" for run_id, status in before.items() if run_id != parent.info.run_id)
    for child in children:  # every metric's steps once each
        for key in child.data.metrics:
            steps = [m.step for m in client.get_metric_history(child.info.run_id, key)]
            assert len(steps) == len(set(steps)), (child.data.params["client_optimizer.learning_rate"], key)
        rounds = [m.step for m in client.get_metric_history(child.info.run_id, "time/round_seconds")]
        assert sorted(rounds) == list(range(1, 16))
    table = client.download_artifacts(parent.info.run_id, "comparison/sweep.csv", str(tmp_path))
    assert len(open(table).read().splitlines()) == 1 + 4

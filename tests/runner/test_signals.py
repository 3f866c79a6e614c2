"""A run ended by a signal, for real: SIGTERM (kill, timeout, schedulers) and SIGINT (Ctrl-C) mark the
MLflow run KILLED with every round it had logged, checkpoint the last whole round, print how to
resume, and the command exits with 128 + the signal."""

import signal
import subprocess
import sys
import time

import pytest

from fedexp.runner.resume import newest_checkpoint
from tests.conftest import TINY, all_runs, store


def logged_rounds(client):
    runs = all_runs(client)
    return len(client.get_metric_history(runs[0].info.run_id, "client_work/train/loss")) if runs else 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signalled_run_is_marked_killed_with_its_rounds(tmp_path, signum):
    uri, client = store(tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "fedexp", *TINY, "num_rounds=100000", "eval_every=0",
                                f"tracking.uri={uri}"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        deadline = time.monotonic() + 240
        while logged_rounds(client) < 3:
            assert process.poll() is None and time.monotonic() < deadline, "the run did not reach round 3"
            time.sleep(0.5)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 128 + signum, stderr
    assert f"interrupted by {signal.Signals(signum).name}" in stderr and "Traceback" not in stderr
    (run,) = all_runs(client)
    assert run.info.status == "KILLED" and run.data.tags["interrupted"] == signal.Signals(signum).name
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "client_work/train/loss")]
    assert len(steps) >= 3 and steps == list(range(1, len(steps) + 1))  # every round logged before it is kept
    assert run.data.params["num_rounds"] == "100000"
    (folder,) = (tmp_path / "outputs" / "runs").glob("*/*")  # the last whole round is checkpointed on the way out
    assert f"to resume: fedexp resume={folder}" in stderr and run.data.tags["fedexp.resume"] == f"fedexp resume={folder}"
    checkpoint = newest_checkpoint(folder)
    assert checkpoint is not None and int(checkpoint.name.split("-")[1]) in (len(steps) - 1, len(steps))

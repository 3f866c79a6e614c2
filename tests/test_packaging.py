"""fedexp as a user installs it from a wheel, not from this checkout: the configs ship inside the
package (`fedexp/conf/`; the repository's `conf/` links to it), so the command runs from any folder."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args, cwd):
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_the_command_runs_from_a_wheel_installed_in_a_fresh_environment(tmp_path):
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist",
                ROOT, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("fedexp-*.whl")
    # A fresh environment that sees the installed dependencies (TensorFlow, MLflow, …) but not this checkout.
    made = run(sys.executable, "-m", "venv", "--system-site-packages", tmp_path / "env", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    python = tmp_path / "env" / "bin" / "python"
    installed = run(python, "-m", "pip", "install", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr
    where = run(python, "-c", "import fedexp; print(fedexp.__file__)", cwd=tmp_path)
    assert where.stdout.startswith(str(tmp_path / "env")), where.stdout + where.stderr
    (tmp_path / "elsewhere").mkdir()
    command = tmp_path / "env" / "bin" / "fedexp"
    helped = run(command, "--help", cwd=tmp_path / "elsewhere")
    assert helped.returncode == 0 and "algo: compressed_fedavg, dp_fedavg" in helped.stdout, helped.stderr
    ran = run(command, "+algo=fedavg", "model=linear", "num_rounds=1", "clients_per_round=2", "data.num_clients=5",
              "tracking=none", cwd=tmp_path / "elsewhere")
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "fedexp: 1 rounds in" in ran.stdout and "eval accuracy" in ran.stdout
    assert list((tmp_path / "elsewhere" / "outputs" / "runs").glob("*/*/checkpoints/round-000001/manifest.json"))

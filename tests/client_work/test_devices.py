"""A cohort split across two devices (two logical CPUs) trains as on one."""

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("path", ["batched", "sequential"])
def test_two_devices_equal_one(path):
    script = Path(__file__).with_name("two_devices.py")
    result = subprocess.run([sys.executable, str(script), path], capture_output=True, text=True, timeout=300,
                            cwd=Path(__file__).parents[2])
    assert result.returncode == 0, result.stderr
    devices, difference = result.stdout.split()
    assert devices == "2" and float(difference) <= 1e-6

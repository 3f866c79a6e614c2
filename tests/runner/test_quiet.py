"""Native start-up lines are held back, unless asked for or unless starting fails."""

import subprocess
import sys

import pytest

SCRIPT = """
import os, sys
from fedexp.runner.quiet import native_output_held
show, fail = sys.argv[1] == "show", sys.argv[2] == "fail"
with native_output_held(show=show):
    os.write(2, b"native chatter\\n")  # as C++ code writes: straight to file descriptor 2
    if fail:
        raise SystemExit(3)
os.write(2, b"after\\n")
"""


@pytest.mark.parametrize("show, fail, seen", [("hide", "ok", False), ("show", "ok", True), ("hide", "fail", True)])
def test_native_output_is_held_back_unless_shown_or_failing(show, fail, seen):
    result = subprocess.run([sys.executable, "-c", SCRIPT, show, fail], capture_output=True, text=True, timeout=60)
    assert ("native chatter" in result.stderr) == seen
    assert ("after" in result.stderr) == (fail == "ok")  # stderr itself is back once the block ends

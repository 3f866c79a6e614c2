"""How long the `fedexp` command takes to finish round 1, beyond importing TensorFlow and MLflow, and
to finish altogether (recording the model, plots and data record included).

    python benchmarks/startup.py [--repeats 3]

Runs `python -c "import tensorflow, mlflow"` and `fedexp num_rounds=1` (the default
experiment, recorded to a fresh SQLite store) as subprocesses, several times each, and
reports the medians; the command prints when its round 1 finished.
"""

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def seconds(cmd, cwd):
    tick = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True)
    return time.perf_counter() - tick, result.stdout


def main(repeats):
    imports, round_1, whole = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        seconds([sys.executable, "-m", "fedexp", "num_rounds=1", f"tracking.uri={uri}"], tmp)  # creates the store
        for _ in range(repeats):
            imports.append(seconds([sys.executable, "-c", "import tensorflow, mlflow"], tmp)[0])
            took, out = seconds([sys.executable, "-m", "fedexp", "num_rounds=1", f"tracking.uri={uri}"], tmp)
            whole.append(took)
            round_1.append(float(re.search(r"round 1 done ([\d.]+) s after start", out).group(1)))
    result = {"import_tensorflow_mlflow_s": statistics.median(imports), "start_to_round_1_s": statistics.median(round_1)}
    result["beyond_imports_s"] = result["start_to_round_1_s"] - result["import_tensorflow_mlflow_s"]
    result["whole_command_s"] = statistics.median(whole)
    print("| import TensorFlow + MLflow s | fedexp start to end of round 1 s | beyond the imports s | whole command s |"
          "\n|---|---|---|---|")
    print(f"| {result['import_tensorflow_mlflow_s']:.2f} | {result['start_to_round_1_s']:.2f} | "
          f"{result['beyond_imports_s']:.2f} | {result['whole_command_s']:.2f} |")
    print(json.dumps(result), file=sys.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    main(parser.parse_args().repeats)

"""One experiment on 1 worker against 2 workers on this machine: seconds per round and bytes per round.

    python benchmarks/distributed.py [--rounds 12] [--json out.jsonl]

The `fedexp` command as a user runs it: the EMNIST CNN on the embedded digits split into 100
clients of 40 examples (batch 20, 1 epoch), FedAvg, 20 and 100 clients per round, with
`distributed.workers` 1 and 2 (the command starts the workers on 127.0.0.1). Each run logs its
rounds to its own SQLite store; the figure is the median of `time/round_seconds` over the rounds
after the first two (compilation), as rank 0 measures it: its part of the cohort, the all-reduce
and the server step. `distributed/bytes_sent` is what each worker sends per round (the all-reduce's
payload x 2 (W - 1) / W). Processes are not one process here, so there is no floor ratio: the
comparison is 1 worker against 2 on the same cores. Prints a Markdown table and writes JSON lines.
"""

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RUN = ["model=emnist_cnn", "data.num_clients=100", "data.batch_size=20", "data.epochs=1", "data.test_size=200",
       "eval_every=0", "checkpoint.every=0"]


def metric(db, key):
    with sqlite3.connect(db) as con:
        return [v for _, v in sorted(con.execute("SELECT step, value FROM metrics WHERE key = ?", (key,)).fetchall())]


def measure(per_round, workers, rounds):
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "mlflow.db"
        subprocess.run([sys.executable, "-m", "fedexp", *RUN, f"clients_per_round={per_round}", f"num_rounds={rounds}",
                        f"distributed.workers={workers}", f"tracking.uri=sqlite:///{db}", f"hydra.run.dir={tmp}/run"],
                       check=True, capture_output=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        seconds = metric(db, "time/round_seconds")[2:]
        sent = metric(db, "distributed/bytes_sent")
    return {"clients_per_round": per_round, "workers": workers, "rounds_timed": len(seconds),
            "seconds_per_round": statistics.median(seconds), "bytes_sent_per_worker": sent[0] if sent else 0.0}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = [measure(per_round, workers, args.rounds) for per_round in (20, 100) for workers in (1, 2)]
    print(f"cpus: {os.cpu_count()}\n")
    print("| clients/round | workers | s/round | bytes sent per worker per round |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row['clients_per_round']} | {row['workers']} | {row['seconds_per_round']:.3f} | "
              f"{row['bytes_sent_per_worker']:,.0f} |")
    if args.json:
        with open(args.json, "a") as f:
            for row in rows:
                f.write(json.dumps({"benchmark": "distributed", "cpus": os.cpu_count(), **row}) + "\n")


if __name__ == "__main__":
    main()

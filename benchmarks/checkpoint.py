"""What checkpoints cost: seconds per checkpoint, and their share of a run at `checkpoint.every`.

    python benchmarks/checkpoint.py [--models linear,mlp,emnist_cnn] [--every 10] [--repeats 3] [--json out.jsonl]

For each model, the default run of the `fedexp` command (digits, 50 rounds, 10 clients per round,
evaluation every 5 rounds) is built once and its rounds run through `fedexp.runner.loop.run_rounds`
twice per repeat, in turns in this one process: without checkpoints, and with a checkpoint every
`--every` rounds and after the last (into a temporary folder, as a run writes them). The share is
the difference of the medians over the median without; the time per checkpoint is the median of
20 writes of the final state timed alone.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from hydra import compose, initialize_config_dir  # noqa: E402

from fedexp.runner.build import build_experiment  # noqa: E402
from fedexp.runner.checkpoint import Checkpointer  # noqa: E402
from fedexp.runner.loop import run_rounds  # noqa: E402

CONF = str(Path(__file__).resolve().parents[1] / "conf")


def rounds(experiment, cfg, checkpoints):
    start = time.perf_counter()
    done = run_rounds(experiment, rounds=cfg.num_rounds, clients_per_round=cfg.clients_per_round, seed=cfg.seed,
                      by_size=False, eval_every=cfg.eval_every, device="/CPU:0", log=lambda metrics, step: None,
                      checkpoints=checkpoints)
    return time.perf_counter() - start, done


def bench(model, every, repeats):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose("config", overrides=[f"model={model}", "tracking=none"])
    experiment = build_experiment(cfg)
    rounds(experiment, cfg, None)  # warm-up: tracing
    without, with_ = [], []
    with tempfile.TemporaryDirectory() as tmp:
        def checkpointer(folder):
            return Checkpointer(Path(tmp) / folder, every=every, keep=2, run_id="bench", tracking_uri=None,
                                overrides=[], config_yaml="")
        for i in range(repeats):
            without.append(rounds(experiment, cfg, None)[0])
            seconds, done = rounds(experiment, cfg, checkpointer(f"run{i}"))
            with_.append(seconds)
        state = experiment.process.initialize()
        writes = []
        for i in range(20):
            one = checkpointer(f"single{i}")
            tick = time.perf_counter()
            one.save(cfg.num_rounds, state, [], done.history, 0.0)
            writes.append(time.perf_counter() - tick)
        size = sum(f.stat().st_size for f in (Path(tmp) / "single0").rglob("*") if f.is_file())
    base, checked = statistics.median(without), statistics.median(with_)
    saves = cfg.num_rounds // every + (cfg.num_rounds % every != 0)
    return {"model": model, "rounds": cfg.num_rounds, "every": every, "checkpoints_per_run": saves,
            "checkpoint_mb": round(size / 2**20, 2), "seconds_per_checkpoint": round(statistics.median(writes), 4),
            "run_seconds_without": round(base, 3), "run_seconds_with": round(checked, 3),
            "share_measured": round((checked - base) / base, 4),
            "share_from_writes": round(saves * statistics.median(writes) / base, 4)}


def main():
    results = []
    for model in ARGS.models.split(","):
        results.append(bench(model, ARGS.every, ARGS.repeats))
        print(json.dumps(results[-1]), file=sys.stderr)
    keys = list(results[0])
    print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for r in results:
        print("| " + " | ".join(str(r[k]) for k in keys) + " |")
    if ARGS.json:
        with open(ARGS.json, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="linear,mlp,emnist_cnn")
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the results as JSON lines to this file")
    ARGS = parser.parse_args()
    main()

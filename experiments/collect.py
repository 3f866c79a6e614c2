"""Copies a study's result out of MLflow into experiments/<study>/: the newest sweep run by
`fedexp -m +experiment=<study>`, its comparison (`seeds.md`, `seeds.csv`, `sweep.csv`, written by
fedexp's sweep callback, and `sweep.png` drawn again from its runs), a table of further final metrics by group (mean ± std over
the seeds), and where and when it ran (`provenance.md`).

    python experiments/collect.py <study> [--uri sqlite:///outputs/mlflow.db] [--metric KEY ...]
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

from mlflow import MlflowClient

from fedexp.tracking import _compare as compare
from fedexp.tracking._plots import plot_sweep
from fedexp.tracking._sweep import MlflowSweepCallback

HERE = Path(__file__).resolve().parent


def newest_sweep(client, study):
    for experiment in client.search_experiments():
        runs = client.search_runs([experiment.experiment_id], "tags.`fedexp.sweep` = 'true'",
                                  order_by=["attributes.start_time DESC"])
        for run in runs:
            if f"+experiment={study}" in run.data.tags.get("overrides", "").split():
                return experiment, run
    raise SystemExit(f"no sweep of +experiment={study} in the store")


def by_group(children, axes, metrics):
    """{group (the non-seed axes' values): {metric: [final value per seed]}}."""
    groups = defaultdict(lambda: defaultdict(list))
    for child in children:
        key = tuple(child.data.params.get(axis, "") for axis in axes)
        for metric in metrics:
            if metric in child.data.metrics:
                groups[key][metric].append(child.data.metrics[metric])
    return groups


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("study")
    parser.add_argument("--uri", default=f"sqlite:///{Path('outputs', 'mlflow.db').absolute()}")
    parser.add_argument("--metric", action="append", default=[])
    args = parser.parse_args()
    client = MlflowClient(args.uri)
    experiment, parent = newest_sweep(client, args.study)
    out = HERE / args.study
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for path in Path(client.download_artifacts(parent.info.run_id, "comparison", tmp)).iterdir():
            shutil.copy(path, out / path.name)
    children = client.search_runs([experiment.experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'",
                                  order_by=["attributes.start_time ASC"])
    swept = json.loads(parent.data.tags["fedexp.swept"])  # the plot drawn again, by this fedexp's plot_sweep
    table = compare.rows(children, swept)
    groups = compare.seed_groups(table, swept) if compare.SEED in swept else []
    plot_sweep(*MlflowSweepCallback().curves(client, children, table, groups, swept), out / "sweep.png")
    axes = [a for a in parent.data.params if a != "seed"]
    metrics = ["eval/accuracy", *args.metric]
    lines = ["| " + " | ".join([*axes, "n", *metrics]) + " |", "|" + "---|" * (len(axes) + 1 + len(metrics))]
    for key, values in sorted(by_group(children, axes, metrics).items()):
        cells = [f"{statistics.mean(v):.4g} ± {statistics.stdev(v) if len(v) > 1 else 0.0:.2g}"
                 for v in (values[m] for m in metrics)]
        lines.append("| " + " | ".join([*key, str(len(values["eval/accuracy"])), *cells]) + " |")
    (out / "metrics.md").write_text("\n".join(lines) + "\n")
    started = datetime.fromtimestamp(parent.info.start_time / 1000, timezone.utc)
    minutes = (parent.info.end_time - parent.info.start_time) / 60000 if parent.info.end_time else float("nan")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True,
                            text=True).stdout.strip()
    (out / "provenance.md").write_text(
        f"- command: `fedexp -m +experiment={args.study}`\n- run: {started:%Y-%m-%d %H:%M} UTC, {minutes:.1f} minutes, "
        f"{len(children)} jobs, {parent.info.status}\n- fedexp commit: {commit}\n"
        f"- machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs, no GPU\n"
        f"- MLflow sweep run: {parent.info.run_id} ({parent.info.run_name})\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

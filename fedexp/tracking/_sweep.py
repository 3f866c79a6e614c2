"""A Hydra callback that groups a sweep's jobs under one MLflow parent run.

Before any job starts it creates the store, the experiment and the parent run (so that
parallel jobs do not race on a fresh SQLite file); each job's run becomes a child. With
`resume=true` it takes the newest sweep of the same overrides as the parent instead, and
each job finds its own child there (`fedexp.runner.resume`). When
the sweep ends, the parent gets a comparison of its children: swept values -> final eval
accuracy and loss, rounds and wall time, as CSV, Markdown and a plot.
"""

import atexit
import csv
import io
import os
import sys
import tempfile
from pathlib import Path

import hydra
from hydra.experimental.callback import Callback

from fedexp import targets
from fedexp.errors import ConfigError
from fedexp.tracking.mlflow import PARENT_RUN_ENV


class MlflowSweepCallback(Callback):
    def __init__(self):
        self.tracker = None
        self.parent_run_id = None

    def on_multirun_start(self, config, **kwargs):
        try:
            targets.check(config.tracking, "tracking")
            tracker = hydra.utils.instantiate(config.tracking)
            if not tracker.enabled:
                return
            tracker.check()
        except ConfigError as e:
            print(f"fedexp: error: {e}", file=sys.stderr)
            sys.exit(2)
        sweep = " ".join(config.hydra.overrides.task)
        run = tracker.last_run_with(sweep, sweep=True) if config.get("resume") is True else None
        if run is None:
            run = tracker.client.create_run(tracker.experiment_id(), run_name=f"sweep: {sweep}"[:250],
                                            tags={"fedexp.sweep": "true", "overrides": sweep})
        else:
            tracker.client.update_run(run.info.run_id, status="RUNNING")
            print(f"fedexp: resuming sweep {run.info.run_id}: finished jobs are kept, interrupted ones resumed")
        self.tracker, self.parent_run_id = tracker, run.info.run_id
        tracker.run_id = run.info.run_id
        os.environ[PARENT_RUN_ENV] = self.parent_run_id
        atexit.register(self._finish, "FAILED")  # a job that raised ends the sweep before on_multirun_end

    def on_multirun_end(self, config, **kwargs):
        self._finish("FINISHED")

    def _finish(self, status):
        if self.parent_run_id is None:
            return
        parent, self.parent_run_id = self.parent_run_id, None
        os.environ.pop(PARENT_RUN_ENV, None)
        client = self.tracker.client
        children = client.search_runs([self.tracker.experiment_id()],
                                      filter_string=f"tags.`mlflow.parentRunId` = '{parent}'",
                                      order_by=["attributes.start_time ASC"])
        rows, curves = comparison(client, children)
        with tempfile.TemporaryDirectory() as tmp:
            if rows:
                (Path(tmp) / "sweep.csv").write_text(to_csv(rows))
                (Path(tmp) / "sweep.md").write_text(to_markdown(rows))
                from fedexp.tracking._plots import plot_sweep
                plot_sweep(curves, Path(tmp) / "sweep.png")
                self.tracker.log_artifacts(tmp, "comparison")
                print(to_markdown(rows))
        client.set_tag(parent, "fedexp.jobs", str(len(children)))
        client.set_terminated(parent, status)
        print(f"fedexp: sweep recorded as MLflow run {parent} with {len(children)} child run(s); "
              f"to see it: mlflow ui --backend-store-uri {self.tracker.uri}")


def comparison(client, children):
    """One row per child run: the values it swept and its results; and its eval accuracy curve."""
    overrides = [dict(o.split("=", 1) for o in run.data.tags.get("overrides", "").split() if "=" in o)
                 for run in children]
    keys = sorted({k for o in overrides for k in o})
    swept = [k for k in keys if len({o.get(k) for o in overrides}) > 1] or keys
    rows, curves = [], {}
    for run, values in zip(children, overrides):
        metrics = run.data.metrics
        label = " ".join(f"{k}={values.get(k, '')}" for k in swept) or run.info.run_name
        rows.append({**{k: values.get(k, "") for k in swept},
                     "eval_accuracy": metrics.get("eval/accuracy", metrics.get("eval_federated/accuracy")),
                     "eval_loss": metrics.get("eval/loss", metrics.get("eval_federated/loss")),
                     "rounds": run.data.params.get("num_rounds"),
                     "wall_time_s": metrics.get("time/total_seconds"),
                     "status": run.info.status,
                     "run_id": run.info.run_id})
        curves[label] = [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "eval/accuracy")]
    return rows, curves


def _cell(value):
    return f"{value:.4f}" if isinstance(value, float) else ("" if value is None else str(value))


def to_csv(rows) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    return out.getvalue()


def to_markdown(rows) -> str:
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(row[k]) for k in header) + " |" for row in rows]
    return "\n".join(lines) + "\n"
